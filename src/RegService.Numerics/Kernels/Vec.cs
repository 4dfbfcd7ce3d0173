using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>Small vector primitives over spans, on every tier of <see cref="KernelIsa"/>, each with a scalar twin.</summary>
/// <remarks>Vectorized sums add in another order than their twins, so the last bits can differ.</remarks>
public static class Vec
{
    /// <summary>y += a * x, with regular (cache-friendly) stores.</summary>
    /// <remarks>
    /// Hand-written rather than TensorPrimitives.MultiplyAdd, which switches to non-temporal stores
    /// above 256 KB and so evicts a residual that the next update reads again.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y differ in length");
        SpanOps.Update<Terms.Axpy>(y, x, x, a, 0);
    }

    /// <summary>Scalar twin of <see cref="Axpy"/>.</summary>
    public static void AxpyScalar(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y differ in length");
        SpanOps.UpdateScalar<Terms.Axpy>(y, x, x, a, 0);
    }

    /// <summary>x'y with four vector accumulators.</summary>
    /// <remarks>
    /// The engine's own rather than TensorPrimitives.Dot: this one is compiled fully optimized at its first call, while
    /// TensorPrimitives' generic bodies are jitted at tier 0 first, many times slower for the few calls of one fit.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => SpanOps.Sum<Terms.ShiftedProduct>(x, y, 0);

    /// <summary>Scalar twin of <see cref="Dot"/>.</summary>
    public static double DotScalar(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => SpanOps.SumScalar<Terms.ShiftedProduct>(x, y, 0);

    /// <summary>y += x, element by element (exactly: <c>1 · x + y</c> rounds once).</summary>
    internal static void Add(ReadOnlySpan<double> x, Span<double> y) => Axpy(1.0, x, y);

    /// <summary>Σ x_i, vectorized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sum(ReadOnlySpan<double> x) => SpanOps.Sum<Terms.Value>(x, x, 0);

    /// <summary>Scalar twin of <see cref="Sum"/>.</summary>
    public static double SumScalar(ReadOnlySpan<double> x) => SpanOps.SumScalar<Terms.Value>(x, x, 0);

    /// <summary>y = x − m, element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Shift(ReadOnlySpan<double> x, double m, Span<double> y) => SpanOps.Update<Terms.ShiftedCopy>(y, x, x, 0, m);

    /// <summary>Scalar twin of <see cref="Shift"/>.</summary>
    public static void ShiftScalar(ReadOnlySpan<double> x, double m, Span<double> y) => SpanOps.UpdateScalar<Terms.ShiftedCopy>(y, x, x, 0, m);

    /// <summary>Σ (x_i − m)², vectorized (the second pass of a two-pass variance).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumSquaredDeviations(ReadOnlySpan<double> x, double m) => SpanOps.Sum<Terms.SquaredDeviation>(x, x, m);

    /// <summary>Scalar twin of <see cref="SumSquaredDeviations"/>.</summary>
    public static double SumSquaredDeviationsScalar(ReadOnlySpan<double> x, double m) => SpanOps.SumScalar<Terms.SquaredDeviation>(x, x, m);

    /// <summary>y += a * x, then returns z'y: one coordinate update and the next coordinate's inner product, reading y once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double AxpyDot(double a, ReadOnlySpan<double> x, Span<double> y, ReadOnlySpan<double> z)
    {
        if (x.Length != y.Length || z.Length != y.Length) throw new ArgumentException("x, y and z differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => AxpyDot<Simd512, Vector512<double>>(a, x, y, z),
            KernelPath.Vector256 => AxpyDot<Simd256, Vector256<double>>(a, x, y, z),
            KernelPath.Vector128 => AxpyDot<Simd128, Vector128<double>>(a, x, y, z),
            _ => AxpyDotScalar(a, x, y, z),
        };
    }

    /// <summary>Scalar twin of <see cref="AxpyDot"/>.</summary>
    public static double AxpyDotScalar(double a, ReadOnlySpan<double> x, Span<double> y, ReadOnlySpan<double> z)
    {
        if (x.Length != y.Length || z.Length != y.Length) throw new ArgumentException("x, y and z differ in length");
        double dot = 0;
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += a * x[i];
            dot += y[i] * z[i];
        }
        return dot;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double AxpyDot<S, TV>(double a, ReadOnlySpan<double> x, Span<double> y, ReadOnlySpan<double> z)
        where S : ISimd<TV> where TV : struct
    {
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double zr = ref MemoryMarshal.GetReference(z);
        int n = x.Length, w = S.Count, i = 0;
        var va = S.Splat(a);
        TV s0 = S.Zero, s1 = s0;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            var v0 = S.MultiplyAdd(va, S.Load(ref xr, (nuint)i), S.Load(ref yr, (nuint)i));
            var v1 = S.MultiplyAdd(va, S.Load(ref xr, (nuint)(i + w)), S.Load(ref yr, (nuint)(i + w)));
            S.Store(v0, ref yr, (nuint)i);
            S.Store(v1, ref yr, (nuint)(i + w));
            s0 = S.MultiplyAdd(v0, S.Load(ref zr, (nuint)i), s0);
            s1 = S.MultiplyAdd(v1, S.Load(ref zr, (nuint)(i + w)), s1);
        }
        for (; i <= n - w; i += w)
        {
            var v0 = S.MultiplyAdd(va, S.Load(ref xr, (nuint)i), S.Load(ref yr, (nuint)i));
            S.Store(v0, ref yr, (nuint)i);
            s0 = S.MultiplyAdd(v0, S.Load(ref zr, (nuint)i), s0);
        }
        double dot = S.Sum(S.Add(s0, s1));
        for (; i < n; i++)
        {
            double v = Unsafe.Add(ref yr, i) + a * Unsafe.Add(ref xr, i);
            Unsafe.Add(ref yr, i) = v;
            dot += v * Unsafe.Add(ref zr, i);
        }
        return dot;
    }
}
