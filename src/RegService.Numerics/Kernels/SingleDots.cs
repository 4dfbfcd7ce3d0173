using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Dot products of many 16-bit fixed-point columns with one single-precision vector: the screening sweep of a KKT check,
/// where a quarter of the bytes of a double sweep and a known error bound are worth more than the last digits.
/// </summary>
public static class SingleDots
{
    /// <summary>What <see cref="Quantize"/> made of one column: ẑ = Step · q, with Σ ẑ² and Σ (z − ẑ)².</summary>
    public readonly record struct QuantizedColumn(double Step, double NormSquared, double ErrorSquared);

    /// <summary>The largest magnitude of a 16-bit column entry: q = round(z / step) with step = max|z| / 32767.</summary>
    public const int FixedPointMax = short.MaxValue;

    /// <summary>
    /// The 16-bit fixed-point copy of one standardized column z = (x − mean) · inverseScale (formed in double):
    /// <c>q[i] = round(z[i] / step)</c> with one scale per column, step = max|z| / 32767, so ẑ = step · q is within step / 2
    /// of z entry by entry. Returns the step, Σ ẑ² and Σ (z − ẑ)² (both in double), which the screen's error bound needs.
    /// A column with no finite step (all zeros, or too small to scale) is stored as zeros with step 0: ẑ = 0 and its whole
    /// norm is the error. Vectorized with <see cref="Vector{T}"/>; the same values as <see cref="QuantizeScalar"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static QuantizedColumn Quantize(ReadOnlySpan<double> x, double mean, double inverseScale, Span<short> q)
    {
        if (q.Length != x.Length) throw new ArgumentException("q must have the length of x", nameof(q));
        int n = x.Length, i = 0;
        int w = Vector<double>.Count, step4 = 4 * w;
        bool vector = Vector.IsHardwareAccelerated && n >= step4;
        ref double xr = ref MemoryMarshal.GetReference(x);
        double largest = 0;
        if (vector)
        {
            var m = new Vector<double>(mean);
            var f = new Vector<double>(inverseScale);
            var top = Vector<double>.Zero;
            for (; i + w <= n; i += w) top = Vector.Max(top, Vector.Abs((Vector.LoadUnsafe(ref xr, (nuint)i) - m) * f));
            for (int k = 0; k < w; k++) largest = Math.Max(largest, top[k]);
        }
        for (; i < n; i++) largest = Math.Max(largest, Math.Abs((x[i] - mean) * inverseScale));
        double stepSize = largest / FixedPointMax, toFixed = FixedPointMax / largest;
        if (!(stepSize > 0) || !double.IsFinite(toFixed) || !double.IsFinite(stepSize))
        {
            q.Clear();
            double zz = 0;
            for (int k = 0; k < n; k++)
            {
                double z = (x[k] - mean) * inverseScale;
                zz += z * z;
            }
            return new QuantizedColumn(0, 0, zz);
        }
        double ss = 0, ee = 0;
        i = 0;
        if (vector)
        {
            var m = new Vector<double>(mean);
            var f = new Vector<double>(inverseScale);
            var to = new Vector<double>(toFixed);
            var st = new Vector<double>(stepSize);
            var sss = Vector<double>.Zero;
            var see = sss;
            ref short qr = ref MemoryMarshal.GetReference(q);
            if (Vector<double>.Count == Vector256<double>.Count && Avx.IsSupported && !Avx512DQ.VL.IsSupported)
            {
                // Without AVX-512 there is no double-to-int64 instruction and Vector.ConvertToInt64 goes element by element:
                // the entries are integers within ±32767, so the truncating conversion to int32 and a saturating pack to 16 bits
                // give the same values.
                for (; i + step4 <= n; i += step4)
                {
                    var l0 = Avx.ConvertToVector128Int32WithTruncation(PartRounded(ref xr, i, m, f, to, st, ref sss, ref see).AsVector256());
                    var l1 = Avx.ConvertToVector128Int32WithTruncation(PartRounded(ref xr, i + w, m, f, to, st, ref sss, ref see).AsVector256());
                    var l2 = Avx.ConvertToVector128Int32WithTruncation(PartRounded(ref xr, i + 2 * w, m, f, to, st, ref sss, ref see).AsVector256());
                    var l3 = Avx.ConvertToVector128Int32WithTruncation(PartRounded(ref xr, i + 3 * w, m, f, to, st, ref sss, ref see).AsVector256());
                    Sse2.PackSignedSaturate(l0, l1).StoreUnsafe(ref qr, (nuint)i);
                    Sse2.PackSignedSaturate(l2, l3).StoreUnsafe(ref qr, (nuint)(i + 2 * w));
                }
            }
            for (; i + step4 <= n; i += step4)
            {
                var l0 = Part(ref xr, i, m, f, to, st, ref sss, ref see);
                var l1 = Part(ref xr, i + w, m, f, to, st, ref sss, ref see);
                var l2 = Part(ref xr, i + 2 * w, m, f, to, st, ref sss, ref see);
                var l3 = Part(ref xr, i + 3 * w, m, f, to, st, ref sss, ref see);
                Vector.Narrow(Vector.Narrow(l0, l1), Vector.Narrow(l2, l3)).StoreUnsafe(ref qr, (nuint)i);
            }
            ss = Vector.Sum(sss);
            ee = Vector.Sum(see);
        }
        for (; i < n; i++)
        {
            double z = (x[i] - mean) * inverseScale, r = Math.Round(z * toFixed), e = z - r * stepSize;
            q[i] = (short)r;
            ss += r * stepSize * (r * stepSize);
            ee += e * e;
        }
        return new QuantizedColumn(stepSize, ss, ee);
    }

    /// <summary>One vector of <see cref="Part"/>, the rounded entries r left in double (integers within ±32767).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> PartRounded(ref double x, int i, Vector<double> m, Vector<double> f, Vector<double> to, Vector<double> step,
        ref Vector<double> ss, ref Vector<double> ee)
    {
        var z = (Vector.LoadUnsafe(ref x, (nuint)i) - m) * f;
        var r = Vector.Round(z * to);
        var zq = r * step;
        var e = z - zq;
        ss += zq * zq;
        ee += e * e;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<long> Part(ref double x, int i, Vector<double> m, Vector<double> f, Vector<double> to, Vector<double> step,
        ref Vector<double> ss, ref Vector<double> ee) => Vector.ConvertToInt64(PartRounded(ref x, i, m, f, to, step, ref ss, ref ee));

    /// <summary>The scalar twin of <see cref="Quantize"/>: the same entries and step, the sums in order.</summary>
    public static QuantizedColumn QuantizeScalar(ReadOnlySpan<double> x, double mean, double inverseScale, Span<short> q)
    {
        int n = x.Length;
        double largest = 0;
        for (int i = 0; i < n; i++) largest = Math.Max(largest, Math.Abs((x[i] - mean) * inverseScale));
        double stepSize = largest / FixedPointMax, toFixed = FixedPointMax / largest;
        double ss = 0, ee = 0;
        if (!(stepSize > 0) || !double.IsFinite(toFixed) || !double.IsFinite(stepSize))
        {
            for (int i = 0; i < n; i++)
            {
                double z = (x[i] - mean) * inverseScale;
                q[i] = 0;
                ee += z * z;
            }
            return new QuantizedColumn(0, 0, ee);
        }
        for (int i = 0; i < n; i++)
        {
            double z = (x[i] - mean) * inverseScale, r = Math.Round(z * toFixed), e = z - r * stepSize;
            q[i] = (short)r;
            ss += r * stepSize * (r * stepSize);
            ee += e * e;
        }
        return new QuantizedColumn(stepSize, ss, ee);
    }

    /// <summary>
    /// Four columns' dots (<see cref="Dots"/>) from their vector sums: the rows from <paramref name="whole"/> on, below a vector,
    /// added one at a time, into <paramref name="result"/>[0..3].
    /// </summary>
    private static void FinishFour(ref short a0, ref short a1, ref short a2, ref short a3, ref float rv, int whole, int n,
                                   float t0, float t1, float t2, float t3, Span<double> result)
    {
        for (int i = whole; i < n; i++)
        {
            float v = Unsafe.Add(ref rv, i);
            t0 += Unsafe.Add(ref a0, i) * v;
            t1 += Unsafe.Add(ref a1, i) * v;
            t2 += Unsafe.Add(ref a2, i) * v;
            t3 += Unsafe.Add(ref a3, i) * v;
        }
        result[0] = t0;
        result[1] = t1;
        result[2] = t2;
        result[3] = t3;
    }

    /// <summary>
    /// <c>result[s] = Σ_i q[which[s] * n + i] · r[i]</c> for 16-bit columns (<see cref="Quantize"/>), summed in single
    /// precision: each entry widened to 32 bits and converted to float exactly, then multiplied and added (four columns at a
    /// time on Vector512 and Vector256, two on Vector128, fused multiply-adds where the machine has them), so the rounding
    /// bound of a float dot product of length n holds: |fl(q'r) − q'r| ≤ γ_n Σ|q_i r_i|. Half the bytes of a single-precision
    /// copy, and on wide data the bytes are what a screen waits for. The tier is <see cref="KernelIsa.Current"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dots(ReadOnlySpan<short> columns, int n, ReadOnlySpan<int> which, ReadOnlySpan<float> r, Span<double> result)
    {
        if (r.Length != n) throw new ArgumentException("r must have n entries", nameof(r));
        if (result.Length < which.Length) throw new ArgumentException("result is shorter than which", nameof(result));
        long columnCount = n == 0 ? 0 : columns.Length / n;
        foreach (int j in which)
            if ((uint)j >= columnCount) throw new ArgumentOutOfRangeException(nameof(which), $"column {j} is outside the data");

        ref short x = ref MemoryMarshal.GetReference(columns);
        ref float rv = ref MemoryMarshal.GetReference(r);
        int s = 0;
        var path = KernelIsa.Current;
        if (path == KernelPath.Vector512)
        {
            int width = Vector512<float>.Count, whole = n & ~(width - 1);
            for (; s + 4 <= which.Length; s += 4)
            {
                ref short a0 = ref Unsafe.Add(ref x, (nint)which[s] * n);
                ref short a1 = ref Unsafe.Add(ref x, (nint)which[s + 1] * n);
                ref short a2 = ref Unsafe.Add(ref x, (nint)which[s + 2] * n);
                ref short a3 = ref Unsafe.Add(ref x, (nint)which[s + 3] * n);
                var s0 = Vector512<float>.Zero;
                var s1 = s0;
                var s2 = s0;
                var s3 = s0;
                for (int i = 0; i < whole; i += width)
                {
                    var v = Vector512.LoadUnsafe(ref rv, (nuint)i);
                    s0 = Vector512.FusedMultiplyAdd(Wide512(ref a0, i), v, s0);
                    s1 = Vector512.FusedMultiplyAdd(Wide512(ref a1, i), v, s1);
                    s2 = Vector512.FusedMultiplyAdd(Wide512(ref a2, i), v, s2);
                    s3 = Vector512.FusedMultiplyAdd(Wide512(ref a3, i), v, s3);
                }
                FinishFour(ref a0, ref a1, ref a2, ref a3, ref rv, whole, n, Vector512.Sum(s0), Vector512.Sum(s1), Vector512.Sum(s2),
                           Vector512.Sum(s3), result.Slice(s, 4));
            }
        }
        else if (path == KernelPath.Vector256)
        {
            int width = Vector256<float>.Count, whole = n & ~(width - 1);
            for (; s + 4 <= which.Length; s += 4)
            {
                ref short a0 = ref Unsafe.Add(ref x, (nint)which[s] * n);
                ref short a1 = ref Unsafe.Add(ref x, (nint)which[s + 1] * n);
                ref short a2 = ref Unsafe.Add(ref x, (nint)which[s + 2] * n);
                ref short a3 = ref Unsafe.Add(ref x, (nint)which[s + 3] * n);
                var s0 = Vector256<float>.Zero;
                var s1 = s0;
                var s2 = s0;
                var s3 = s0;
                for (int i = 0; i < whole; i += width)
                {
                    var v = Vector256.LoadUnsafe(ref rv, (nuint)i);
                    s0 = Vector256.MultiplyAddEstimate(Wide256(ref a0, i), v, s0);
                    s1 = Vector256.MultiplyAddEstimate(Wide256(ref a1, i), v, s1);
                    s2 = Vector256.MultiplyAddEstimate(Wide256(ref a2, i), v, s2);
                    s3 = Vector256.MultiplyAddEstimate(Wide256(ref a3, i), v, s3);
                }
                FinishFour(ref a0, ref a1, ref a2, ref a3, ref rv, whole, n, Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2),
                           Vector256.Sum(s3), result.Slice(s, 4));
            }
        }
        else if (path == KernelPath.Vector128)
        {
            int width = Vector128<short>.Count, whole = n & ~(width - 1);
            for (; s + 2 <= which.Length; s += 2)
            {
                ref short a0 = ref Unsafe.Add(ref x, (nint)which[s] * n);
                ref short a1 = ref Unsafe.Add(ref x, (nint)which[s + 1] * n);
                var s0 = Vector128<float>.Zero;
                var s1 = s0;
                for (int i = 0; i < whole; i += width)
                {
                    var lo = Vector128.LoadUnsafe(ref rv, (nuint)i);
                    var hi = Vector128.LoadUnsafe(ref rv, (nuint)(i + width / 2));
                    var (b0, c0) = Vector128.Widen(Vector128.LoadUnsafe(ref a0, (nuint)i));
                    var (b1, c1) = Vector128.Widen(Vector128.LoadUnsafe(ref a1, (nuint)i));
                    s0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(b0), lo, s0);
                    s0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(c0), hi, s0);
                    s1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(b1), lo, s1);
                    s1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(c1), hi, s1);
                }
                float t0 = Vector128.Sum(s0), t1 = Vector128.Sum(s1);
                for (int i = whole; i < n; i++)
                {
                    float v = Unsafe.Add(ref rv, i);
                    t0 += Unsafe.Add(ref a0, i) * v;
                    t1 += Unsafe.Add(ref a1, i) * v;
                }
                result[s] = t0;
                result[s + 1] = t1;
            }
        }
        for (; s < which.Length; s++)
            result[s] = DotScalar(columns.Slice(which[s] * n, n), r);
    }

    /// <summary>16 entries from <paramref name="i"/>, widened to 32 bits and converted to float (exactly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Wide512(ref short a, int i) =>
        Vector512.ConvertToSingle(Vector512.WidenLower(Vector256.LoadUnsafe(ref a, (nuint)i).ToVector512Unsafe()));

    /// <summary>8 entries from <paramref name="i"/>, widened to 32 bits and converted to float (exactly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Wide256(ref short a, int i) =>
        Vector256.ConvertToSingle(Vector256.WidenLower(Vector128.LoadUnsafe(ref a, (nuint)i).ToVector256Unsafe()));

    /// <summary>The scalar twin for a 16-bit column: summed in order in single precision.</summary>
    public static float DotScalar(ReadOnlySpan<short> a, ReadOnlySpan<float> b)
    {
        float t = 0;
        for (int i = 0; i < a.Length; i++) t += a[i] * b[i];
        return t;
    }
}
