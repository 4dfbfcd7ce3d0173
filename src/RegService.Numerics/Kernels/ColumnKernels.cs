using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

/// <summary>
/// A block of rows of several columns of column-major data times vectors, four columns per sweep of the vector (so the
/// vector is loaded and stored once per four columns, and one call covers all columns): <c>y += Σ_c a_c x_c</c>
/// (<see cref="AddScaled"/>), <c>result_c += x_c' r</c> (<see cref="AddDots"/>) and <c>result_c += (x_c − m_c)' r</c>
/// (<see cref="AddShiftedDots"/>), where column c of the block is <c>data[offsets[c] .. offsets[c] + length)</c>. On every
/// tier of <see cref="KernelIsa"/>, each with a scalar twin. With <c>ahead</c> &gt; 0 a kernel also prefetches, once per
/// cache line it reads, the line <c>ahead</c> rows further down each column (on x86): a caller that walks row blocks
/// passes the block's length, so the next block's columns stream in while this one is computed (column runs of a few
/// KB are too short for the hardware prefetcher to follow 200 of them).
/// </summary>
/// <remarks>
/// <see cref="AddScaled"/> adds the columns to each element in column order, one multiply-add each, as its twin does
/// (fused on every tier where the hardware has FMA: then the results are the same bits). The dot products add in another
/// order than their twins, so the last bits can differ.
/// </remarks>
internal static partial class ColumnKernels
{
    /// <summary>y += Σ_c a[c] · x_c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a, Span<double> y, int ahead = 0)
    {
        Check(data, offsets, a.Length, y.Length);
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: AddScaled<Simd512, Vector512<double>>(data, offsets, a, y, ahead); break;
            case KernelPath.Vector256: AddScaled<Simd256, Vector256<double>>(data, offsets, a, y, ahead); break;
            case KernelPath.Vector128: AddScaled<Simd128, Vector128<double>>(data, offsets, a, y, ahead); break;
            default: AddScaledScalar(data, offsets, a, y); break;
        }
    }

    /// <summary>Scalar twin of <see cref="AddScaled"/>.</summary>
    public static void AddScaledScalar(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a, Span<double> y)
    {
        Check(data, offsets, a.Length, y.Length);
        for (int i = 0; i < y.Length; i++)
            for (int c = 0; c < offsets.Length; c++)
                y[i] = double.MultiplyAddEstimate(a[c], data[(int)(offsets[c] + i)], y[i]);
    }

    /// <summary>result[c] += x_c' r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddDots(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r, Span<double> result, int ahead = 0)
    {
        Check(data, offsets, result.Length, r.Length);
        Dots<Unshifted>(data, offsets, default, r, result, ahead);
    }

    /// <summary>Scalar twin of <see cref="AddDots"/>.</summary>
    public static void AddDotsScalar(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> r, Span<double> result)
    {
        Check(data, offsets, result.Length, r.Length);
        DotsScalar<Unshifted>(data, offsets, default, r, result);
    }

    /// <summary>
    /// result[c] += (x_c − m[c])' r: the dot products of columns centered on the fly (a column with a large mean loses no
    /// digits), four columns per sweep of r.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddShiftedDots(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m, ReadOnlySpan<double> r,
        Span<double> result, int ahead = 0)
    {
        Check(data, offsets, result.Length, r.Length);
        if (m.Length != offsets.Length) throw new ArgumentException($"{m.Length} shifts for {offsets.Length} columns");
        Dots<Shifted>(data, offsets, m, r, result, ahead);
    }

    /// <summary>Scalar twin of <see cref="AddShiftedDots"/>.</summary>
    public static void AddShiftedDotsScalar(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m, ReadOnlySpan<double> r,
        Span<double> result)
    {
        Check(data, offsets, result.Length, r.Length);
        if (m.Length != offsets.Length) throw new ArgumentException($"{m.Length} shifts for {offsets.Length} columns");
        DotsScalar<Shifted>(data, offsets, m, r, result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dots<H>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m, ReadOnlySpan<double> r,
        Span<double> result, int ahead) where H : IShift
    {
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: Dots<Simd512, Vector512<double>, H>(data, offsets, m, r, result, ahead); break;
            case KernelPath.Vector256: Dots<Simd256, Vector256<double>, H>(data, offsets, m, r, result, ahead); break;
            case KernelPath.Vector128: Dots<Simd128, Vector128<double>, H>(data, offsets, m, r, result, ahead); break;
            default: DotsScalar<H>(data, offsets, m, r, result); break;
        }
    }

    private static void DotsScalar<H>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m, ReadOnlySpan<double> r,
        Span<double> result) where H : IShift
    {
        for (int c = 0; c < offsets.Length; c++)
        {
            double dot = 0, shift = H.Shifts ? m[c] : 0.0;
            for (int i = 0; i < r.Length; i++)
            {
                double x = data[(int)(offsets[c] + i)];
                dot = double.MultiplyAddEstimate(H.Shifts ? x - shift : x, r[i], dot);
            }
            result[c] += dot;
        }
    }

    /// <summary>Whether the dot products center each column on its shift.</summary>
    private interface IShift { static abstract bool Shifts { get; } }
    private readonly struct Unshifted : IShift { public static bool Shifts => false; }
    private readonly struct Shifted : IShift { public static bool Shifts => true; }

    private static void Check(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, int perColumn, int length)
    {
        if (perColumn != offsets.Length) throw new ArgumentException($"{perColumn} coefficients or results for {offsets.Length} columns");
        foreach (long o in offsets)
            if (o < 0 || o + length > data.Length) throw new ArgumentOutOfRangeException(nameof(offsets), $"a column at {o} of {length} rows is outside the data");
    }

    /// <summary>Doubles per cache line less one: a kernel prefetches once per line of its columns.</summary>
    private const int LineMask = 7;

    /// <summary>Hints the cache line at row <paramref name="i"/> of four columns (a hint: an address past the data is not read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch4(ref double x0, ref double x1, ref double x2, ref double x3, int i)
    {
        Sse.Prefetch0(Line(ref x0, i));
        Sse.Prefetch0(Line(ref x1, i));
        Sse.Prefetch0(Line(ref x2, i));
        Sse.Prefetch0(Line(ref x3, i));
    }

    /// <summary>Hints the cache line at row <paramref name="i"/> of one column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch1(ref double x, int i) => Sse.Prefetch0(Line(ref x, i));

    /// <summary>The address of row <paramref name="i"/> of a column, for a prefetch hint only (never dereferenced; if the
    /// array moves, the hint is merely wasted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void* Line(ref double x, int i) => Unsafe.AsPointer(ref Unsafe.Add(ref x, i));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddScaled<S, TV>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a, Span<double> y, int ahead)
        where S : ISimd<TV> where TV : struct
    {
        bool prefetch = ahead > 0 && Sse.IsSupported;
        ref double d = ref MemoryMarshal.GetReference(data);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int n = y.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref double x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref double x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref double x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            double a0 = a[c], a1 = a[c + 1], a2 = a[c + 2], a3 = a[c + 3];
            TV v0 = S.Splat(a0), v1 = S.Splat(a1), v2 = S.Splat(a2), v3 = S.Splat(a3);
            int i = 0;
            for (; i <= n - w; i += w)
            {
                if (prefetch && (i & LineMask) == 0) Prefetch4(ref x0, ref x1, ref x2, ref x3, i + ahead);
                var acc = S.Load(ref yr, (nuint)i);
                acc = S.MultiplyAdd(v0, S.Load(ref x0, (nuint)i), acc);
                acc = S.MultiplyAdd(v1, S.Load(ref x1, (nuint)i), acc);
                acc = S.MultiplyAdd(v2, S.Load(ref x2, (nuint)i), acc);
                acc = S.MultiplyAdd(v3, S.Load(ref x3, (nuint)i), acc);
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
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            double a0 = a[c];
            var v0 = S.Splat(a0);
            int i = 0;
            for (; i <= n - w; i += w)
            {
                if (prefetch && (i & LineMask) == 0) Prefetch1(ref x0, i + ahead);
                S.Store(S.MultiplyAdd(v0, S.Load(ref x0, (nuint)i), S.Load(ref yr, (nuint)i)), ref yr, (nuint)i);
            }
            for (; i < n; i++)
                Unsafe.Add(ref yr, i) = double.MultiplyAddEstimate(a0, Unsafe.Add(ref x0, i), Unsafe.Add(ref yr, i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots<S, TV, H>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m, ReadOnlySpan<double> r,
        Span<double> result, int ahead) where S : ISimd<TV> where TV : struct where H : IShift
    {
        bool prefetch = ahead > 0 && Sse.IsSupported;
        ref double d = ref MemoryMarshal.GetReference(data);
        ref double rr = ref MemoryMarshal.GetReference(r);
        int n = r.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref double x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref double x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref double x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            double m0 = H.Shifts ? m[c] : 0, m1 = H.Shifts ? m[c + 1] : 0, m2 = H.Shifts ? m[c + 2] : 0, m3 = H.Shifts ? m[c + 3] : 0;
            TV v0 = S.Splat(m0), v1 = S.Splat(m1), v2 = S.Splat(m2), v3 = S.Splat(m3);
            TV s0 = S.Zero, s1 = s0, s2 = s0, s3 = s0;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                if (prefetch && (i & LineMask) == 0) Prefetch4(ref x0, ref x1, ref x2, ref x3, i + ahead);
                var v = S.Load(ref rr, (nuint)i);
                s0 = S.MultiplyAdd(Column<S, TV, H>(ref x0, i, v0), v, s0);
                s1 = S.MultiplyAdd(Column<S, TV, H>(ref x1, i, v1), v, s1);
                s2 = S.MultiplyAdd(Column<S, TV, H>(ref x2, i, v2), v, s2);
                s3 = S.MultiplyAdd(Column<S, TV, H>(ref x3, i, v3), v, s3);
            }
            double t0 = S.Sum(s0), t1 = S.Sum(s1), t2 = S.Sum(s2), t3 = S.Sum(s3);
            for (; i < n; i++)
            {
                double v = Unsafe.Add(ref rr, i);
                t0 = double.MultiplyAddEstimate(Unsafe.Add(ref x0, i) - m0, v, t0);
                t1 = double.MultiplyAddEstimate(Unsafe.Add(ref x1, i) - m1, v, t1);
                t2 = double.MultiplyAddEstimate(Unsafe.Add(ref x2, i) - m2, v, t2);
                t3 = double.MultiplyAddEstimate(Unsafe.Add(ref x3, i) - m3, v, t3);
            }
            result[c] += t0;
            result[c + 1] += t1;
            result[c + 2] += t2;
            result[c + 3] += t3;
        }
        for (; c < columns; c++)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            double m0 = H.Shifts ? m[c] : 0;
            TV v0 = S.Splat(m0), s0 = S.Zero;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                if (prefetch && (i & LineMask) == 0) Prefetch1(ref x0, i + ahead);
                s0 = S.MultiplyAdd(Column<S, TV, H>(ref x0, i, v0), S.Load(ref rr, (nuint)i), s0);
            }
            double t0 = S.Sum(s0);
            for (; i < n; i++)
                t0 = double.MultiplyAddEstimate(Unsafe.Add(ref x0, i) - m0, Unsafe.Add(ref rr, i), t0);
            result[c] += t0;
        }
    }

    /// <summary>Rows [i, i + width) of a column, less its shift when the kernel shifts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Column<S, TV, H>(ref double x, int i, TV shift) where S : ISimd<TV> where TV : struct where H : IShift
        => H.Shifts ? S.Subtract(S.Load(ref x, (nuint)i), shift) : S.Load(ref x, (nuint)i);
}
