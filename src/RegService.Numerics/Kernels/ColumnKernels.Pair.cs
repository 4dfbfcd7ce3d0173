using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Two at once, each column read once: the shifted dots of <see cref="ColumnKernels.AddShiftedDots"/> against two vectors, and
/// the sums of <see cref="ColumnKernels.AddScaled"/> for two coefficient vectors.
/// </summary>
internal static partial class ColumnKernels
{
    /// <summary>
    /// <see cref="AddShiftedDots"/> against two vectors at once, each column read once: <c>result1_c += (x_c − m_c)' r1</c>
    /// and <c>result2_c += (x_c − m_c)' r2</c>, each sum in the order of <see cref="AddShiftedDots"/> (the same bits as two
    /// calls of it).
    /// </summary>
    public static void AddShiftedDotsPair(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m,
        ReadOnlySpan<double> r1, ReadOnlySpan<double> r2, Span<double> result1, Span<double> result2, int ahead = 0)
    {
        Check(data, offsets, result1.Length, r1.Length);
        if (m.Length != offsets.Length) throw new ArgumentException($"{m.Length} shifts for {offsets.Length} columns");
        if (r2.Length != r1.Length || result2.Length != result1.Length) throw new ArgumentException("the two vectors and results must match");
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: DotsPair<Simd512, Vector512<double>>(data, offsets, m, r1, r2, result1, result2, ahead); break;
            case KernelPath.Vector256: DotsPair<Simd256, Vector256<double>>(data, offsets, m, r1, r2, result1, result2, ahead); break;
            case KernelPath.Vector128: DotsPair<Simd128, Vector128<double>>(data, offsets, m, r1, r2, result1, result2, ahead); break;
            default: AddShiftedDotsPairScalar(data, offsets, m, r1, r2, result1, result2); break;
        }
    }

    /// <summary>Scalar twin of <see cref="AddShiftedDotsPair"/>.</summary>
    public static void AddShiftedDotsPairScalar(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m,
        ReadOnlySpan<double> r1, ReadOnlySpan<double> r2, Span<double> result1, Span<double> result2)
    {
        Check(data, offsets, result1.Length, r1.Length);
        if (m.Length != offsets.Length) throw new ArgumentException($"{m.Length} shifts for {offsets.Length} columns");
        if (r2.Length != r1.Length || result2.Length != result1.Length) throw new ArgumentException("the two vectors and results must match");
        DotsScalar<Shifted>(data, offsets, m, r1, result1);
        DotsScalar<Shifted>(data, offsets, m, r2, result2);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotsPair<S, TV>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> m,
        ReadOnlySpan<double> r1, ReadOnlySpan<double> r2, Span<double> result1, Span<double> result2, int ahead)
        where S : ISimd<TV> where TV : struct
    {
        bool prefetch = ahead > 0 && Sse.IsSupported;
        ref double d = ref MemoryMarshal.GetReference(data);
        ref double ra = ref MemoryMarshal.GetReference(r1);
        ref double rb = ref MemoryMarshal.GetReference(r2);
        int n = r1.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref double x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref double x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref double x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            double m0 = m[c], m1 = m[c + 1], m2 = m[c + 2], m3 = m[c + 3];
            TV v0 = S.Splat(m0), v1 = S.Splat(m1), v2 = S.Splat(m2), v3 = S.Splat(m3);
            TV s0 = S.Zero, s1 = s0, s2 = s0, s3 = s0, u0 = s0, u1 = s0, u2 = s0, u3 = s0;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                if (prefetch && (i & LineMask) == 0) Prefetch4(ref x0, ref x1, ref x2, ref x3, i + ahead);
                var a = S.Load(ref ra, (nuint)i);
                var b = S.Load(ref rb, (nuint)i);
                var y0 = Column<S, TV, Shifted>(ref x0, i, v0);
                var y1 = Column<S, TV, Shifted>(ref x1, i, v1);
                var y2 = Column<S, TV, Shifted>(ref x2, i, v2);
                var y3 = Column<S, TV, Shifted>(ref x3, i, v3);
                s0 = S.MultiplyAdd(y0, a, s0);
                u0 = S.MultiplyAdd(y0, b, u0);
                s1 = S.MultiplyAdd(y1, a, s1);
                u1 = S.MultiplyAdd(y1, b, u1);
                s2 = S.MultiplyAdd(y2, a, s2);
                u2 = S.MultiplyAdd(y2, b, u2);
                s3 = S.MultiplyAdd(y3, a, s3);
                u3 = S.MultiplyAdd(y3, b, u3);
            }
            double t0 = S.Sum(s0), t1 = S.Sum(s1), t2 = S.Sum(s2), t3 = S.Sum(s3);
            double q0 = S.Sum(u0), q1 = S.Sum(u1), q2 = S.Sum(u2), q3 = S.Sum(u3);
            for (; i < n; i++)
            {
                double a = Unsafe.Add(ref ra, i), b = Unsafe.Add(ref rb, i);
                double y0 = Unsafe.Add(ref x0, i) - m0, y1 = Unsafe.Add(ref x1, i) - m1;
                double y2 = Unsafe.Add(ref x2, i) - m2, y3 = Unsafe.Add(ref x3, i) - m3;
                t0 = double.MultiplyAddEstimate(y0, a, t0);
                t1 = double.MultiplyAddEstimate(y1, a, t1);
                t2 = double.MultiplyAddEstimate(y2, a, t2);
                t3 = double.MultiplyAddEstimate(y3, a, t3);
                q0 = double.MultiplyAddEstimate(y0, b, q0);
                q1 = double.MultiplyAddEstimate(y1, b, q1);
                q2 = double.MultiplyAddEstimate(y2, b, q2);
                q3 = double.MultiplyAddEstimate(y3, b, q3);
            }
            result1[c] += t0;
            result1[c + 1] += t1;
            result1[c + 2] += t2;
            result1[c + 3] += t3;
            result2[c] += q0;
            result2[c + 1] += q1;
            result2[c + 2] += q2;
            result2[c + 3] += q3;
        }
        for (; c < columns; c++)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            double m0 = m[c];
            TV v0 = S.Splat(m0), s0 = S.Zero, u0 = S.Zero;
            int i = 0;
            for (; i <= n - w; i += w)
            {
                if (prefetch && (i & LineMask) == 0) Prefetch1(ref x0, i + ahead);
                var y0 = Column<S, TV, Shifted>(ref x0, i, v0);
                s0 = S.MultiplyAdd(y0, S.Load(ref ra, (nuint)i), s0);
                u0 = S.MultiplyAdd(y0, S.Load(ref rb, (nuint)i), u0);
            }
            double t0 = S.Sum(s0), q0 = S.Sum(u0);
            for (; i < n; i++)
            {
                double y0 = Unsafe.Add(ref x0, i) - m0;
                t0 = double.MultiplyAddEstimate(y0, Unsafe.Add(ref ra, i), t0);
                q0 = double.MultiplyAddEstimate(y0, Unsafe.Add(ref rb, i), q0);
            }
            result1[c] += t0;
            result2[c] += q0;
        }
    }

    /// <summary>
    /// <see cref="AddScaled"/> for two coefficient vectors over the same columns, each column read once:
    /// <c>y1 += Σ_c a1[c] · x_c</c> and <c>y2 += Σ_c a2[c] · x_c</c>, each element in the column order of
    /// <see cref="AddScaled"/> (with FMA the same bits as two calls of it; a zero coefficient adds an exact 0).
    /// </summary>
    public static void AddScaledPair(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2,
        Span<double> y1, Span<double> y2)
    {
        Check(data, offsets, a1.Length, y1.Length);
        if (a2.Length != a1.Length || y2.Length != y1.Length) throw new ArgumentException("the two coefficient vectors and results must match");
        switch (KernelIsa.Current)
        {
            case KernelPath.Vector512: ScaledPair<Simd512, Vector512<double>>(data, offsets, a1, a2, y1, y2); break;
            case KernelPath.Vector256: ScaledPair<Simd256, Vector256<double>>(data, offsets, a1, a2, y1, y2); break;
            case KernelPath.Vector128: ScaledPair<Simd128, Vector128<double>>(data, offsets, a1, a2, y1, y2); break;
            default: AddScaledPairScalar(data, offsets, a1, a2, y1, y2); break;
        }
    }

    /// <summary>Scalar twin of <see cref="AddScaledPair"/>.</summary>
    public static void AddScaledPairScalar(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2,
        Span<double> y1, Span<double> y2)
    {
        Check(data, offsets, a1.Length, y1.Length);
        if (a2.Length != a1.Length || y2.Length != y1.Length) throw new ArgumentException("the two coefficient vectors and results must match");
        AddScaledScalar(data, offsets, a1, y1);
        AddScaledScalar(data, offsets, a2, y2);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaledPair<S, TV>(ReadOnlySpan<double> data, ReadOnlySpan<long> offsets, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2,
        Span<double> y1, Span<double> y2) where S : ISimd<TV> where TV : struct
    {
        ref double d = ref MemoryMarshal.GetReference(data);
        ref double ya = ref MemoryMarshal.GetReference(y1);
        ref double yb = ref MemoryMarshal.GetReference(y2);
        int n = y1.Length, w = S.Count, columns = offsets.Length, c = 0;
        for (; c + 4 <= columns; c += 4)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            ref double x1 = ref Unsafe.Add(ref d, (nint)offsets[c + 1]);
            ref double x2 = ref Unsafe.Add(ref d, (nint)offsets[c + 2]);
            ref double x3 = ref Unsafe.Add(ref d, (nint)offsets[c + 3]);
            double p0 = a1[c], p1 = a1[c + 1], p2 = a1[c + 2], p3 = a1[c + 3];
            double q0 = a2[c], q1 = a2[c + 1], q2 = a2[c + 2], q3 = a2[c + 3];
            TV u0 = S.Splat(p0), u1 = S.Splat(p1), u2 = S.Splat(p2), u3 = S.Splat(p3);
            TV v0 = S.Splat(q0), v1 = S.Splat(q1), v2 = S.Splat(q2), v3 = S.Splat(q3);
            int i = 0;
            for (; i <= n - w; i += w)
            {
                var c0 = S.Load(ref x0, (nuint)i);
                var c1 = S.Load(ref x1, (nuint)i);
                var c2 = S.Load(ref x2, (nuint)i);
                var c3 = S.Load(ref x3, (nuint)i);
                var acc = S.Load(ref ya, (nuint)i);
                var bcc = S.Load(ref yb, (nuint)i);
                acc = S.MultiplyAdd(u0, c0, acc);
                bcc = S.MultiplyAdd(v0, c0, bcc);
                acc = S.MultiplyAdd(u1, c1, acc);
                bcc = S.MultiplyAdd(v1, c1, bcc);
                acc = S.MultiplyAdd(u2, c2, acc);
                bcc = S.MultiplyAdd(v2, c2, bcc);
                acc = S.MultiplyAdd(u3, c3, acc);
                bcc = S.MultiplyAdd(v3, c3, bcc);
                S.Store(acc, ref ya, (nuint)i);
                S.Store(bcc, ref yb, (nuint)i);
            }
            for (; i < n; i++)
            {
                double e0 = Unsafe.Add(ref x0, i), e1 = Unsafe.Add(ref x1, i), e2 = Unsafe.Add(ref x2, i), e3 = Unsafe.Add(ref x3, i);
                double acc = Unsafe.Add(ref ya, i), bcc = Unsafe.Add(ref yb, i);
                acc = double.MultiplyAddEstimate(p0, e0, acc);
                acc = double.MultiplyAddEstimate(p1, e1, acc);
                acc = double.MultiplyAddEstimate(p2, e2, acc);
                acc = double.MultiplyAddEstimate(p3, e3, acc);
                bcc = double.MultiplyAddEstimate(q0, e0, bcc);
                bcc = double.MultiplyAddEstimate(q1, e1, bcc);
                bcc = double.MultiplyAddEstimate(q2, e2, bcc);
                bcc = double.MultiplyAddEstimate(q3, e3, bcc);
                Unsafe.Add(ref ya, i) = acc;
                Unsafe.Add(ref yb, i) = bcc;
            }
        }
        for (; c < columns; c++)
        {
            ref double x0 = ref Unsafe.Add(ref d, (nint)offsets[c]);
            double p0 = a1[c], q0 = a2[c];
            TV u0 = S.Splat(p0), v0 = S.Splat(q0);
            int i = 0;
            for (; i <= n - w; i += w)
            {
                var c0 = S.Load(ref x0, (nuint)i);
                S.Store(S.MultiplyAdd(u0, c0, S.Load(ref ya, (nuint)i)), ref ya, (nuint)i);
                S.Store(S.MultiplyAdd(v0, c0, S.Load(ref yb, (nuint)i)), ref yb, (nuint)i);
            }
            for (; i < n; i++)
            {
                double e0 = Unsafe.Add(ref x0, i);
                Unsafe.Add(ref ya, i) = double.MultiplyAddEstimate(p0, e0, Unsafe.Add(ref ya, i));
                Unsafe.Add(ref yb, i) = double.MultiplyAddEstimate(q0, e0, Unsafe.Add(ref yb, i));
            }
        }
    }
}
