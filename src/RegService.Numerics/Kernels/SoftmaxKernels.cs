using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>What <see cref="SoftmaxKernels.ShiftClass"/> finds on a block of rows.</summary>
internal readonly record struct SoftmaxShift(double LossChange, double Worst, double WeightSum, double ResidualSum, double Drift);

/// <summary>
/// The multinomial softmax after one class's linear predictor moved (the Gauss-Seidel class step of
/// <c>MultinomialPathSolver</c>), one pass over a block of rows with everything in registers: on every tier of
/// <see cref="KernelIsa"/>, with a scalar twin (<see cref="ShiftClassScalar"/>).
/// </summary>
/// <remarks>
/// Per row i, class k's linear predictor moved by s_i: e = e^s_i, D = sum_{l != k} p_l + p_k e (added in class order,
/// then p_k e), every p_l times 1/D (p_k e for class k): one division per row instead of K, each probability within an
/// ulp or two of p_l / D. Returned: sum_i v_i log D_i - sum_{y_i = k} v_i s_i (the change of the summed negative
/// log-likelihood; v the observation weights, 1 without), the smallest new p_{i,y_i} over the rows of positive weight (1
/// when there is none), and, with a next class m, its Newton weights w = v max(p_m (1 - p_m), 1e-5) and working residual
/// r = v (y_m - p_m) with sum w, sum r and sum |w - w_ref|. Every tier does the twin's operations in the same order per
/// row; the sums add in another order than the twin's, so their last bits can differ, as can e^s and log D (the vector tiers use <see cref="Vector512.Exp(Vector512{double})"/>
/// and <see cref="Vector512.Log(Vector512{double})"/>, the twin <see cref="Math.Exp"/> and <see cref="Math.Log(double)"/>).
/// </remarks>
internal static class SoftmaxKernels
{
    /// <summary>Smallest Newton weight p (1 - p) (glmnet's).</summary>
    public const double MinWeight = 1e-5;

    /// <summary>
    /// The softmax of rows [i0, i0 + s.Length) of <paramref name="prob"/> ([class][row]) after class <paramref name="k"/>'s
    /// linear predictor moved by <paramref name="s"/>; <paramref name="eta"/> (class k's linear predictor of those rows, or
    /// empty) has s added. <paramref name="label"/>: each row's class index; <paramref name="weights"/>: the rows'
    /// observation weights (empty: all 1). With <paramref name="next"/> ≥ 0 that class's weights and residual go to
    /// <paramref name="w"/> and <paramref name="r"/>, and their distance from <paramref name="reference"/> (empty: none) is summed.
    /// </summary>
    public static SoftmaxShift ShiftClass(double[][] prob, int i0, int k, ReadOnlySpan<double> s, Span<double> eta, ReadOnlySpan<double> label,
                                          ReadOnlySpan<double> weights, int next, Span<double> w, Span<double> r, ReadOnlySpan<double> reference)
    {
        Check(prob, i0, k, s.Length, eta, label, weights, next, w, r, reference);
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Shift<Simd512, Vector512<double>>(prob, i0, k, s, eta, label, weights, next, w, r, reference),
            KernelPath.Vector256 => Shift<Simd256, Vector256<double>>(prob, i0, k, s, eta, label, weights, next, w, r, reference),
            KernelPath.Vector128 => Shift<Simd128, Vector128<double>>(prob, i0, k, s, eta, label, weights, next, w, r, reference),
            _ => ShiftClassScalar(prob, i0, k, s, eta, label, weights, next, w, r, reference),
        };
    }

    /// <summary>Scalar twin of <see cref="ShiftClass"/>: row by row, the sums in row order.</summary>
    public static SoftmaxShift ShiftClassScalar(double[][] prob, int i0, int k, ReadOnlySpan<double> s, Span<double> eta, ReadOnlySpan<double> label,
                                                ReadOnlySpan<double> weights, int next, Span<double> w, Span<double> r, ReadOnlySpan<double> reference)
    {
        Check(prob, i0, k, s.Length, eta, label, weights, next, w, r, reference);
        double loss = 0, worst = 1, wsum = 0, rsum = 0, drift = 0;
        for (int i = 0; i < s.Length; i++) Row(prob, i0, k, i, s, eta, label, weights, next, w, r, reference, ref loss, ref worst, ref wsum, ref rsum, ref drift);
        return new SoftmaxShift(loss, worst, wsum, rsum, drift);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(double[][] prob, int i0, int k, int i, ReadOnlySpan<double> s, Span<double> eta, ReadOnlySpan<double> label,
                            ReadOnlySpan<double> weights, int next, Span<double> w, Span<double> r, ReadOnlySpan<double> reference,
                            ref double loss, ref double worst, ref double wsum, ref double rsum, ref double drift)
    {
        int row = i0 + i, y = (int)label[i];
        double si = s[i];
        if (!eta.IsEmpty) eta[i] += si;
        double d = 0;
        for (int l = 0; l < prob.Length; l++) if (l != k) d += prob[l][row];
        double pk = prob[k][row] * Math.Exp(si);
        d += pk;
        double observed = 0, pm = 0, inverse = 1 / d;
        for (int l = 0; l < prob.Length; l++)
        {
            double pl = (l == k ? pk : prob[l][row]) * inverse;
            prob[l][row] = pl;
            if (l == y) observed = pl;
            if (l == next) pm = pl;
        }
        double v = weights.IsEmpty ? 1 : weights[i];
        loss += v * Math.Log(d) - (y == k ? v * si : 0);
        if (v == 0) observed = 1;
        worst = Math.Min(worst, observed);
        if (next < 0) return;
        double wi = Math.Max((1 - pm) * pm, MinWeight) * v, ri = ((y == next ? 1 : 0) - pm) * v;
        w[i] = wi;
        r[i] = ri;
        wsum += wi;
        rsum += ri;
        if (!reference.IsEmpty) drift += Math.Abs(wi - reference[i]);
    }

    private static void Check(double[][] prob, int i0, int k, int len, Span<double> eta, ReadOnlySpan<double> label, ReadOnlySpan<double> weights,
                              int next, Span<double> w, Span<double> r, ReadOnlySpan<double> reference)
    {
        ArgumentNullException.ThrowIfNull(prob);
        if ((uint)k >= (uint)prob.Length || next >= prob.Length) throw new ArgumentOutOfRangeException(nameof(k), "a class outside the probabilities");
        if (i0 < 0) throw new ArgumentOutOfRangeException(nameof(i0));
        foreach (var p in prob)
            if (p is null || p.Length < i0 + len) throw new ArgumentException($"a class's probabilities end before row {i0 + len}");
        if (label.Length != len || (!eta.IsEmpty && eta.Length != len) || (!weights.IsEmpty && weights.Length != len))
            throw new ArgumentException("the labels, linear predictors and weights need one value per row");
        if (next >= 0 && (w.Length != len || r.Length != len || (!reference.IsEmpty && reference.Length != len)))
            throw new ArgumentException("the next class's weights, residual and reference need one value per row");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static SoftmaxShift Shift<S, TV>(double[][] prob, int i0, int k, ReadOnlySpan<double> s, Span<double> eta, ReadOnlySpan<double> label,
                                                ReadOnlySpan<double> weights, int next, Span<double> w, Span<double> r, ReadOnlySpan<double> reference)
        where S : ISimd<TV> where TV : struct
    {
        int len = s.Length, classes = prob.Length, width = S.Count;
        bool moveEta = !eta.IsEmpty, weighted = !weights.IsEmpty, prepare = next >= 0, drifting = prepare && !reference.IsEmpty;
        ref double sr = ref MemoryMarshal.GetReference(s);
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(label);
        ref double vr = ref MemoryMarshal.GetReference(weights);
        ref double wr = ref MemoryMarshal.GetReference(w);
        ref double rr = ref MemoryMarshal.GetReference(r);
        ref double fr = ref MemoryMarshal.GetReference(reference);
        TV one = S.Splat(1), floor = S.Splat(MinWeight);
        TV logs = S.Zero, own = S.Zero, worst = one, wsum = S.Zero, rsum = S.Zero, drift = S.Zero;
        int i = 0;
        for (; i <= len - width; i += width)
        {
            nuint u = (nuint)i, row = (nuint)(i0 + i);
            TV si = S.Load(ref sr, u);
            if (moveEta) S.Store(S.Add(S.Load(ref er, u), si), ref er, u);
            TV d = S.Zero;
            for (int l = 0; l < classes; l++)
                if (l != k) d = S.Add(d, S.Load(ref MemoryMarshal.GetArrayDataReference(prob[l]), row));
            ref double pkr = ref MemoryMarshal.GetArrayDataReference(prob[k]);
            TV pk = S.Multiply(S.Load(ref pkr, row), S.Exp(si));
            d = S.Add(d, pk);
            TV y = S.Load(ref yr, u), observed = S.Zero, pm = S.Zero, inverse = S.Divide(one, d);
            for (int l = 0; l < classes; l++)
            {
                ref double pr = ref MemoryMarshal.GetArrayDataReference(prob[l]);
                TV pl = S.Multiply(l == k ? pk : S.Load(ref pr, row), inverse);
                S.Store(pl, ref pr, row);
                observed = S.WhereEqual(y, l, pl, observed);
                if (l == next) pm = pl;
            }
            TV logd = S.Log(d), mine = S.WhereEqual(y, k, si, S.Zero);
            TV v = one;
            if (weighted)
            {
                v = S.Load(ref vr, u);
                logs = S.MultiplyAdd(v, logd, logs);
                own = S.MultiplyAdd(v, mine, own);
                observed = S.WhereEqual(v, 0, one, observed);
            }
            else
            {
                logs = S.Add(logs, logd);
                own = S.Add(own, mine);
            }
            worst = S.Min(worst, observed);
            if (!prepare) continue;
            TV wi = S.Max(S.Multiply(S.Subtract(one, pm), pm), floor), ri = S.Subtract(S.WhereEqual(y, next, one, S.Zero), pm);
            if (weighted)
            {
                wi = S.Multiply(wi, v);
                ri = S.Multiply(ri, v);
            }
            S.Store(wi, ref wr, u);
            S.Store(ri, ref rr, u);
            wsum = S.Add(wsum, wi);
            rsum = S.Add(rsum, ri);
            if (drifting) drift = S.Add(drift, S.Abs(S.Subtract(wi, S.Load(ref fr, u))));
        }
        double loss = S.Sum(logs) - S.Sum(own), smallest = S.Smallest(worst), ws = S.Sum(wsum), rs = S.Sum(rsum), dr = S.Sum(drift);
        for (; i < len; i++) Row(prob, i0, k, i, s, eta, label, weights, next, w, r, reference, ref loss, ref smallest, ref ws, ref rs, ref dr);
        return new SoftmaxShift(loss, smallest, ws, rs, dr);
    }
}
