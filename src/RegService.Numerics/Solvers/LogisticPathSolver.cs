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
}
