namespace RegService.Numerics.Solvers;

/// <summary>
/// The working set of <see cref="LogisticPathSolver"/> against the features outside it: the strong rule that extends it, the
/// KKT check at a lambda's end (with room for a last step taken on the model), and the bounds, single-precision screens and
/// exact gradients that settle an outside feature (<see cref="GradientBounds"/>).
/// </summary>
internal sealed partial class LogisticPathSolver
{
    /// <summary>
    /// Adds the features the sequential strong rule selects (|g_j| ≥ alpha v_j (2 lambda - lambda_prev)) and the
    /// unpenalized ones; in the Gram mode also those close to entering, so the Gram matrix serves several lambdas.
    /// </summary>
    private void ExtendSet(double lambda, double previousLambda, bool[] candidate)
    {
        var outer = _set.OutsideOf(candidate);
        if (outer.Count == 0) return;
        double strong = _set.StrongCut(lambda, previousLambda);
        double ahead = _naive ? strong : _alpha * Math.Max(lambda - _d.Family.NewtonLookahead * Math.Max(previousLambda - lambda, 0), 0);
        ahead = Math.Min(ahead, strong);
        // Settle by the bound where it can, then by the screen, else by the exact gradient.
        var unsure = Unsure(outer, j => ahead * _v[j], strict: false, everyOuter: candidate == _all);
        SettleAll(unsure);
        var add = new List<int>();
        bool anyStrong = false;
        foreach (int j in unsure)
        {
            double g = Math.Abs(_bounds.Reference(j));
            if (_v[j] == 0 || g >= strong * _v[j])
            {
                anyStrong = true;
                add.Add(j);
            }
            else if (g >= ahead * _v[j])
            {
                add.Add(j);
            }
        }
        if (!anyStrong) return;
        if (!_naive && (_set.Count + add.Count) * 2 > _set.Count + outer.Count)
        {
            // Most candidates are in or about to be: take them all, once.
            SettleAll(outer);
            add = outer;
        }
        foreach (int j in add) _grad[j] = _bounds.Reference(j);
        AddToSet(add);
    }

    /// <summary>Adds features whose exact gradient at the current point is already in <see cref="_grad"/>.</summary>
    private void AddToSet(List<int> features)
    {
        foreach (int j in features)
        {
            if (!_set.Add(j)) continue;
            if (_naive)
            {
                var (first, second) = LogisticKernels.WeightedMoments(_d.Column(j), _d.Means[j], _pass.Weight);
                double s = _d.Scales[j];
                _wm[j] = first / (_n * s);
                _xv[j] = second / (_n * s * s);
            }
        }
    }

    /// <summary>
    /// KKT over the candidates outside the working set at the current point: |g_j| ≤ lambda alpha v_j, settled by the
    /// bound where it can be and by the exact gradient where not. Returns the violators (their gradients in <see cref="_grad"/>);
    /// with <paramref name="refuseEarly"/> (the caller asks only whether there is one), the first a screen shows to violate,
    /// alone, before any exact dot.
    /// </summary>
    private List<int> OuterKkt(double lambda, bool[] candidate, double margin = 0, bool refuseEarly = false)
    {
        var violators = new List<int>();
        if (!_exactPoint) Evaluate();   // the condition is checked at an exact point
        double cut = _set.KktCut(lambda);
        var unsure = Unsure(_set.OutsideOf(candidate), j => cut * _v[j] - margin * _d.BoundNorms[j], strict: true, everyOuter: candidate == _all);
        if (refuseEarly)
        {
            // A screen here that already shows a violation (its value less its rounding bound) answers the question: one
            // violator is returned, with no exact dots.
            foreach (int j in unsure)
            {
                if (_bounds.LowerBound(j) + margin * _d.BoundNorms[j] > cut * _v[j])
                    return [j];
            }
        }
        SettleAll(unsure);
        foreach (int j in unsure)
        {
            if (Math.Abs(_bounds.Reference(j)) + margin * _d.BoundNorms[j] <= cut * _v[j]) continue;
            _grad[j] = _bounds.Reference(j);
            violators.Add(j);
        }
        return violators;
    }

    /// <summary>
    /// Whether the last step of a lambda, from the exact point of the last pass to beta + d, b0 + d0, may be taken on the
    /// quadratic model (<see cref="ApplyOnModel"/>): every feature outside the working set must meet the KKT condition at the
    /// new point, so each must do so here with room for the move, <paramref name="margin"/> BoundNorms[j] (<see cref="MoveMargin(double, int, double)"/>).
    /// With nothing outside, the margin is 0.
    /// </summary>
    private bool EndsOnModel(int[] idx, double[] newBeta, double d0, double lambda, bool[] candidate, out double margin)
    {
        margin = 0;
        if (_set.Outside == 0) return true;
        margin = MoveMargin(idx, newBeta, d0);
        if (!double.IsFinite(margin)) return false;
        // A feature whose room the margin alone uses up fails whatever its gradient: no screen or exact dot can pass it.
        double cut = _set.KktCut(lambda);
        foreach (int j in _set.OutsideOf(candidate))
            if (margin * _d.BoundNorms[j] > cut * _v[j]) return false;
        return OuterKkt(lambda, candidate, margin, refuseEarly: true).Count == 0;
    }

    /// <summary>The margin of the move from the exact point of the last pass to beta + d, b0 + d0 (<see cref="MoveMargin(double, int, double)"/>).</summary>
    private double MoveMargin(int[] idx, double[] newBeta, double d0)
    {
        double move = Math.Abs(d0);
        for (int a = 0; a < idx.Length; a++) move += Math.Abs(newBeta[a] - _beta[idx[a]]) * _d.BoundNorms[idx[a]];
        return MoveMargin(move, _n, _pass.MaxWeight);
    }

    /// <summary>
    /// M with |g_j(eta + Δeta) − g_j(eta)| ≤ M BoundNorms[j] for every feature, for a move Δeta = d0 + sum_a d_a z_{j_a} of the
    /// linear predictor from a point whose largest working weight is <paramref name="maxWeight"/>, given <paramref name="move"/>
    /// D = |d0| + sum_a |d_a| BoundNorms[j_a] (so ||Δeta|| ≤ sqrt(n) D). g_j = z_j'r / n with r = v (y − mu), so
    /// |Δg_j| ≤ ||z_j|| ||Δr|| / n; both families' working weight changes by at most a factor e^|Δeta| along a move of eta
    /// (d log w / d eta is 1 for poisson, 1 − 2p for binomial), so by the mean value theorem |Δr_i| ≤ w_i |Δeta_i| e^|Δeta_i|.
    /// Hence M = max(w) e^(sqrt(n) D) D (max |Δeta_i| ≤ ||Δeta||); infinite when sqrt(n) D exceeds 1.
    /// </summary>
    internal static double MoveMargin(double move, int rows, double maxWeight)
    {
        double largest = Math.Sqrt(rows) * move;
        if (!(largest <= 1)) return double.PositiveInfinity;
        return maxWeight * Math.Exp(largest) * move * (1 + 1e-9);
    }

    /// <summary>
    /// The features whose |g_j| the bounds cannot keep below <paramref name="limit"/> (<paramref name="strict"/>: at most the
    /// limit; else below it): first by the bound from each reference, then by the single-precision screen at the point of the
    /// last pass where the family screens (<see cref="GlmFamily.ScreensInSinglePrecision"/>). On a point ended on the model, no
    /// pass is run: the bounds are those at the last pass's point plus the move's margin (<see cref="_modelMargin"/>). When
    /// <paramref name="features"/> are every feature outside the working set (<paramref name="everyOuter"/>) and the bounds leave
    /// more than half of them unsure, every one gets a reference at the last pass's point instead (screened, or exact where the
    /// family does not screen), kept with the residual so later bounds follow the residual's drift (<see cref="GradientBounds.ScreenAll"/>):
    /// on poisson_path_50k_200 and logit_enet_path_50k_200 this halved the outside columns read per fit. An unpenalized
    /// feature is always unsure; one whose limit is 0 is not screened.
    /// </summary>
    private List<int> Unsure(List<int> features, Func<int, double> limit, bool strict, bool everyOuter)
    {
        bool Settled(int j)
        {
            if (_v[j] == 0) return false;
            double bound = _bounds.Bound(j), l = limit(j);
            if (!_exactPoint) bound += _modelMargin * _d.BoundNorms[j];   // the bounds hold at the last pass's point
            return strict ? bound <= l : bound < l;
        }
        var unsure = features.Where(j => !Settled(j)).ToList();
        var screen = unsure.Where(j => _v[j] != 0 && limit(j) > 0).ToList();   // a zero limit settles nothing
        if (screen.Count == 0) return unsure;
        if (everyOuter && 2 * unsure.Count > features.Count)
        {
            // Most are unsure: a reference for every feature outside, kept with the residual for the bounds that follow.
            _bounds.ScreenAll(features, _d.Family.ScreensInSinglePrecision);
            return unsure.Where(j => !Settled(j)).ToList();
        }
        if (!_d.Family.ScreensInSinglePrecision) return unsure;
        _bounds.Screen(screen);
        return unsure.Where(j => !Settled(j)).ToList();
    }

    /// <summary>
    /// Exact gradients of <paramref name="features"/> at the point of the last pass: the current point, or on a point ended on
    /// the model (<see cref="ApplyOnModel"/>) the one it moved from, within <see cref="_modelMargin"/> BoundNorms[j] of the current.
    /// </summary>
    private void SettleAll(List<int> features)
    {
        if (features.Count == 0) return;
        _bounds.Settle(features);
    }
}
