namespace RegService.Numerics.Solvers;

/// <summary>
/// The state and steps of one proximal-Newton path of a family with a canonical link (binomial, poisson; see
/// <see cref="BinomialPath"/>); the family supplies the mean, working weight and loss per block (<see cref="GlmFamily.Irls"/>). Coefficients live on the
/// standardized scale: eta = b0 + sum_j beta_j z_j with z_j = (x_j - m_j) / s_j.
/// </summary>
internal sealed partial class LogisticPathSolver : IPointSolver
{
    /// <summary>glmnet.control's pmin: a probability within this of 0 or 1 counts as saturated.</summary>
    internal const double ProbabilityFloor = 1e-9;
    private const int MaxHalvings = 30;

    /// <summary>Rebuild the Gram matrix when sum |w - w_ref| / sum w_ref exceeds this.</summary>
    private const double DriftLimit = 0.05;

    /// <summary>
    /// A working set that grew extends the Gram matrix it had (<see cref="ExtendHessian"/>) while the weights are within this of
    /// the matrix's; further off, the grown set gets a fresh matrix. Per fit of the runner's paths (poisson_path_50k_200 /
    /// logit_enet_path_50k_200: Gram entries computed, passes, gradient columns the passes read): never extending 34,980 /
    /// 49,163 entries, 109 / 105 passes, 5,574 / 6,840 columns; at 1% 25,136 / 48,972 (the binomial path's sets grow later,
    /// at larger drifts), 111 / 105, 5,672 / 6,840; at 2% 25,805 / 26,489, 111 / 110, 5,660 / 6,954; at 5% 41,515 / 43,906,
    /// 117 / 114, 6,023 / 7,524 (the old weights reach the rebuild limit sooner, and the staler matrix costs passes).
    /// </summary>
    private const double ExtendDriftLimit = 0.02;

    private readonly LogisticData _d;
    private readonly PathSettings _settings;
    private readonly int _n, _p;
    private readonly double[] _v;
    private readonly double _alpha;
    private readonly bool _intercept;
    private readonly bool _naive;
    private readonly int _threads;
    private readonly CancellationToken _ct;

    // The current point and what a pass computed there.
    private readonly double[] _beta;
    private double _b0;
    private readonly LogisticPass _pass;
    private readonly GradientBounds _bounds;
    private readonly CoefficientBounds? _limits;   // lower.limits / upper.limits on the standardized scale
    private double _loss, _g0, _wsum;
    private readonly double[] _grad;          // exact for members of the working set
    private readonly double[] _xv, _wm;       // naive mode: sum v z^2 and sum v z (v = w/n) for members of the working set

    // Working set (only grows; members in the order they joined, the coordinate order) and the quadratic model of the Gram mode.
    private readonly OuterWorkingSet _set;
    private Hessian? _h;
    private bool _hStale;
    private double[]? _naiveResidual, _naiveWeight;   // buffers of the naive mode

    private double _nullLoss, _thr;
    private bool _exactPoint;           // the current point's probabilities, gradient and loss come from a pass
    private double _modelMargin;        // on a model point: |g_j − g_j(last pass)| ≤ _modelMargin BoundNorms[j] (MoveMargin)
    // Points ended on the model, whose exact loss the next pass computes, with their index on the path once it is known (-1 before).
    private readonly List<(Predictor Point, int Index)> _shadows = [];
    private ReadOnlyMemory<double> _following;  // the path's lambdas after this one, for which a pass may evaluate a point ahead
    private int _index;                 // the path step being solved
    private Ahead? _ahead;              // that point, evaluated by the last pass beside the current one
    private readonly double[] _gradAhead;
    private readonly List<(int Index, double Ratio)> _resolved = [];   // their exact deviance ratios, not yet on the path
    private int _pointCount;
    private bool[] _all = [];
    private double _ratio;
    private bool _warnedSaturated;
    private readonly List<string> _warnings;

    public LogisticPathSolver(LogisticData data, PathSettings settings, BinomialPath.SubproblemMode mode, CancellationToken ct)
    {
        _d = data;
        _settings = settings;
        _n = data.Rows;
        _p = data.Features;
        _v = settings.PenaltyFactors;
        _alpha = settings.Alpha;
        _intercept = settings.FitIntercept;
        _threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
        _ct = ct;
        _set = new OuterWorkingSet(_v, _alpha, data.Excluded);
        int candidates = _set.Candidates;
        _naive = mode switch
        {
            BinomialPath.SubproblemMode.Gram => false,
            BinomialPath.SubproblemMode.Naive => true,
            _ => candidates > _n,
        };
        _beta = new double[_p];
        _grad = new double[_p];
        _xv = new double[_p];
        _wm = new double[_p];
        _gradAhead = new double[_p];
        _pass = new LogisticPass(data, _intercept, _threads, ct);
        _bounds = new GradientBounds(data, _pass, _set.Flags, _intercept, _threads, ct);
        _limits = CoefficientBounds.Standardized(settings.LowerLimits, settings.UpperLimits, data.Scales);
        _warnings = [.. data.Warnings];
    }

    /// <summary>The path is over (or abandoned): scratch worth keeping goes back for the next fit (<see cref="GradientBounds.Release"/>).</summary>
    internal void Release()
    {
        _bounds.Release();
        _pass.Team?.Stop();
    }

    /// <summary>Lambdas that started at a point a pass evaluated ahead, beside the previous lambda's (<see cref="TakeAhead"/>).</summary>
    internal int PointsAhead { get; private set; }

    public int Rows => _n;
    public int Features => _p;
    public EarlyStop Stop => _d.Family.Stop;

    /// <summary>The intercept-only model (the null deviance), then the unpenalized features; exact gradients of every other feature there.</summary>
    public double Start(CancellationToken ct)
    {
        var all = _all = new bool[_p];
        var unpenalized = new bool[_p];
        bool anyUnpenalized = false;
        for (int j = 0; j < _p; j++)
        {
            if (_d.Excluded[j]) continue;
            all[j] = true;
            if (_v[j] == 0) unpenalized[j] = anyUnpenalized = true;
        }

        NullModel();
        _nullLoss = _loss;
        _thr = _settings.Tolerance * _nullLoss;
        if (_settings.Start is { } start) StartAt(start);
        if (anyUnpenalized)
        {
            var (converged, _, _) = SolveLambda(0, 0, unpenalized);
            if (!converged)
                _warnings.Add("the fit of the unpenalized features alone did not converge; the path starts from its last iterate");
            if (!_exactPoint) Evaluate();
        }
        SettleAll(_set.OutsideOf(all));
        double max = 0;
        for (int j = 0; j < _p; j++)
            if (all[j] && _v[j] != 0) max = Math.Max(max, Math.Abs(_bounds.Reference(j)) / _v[j]);
        return max;
    }

    /// <summary>
    /// The intercept-only model (glmnet's null deviance): b0 = link(weighted mean of y) without an offset; with one, the
    /// intercept solving sum v (y - mu) = 0 by Newton's method on it (no intercept: b0 = 0, eta = offset).
    /// </summary>
    private void NullModel()
    {
        double ybar = 0;
        for (int i = 0; i < _n; i++) ybar += (_d.Weight?[i] ?? 1.0) * _d.Y[i];
        ybar /= _n;
        _b0 = _intercept ? _d.Family.Link(ybar) : 0.0;
        Evaluate();
        if (!_intercept || _d.Offset is null) return;
        for (int iteration = 0; iteration < MaxNullSteps; iteration++)
        {
            if (!(_wsum > 0)) break;
            double step = _g0 / _wsum;
            if (!double.IsFinite(step)) break;
            _b0 += step;
            Evaluate();
            if (Math.Abs(step) <= 1e-13 * Math.Max(1, Math.Abs(_b0))) break;
        }
    }

    private const int MaxNullSteps = 100;

    /// <summary>
    /// Moves to a given point (<see cref="PathSettings.Start"/>, original scale) after the null model: its nonzero features
    /// join the working set, and a pass evaluates it.
    /// </summary>
    private void StartAt(PathStart start)
    {
        var nonZero = new List<int>();
        double b0 = start.Intercept;
        for (int j = 0; j < _p; j++)
        {
            double c = start.Coefficients[j];
            if (c == 0 || _d.Excluded[j]) continue;
            _beta[j] = _limits is null ? c * _d.Scales[j] : _limits.Clamp(j, c * _d.Scales[j]);   // beta_j = s_j b_j
            b0 += _beta[j] / _d.Scales[j] * _d.Means[j];                                            // eta = b0 + sum beta_j z_j
            nonZero.Add(j);
        }
        if (_intercept) _b0 = b0;
        AddToSet(nonZero);
        Evaluate();
    }

    public PointOutcome Solve(in PathStep step, CancellationToken ct)
    {
        double lambda = step.Lambda;
        _following = step.Following;
        _index = step.Index;
        if (_ahead is { } ahead && ahead.Index <= step.Index)
        {
            _ahead = null;
            if (ahead.Index == step.Index && ahead.Lambda == lambda) TakeAhead(ahead);
        }
        bool converged;
        int steps, screenedOut;
        if (step.Generated && step.Index == 0 && _alpha >= LambdaGrid.AlphaFloor)
        {
            // glmnet's first point: every penalized coefficient is 0 at lambda_max (exactly, by its definition).
            (converged, steps, screenedOut) = (true, 0, _set.Outside);
        }
        else
        {
            (converged, steps, screenedOut) = SolveLambda(lambda, step.PreviousLambda, _all);
        }
        double ratio = _ratio = 1 - _loss / _nullLoss;
        bool saturated = Saturated;
        if (saturated && !step.Generated) converged = false;

        string at = $"lambda {lambda:G6}";
        if (!converged && !saturated)
        {
            _warnings.Add(steps >= BinomialPath.MaxNewtonSteps
                ? $"{at}: no convergence within {BinomialPath.MaxNewtonSteps} Newton steps{(ratio > 0.99 && _d.Family.CanSaturate ? " (the classes are nearly separable: the coefficients keep growing)" : "")}"
                : $"{at}: no convergence within {_settings.MaxIterations} coordinate-descent passes");
        }
        if (saturated)
        {
            _warnings.Add(step.Generated
                ? $"{at}: every fitted probability is within {ProbabilityFloor:G1} of 0 or 1 (the classes are separable); the path stops here"
                : lambda == 0 && _limits is null
                    ? IllPosed.SeparationWarning(lambda, _n, _n)   // unpenalized: no maximum likelihood exists
                    : $"{at}: every fitted probability is within {ProbabilityFloor:G1} of 0 or 1 (the classes are separable); the coefficients are not a converged solution");
            _warnedSaturated = true;
        }
        else if (ratio > LambdaGrid.DevianceMax && !_warnedSaturated && _d.Family.CanSaturate)
        {
            _warnings.Add($"{at}: the deviance ratio {ratio:F4} exceeds {LambdaGrid.DevianceMax} (the classes are nearly separable)");
            _warnedSaturated = true;
        }
        return new PointOutcome(converged, steps, screenedOut, EndsPath: saturated);
    }

    /// <summary>
    /// Exact deviance ratios that passes computed for points ended on the model go onto the path; a point just ended on
    /// the model waits for the next pass (at the end of the path, one pass at the final point gives it).
    /// </summary>
    public void Revise(List<PathPoint> points, bool final)
    {
        if (!final)
        {
            // Deviance from the model until a pass computes it.
            if (!_exactPoint) _shadows[^1] = (_shadows[^1].Point, _pointCount - 1);
        }
        else if (_shadows.Exists(s => s.Index >= 0))
        {
            ResolveLast();
        }
        foreach (var (index, ratio) in _resolved)
            points[index] = points[index] with { DevianceRatio = ratio };
        _resolved.Clear();
    }

    public PathFrame Frame() => new((double[])_d.Means.Clone(), (double[])_d.Scales.Clone(), 2 * _nullLoss, _warnings);

    /// <summary>
    /// The path is over: the points still waiting for their exact deviance get it from a pass that computes only losses (no
    /// gradient dots); the last of them, when it is the current point, from the pass's own loss.
    /// </summary>
    private void ResolveLast()
    {
        bool current = !_exactPoint;
        var others = _shadows.ConvertAll(s => s.Point);
        if (current) others.RemoveAt(others.Count - 1);
        double[] losses = [.. _pass.Run([], LinearPredictor(), others, _grad, null, null) ?? [], .. current ? [_pass.Loss] : Array.Empty<double>()];
        _bounds.Moved();
        ResolvePending(losses);
    }

    /// <summary>Points whose deviance came from the quadratic model get the exact one, computed by a pass (one loss per shadow).</summary>
    private void ResolvePending(double[]? losses)
    {
        if (losses is null) return;
        for (int c = 0; c < losses.Length; c++)
            if (_shadows[c].Index >= 0) _resolved.Add((_shadows[c].Index, 1 - losses[c] / _nullLoss));
        _shadows.Clear();
    }

    /// <summary>glmnet's test: the weights sum to at most pmin(1 - pmin)(1 + pmin) per row; every probability is within pmin of 0 or 1.</summary>
    private bool Saturated => _d.Family.CanSaturate && _wsum <= (1 + ProbabilityFloor) * ProbabilityFloor * (1 - ProbabilityFloor);

    public PathPoint Point(in PathStep step)
    {
        _pointCount++;
        double lambda = step.Lambda;
        var standardized = new double[_p];
        var original = new double[_p];
        double intercept = _b0;
        int nonZero = 0;
        for (int j = 0; j < _p; j++)
        {
            if (_beta[j] == 0) continue;
            standardized[j] = _beta[j];
            original[j] = _beta[j] / _d.Scales[j];
            intercept -= original[j] * _d.Means[j];
            nonZero++;
        }
        return new PathPoint(lambda, intercept, original, standardized, nonZero, null) { DevianceRatio = _ratio };
    }

    // ---------------------------------------------------------------------------------------------
    // One lambda: strong set, Newton steps, KKT.
    // ---------------------------------------------------------------------------------------------

    private (bool Converged, int Steps, int ScreenedOut) SolveLambda(double lambda, double previousLambda, bool[] candidate)
    {
        ExtendSet(lambda, previousLambda, candidate);
        int candidates = 0;
        for (int j = 0; j < _p; j++) if (candidate[j]) candidates++;
        int steps = 0, passes = 0, screenedInside = 0;
        double previousMeasure = double.PositiveInfinity;
        while (true)
        {
            _ct.ThrowIfCancellationRequested();
            if (steps >= BinomialPath.MaxNewtonSteps)
                return (false, steps, candidates - _set.Count + screenedInside);
            int budget = _settings.MaxIterations - passes;
            if (budget <= 0)
                return (false, steps, candidates - _set.Count + screenedInside);

            int[] idx = [.. _set.Members];
            var newBeta = new double[idx.Length];
            double d0, measure;
            CdOutcome outcome;
            Pair? pair = null;
            if (_naive)
                (outcome, d0, measure) = NaiveStep(idx, newBeta, lambda, budget);
            else
                (outcome, d0, measure) = GramStep(idx, newBeta, lambda, steps == 0 ? previousLambda : lambda, budget,
                                                  steps == 0 && Pairs(candidate), out pair);
            passes += outcome.Passes;
            screenedInside = outcome.ScreenedOut;
            if (!_naive && _exactPoint && outcome.Converged && measure < _thr && EndsOnModel(idx, newBeta, d0, lambda, candidate, out double margin))
            {
                // The last step of this lambda, from a point whose pass is exact: the features outside the working set
                // meet the KKT condition at the new point too (checked here with the move's margin), so its deviance and
                // gradient come from the quadratic model and the next pass (the next lambda's) is the first at the new point.
                ApplyOnModel(idx, newBeta, d0);
                _modelMargin = margin;
                return (true, steps + 1, candidates - _set.Count + screenedInside);
            }
            measure = Apply(idx, newBeta, d0, lambda, measure, pair);
            steps++;
            if (Saturated)
                return (false, steps, candidates - _set.Count + screenedInside);
            if (!outcome.Converged)
                return (false, steps, candidates - _set.Count + screenedInside);
            if (measure < _thr)
            {
                var violators = OuterKkt(lambda, candidate);
                if (violators.Count == 0)
                    return (true, steps, candidates - _set.Count + screenedInside);
                AddToSet(violators);
                continue;
            }
            // A quasi-Newton step that contracts poorly asks for a fresh Gram matrix.
            if (!_naive && steps >= 2 && measure > 0.1 * previousMeasure)
                _hStale = true;
            previousMeasure = measure;
        }
    }

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
