using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>One term of a sum over two spans, <c>Σ_i f(a_i, b_i; c)</c>, added into a running sum.</summary>
/// <remarks>The plain and shifted, squared and absolute sums differ only in this step (as TensorPrimitives' operators).</remarks>
internal interface ISumTerm
{
    static abstract double Add(double sum, double a, double b, double c);
    static abstract TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct;
}

/// <summary>One element-wise update of a span, <c>y_i ← f(y_i, x_i, v_i; a, c)</c>.</summary>
internal interface IUpdate
{
    /// <summary>Whether the update reads v (when not, v is not loaded: a third stream of loads costs an axpy ~1.5x on cached data).</summary>
    static abstract bool ReadsV { get; }

    static abstract double Apply(double y, double x, double v, double a, double c);
    static abstract TV Apply<S, TV>(TV y, TV x, TV v, TV a, TV c) where S : ISimd<TV> where TV : struct;
}

/// <summary>
/// The two loop shapes of the span kernels, each written once for every vector width and dispatched on
/// <see cref="KernelIsa.Current"/>: a sum of terms (<see cref="Sum{T}"/>) and an element-wise update (<see cref="Update{T}"/>).
/// Each has its scalar twin (<see cref="SumScalar{T}"/>, <see cref="UpdateScalar{T}"/>): one element at a time, in order.
/// </summary>
/// <remarks>
/// A vector sum keeps four accumulators (added as (0 + 1) + (2 + 3)), then adds the scalar tail: its additions are in
/// another order than the twin's, so the last bits can differ. An update does the same operations per element as its
/// twin. Scalar steps are plain multiplies and adds (as the kernels computed before the tiers were unified, which
/// stored results reproduce bit for bit), never a software fused multiply-add.
/// </remarks>
internal static class SpanOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sum<T>(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double c) where T : ISumTerm
    {
        if (a.Length != b.Length) throw new ArgumentException("the spans differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Sum<T, Simd512, Vector512<double>>(a, b, c),
            KernelPath.Vector256 => Sum<T, Simd256, Vector256<double>>(a, b, c),
            KernelPath.Vector128 => Sum<T, Simd128, Vector128<double>>(a, b, c),
            _ => SumScalar<T>(a, b, c),
        };
    }

    public static double SumScalar<T>(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double c) where T : ISumTerm
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum = T.Add(sum, a[i], b[i], c);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Sum<T, S, TV>(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double c)
        where T : ISumTerm where S : ISimd<TV> where TV : struct
    {
        ref double ar = ref MemoryMarshal.GetReference(a);
        ref double br = ref MemoryMarshal.GetReference(b);
        int n = a.Length, w = S.Count, i = 0;
        var vc = S.Splat(c);
        TV s0 = S.Zero, s1 = s0, s2 = s0, s3 = s0;
        for (; i <= n - 4 * w; i += 4 * w)
        {
            s0 = T.Add<S, TV>(s0, S.Load(ref ar, (nuint)i), S.Load(ref br, (nuint)i), vc);
            s1 = T.Add<S, TV>(s1, S.Load(ref ar, (nuint)(i + w)), S.Load(ref br, (nuint)(i + w)), vc);
            s2 = T.Add<S, TV>(s2, S.Load(ref ar, (nuint)(i + 2 * w)), S.Load(ref br, (nuint)(i + 2 * w)), vc);
            s3 = T.Add<S, TV>(s3, S.Load(ref ar, (nuint)(i + 3 * w)), S.Load(ref br, (nuint)(i + 3 * w)), vc);
        }
        for (; i <= n - w; i += w)
            s0 = T.Add<S, TV>(s0, S.Load(ref ar, (nuint)i), S.Load(ref br, (nuint)i), vc);
        double sum = S.Sum(S.Add(S.Add(s0, s1), S.Add(s2, s3)));
        for (; i < n; i++) sum = T.Add(sum, Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i), c);
        return sum;
    }

    /// <summary>y_i ← f(y_i, x_i, v_i; a, c) for every i (v may be x when the update does not read it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Update<T>(Span<double> y, ReadOnlySpan<double> x, ReadOnlySpan<double> v, double a, double c) where T : IUpdate
    {
        if (x.Length != y.Length || v.Length != y.Length) throw new ArgumentException("the spans differ in length");
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: Update<T, Simd512, Vector512<double>>(y, x, v, a, c); break;
            case KernelPath.Vector256: Update<T, Simd256, Vector256<double>>(y, x, v, a, c); break;
            case KernelPath.Vector128: Update<T, Simd128, Vector128<double>>(y, x, v, a, c); break;
            default: UpdateScalar<T>(y, x, v, a, c); break;
        }
    }

    public static void UpdateScalar<T>(Span<double> y, ReadOnlySpan<double> x, ReadOnlySpan<double> v, double a, double c) where T : IUpdate
    {
        for (int i = 0; i < y.Length; i++) y[i] = T.Apply(y[i], x[i], v[i], a, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Update<T, S, TV>(Span<double> y, ReadOnlySpan<double> x, ReadOnlySpan<double> v, double a, double c)
        where T : IUpdate where S : ISimd<TV> where TV : struct
    {
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double vr = ref MemoryMarshal.GetReference(v);
        int n = y.Length, w = S.Count, i = 0;
        TV va = S.Splat(a), vc = S.Splat(c);
        for (; i <= n - 2 * w; i += 2 * w)
        {
            TV v0 = T.ReadsV ? S.Load(ref vr, (nuint)i) : va, v1 = T.ReadsV ? S.Load(ref vr, (nuint)(i + w)) : va;
            var y0 = T.Apply<S, TV>(S.Load(ref yr, (nuint)i), S.Load(ref xr, (nuint)i), v0, va, vc);
            var y1 = T.Apply<S, TV>(S.Load(ref yr, (nuint)(i + w)), S.Load(ref xr, (nuint)(i + w)), v1, va, vc);
            S.Store(y0, ref yr, (nuint)i);
            S.Store(y1, ref yr, (nuint)(i + w));
        }
        for (; i <= n - w; i += w)
        {
            TV v0 = T.ReadsV ? S.Load(ref vr, (nuint)i) : va;
            S.Store(T.Apply<S, TV>(S.Load(ref yr, (nuint)i), S.Load(ref xr, (nuint)i), v0, va, vc), ref yr, (nuint)i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref yr, i) = T.Apply(Unsafe.Add(ref yr, i), Unsafe.Add(ref xr, i), Unsafe.Add(ref vr, i), a, c);
    }
}

/// <summary>The terms and updates of the span kernels.</summary>
internal static class Terms
{
    /// <summary>a (b is not read).</summary>
    public readonly struct Value : ISumTerm
    {
        public static double Add(double sum, double a, double b, double c) => sum + a;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct => S.Add(sum, a);
    }

    /// <summary>a − b.</summary>
    public readonly struct Difference : ISumTerm
    {
        public static double Add(double sum, double a, double b, double c) => sum + (a - b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct => S.Add(sum, S.Subtract(a, b));
    }

    /// <summary>(a − b − c)².</summary>
    public readonly struct CenteredSquare : ISumTerm
    {
        public static double Add(double sum, double a, double b, double c) { double d = a - b - c; return sum + d * d; }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct
        {
            var d = S.Subtract(S.Subtract(a, b), c);
            return S.MultiplyAdd(d, d, sum);
        }
    }

    /// <summary>|a − b|.</summary>
    public readonly struct AbsoluteDifference : ISumTerm
    {
        public static double Add(double sum, double a, double b, double c) => sum + Math.Abs(a - b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct => S.Add(sum, S.Abs(S.Subtract(a, b)));
    }

    /// <summary>(a − c) b: a dot product with a column shifted on the fly.</summary>
    public readonly struct ShiftedProduct : ISumTerm
    {
        public static double Add(double sum, double a, double b, double c) => sum + (a - c) * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct => S.MultiplyAdd(S.Subtract(a, c), b, sum);
    }

    /// <summary>(a − c)² (b is not read).</summary>
    public readonly struct SquaredDeviation : ISumTerm
    {
        public static double Add(double sum, double a, double b, double c) { double d = a - c; return sum + d * d; }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<S, TV>(TV sum, TV a, TV b, TV c) where S : ISimd<TV> where TV : struct
        {
            var d = S.Subtract(a, c);
            return S.MultiplyAdd(d, d, sum);
        }
    }

    /// <summary>x − c (y and v are not read: a shifted copy).</summary>
    public readonly struct ShiftedCopy : IUpdate
    {
        public static bool ReadsV => false;
        public static double Apply(double y, double x, double v, double a, double c) => x - c;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<S, TV>(TV y, TV x, TV v, TV a, TV c) where S : ISimd<TV> where TV : struct => S.Subtract(x, c);
    }

    /// <summary>y + a x (v is not read).</summary>
    public readonly struct Axpy : IUpdate
    {
        public static bool ReadsV => false;
        public static double Apply(double y, double x, double v, double a, double c) => y + a * x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<S, TV>(TV y, TV x, TV v, TV a, TV c) where S : ISimd<TV> where TV : struct => S.MultiplyAdd(a, x, y);
    }

    /// <summary>y − a v (x − c): the weighted-residual update of one coordinate step.</summary>
    public readonly struct SubtractWeightedShifted : IUpdate
    {
        public static bool ReadsV => true;
        public static double Apply(double y, double x, double v, double a, double c) => y - a * (v * (x - c));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<S, TV>(TV y, TV x, TV v, TV a, TV c) where S : ISimd<TV> where TV : struct
            => S.MultiplyAdd(S.Subtract(S.Zero, a), S.Multiply(v, S.Subtract(x, c)), y);
    }
}
