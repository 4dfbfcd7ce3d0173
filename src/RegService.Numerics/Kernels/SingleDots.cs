using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Single-precision dot products of many columns with one vector: the screening sweep of a KKT check,
/// where half the bytes of a double sweep and a known error bound are worth more than the last digits.
/// </summary>
public static class SingleDots
{
    /// <summary>
    /// <c>result[s] = Σ_i columns[which[s] * n + i] · r[i]</c>, summed in single precision (fused multiply-adds,
    /// four columns at a time on Vector512, two on Vector256 and Vector128, so that the loads of r are shared; the tier is
    /// <see cref="KernelIsa.Current"/>).
    /// </summary>
    /// <param name="columns">Column-major single-precision data, n values per column.</param>
    /// <param name="n">Rows per column (the length of <paramref name="r"/>).</param>
    /// <param name="which">Column indices.</param>
    /// <param name="r">The vector.</param>
    /// <param name="result">One value per entry of <paramref name="which"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dots(ReadOnlySpan<float> columns, int n, ReadOnlySpan<int> which, ReadOnlySpan<float> r, Span<double> result)
    {
        if (r.Length != n) throw new ArgumentException("r must have n entries", nameof(r));
        if (result.Length < which.Length) throw new ArgumentException("result is shorter than which", nameof(result));
        long columnCount = n == 0 ? 0 : columns.Length / n;
        foreach (int j in which)
            if ((uint)j >= columnCount) throw new ArgumentOutOfRangeException(nameof(which), $"column {j} is outside the data");

        ref float x = ref MemoryMarshal.GetReference(columns);
        ref float rv = ref MemoryMarshal.GetReference(r);
        int s = 0;
        var path = KernelIsa.Current;
        if (path == KernelPath.Vector512)
        {
            int whole = n & ~(Vector512<float>.Count - 1);
            for (; s + 4 <= which.Length; s += 4)
            {
                ref float a0 = ref Unsafe.Add(ref x, (nint)which[s] * n);
                ref float a1 = ref Unsafe.Add(ref x, (nint)which[s + 1] * n);
                ref float a2 = ref Unsafe.Add(ref x, (nint)which[s + 2] * n);
                ref float a3 = ref Unsafe.Add(ref x, (nint)which[s + 3] * n);
                var s0 = Vector512<float>.Zero;
                var s1 = s0;
                var s2 = s0;
                var s3 = s0;
                for (int i = 0; i < whole; i += Vector512<float>.Count)
                {
                    var v = Vector512.LoadUnsafe(ref rv, (nuint)i);
                    s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a0, (nuint)i), v, s0);
                    s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a1, (nuint)i), v, s1);
                    s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a2, (nuint)i), v, s2);
                    s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a3, (nuint)i), v, s3);
                }
                float t0 = Vector512.Sum(s0), t1 = Vector512.Sum(s1), t2 = Vector512.Sum(s2), t3 = Vector512.Sum(s3);
                for (int i = whole; i < n; i++)
                {
                    float v = Unsafe.Add(ref rv, i);
                    t0 += Unsafe.Add(ref a0, i) * v;
                    t1 += Unsafe.Add(ref a1, i) * v;
                    t2 += Unsafe.Add(ref a2, i) * v;
                    t3 += Unsafe.Add(ref a3, i) * v;
                }
                result[s] = t0;
                result[s + 1] = t1;
                result[s + 2] = t2;
                result[s + 3] = t3;
            }
        }
        else if (path == KernelPath.Vector256)
        {
            int whole = n & ~(Vector256<float>.Count - 1);
            for (; s + 2 <= which.Length; s += 2)
            {
                ref float a0 = ref Unsafe.Add(ref x, (nint)which[s] * n);
                ref float a1 = ref Unsafe.Add(ref x, (nint)which[s + 1] * n);
                var s0 = Vector256<float>.Zero;
                var s1 = s0;
                for (int i = 0; i < whole; i += Vector256<float>.Count)
                {
                    var v = Vector256.LoadUnsafe(ref rv, (nuint)i);
                    s0 += Vector256.LoadUnsafe(ref a0, (nuint)i) * v;
                    s1 += Vector256.LoadUnsafe(ref a1, (nuint)i) * v;
                }
                float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1);
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
        else if (path == KernelPath.Vector128)
        {
            int whole = n & ~(Vector128<float>.Count - 1);
            for (; s + 2 <= which.Length; s += 2)
            {
                ref float a0 = ref Unsafe.Add(ref x, (nint)which[s] * n);
                ref float a1 = ref Unsafe.Add(ref x, (nint)which[s + 1] * n);
                var s0 = Vector128<float>.Zero;
                var s1 = s0;
                for (int i = 0; i < whole; i += Vector128<float>.Count)
                {
                    var v = Vector128.LoadUnsafe(ref rv, (nuint)i);
                    s0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref a0, (nuint)i), v, s0);
                    s1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref a1, (nuint)i), v, s1);
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

    /// <summary>
    /// <c>z[i] = (float)((x[i] - mean) * inverseScale)</c> (each rounded to nearest once from the double value), and returns
    /// Σ z[i]² summed in double: the single-precision copy of one standardized column and its squared norm. Vectorized with
    /// <see cref="Vector{T}"/> (whatever width the machine accelerates), which converts exactly as the scalar cast does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Round(ReadOnlySpan<double> x, double mean, double inverseScale, Span<float> z)
    {
        if (z.Length != x.Length) throw new ArgumentException("z must have the length of x", nameof(z));
        int n = x.Length, i = 0;
        double ss = 0;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<double>.Count)
        {
            var m = new Vector<double>(mean);
            var f = new Vector<double>(inverseScale);
            var s0 = Vector<double>.Zero;
            var s1 = s0;
            ref double xr = ref MemoryMarshal.GetReference(x);
            ref float zr = ref MemoryMarshal.GetReference(z);
            int step = 2 * Vector<double>.Count;
            for (; i + step <= n; i += step)
            {
                var a = (Vector.LoadUnsafe(ref xr, (nuint)i) - m) * f;
                var b = (Vector.LoadUnsafe(ref xr, (nuint)(i + Vector<double>.Count)) - m) * f;
                var v = Vector.Narrow(a, b);
                v.StoreUnsafe(ref zr, (nuint)i);
                Vector.Widen(v, out var wa, out var wb);
                s0 += wa * wa;
                s1 += wb * wb;
            }
            ss = Vector.Sum(s0 + s1);
        }
        for (; i < n; i++)
        {
            float v = (float)((x[i] - mean) * inverseScale);
            z[i] = v;
            ss += (double)v * v;
        }
        return ss;
    }

    /// <summary>The scalar twin of <see cref="Round"/>: the same values, the squared norm summed in order.</summary>
    public static double RoundScalar(ReadOnlySpan<double> x, double mean, double inverseScale, Span<float> z)
    {
        double ss = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float v = (float)((x[i] - mean) * inverseScale);
            z[i] = v;
            ss += (double)v * v;
        }
        return ss;
    }

    /// <summary>The scalar twin: one column, summed in order in single precision.</summary>
    public static float DotScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float t = 0;
        for (int i = 0; i < a.Length; i++) t += a[i] * b[i];
        return t;
    }
}
