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
public static partial class LogisticKernels
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

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]   // see Poisson
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

    // Never inlined: a caller's tier-1 body (GlmFamily's NegativeLogLikelihood) took this whole loop in and then ran out of
    // inlining budget for SimdMath.Exp, which it called as a separate method at tier 0 (its Simd256 helpers calls too).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]   // see Poisson
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

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]   // see Poisson
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
