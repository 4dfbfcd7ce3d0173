using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The single-precision screen of <see cref="LogisticKernels"/>: the columns rounded to float (<see cref="ToSingleShifted"/>),
/// their dot products block by block (<see cref="SingleDot"/>, four columns per sweep in <see cref="SingleDot4"/>), and the
/// error bound that makes a screened gradient rigorous (<see cref="SingleDotErrorFactor"/>).
/// </summary>
public static partial class LogisticKernels
{
    /// <summary>Rows per single-precision partial sum of <see cref="SingleDot"/>: its rounding error grows with this, not with n.</summary>
    public const int SingleBlock = 256;

    /// <summary>
    /// Σ x_i r_i in single precision, block by block: each block of <see cref="SingleBlock"/> rows is summed in single
    /// precision (any order, fused or not), and the block sums are added in double. The screen of the proximal-Newton
    /// path's outside gradients (<see cref="Solvers.GradientBounds"/>): half the bytes of a double dot, with an error of
    /// at most <see cref="SingleDotErrorFactor"/> ||x|| ||r||, independent of n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SingleDot(ReadOnlySpan<float> x, ReadOnlySpan<float> r)
    {
        if (x.Length != r.Length) throw new ArgumentException("x and r differ in length");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(r);
        int n = x.Length;
        double total = 0;
        var path = KernelIsa.Current;
        for (int b = 0; b < n; b += SingleBlock)
        {
            int m = Math.Min(SingleBlock, n - b), i = 0;
            ref float xb = ref Unsafe.Add(ref xr, b);
            ref float rb = ref Unsafe.Add(ref rr, b);
            float sum = 0;
            if (path == KernelPath.Vector512)
            {
                var acc = Vector512<float>.Zero;
                for (; i <= m - Vector512<float>.Count; i += Vector512<float>.Count)
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xb, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), acc);
                sum = Vector512.Sum(acc);
            }
            else if (path == KernelPath.Vector256)
            {
                var acc = Vector256<float>.Zero;
                for (; i <= m - Vector256<float>.Count; i += Vector256<float>.Count)
                    acc = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref xb, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), acc);
                sum = Vector256.Sum(acc);
            }
            else if (path == KernelPath.Vector128)
            {
                var acc = Vector128<float>.Zero;
                for (; i <= m - Vector128<float>.Count; i += Vector128<float>.Count)
                    acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref xb, (nuint)i), Vector128.LoadUnsafe(ref rb, (nuint)i), acc);
                sum = Vector128.Sum(acc);
            }
            for (; i < m; i++) sum += Unsafe.Add(ref xb, i) * Unsafe.Add(ref rb, i);
            total += sum;
        }
        return total;
    }

    /// <summary>
    /// <see cref="SingleDot"/> of four columns with the same r in one sweep (r read once for the four): result[c] = Σ x_c,i r_i,
    /// each column's blocks of <see cref="SingleBlock"/> rows summed in single precision and added in double, so the error
    /// bound of <see cref="SingleDot"/> holds for each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SingleDot4(ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3,
        ReadOnlySpan<float> r, Span<double> result)
    {
        int n = r.Length;
        if (x0.Length != n || x1.Length != n || x2.Length != n || x3.Length != n) throw new ArgumentException("a column and r differ in length");
        if (result.Length != 4) throw new ArgumentException("four results");
        ref float a0 = ref MemoryMarshal.GetReference(x0);
        ref float a1 = ref MemoryMarshal.GetReference(x1);
        ref float a2 = ref MemoryMarshal.GetReference(x2);
        ref float a3 = ref MemoryMarshal.GetReference(x3);
        ref float rr = ref MemoryMarshal.GetReference(r);
        double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        var path = KernelIsa.Current;
        for (int b = 0; b < n; b += SingleBlock)
        {
            int m = Math.Min(SingleBlock, n - b), i = 0;
            ref float b0 = ref Unsafe.Add(ref a0, b);
            ref float b1 = ref Unsafe.Add(ref a1, b);
            ref float b2 = ref Unsafe.Add(ref a2, b);
            ref float b3 = ref Unsafe.Add(ref a3, b);
            ref float rb = ref Unsafe.Add(ref rr, b);
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            if (path == KernelPath.Vector512)
            {
                Vector512<float> c0 = Vector512<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
                for (; i <= m - Vector512<float>.Count; i += Vector512<float>.Count)
                {
                    var v = Vector512.LoadUnsafe(ref rb, (nuint)i);
                    c0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref b0, (nuint)i), v, c0);
                    c1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref b1, (nuint)i), v, c1);
                    c2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref b2, (nuint)i), v, c2);
                    c3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref b3, (nuint)i), v, c3);
                }
                (s0, s1, s2, s3) = (Vector512.Sum(c0), Vector512.Sum(c1), Vector512.Sum(c2), Vector512.Sum(c3));
            }
            else if (path == KernelPath.Vector256)
            {
                Vector256<float> c0 = Vector256<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
                for (; i <= m - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    var v = Vector256.LoadUnsafe(ref rb, (nuint)i);
                    c0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref b0, (nuint)i), v, c0);
                    c1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref b1, (nuint)i), v, c1);
                    c2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref b2, (nuint)i), v, c2);
                    c3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref b3, (nuint)i), v, c3);
                }
                (s0, s1, s2, s3) = (Vector256.Sum(c0), Vector256.Sum(c1), Vector256.Sum(c2), Vector256.Sum(c3));
            }
            else if (path == KernelPath.Vector128)
            {
                Vector128<float> c0 = Vector128<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
                for (; i <= m - Vector128<float>.Count; i += Vector128<float>.Count)
                {
                    var v = Vector128.LoadUnsafe(ref rb, (nuint)i);
                    c0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref b0, (nuint)i), v, c0);
                    c1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref b1, (nuint)i), v, c1);
                    c2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref b2, (nuint)i), v, c2);
                    c3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref b3, (nuint)i), v, c3);
                }
                (s0, s1, s2, s3) = (Vector128.Sum(c0), Vector128.Sum(c1), Vector128.Sum(c2), Vector128.Sum(c3));
            }
            for (; i < m; i++)
            {
                float v = Unsafe.Add(ref rb, i);
                s0 += Unsafe.Add(ref b0, i) * v;
                s1 += Unsafe.Add(ref b1, i) * v;
                s2 += Unsafe.Add(ref b2, i) * v;
                s3 += Unsafe.Add(ref b3, i) * v;
            }
            t0 += s0;
            t1 += s1;
            t2 += s2;
            t3 += s3;
        }
        result[0] = t0;
        result[1] = t1;
        result[2] = t2;
        result[3] = t3;
    }

    /// <summary>
    /// r̂ = fl32(r) into <paramref name="rounded"/>; returns a bound of max(||r||, ||r̂||), the norm a screen's rounding bound
    /// scales with: |r̂_i| ≤ |r_i| (1 + 2^-24) + 2^-150 (the last for single precision's subnormals), so
    /// ||r̂|| ≤ ||r|| (1 + 2^-24) + sqrt(n) 2^-150; the factor 1 + 2e-7 also covers the roundings of the sum of squares
    /// (relative, at most n 2^-53). Infinite when ||r|| reaches single precision's largest value (an entry may round to
    /// infinity there) or is not a number.
    /// </summary>
    public static double ToSingleNormBound(ReadOnlySpan<double> r, Span<float> rounded)
    {
        ToSingleShifted(r, 0.0, 1.0, rounded);   // (r - 0) 1 = r exactly: r̂_i = (float)r_i
        double norm = Math.Sqrt(Vec.SumSquaredDeviations(r, 0.0));
        return norm < float.MaxValue ? norm * (1 + 2e-7) + Math.Sqrt(r.Length) * 1e-45 : double.PositiveInfinity;
    }

    /// <summary>z_i = fl32((x_i − m) · s): a column shifted and scaled in double, then rounded to single precision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToSingleShifted(ReadOnlySpan<double> x, double m, double s, Span<float> z)
    {
        if (x.Length != z.Length) throw new ArgumentException("x and z differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref float zr = ref MemoryMarshal.GetReference(z);
        int n = x.Length, i = 0;
        var path = KernelIsa.Current;
        if (path == KernelPath.Vector512)
        {
            Vector512<double> vm = Vector512.Create(m), vs = Vector512.Create(s);
            for (; i <= n - 2 * Vector512<double>.Count; i += 2 * Vector512<double>.Count)
                Vector512.Narrow((Vector512.LoadUnsafe(ref xr, (nuint)i) - vm) * vs,
                                 (Vector512.LoadUnsafe(ref xr, (nuint)(i + Vector512<double>.Count)) - vm) * vs).StoreUnsafe(ref zr, (nuint)i);
        }
        else if (path == KernelPath.Vector256)
        {
            Vector256<double> vm = Vector256.Create(m), vs = Vector256.Create(s);
            for (; i <= n - 2 * Vector256<double>.Count; i += 2 * Vector256<double>.Count)
                Vector256.Narrow((Vector256.LoadUnsafe(ref xr, (nuint)i) - vm) * vs,
                                 (Vector256.LoadUnsafe(ref xr, (nuint)(i + Vector256<double>.Count)) - vm) * vs).StoreUnsafe(ref zr, (nuint)i);
        }
        else if (path == KernelPath.Vector128)
        {
            Vector128<double> vm = Vector128.Create(m), vs = Vector128.Create(s);
            for (; i <= n - 2 * Vector128<double>.Count; i += 2 * Vector128<double>.Count)
                Vector128.Narrow((Vector128.LoadUnsafe(ref xr, (nuint)i) - vm) * vs,
                                 (Vector128.LoadUnsafe(ref xr, (nuint)(i + Vector128<double>.Count)) - vm) * vs).StoreUnsafe(ref zr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref zr, i) = (float)((Unsafe.Add(ref xr, i) - m) * s);
    }

    /// <summary>Scalar twin of <see cref="ToSingleShifted"/> (the same roundings: equal element for element).</summary>
    public static void ToSingleShiftedScalar(ReadOnlySpan<double> x, double m, double s, Span<float> z)
    {
        if (x.Length != z.Length) throw new ArgumentException("x and z differ in length");
        for (int i = 0; i < x.Length; i++) z[i] = (float)((x[i] - m) * s);
    }

    /// <summary>Scalar twin of <see cref="SingleDot"/>: each block summed in order in single precision.</summary>
    public static double SingleDotScalar(ReadOnlySpan<float> x, ReadOnlySpan<float> r)
    {
        if (x.Length != r.Length) throw new ArgumentException("x and r differ in length");
        double total = 0;
        for (int b = 0; b < x.Length; b += SingleBlock)
        {
            float sum = 0;
            for (int i = b, end = Math.Min(x.Length, b + SingleBlock); i < end; i++) sum += x[i] * r[i];
            total += sum;
        }
        return total;
    }

    /// <summary>
    /// A bound, relative to max(||x||, ||x̂||) max(||r||, ||r̂||), on |x'r − <see cref="SingleDot"/>(x̂, r̂)| where x̂ and r̂ are
    /// x and r rounded to single precision (u = 2^-24): the roundings cost at most 2u + u² of each |x_i r_i|; a dot product
    /// of B = <see cref="SingleBlock"/> terms in single precision, in any order, errs by at most γ_B = B u / (1 − B u) of
    /// Σ |x̂_i r̂_i| ≤ ||x̂|| ||r̂||; adding the block sums in double costs far less than the 1e-4 of slack.
    /// </summary>
    public static double SingleDotErrorFactor { get; } = (SingleBlock * SingleUnit / (1 - SingleBlock * SingleUnit) + 3 * SingleUnit) * 1.0001;

    private const double SingleUnit = 1.0 / (1 << 24);
}
