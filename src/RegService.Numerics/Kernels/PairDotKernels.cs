using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// A block of rows of several columns of column-major data (column c is <c>data[offsets[c] .. offsets[c] + length)</c>, as in
/// <see cref="ColumnKernels"/>) times two vectors at once: <c>result0[c] += x_c' r0</c> and <c>result1[c] += x_c' r1</c>, four
/// columns per sweep, so each column is read once for both vectors (the multinomial Gram growth: two new features' weighted
/// columns against the working set). On every tier of <see cref="KernelIsa"/>, with a scalar twin (<see cref="AddDotsScalar"/>).
/// </summary>
/// <remarks>
/// Each product is summed exactly as <see cref="ColumnKernels.AddDots"/> sums it on the same tier (one vector accumulator per
/// column and vector, reduced by <c>ISimd.Sum</c>, then the tail in row order), so the results are its bits. The vector tiers
/// add in another order than the twin, so the last bits can differ from it.
/// </remarks>
internal static class PairDotKernels
{
    /// <summary>result0[c] += x_c' r0 and result1[c] += x_c' r1.</summary>
    public static void AddDots(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r0, ReadOnlySpan<double> r1,
                               Span<double> result0, Span<double> result1)
    {
        Check(data, offsets, r0.Length, r1.Length, result0.Length, result1.Length);
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: AddDots<Simd512, Vector512<double>>(data, offsets, r0, r1, result0, result1); break;
            case KernelPath.Vector256: AddDots<Simd256, Vector256<double>>(data, offsets, r0, r1, result0, result1); break;
            case KernelPath.Vector128: AddDots<Simd128, Vector128<double>>(data, offsets, r0, r1, result0, result1); break;
            default: AddDotsScalar(data, offsets, r0, r1, result0, result1); break;
        }
    }

    /// <summary>Scalar twin of <see cref="AddDots"/>: each product in row order.</summary>
    public static void AddDotsScalar(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r0, ReadOnlySpan<double> r1,
                                     Span<double> result0, Span<double> result1)
    {
        Check(data, offsets, r0.Length, r1.Length, result0.Length, result1.Length);
        for (int c = 0; c < offsets.Length; c++)
        {
            double t0 = 0, t1 = 0;
            for (int i = 0; i < r0.Length; i++)
            {
                double x = data[(int)(offsets[c] + i)];
                t0 = double.MultiplyAddEstimate(x, r0[i], t0);
                t1 = double.MultiplyAddEstimate(x, r1[i], t1);
            }
            result0[c] += t0;
            result1[c] += t1;
        }
    }

    private static void Check(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, int length, int length1, int results0, int results1)
    {
        if (length1 != length) throw new ArgumentException($"vectors of {length} and {length1} rows");
        if (results0 != offsets.Length || results1 != offsets.Length)
            throw new ArgumentException($"{results0} and {results1} results for {offsets.Length} columns");
        foreach (long o in offsets)
            if (o < 0 || o + length > data.Length) throw new ArgumentOutOfRangeException(nameof(offsets), $"a column at {o} of {length} rows is outside the data");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddDots<S, TV>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r0, ReadOnlySpan<double> r1,
                                       Span<double> result0, Span<double> result1)
        where S : ISimd<TV> where TV : struct
    {
        ref double d = ref MemoryMarshal.GetReference(data);
        ref double ra = ref MemoryMarshal.GetReference(r0);
        ref double rb = ref MemoryMarshal.GetReference(r1);
        int n = r0.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref double x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref double x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref double x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            TV a0 = S.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                var u = S.Load(ref ra, (nuint)i);
                var v = S.Load(ref rb, (nuint)i);
                var z0 = S.Load(ref x0, (nuint)i);
                var z1 = S.Load(ref x1, (nuint)i);
                var z2 = S.Load(ref x2, (nuint)i);
                var z3 = S.Load(ref x3, (nuint)i);
                a0 = S.MultiplyAdd(z0, u, a0);
                b0 = S.MultiplyAdd(z0, v, b0);
                a1 = S.MultiplyAdd(z1, u, a1);
                b1 = S.MultiplyAdd(z1, v, b1);
                a2 = S.MultiplyAdd(z2, u, a2);
                b2 = S.MultiplyAdd(z2, v, b2);
                a3 = S.MultiplyAdd(z3, u, a3);
                b3 = S.MultiplyAdd(z3, v, b3);
            }
            double s0 = S.Sum(a0), s1 = S.Sum(a1), s2 = S.Sum(a2), s3 = S.Sum(a3);
            double t0 = S.Sum(b0), t1 = S.Sum(b1), t2 = S.Sum(b2), t3 = S.Sum(b3);
            for (; i < n; i++)
            {
                double u = Unsafe.Add(ref ra, i), v = Unsafe.Add(ref rb, i);
                double z0 = Unsafe.Add(ref x0, i), z1 = Unsafe.Add(ref x1, i), z2 = Unsafe.Add(ref x2, i), z3 = Unsafe.Add(ref x3, i);
                s0 = double.MultiplyAddEstimate(z0, u, s0);
                s1 = double.MultiplyAddEstimate(z1, u, s1);
                s2 = double.MultiplyAddEstimate(z2, u, s2);
                s3 = double.MultiplyAddEstimate(z3, u, s3);
                t0 = double.MultiplyAddEstimate(z0, v, t0);
                t1 = double.MultiplyAddEstimate(z1, v, t1);
                t2 = double.MultiplyAddEstimate(z2, v, t2);
                t3 = double.MultiplyAddEstimate(z3, v, t3);
            }
            result0[c] += s0;
            result0[c + 1] += s1;
            result0[c + 2] += s2;
            result0[c + 3] += s3;
            result1[c] += t0;
            result1[c + 1] += t1;
            result1[c + 2] += t2;
            result1[c + 3] += t3;
        }
        for (; c < columns; c++)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            TV a0 = S.Zero, b0 = a0;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                var z0 = S.Load(ref x0, (nuint)i);
                a0 = S.MultiplyAdd(z0, S.Load(ref ra, (nuint)i), a0);
                b0 = S.MultiplyAdd(z0, S.Load(ref rb, (nuint)i), b0);
            }
            double s0 = S.Sum(a0), t0 = S.Sum(b0);
            for (; i < n; i++)
            {
                double z0 = Unsafe.Add(ref x0, i);
                s0 = double.MultiplyAddEstimate(z0, Unsafe.Add(ref ra, i), s0);
                t0 = double.MultiplyAddEstimate(z0, Unsafe.Add(ref rb, i), t0);
            }
            result0[c] += s0;
            result1[c] += t0;
        }
    }
}
