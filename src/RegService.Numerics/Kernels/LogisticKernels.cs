using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Span primitives of the binomial solver: dot products and updates on a column centered on the fly
/// (<c>x - m</c>, so a column with a large mean loses no digits), and the logistic link of a block of rows.
/// Each runs on every tier of <see cref="KernelIsa"/> and has a plain scalar twin for tests.
/// </summary>
/// <remarks>
/// Vectorized sums add in another order than their twins, so the last bits can differ. The vector link computes
/// e^−|eta| and log(1 + e^−|eta|) by range reduction and polynomials (<see cref="SimdMath"/>), accurate to a few ulps.
/// </remarks>
public static class LogisticKernels
{
    /// <summary>Σ (a_i − b_i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumDifference(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => SpanOps.Sum<Terms.Difference>(a, b, 0);

    /// <summary>Scalar twin of <see cref="SumDifference"/>.</summary>
    public static double SumDifferenceScalar(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => SpanOps.SumScalar<Terms.Difference>(a, b, 0);

    /// <summary>Σ (a_i − b_i − c)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double CenteredDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double c) => SpanOps.Sum<Terms.CenteredSquare>(a, b, c);

    /// <summary>Scalar twin of <see cref="CenteredDistance"/>.</summary>
    public static double CenteredDistanceScalar(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double c) => SpanOps.SumScalar<Terms.CenteredSquare>(a, b, c);

    /// <summary>Σ |a_i − b_i|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double AbsoluteDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => SpanOps.Sum<Terms.AbsoluteDifference>(a, b, 0);

    /// <summary>Scalar twin of <see cref="AbsoluteDistance"/>.</summary>
    public static double AbsoluteDistanceScalar(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => SpanOps.SumScalar<Terms.AbsoluteDifference>(a, b, 0);

    /// <summary>Σ (x_i − m) r_i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double DotShifted(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> r) => SpanOps.Sum<Terms.ShiftedProduct>(x, r, m);

    /// <summary>Scalar twin of <see cref="DotShifted"/>.</summary>
    public static double DotShiftedScalar(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> r) => SpanOps.SumScalar<Terms.ShiftedProduct>(x, r, m);

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

    /// <summary>r_i −= a · v_i · (x_i − c): the weighted-residual update of one coordinate step (regular stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SubtractWeightedShifted(double a, ReadOnlySpan<double> v, ReadOnlySpan<double> x, double c, Span<double> r)
        => SpanOps.Update<Terms.SubtractWeightedShifted>(r, x, v, a, c);

    /// <summary>Scalar twin of <see cref="SubtractWeightedShifted"/>.</summary>
    public static void SubtractWeightedShiftedScalar(double a, ReadOnlySpan<double> v, ReadOnlySpan<double> x, double c, Span<double> r)
    {
        if (x.Length != r.Length || v.Length != r.Length) throw new ArgumentException("v, x and r differ in length");
        SpanOps.UpdateScalar<Terms.SubtractWeightedShifted>(r, x, v, a, c);
    }

    /// <summary>The weighted moments Σ w_i (x_i − m) and Σ w_i (x_i − m)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double First, double Second) WeightedMoments(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> w)
    {
        if (x.Length != w.Length) throw new ArgumentException("x and w differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => WeightedMoments<Simd512, Vector512<double>>(x, m, w),
            KernelPath.Vector256 => WeightedMoments<Simd256, Vector256<double>>(x, m, w),
            KernelPath.Vector128 => WeightedMoments<Simd128, Vector128<double>>(x, m, w),
            _ => WeightedMomentsScalar(x, m, w),
        };
    }

    /// <summary>Scalar twin of <see cref="WeightedMoments"/>.</summary>
    public static (double First, double Second) WeightedMomentsScalar(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> w)
    {
        if (x.Length != w.Length) throw new ArgumentException("x and w differ in length");
        double first = 0, second = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - m, wd = w[i] * d;
            first += wd;
            second += wd * d;
        }
        return (first, second);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double First, double Second) WeightedMoments<S, TV>(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> w)
        where S : ISimd<TV> where TV : struct
    {
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double wr = ref MemoryMarshal.GetReference(w);
        int n = x.Length, width = S.Count, i = 0;
        var vm = S.Splat(m);
        TV f0 = S.Zero, f1 = f0, q0 = f0, q1 = f0;
        for (; i <= n - 2 * width; i += 2 * width)
        {
            var d0 = S.Subtract(S.Load(ref xr, (nuint)i), vm);
            var d1 = S.Subtract(S.Load(ref xr, (nuint)(i + width)), vm);
            var wd0 = S.Multiply(S.Load(ref wr, (nuint)i), d0);
            var wd1 = S.Multiply(S.Load(ref wr, (nuint)(i + width)), d1);
            f0 = S.Add(f0, wd0);
            f1 = S.Add(f1, wd1);
            q0 = S.MultiplyAdd(wd0, d0, q0);
            q1 = S.MultiplyAdd(wd1, d1, q1);
        }
        double first = S.Sum(S.Add(f0, f1)), second = S.Sum(S.Add(q0, q1));
        for (; i < n; i++)
        {
            double d = Unsafe.Add(ref xr, i) - m, wd = Unsafe.Add(ref wr, i) * d;
            first += wd;
            second += wd * d;
        }
        return (first, second);
    }

    /// <summary>
    /// The logistic link over a block of rows: from the linear predictor <paramref name="eta"/> and the 0/1
    /// target, the probability p = 1/(1 + e^−eta), the weight p(1 − p), the residual y − p, and
    /// Σ [log(1 + e^eta) − y eta] (the negative log-likelihood, computed without overflow from e^−|eta|).
    /// <paramref name="scratch"/> is not used (kept for callers that pass a buffer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Link(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> p, Span<double> w, Span<double> r, Span<double> scratch)
    {
        int n = eta.Length;
        if (y.Length != n || p.Length != n || w.Length != n || r.Length != n)
            throw new ArgumentException("the spans differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Link<Simd512, Vector512<double>>(eta, y, p, w, r),
            KernelPath.Vector256 => Link<Simd256, Vector256<double>>(eta, y, p, w, r),
            KernelPath.Vector128 => Link<Simd128, Vector128<double>>(eta, y, p, w, r),
            _ => LinkScalar(eta, y, p, w, r),
        };
    }

    /// <summary>Scalar twin of <see cref="Link"/>, with Math.Exp and Math.Log.</summary>
    public static double LinkScalar(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> p, Span<double> w, Span<double> r)
    {
        double loss = 0;
        for (int i = 0; i < eta.Length; i++)
            loss += LinkOne(eta[i], y[i], out p[i], out w[i], out r[i]);
        return loss;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double LinkOne(double t, double y, out double p, out double w, out double r)
    {
        double e = Math.Exp(-Math.Abs(t));
        double inv = 1.0 / (1.0 + e);
        p = t >= 0 ? inv : e * inv;
        w = e * inv * inv;   // p(1 - p) = e^-|eta| / (1 + e^-|eta|)^2, no cancellation
        r = y - p;
        return Math.Max(t, 0) - y * t + Math.Log(1 + e);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Link<S, TV>(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> p, Span<double> w, Span<double> r)
        where S : ISimd<TV> where TV : struct
    {
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double pr = ref MemoryMarshal.GetReference(p);
        ref double wr = ref MemoryMarshal.GetReference(w);
        ref double rr = ref MemoryMarshal.GetReference(r);
        int n = eta.Length, width = S.Count, i = 0;
        var acc = S.Zero;
        for (; i <= n - width; i += width)
        {
            var yi = S.Load(ref yr, (nuint)i);
            acc = S.Add(acc, SimdMath.Logistic<S, TV>(S.Load(ref er, (nuint)i), yi, out var pi, out var e, out var inv));
            S.Store(pi, ref pr, (nuint)i);
            S.Store(S.Multiply(S.Multiply(e, inv), inv), ref wr, (nuint)i);
            S.Store(S.Subtract(yi, pi), ref rr, (nuint)i);
        }
        double loss = S.Sum(acc);
        for (; i < n; i++)
            loss += LinkOne(Unsafe.Add(ref er, i), Unsafe.Add(ref yr, i), out Unsafe.Add(ref pr, i), out Unsafe.Add(ref wr, i), out Unsafe.Add(ref rr, i));
        return loss;
    }

    /// <summary>
    /// The poisson (log) link over a block of rows with observation weights v (empty: all 1): mu = e^eta with eta clamped to
    /// ±<paramref name="clamp"/> where mu is taken, the weighted mean and working weight <paramref name="vmu"/> =
    /// <paramref name="w"/> = v mu, the residual r = v (y − mu); returns Σ v (mu − y eta).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double PoissonLink(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v, Span<double> vmu,
        Span<double> w, Span<double> r, double clamp)
    {
        int n = eta.Length;
        if (y.Length != n || vmu.Length != n || w.Length != n || r.Length != n || !(v.IsEmpty || v.Length == n))
            throw new ArgumentException("the spans differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Poisson<Simd512, Vector512<double>, Store>(eta, y, v, vmu, w, r, clamp),
            KernelPath.Vector256 => Poisson<Simd256, Vector256<double>, Store>(eta, y, v, vmu, w, r, clamp),
            KernelPath.Vector128 => Poisson<Simd128, Vector128<double>, Store>(eta, y, v, vmu, w, r, clamp),
            _ => PoissonScalar<Store>(eta, y, v, vmu, w, r, clamp),
        };
    }

    /// <summary>Scalar twin of <see cref="PoissonLink"/>, with Math.Exp.</summary>
    public static double PoissonLinkScalar(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v, Span<double> vmu,
        Span<double> w, Span<double> r, double clamp) => PoissonScalar<Store>(eta, y, v, vmu, w, r, clamp);

    /// <summary>Σ v (e^eta − y eta) alone (see <see cref="PoissonLink"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double PoissonLoss(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v, double clamp)
    {
        if (y.Length != eta.Length || !(v.IsEmpty || v.Length == eta.Length)) throw new ArgumentException("the spans differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Poisson<Simd512, Vector512<double>, LossOnly>(eta, y, v, default, default, default, clamp),
            KernelPath.Vector256 => Poisson<Simd256, Vector256<double>, LossOnly>(eta, y, v, default, default, default, clamp),
            KernelPath.Vector128 => Poisson<Simd128, Vector128<double>, LossOnly>(eta, y, v, default, default, default, clamp),
            _ => PoissonScalar<LossOnly>(eta, y, v, default, default, default, clamp),
        };
    }

    /// <summary>Scalar twin of <see cref="PoissonLoss"/>.</summary>
    public static double PoissonLossScalar(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v, double clamp)
        => PoissonScalar<LossOnly>(eta, y, v, default, default, default, clamp);

    /// <summary>Whether a poisson kernel stores v mu and the residuals or only sums the loss.</summary>
    private interface IPoissonOutput { static abstract bool Stores { get; } }
    private readonly struct Store : IPoissonOutput { public static bool Stores => true; }
    private readonly struct LossOnly : IPoissonOutput { public static bool Stores => false; }

    private static double PoissonScalar<O>(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v, Span<double> vmu,
        Span<double> w, Span<double> r, double clamp) where O : IPoissonOutput
    {
        double loss = 0;
        bool weighted = !v.IsEmpty;
        for (int i = 0; i < eta.Length; i++)
        {
            double t = eta[i], vi = weighted ? v[i] : 1.0;
            double mu = Math.Exp(Math.Clamp(t, -clamp, clamp));
            if (O.Stores)
            {
                vmu[i] = w[i] = vi * mu;
                r[i] = vi * (y[i] - mu);
            }
            loss += vi * (mu - y[i] * t);
        }
        return loss;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Poisson<S, TV, O>(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v, Span<double> vmu,
        Span<double> w, Span<double> r, double clamp) where S : ISimd<TV> where TV : struct where O : IPoissonOutput
    {
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double vr = ref MemoryMarshal.GetReference(v);
        ref double mr = ref MemoryMarshal.GetReference(vmu);
        ref double wr = ref MemoryMarshal.GetReference(w);
        ref double rr = ref MemoryMarshal.GetReference(r);
        bool weighted = !v.IsEmpty;
        int n = eta.Length, width = S.Count, i = 0;
        var acc = S.Zero;
        var lowest = S.Splat(-clamp);
        for (; i <= n - width; i += width)
        {
            var t = S.Load(ref er, (nuint)i);
            var clamped = S.Subtract(S.Zero, S.Max(S.Subtract(S.Zero, S.Max(t, lowest)), lowest));   // min(max(t, -c), c)
            var mu = SimdMath.Exp<S, TV>(clamped);
            var yi = S.Load(ref yr, (nuint)i);
            var term = S.Subtract(mu, S.Multiply(yi, t));
            if (weighted)
            {
                var vi = S.Load(ref vr, (nuint)i);
                term = S.Multiply(vi, term);
                if (O.Stores)
                {
                    var vmui = S.Multiply(vi, mu);
                    S.Store(vmui, ref mr, (nuint)i);
                    S.Store(vmui, ref wr, (nuint)i);
                    S.Store(S.Multiply(vi, S.Subtract(yi, mu)), ref rr, (nuint)i);
                }
            }
            else if (O.Stores)
            {
                S.Store(mu, ref mr, (nuint)i);
                S.Store(mu, ref wr, (nuint)i);
                S.Store(S.Subtract(yi, mu), ref rr, (nuint)i);
            }
            acc = S.Add(acc, term);
        }
        double loss = S.Sum(acc);
        if (i < n)
        {
            loss += PoissonScalar<O>(eta[i..], y[i..], weighted ? v[i..] : default, O.Stores ? vmu[i..] : default,
                O.Stores ? w[i..] : default, O.Stores ? r[i..] : default, clamp);
        }
        return loss;
    }

    /// <summary>Σ [log(1 + e^eta) − y eta]: the negative log-likelihood alone (see <see cref="Link"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Loss(ReadOnlySpan<double> eta, ReadOnlySpan<double> y)
    {
        if (y.Length != eta.Length) throw new ArgumentException("eta and y differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Loss<Simd512, Vector512<double>>(eta, y),
            KernelPath.Vector256 => Loss<Simd256, Vector256<double>>(eta, y),
            KernelPath.Vector128 => Loss<Simd128, Vector128<double>>(eta, y),
            _ => LossScalar(eta, y),
        };
    }

    /// <summary>Scalar twin of <see cref="Loss"/>.</summary>
    public static double LossScalar(ReadOnlySpan<double> eta, ReadOnlySpan<double> y)
    {
        double loss = 0;
        for (int i = 0; i < eta.Length; i++) loss += LossOne(eta[i], y[i]);
        return loss;
    }

    private static double LossOne(double t, double y) => Math.Max(t, 0) - y * t + Math.Log(1 + Math.Exp(-Math.Abs(t)));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Loss<S, TV>(ReadOnlySpan<double> eta, ReadOnlySpan<double> y) where S : ISimd<TV> where TV : struct
    {
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int n = eta.Length, width = S.Count, i = 0;
        var acc = S.Zero;
        for (; i <= n - width; i += width)
            acc = S.Add(acc, SimdMath.Logistic<S, TV>(S.Load(ref er, (nuint)i), S.Load(ref yr, (nuint)i), out _, out _, out _));
        double loss = S.Sum(acc);
        for (; i < n; i++) loss += LossOne(Unsafe.Add(ref er, i), Unsafe.Add(ref yr, i));
        return loss;
    }

    /// <summary>
    /// The gradient residual of a block: <c>res_i = p_i − y_i</c> with p = 1/(1 + e^−eta); returns the loss
    /// Σ [log(1 + e^eta) − y eta] and adds Σ res_i to <paramref name="sumResidual"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Residual(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> res, ref double sumResidual)
    {
        if (y.Length != eta.Length || res.Length != eta.Length) throw new ArgumentException("the spans differ in length");
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Residual<Simd512, Vector512<double>>(eta, y, res, ref sumResidual),
            KernelPath.Vector256 => Residual<Simd256, Vector256<double>>(eta, y, res, ref sumResidual),
            KernelPath.Vector128 => Residual<Simd128, Vector128<double>>(eta, y, res, ref sumResidual),
            _ => ResidualScalar(eta, y, res, ref sumResidual),
        };
    }

    /// <summary>Scalar twin of <see cref="Residual"/>.</summary>
    public static double ResidualScalar(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> res, ref double sumResidual)
    {
        double loss = 0;
        for (int i = 0; i < eta.Length; i++)
        {
            loss += LinkOne(eta[i], y[i], out _, out _, out double r);
            res[i] = -r;
            sumResidual -= r;
        }
        return loss;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Residual<S, TV>(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> res, ref double sumResidual)
        where S : ISimd<TV> where TV : struct
    {
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double rr = ref MemoryMarshal.GetReference(res);
        int n = eta.Length, width = S.Count, i = 0;
        TV lossV = S.Zero, sumV = S.Zero;
        for (; i <= n - width; i += width)
        {
            var yi = S.Load(ref yr, (nuint)i);
            lossV = S.Add(lossV, SimdMath.Logistic<S, TV>(S.Load(ref er, (nuint)i), yi, out var pi, out _, out _));
            var ri = S.Subtract(pi, yi);
            S.Store(ri, ref rr, (nuint)i);
            sumV = S.Add(sumV, ri);
        }
        double loss = S.Sum(lossV), sum = S.Sum(sumV);
        for (; i < n; i++)
        {
            loss += LinkOne(Unsafe.Add(ref er, i), Unsafe.Add(ref yr, i), out _, out _, out double r);
            Unsafe.Add(ref rr, i) = -r;
            sum -= r;
        }
        sumResidual += sum;
        return loss;
    }
}
