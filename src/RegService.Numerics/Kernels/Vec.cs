using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>Small vector primitives over spans.</summary>
public static class Vec
{
    /// <summary>y += a * x, with regular (cache-friendly) stores.</summary>
    /// <remarks>
    /// Hand-written rather than TensorPrimitives.MultiplyAdd, which switches to non-temporal stores
    /// above 256 KB and so evicts a residual that the next update reads again.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; i <= n - Vector512<double>.Count; i += Vector512<double>.Count)
            {
                var v = Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i));
                v.StoreUnsafe(ref yr, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i <= n - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                var v = va * Vector256.LoadUnsafe(ref xr, (nuint)i) + Vector256.LoadUnsafe(ref yr, (nuint)i);
                v.StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref yr, i) += a * Unsafe.Add(ref xr, i);
    }

    /// <summary>y += a * x, then returns z'y: one coordinate update and the next coordinate's inner product, reading y once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double AxpyDot(double a, ReadOnlySpan<double> x, Span<double> y, ReadOnlySpan<double> z)
    {
        if (x.Length != y.Length || z.Length != y.Length) throw new ArgumentException("x, y and z differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double zr = ref MemoryMarshal.GetReference(z);
        int n = x.Length, i = 0;
        double dot = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            Vector512<double> s0 = Vector512<double>.Zero, s1 = s0;
            for (; i <= n - 2 * Vector512<double>.Count; i += 2 * Vector512<double>.Count)
            {
                var v0 = Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i));
                var v1 = Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref xr, (nuint)(i + 8)), Vector512.LoadUnsafe(ref yr, (nuint)(i + 8)));
                v0.StoreUnsafe(ref yr, (nuint)i);
                v1.StoreUnsafe(ref yr, (nuint)(i + 8));
                s0 = Vector512.FusedMultiplyAdd(v0, Vector512.LoadUnsafe(ref zr, (nuint)i), s0);
                s1 = Vector512.FusedMultiplyAdd(v1, Vector512.LoadUnsafe(ref zr, (nuint)(i + 8)), s1);
            }
            dot = Vector512.Sum(s0 + s1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            var s0 = Vector256<double>.Zero;
            for (; i <= n - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                var v = va * Vector256.LoadUnsafe(ref xr, (nuint)i) + Vector256.LoadUnsafe(ref yr, (nuint)i);
                v.StoreUnsafe(ref yr, (nuint)i);
                s0 += v * Vector256.LoadUnsafe(ref zr, (nuint)i);
            }
            dot = Vector256.Sum(s0);
        }
        for (; i < n; i++)
        {
            double v = Unsafe.Add(ref yr, i) + a * Unsafe.Add(ref xr, i);
            Unsafe.Add(ref yr, i) = v;
            dot += v * Unsafe.Add(ref zr, i);
        }
        return dot;
    }

    /// <summary>Σ (x_i − m)², vectorized (the second pass of a two-pass variance).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumSquaredDeviations(ReadOnlySpan<double> x, double m)
    {
        ref double xr = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vm = Vector512.Create(m);
            Vector512<double> s0 = Vector512<double>.Zero, s1 = s0;
            for (; i <= n - 2 * Vector512<double>.Count; i += 2 * Vector512<double>.Count)
            {
                var d0 = Vector512.LoadUnsafe(ref xr, (nuint)i) - vm;
                var d1 = Vector512.LoadUnsafe(ref xr, (nuint)(i + 8)) - vm;
                s0 = Vector512.FusedMultiplyAdd(d0, d0, s0);
                s1 = Vector512.FusedMultiplyAdd(d1, d1, s1);
            }
            sum = Vector512.Sum(s0 + s1);
        }
        for (; i < n; i++)
        {
            double d = Unsafe.Add(ref xr, i) - m;
            sum += d * d;
        }
        return sum;
    }

    /// <summary>y += x, element by element.</summary>
    /// <remarks>
    /// Hand-written rather than TensorPrimitives.Add so that it runs optimized code from the first call: that package
    /// is not precompiled, and the Gram folds call this only a few times per fit.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Add(ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<double>.Count; i += Vector512<double>.Count)
                (Vector512.LoadUnsafe(ref yr, (nuint)i) + Vector512.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<double>.Count; i += Vector256<double>.Count)
                (Vector256.LoadUnsafe(ref yr, (nuint)i) + Vector256.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref yr, i) += Unsafe.Add(ref xr, i);
    }

    /// <summary>Scalar twin of <see cref="Axpy"/>.</summary>
    public static void AxpyScalar(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += a * x[i];
    }
}
