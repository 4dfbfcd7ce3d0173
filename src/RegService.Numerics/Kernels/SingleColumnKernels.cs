using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// <see cref="ColumnKernels.AddScaled"/> and <see cref="ColumnKernels.AddDots"/> on single-precision column-major data (column c
/// of the block is <c>data[offsets[c] .. offsets[c] + length)</c>), each value widened to double as it is loaded and every
/// product and sum in double, four columns per sweep of the vector: half the bytes of a double column for a pass that streams
/// the columns (the multinomial class pass). On every tier of <see cref="KernelIsa"/>, with scalar twins.
/// </summary>
/// <remarks>
/// On a tier the results are the bits of <see cref="ColumnKernels"/> on the same tier run on the columns widened to double
/// (the same order of operations); the twins add the dot products in row order, so their last bits can differ.
/// </remarks>
internal static class SingleColumnKernels
{
    /// <summary>y += Σ_c a[c] · x_c.</summary>
    public static void AddScaled(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a, Span<double> y)
    {
        Check(data, offsets, a.Length, y.Length);
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: AddScaled<Simd512, Widen512, Vector512<double>>(data, offsets, a, y); break;
            case KernelPath.Vector256: AddScaled<Simd256, Widen256, Vector256<double>>(data, offsets, a, y); break;
            case KernelPath.Vector128: AddScaled<Simd128, Widen128, Vector128<double>>(data, offsets, a, y); break;
            default: AddScaledScalar(data, offsets, a, y); break;
        }
    }

    /// <summary>Scalar twin of <see cref="AddScaled"/>: each element adds the columns in column order, one multiply-add each.</summary>
    public static void AddScaledScalar(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a, Span<double> y)
    {
        Check(data, offsets, a.Length, y.Length);
        for (int i = 0; i < y.Length; i++)
            for (int c = 0; c < offsets.Length; c++)
                y[i] = double.MultiplyAddEstimate(a[c], data[(int)(offsets[c] + i)], y[i]);
    }

    /// <summary>result[c] += x_c' r.</summary>
    public static void AddDots(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r, Span<double> result)
    {
        Check(data, offsets, result.Length, r.Length);
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: AddDots<Simd512, Widen512, Vector512<double>>(data, offsets, r, result); break;
            case KernelPath.Vector256: AddDots<Simd256, Widen256, Vector256<double>>(data, offsets, r, result); break;
            case KernelPath.Vector128: AddDots<Simd128, Widen128, Vector128<double>>(data, offsets, r, result); break;
            default: AddDotsScalar(data, offsets, r, result); break;
        }
    }

    /// <summary>Scalar twin of <see cref="AddDots"/>: each dot product in row order.</summary>
    public static void AddDotsScalar(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r, Span<double> result)
    {
        Check(data, offsets, result.Length, r.Length);
        for (int c = 0; c < offsets.Length; c++)
        {
            double dot = 0;
            for (int i = 0; i < r.Length; i++) dot = double.MultiplyAddEstimate(data[(int)(offsets[c] + i)], r[i], dot);
            result[c] += dot;
        }
    }

    private static void Check(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, int perColumn, int length)
    {
        if (perColumn != offsets.Length) throw new ArgumentException($"{perColumn} coefficients or results for {offsets.Length} columns");
        foreach (long o in offsets)
            if (o < 0 || o + length > data.Length) throw new ArgumentOutOfRangeException(nameof(offsets), $"a column at {o} of {length} rows is outside the data");
    }

    /// <summary>A vector of doubles loaded from as many floats (no read past them).</summary>
    private interface IWiden<TV> where TV : struct
    {
        static abstract TV Load(ref float source, nuint index);
    }

    private readonly struct Widen512 : IWiden<Vector512<double>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<double> Load(ref float source, nuint index) =>
            Vector512.WidenLower(Vector256.LoadUnsafe(ref source, index).ToVector512Unsafe());
    }

    private readonly struct Widen256 : IWiden<Vector256<double>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<double> Load(ref float source, nuint index) =>
            Vector256.WidenLower(Vector128.LoadUnsafe(ref source, index).ToVector256Unsafe());
    }

    private readonly struct Widen128 : IWiden<Vector128<double>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<double> Load(ref float source, nuint index) =>
            Vector128.WidenLower(Vector64.LoadUnsafe(ref source, index).ToVector128Unsafe());
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddScaled<S, L, TV>(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a, Span<double> y)
        where S : ISimd<TV> where L : IWiden<TV> where TV : struct
    {
        ref float d = ref MemoryMarshal.GetReference(data);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int n = y.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref float x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref float x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref float x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref float x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            double a0 = a[c], a1 = a[c + 1], a2 = a[c + 2], a3 = a[c + 3];
            TV v0 = S.Splat(a0), v1 = S.Splat(a1), v2 = S.Splat(a2), v3 = S.Splat(a3);
            int i = 0;
            for (; i <= n - w; i += w)
            {
                var acc = S.Load(ref yr, (nuint)i);
                acc = S.MultiplyAdd(v0, L.Load(ref x0, (nuint)i), acc);
                acc = S.MultiplyAdd(v1, L.Load(ref x1, (nuint)i), acc);
                acc = S.MultiplyAdd(v2, L.Load(ref x2, (nuint)i), acc);
                acc = S.MultiplyAdd(v3, L.Load(ref x3, (nuint)i), acc);
                S.Store(acc, ref yr, (nuint)i);
            }
            for (; i < n; i++)
            {
                double acc = Unsafe.Add(ref yr, i);
                acc = double.MultiplyAddEstimate(a0, Unsafe.Add(ref x0, i), acc);
                acc = double.MultiplyAddEstimate(a1, Unsafe.Add(ref x1, i), acc);
                acc = double.MultiplyAddEstimate(a2, Unsafe.Add(ref x2, i), acc);
                acc = double.MultiplyAddEstimate(a3, Unsafe.Add(ref x3, i), acc);
                Unsafe.Add(ref yr, i) = acc;
            }
        }
        for (; c < columns; c++)
        {
            ref float x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            double a0 = a[c];
            var v0 = S.Splat(a0);
            int i = 0;
            for (; i <= n - w; i += w)
                S.Store(S.MultiplyAdd(v0, L.Load(ref x0, (nuint)i), S.Load(ref yr, (nuint)i)), ref yr, (nuint)i);
            for (; i < n; i++)
                Unsafe.Add(ref yr, i) = double.MultiplyAddEstimate(a0, Unsafe.Add(ref x0, i), Unsafe.Add(ref yr, i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddDots<S, L, TV>(ReadOnlySpan<float> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r, Span<double> result)
        where S : ISimd<TV> where L : IWiden<TV> where TV : struct
    {
        ref float d = ref MemoryMarshal.GetReference(data);
        ref double rr = ref MemoryMarshal.GetReference(r);
        int n = r.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref float x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref float x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref float x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref float x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            TV s0 = S.Zero, s1 = s0, s2 = s0, s3 = s0;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                var v = S.Load(ref rr, (nuint)i);
                s0 = S.MultiplyAdd(L.Load(ref x0, (nuint)i), v, s0);
                s1 = S.MultiplyAdd(L.Load(ref x1, (nuint)i), v, s1);
                s2 = S.MultiplyAdd(L.Load(ref x2, (nuint)i), v, s2);
                s3 = S.MultiplyAdd(L.Load(ref x3, (nuint)i), v, s3);
            }
            double t0 = S.Sum(s0), t1 = S.Sum(s1), t2 = S.Sum(s2), t3 = S.Sum(s3);
            for (; i < n; i++)
            {
                double v = Unsafe.Add(ref rr, i);
                t0 = double.MultiplyAddEstimate(Unsafe.Add(ref x0, i), v, t0);
                t1 = double.MultiplyAddEstimate(Unsafe.Add(ref x1, i), v, t1);
                t2 = double.MultiplyAddEstimate(Unsafe.Add(ref x2, i), v, t2);
                t3 = double.MultiplyAddEstimate(Unsafe.Add(ref x3, i), v, t3);
            }
            result[c] += t0;
            result[c + 1] += t1;
            result[c + 2] += t2;
            result[c + 3] += t3;
        }
        for (; c < columns; c++)
        {
            ref float x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            TV s0 = S.Zero;
            int i = 0;
            for (; i <= n - w; i += w) s0 = S.MultiplyAdd(L.Load(ref x0, (nuint)i), S.Load(ref rr, (nuint)i), s0);
            double t0 = S.Sum(s0);
            for (; i < n; i++) t0 = double.MultiplyAddEstimate(Unsafe.Add(ref x0, i), Unsafe.Add(ref rr, i), t0);
            result[c] += t0;
        }
    }
}
