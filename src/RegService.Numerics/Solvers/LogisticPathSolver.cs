using System.Runtime.CompilerServices;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The state and steps of one binomial path (see <see cref="BinomialPath"/>). Coefficients live on the
/// standardized scale: eta = b0 + sum_j beta_j z_j with z_j = (x_j - m_j) / s_j.
/// </summary>
internal sealed class LogisticPathSolver
{
    /// <summary>glmnet.control's pmin: a probability within this of 0 or 1 counts as saturated.</summary>
    internal const double ProbabilityFloor = 1e-9;
    private const double DevianceMax = 0.999;   // glmnet.control devmax
    private const double DevianceStep = 1e-5;   // glmnet.control fdev (absolute for the binomial family)
    private const int MinPathLambdas = 5;       // glmnet.control mnlam
    private const int SegmentRows = 4096;       // rows per parallel segment of a pass (fixed: results do not depend on threads)
    private const int BlockRows = 256;          // rows per block inside a segment (the block of every column stays in L2)
    private const int MaxHalvings = 30;

    /// <summary>Rebuild the Gram matrix when sum |w - w_ref| / sum w_ref exceeds this.</summary>
    internal double DriftLimit { get; init; } = 0.05;

    /// <summary>A working-set feature is added ahead of the strong rule when |g_j| ≥ alpha v_j (lambda - k (lambda_prev - lambda)).</summary>
    internal double LookaheadSteps { get; init; } = 3;

    /// <summary>End a lambda on the quadratic model when nothing is outside the working set (saves the last pass).</summary>
    internal bool ModelFinish { get; init; } = true;

    /// <summary>
    /// The Gram-mode coordinate descent (passes cost O(q^2), not O(n q)) solves each quadratic model to this fraction of
    /// the threshold, so the Newton steps, not the inner passes, limit the accuracy.
    /// </summary>
    internal double InnerFactor { get; set; } = 0.01;

    private readonly LogisticData _d;
    private readonly PathSettings _settings;
    private readonly int _n, _p;
    private readonly double[] _v;
    private readonly double _alpha;
    private readonly bool _intercept;
    private readonly bool _naive;
    private readonly int _threads;
    private readonly int _candidates;   // features not excluded
    private readonly CancellationToken _ct;

    // The current point and what a pass computed there.
    private readonly double[] _beta;
    private double _b0;
    private readonly double[] _prob, _weight, _resid;
    private double _loss, _g0, _wsum;
    private readonly double[] _grad;          // exact for members of the working set
    private readonly double[] _xv, _wm;       // naive mode: sum v z^2 and sum v z (v = w/n) for members of the working set

    // Gradient bounds of the features outside the working set (see Bound).
    private readonly double[] _gRef;

    // Working set (only grows) and the quadratic model of the Gram mode.
    private readonly List<int> _set = [];
    private readonly bool[] _inSet;
    private Hessian? _h;
    private bool _hStale;
    private double[]? _naiveResidual, _naiveWeight;   // buffers of the naive mode

    private double _nullLoss, _thr;
    private bool _exactPoint;           // the current point's probabilities, gradient and loss come from a pass
    private Predictor? _shadow;         // a point ended on the model, whose exact loss the next pass computes
    private readonly List<PathPoint> _points = [];
    private readonly List<int> _pending = [];   // points whose deviance came from the model
    private readonly List<string> _warnings;

    // Diagnostics for tuning and tests: counts, and seconds spent in passes, Gram builds and exact outer gradients.
    internal int HessianBuilds { get; private set; }
    internal int Passes { get; private set; }
    internal int CdPasses { get; private set; }
    internal double EvaluateSeconds { get; private set; }
    internal double GramSeconds { get; private set; }
    internal double OuterSeconds { get; private set; }
    internal int ExactGradientCount { get; private set; }
    internal int ModelSteps { get; private set; }

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
        int candidates = _candidates = Enumerable.Range(0, _p).Count(j => !data.Excluded[j]);
        _naive = mode switch
        {
            BinomialPath.SubproblemMode.Gram => false,
            BinomialPath.SubproblemMode.Naive => true,
            _ => candidates > _n,
        };
        _beta = new double[_p];
        _prob = new double[_n];
        _weight = new double[_n];
        _resid = new double[_n];
        _grad = new double[_p];
        _xv = new double[_p];
        _wm = new double[_p];
        _gRef = new double[_p];
        _inSet = new bool[_p];
        _warnings = [.. data.Warnings];
    }

    public PathFit Run(IProgress<FitProgress>? progress)
    {
        var all = new bool[_p];
        var unpenalized = new bool[_p];
        bool anyUnpenalized = false, anyPenalized = false;
        for (int j = 0; j < _p; j++)
        {
            if (_d.Excluded[j]) continue;
            all[j] = true;
            if (_v[j] == 0) unpenalized[j] = anyUnpenalized = true;
            else anyPenalized = true;
        }

        // The intercept-only model gives the null deviance; then the unpenalized features are fitted.
        double ybar = _d.Y.Average();
        _b0 = _intercept ? Math.Log(ybar / (1 - ybar)) : 0.0;
        Evaluate();
        _nullLoss = _loss;
        _thr = _settings.Tolerance * _nullLoss;
        if (anyUnpenalized)
        {
            var (converged, _, _) = SolveLambda(0, 0, unpenalized);
            if (!converged)
                _warnings.Add("the fit of the unpenalized features alone did not converge; the path starts from its last iterate");
            if (!_exactPoint) Evaluate();
        }
        FullRefresh(all);
        double lambdaMax = 0;
        for (int j = 0; j < _p; j++)
        {
            if (!all[j] || _v[j] == 0) continue;
            lambdaMax = Math.Max(lambdaMax, Math.Abs(_gRef[j]) / (_v[j] * Math.Max(_alpha, 1e-3)));
        }

        bool generated = _settings.Lambdas is null;
        double[] lambdas;
        if (!generated) lambdas = _settings.Lambdas!;
        else
        {
            var spec = _settings.Generate ?? new LambdaPathSpec();
            double minRatio = spec.MinRatio ?? LambdaGrid.DefaultMinRatio(_n, _p);
            lambdas = anyPenalized && lambdaMax > 0
                ? LambdaGrid.Geometric(lambdaMax, spec.Count, minRatio)
                : new double[Math.Min(spec.Count, 1)];
        }

        var points = _points;
        bool stoppedEarly = false, warnedSaturated = false;
        double previousLambda = generated ? lambdaMax : Math.Max(lambdaMax, lambdas[0]), previousRatio = 0;
        for (int l = 0; l < lambdas.Length; l++)
        {
            _ct.ThrowIfCancellationRequested();
            double lambda = lambdas[l];
            bool converged;
            int steps, screenedOut;
            if (generated && l == 0 && _alpha >= 1e-3)
            {
                // glmnet's first point: every penalized coefficient is 0 at lambda_max (exactly, by its definition).
                (converged, steps, screenedOut) = (true, 0, all.Count(c => c) - _set.Count);
            }
            else
            {
                (converged, steps, screenedOut) = SolveLambda(lambda, previousLambda, all);
            }
            if (points.Count > 0) previousRatio = points[^1].DevianceRatio;
            double ratio = 1 - _loss / _nullLoss;
            bool saturated = Saturated;
            if (saturated && !generated) converged = false;
            points.Add(Point(lambda, ratio, converged, steps, screenedOut));
            if (!_exactPoint) _pending.Add(points.Count - 1);   // deviance from the model until a pass computes it
            progress?.Report(new FitProgress((l + 1.0) / lambdas.Length, $"lambda {l + 1} of {lambdas.Length}"));

            string at = $"lambda {lambda:G6}";
            if (!converged && !saturated)
            {
                _warnings.Add(steps >= BinomialPath.MaxNewtonSteps
                    ? $"{at}: no convergence within {BinomialPath.MaxNewtonSteps} Newton steps{(ratio > 0.99 ? " (the classes are nearly separable: the coefficients keep growing)" : "")}"
                    : $"{at}: no convergence within {_settings.MaxIterations} coordinate-descent passes");
            }
            if (saturated)
            {
                _warnings.Add(generated
                    ? $"{at}: every fitted probability is within {ProbabilityFloor:G1} of 0 or 1 (the classes are separable); the path stops here"
                    : $"{at}: every fitted probability is within {ProbabilityFloor:G1} of 0 or 1 (the classes are separable); the coefficients are not a converged solution");
                warnedSaturated = true;
            }
            else if (ratio > DevianceMax && !warnedSaturated)
            {
                _warnings.Add($"{at}: the deviance ratio {ratio:F4} exceeds {DevianceMax} (the classes are nearly separable)");
                warnedSaturated = true;
            }
            if (generated && l + 1 < lambdas.Length)
            {
                bool stop = saturated
                    || (l + 1 >= Math.Min(MinPathLambdas, lambdas.Length) && (ratio - previousRatio < DevianceStep || ratio > DevianceMax));
                if (stop)
                {
                    stoppedEarly = true;
                    break;
                }
            }
            previousRatio = ratio;
            previousLambda = lambda;
        }

        if (_pending.Count > 0)
            Evaluate();   // the path ended on the model: one pass at the final point gives its exact deviance
        var fitted = points.Select(p => p.Lambda).ToArray();
        return new PathFit
        {
            Lambdas = fitted,
            Points = [.. points],
            FeatureMeans = (double[])_d.Means.Clone(),
            FeatureScales = (double[])_d.Scales.Clone(),
            NullDeviance = 2 * _nullLoss,
            Rows = _n,
            Warnings = _warnings,
            StoppedEarly = stoppedEarly,
        };
    }

    /// <summary>Points whose deviance came from the quadratic model get the exact one, computed by a pass.</summary>
    private void ResolvePending(double loss)
    {
        foreach (int index in _pending)
            _points[index] = _points[index] with { DevianceRatio = 1 - loss / _nullLoss };
        _pending.Clear();
    }

    /// <summary>glmnet's test: the weights sum to at most pmin(1 - pmin)(1 + pmin) per row; every probability is within pmin of 0 or 1.</summary>
    private bool Saturated => _wsum <= (1 + ProbabilityFloor) * ProbabilityFloor * (1 - ProbabilityFloor);

    private PathPoint Point(double lambda, double ratio, bool converged, int steps, int screenedOut)
    {
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
        return new PathPoint(lambda, intercept, original, standardized, nonZero, null)
        {
            DevianceRatio = ratio,
            Converged = converged,
            Iterations = steps,
            ScreenedOut = screenedOut,
        };
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

            int[] idx = [.. _set];
            var newBeta = new double[idx.Length];
            double d0, measure;
            CdOutcome outcome;
            if (_naive)
                (outcome, d0, measure) = NaiveStep(idx, newBeta, lambda, budget);
            else
                (outcome, d0, measure) = GramStep(idx, newBeta, lambda, steps == 0 ? previousLambda : lambda, budget);
            passes += outcome.Passes;
            CdPasses += outcome.Passes;
            screenedInside = outcome.ScreenedOut;
            if (!_naive && ModelFinish && _exactPoint && outcome.Converged && measure < _thr && _set.Count == _candidates)
            {
                // The last step of this lambda, from a point whose pass is exact: nothing outside the working set to
                // check, so its deviance and gradient come from the quadratic model and the next pass (the next
                // lambda's) is the first at the new point.
                ApplyOnModel(idx, newBeta, d0);
                return (true, steps + 1, candidates - _set.Count + screenedInside);
            }
            measure = Apply(idx, newBeta, d0, lambda, measure);
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
        var outer = Outer(candidate);
        if (outer.Count == 0) return;
        double strong = _alpha * Math.Max(2 * lambda - previousLambda, 0);
        double ahead = _naive ? strong : _alpha * Math.Max(lambda - LookaheadSteps * Math.Max(previousLambda - lambda, 0), 0);
        ahead = Math.Min(ahead, strong);
        // Settle by the bound where it can, else by the exact gradient.
        var unsure = new List<int>();
        foreach (int j in outer)
            if (_v[j] == 0 || Bound(j) >= ahead * _v[j]) unsure.Add(j);
        SettleAll(unsure);
        var add = new List<int>();
        bool anyStrong = false;
        foreach (int j in unsure)
        {
            double g = Math.Abs(_gRef[j]);
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
        foreach (int j in add) _grad[j] = _gRef[j];
        AddToSet(add);
    }

    /// <summary>Adds features whose exact gradient at the current point is already in <see cref="_grad"/>.</summary>
    private void AddToSet(List<int> features)
    {
        foreach (int j in features)
        {
            if (_inSet[j]) continue;
            _inSet[j] = true;
            _set.Add(j);
            if (_naive)
            {
                var (first, second) = LogisticKernels.WeightedMoments(_d.Column(j), _d.Means[j], _weight);
                double s = _d.Scales[j];
                _wm[j] = first / (_n * s);
                _xv[j] = second / (_n * s * s);
            }
        }
    }

    private List<int> Outer(bool[] candidate)
    {
        var outer = new List<int>();
        for (int j = 0; j < _p; j++)
            if (candidate[j] && !_inSet[j]) outer.Add(j);
        return outer;
    }

    /// <summary>
    /// KKT over the candidates outside the working set at the current point: |g_j| ≤ lambda alpha v_j, settled by the
    /// bound where it can be and by the exact gradient where not. Returns the violators (their gradients in <see cref="_grad"/>).
    /// </summary>
    private List<int> OuterKkt(double lambda, bool[] candidate)
    {
        var violators = new List<int>();
        var unsure = new List<int>();
        foreach (int j in Outer(candidate))
            if (Bound(j) > lambda * _alpha * _v[j]) unsure.Add(j);
        SettleAll(unsure);
        foreach (int j in unsure)
        {
            if (Math.Abs(_gRef[j]) <= lambda * _alpha * _v[j]) continue;
            _grad[j] = _gRef[j];
            violators.Add(j);
        }
        return violators;
    }

    // ---------------------------------------------------------------------------------------------
    // Gradient bounds outside the working set. Feature j's gradient was last computed exactly (_gRef[j]) at a point
    // whose probabilities were kept as snapshot _refSnapshot[j]; since z_j is centered (with an intercept) and
    // ||z_j|| = sqrt(n) Norms[j], |g_j - _gRef[j]| ≤ Norms[j] ||p - p_ref||/sqrt(n) (p - p_ref centered).
    // ---------------------------------------------------------------------------------------------

    private const int MaxSnapshots = 4;
    private readonly List<Snapshot> _snapshots = [];
    private int[]? _refSnapshot;
    private int _epoch;            // bumped by every pass: the point moved
    private int _nextSnapshotId;
    private double[]? _spareSnapshot;   // the retired snapshot's buffer, reused

    private sealed class Snapshot(int id, double[] prob, int epoch)
    {
        public int Id { get; } = id;
        public double[] Prob { get; } = prob;
        public int Epoch { get; } = epoch;
        public int DeltaEpoch { get; set; } = -1;
        public double Delta { get; set; }
    }

    /// <summary>An upper bound on |g_j| at the current point (feature outside the working set).</summary>
    private double Bound(int j)
    {
        if (_refSnapshot is null) return double.PositiveInfinity;
        var snap = SnapshotById(_refSnapshot[j]);
        if (snap is null) return double.PositiveInfinity;
        if (snap.DeltaEpoch != _epoch)
        {
            snap.Delta = Distance(snap.Prob);
            snap.DeltaEpoch = _epoch;
        }
        return snap.Delta == 0 ? Math.Abs(_gRef[j]) : Math.Abs(_gRef[j]) + _d.Norms[j] * snap.Delta;
    }

    /// <summary>Exact gradients of <paramref name="features"/> at the current point, which becomes their reference.</summary>
    private void SettleAll(List<int> features)
    {
        if (features.Count == 0) return;
        if (!_exactPoint) Evaluate();   // residuals of the current point are needed
        var current = CurrentSnapshot();
        var todo = features.Where(j => _refSnapshot![j] != current.Id).ToArray();
        var values = ExactGradients(todo);
        for (int k = 0; k < todo.Length; k++)
        {
            _gRef[todo[k]] = values[k];
            _refSnapshot![todo[k]] = current.Id;
        }
    }

    /// <summary>A live snapshot by id (the live ones have consecutive ids), or null.</summary>
    private Snapshot? SnapshotById(int id)
    {
        if (_snapshots.Count == 0) return null;
        int index = id - _snapshots[0].Id;
        return (uint)index < (uint)_snapshots.Count ? _snapshots[index] : null;
    }

    /// <summary>The snapshot of the current probabilities, taken if not yet; the oldest is retired beyond <see cref="MaxSnapshots"/>.</summary>
    private Snapshot CurrentSnapshot()
    {
        _refSnapshot ??= Enumerable.Repeat(-1, _p).ToArray();
        if (_snapshots.Count > 0 && _snapshots[^1].Epoch == _epoch) return _snapshots[^1];
        var buffer = _spareSnapshot ?? new double[_n];
        _spareSnapshot = null;
        _prob.CopyTo(buffer, 0);
        var snap = new Snapshot(_nextSnapshotId++, buffer, _epoch) { DeltaEpoch = _epoch, Delta = 0 };
        _snapshots.Add(snap);
        if (_snapshots.Count > MaxSnapshots)
        {
            // Features still referring to the oldest snapshot are settled now.
            int oldest = _snapshots[0].Id;
            var todo = Enumerable.Range(0, _p).Where(j => _refSnapshot[j] == oldest && !_inSet[j]).ToArray();
            var values = ExactGradients(todo);
            for (int k = 0; k < todo.Length; k++)
            {
                _gRef[todo[k]] = values[k];
                _refSnapshot[todo[k]] = snap.Id;
            }
            _spareSnapshot = _snapshots[0].Prob;
            _snapshots.RemoveAt(0);
        }
        return snap;
    }

    /// <summary>Exact gradients of every candidate outside the working set at the current point.</summary>
    private void FullRefresh(bool[] candidate)
    {
        SettleAll(Outer(candidate));
    }

    /// <summary>g_j = (1/n) z_j'(y - p) at the current point, for each of <paramref name="features"/> (in parallel when worth it).</summary>
    private double[] ExactGradients(int[] features)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var values = new double[features.Length];
        void One(int k)
        {
            int j = features[k];
            values[k] = LogisticKernels.DotShifted(_d.Column(j), _d.Means[j], _resid) / (_n * _d.Scales[j]);
        }
        if (_threads > 1 && features.Length > 1 && (long)features.Length * _n >= 1L << 20)
        {
            // Chunks of about 64K values each, so short columns do not drown in scheduling.
            int perChunk = (int)Math.Clamp((1L << 16) / _n, 1, features.Length);
            int chunks = (features.Length + perChunk - 1) / perChunk;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = _ct }, c =>
            {
                for (int k = c * perChunk, end = Math.Min(features.Length, k + perChunk); k < end; k++) One(k);
            });
        }
        else
        {
            for (int k = 0; k < features.Length; k++) One(k);
        }
        ExactGradientCount += features.Length;
        OuterSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        return values;
    }

    /// <summary>||p - p_ref|| / sqrt(n), p - p_ref centered when the intercept is fitted (as z_j is), with a little slack for rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Distance(double[] probRef)
    {
        double mean = _intercept ? LogisticKernels.SumDifference(_prob, probRef) / _n : 0.0;
        double ss = LogisticKernels.CenteredDistance(_prob, probRef, mean);
        return ss == 0 ? 0 : Math.Sqrt(ss / _n) * (1 + 1e-12);
    }

    // ---------------------------------------------------------------------------------------------
    // Newton directions.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// The quadratic model on the Gram matrix of the working set, solved by covariance coordinate descent:
    /// minimize (1/2) b'Ab - c'b + lambda P(b) with A = Z'WZ/n - u u'/W (the intercept eliminated) and
    /// c = g - u g0 / W + A beta.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (CdOutcome Outcome, double D0, double Measure) GramStep(int[] idx, double[] newBeta, double lambda, double screenLambda, int budget)
    {
        int q = idx.Length;
        if (_h is null || _hStale || !_h.Set.AsSpan().SequenceEqual(idx) || Drift() > DriftLimit)
            BuildHessian(idx);
        var h = _h!;
        var c = new double[q];
        var start = new double[q];
        var v = new double[q];
        double shiftG0 = _intercept && h.W > 0 ? _g0 / h.W : 0.0;
        for (int a = 0; a < q; a++)
        {
            start[a] = _beta[idx[a]];
            v[a] = _v[idx[a]];
            c[a] = _grad[idx[a]] - h.U[a] * shiftG0;
        }
        for (int b = 0; b < q; b++)
        {
            if (start[b] == 0) continue;
            for (int a = 0; a < q; a++) c[a] += h.A[a * q + b] * start[b];
        }
        var cd = new CovarianceCd(h.A, c, q, v, _alpha, start);
        var outcome = cd.Solve(lambda, screenLambda, _thr * InnerFactor, budget, _ct);
        double ud = 0, measure = 0;
        for (int a = 0; a < q; a++)
        {
            newBeta[a] = cd.Beta[a];
            double d = newBeta[a] - start[a];
            ud += h.U[a] * d;
            measure = Math.Max(measure, MeasureWeight(h.Xv[a], idx[a]) * d * d);
        }
        double d0 = _intercept && h.W > 0 ? (_g0 - ud) / h.W : 0.0;
        measure = Math.Max(measure, Math.Max(h.W, WeightFloor) * d0 * d0);
        return (outcome, d0, measure);
    }

    /// <summary>
    /// The weight of a coefficient change in the convergence measure: H_jj, but as if every w_i were at least
    /// <see cref="WeightFloor"/> (glmnet floors the probabilities), so that vanishing weights (separation) cannot pass
    /// a large step off as converged.
    /// </summary>
    private double MeasureWeight(double xv, int j) => Math.Max(xv, WeightFloor * _d.Norms[j] * _d.Norms[j]);

    private const double WeightFloor = 1e-5;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildHessian(int[] idx)
    {
        _ct.ThrowIfCancellationRequested();
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        int q = idx.Length;
        var gram = new double[ArraySizes.Square(q, "the Hessian")];
        var sums = new double[q];
        if (q > 0)
        {
            var cols = new int[q];
            var shift = new double[q];
            for (int a = 0; a < q; a++)
            {
                cols[a] = _d.SourceColumns[idx[a]];
                shift[a] = _d.Means[idx[a]];
            }
            GramKernel.WeightedShiftedGram(_d.Source, cols, shift, _weight, null, gram, sums, _threads, _ct);
        }
        double total = _wsum * _n;
        bool center = _intercept && total > 0;
        var weightRef = _h?.WeightRef ?? new double[_n];
        _weight.CopyTo(weightRef, 0);
        var h = new Hessian(idx, new double[ArraySizes.Square(q, "the Hessian")], new double[q], total / _n, new double[q], weightRef, total);
        for (int a = 0; a < q; a++)
        {
            double sa = _d.Scales[idx[a]];
            h.U[a] = sums[a] / (_n * sa);
            h.Xv[a] = gram[a * q + a] / (_n * sa * sa);
            for (int b = 0; b < q; b++)
            {
                double sb = _d.Scales[idx[b]];
                double g = center ? gram[a * q + b] - sums[a] * sums[b] / total : gram[a * q + b];
                h.A[a * q + b] = g / (_n * sa * sb);
            }
        }
        _h = h;
        _hStale = false;
        HessianBuilds++;
        GramSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>sum |w - w_ref| / sum w_ref: how far the weights moved since the Gram matrix was built.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Drift()
    {
        var h = _h!;
        if (!(h.WeightSum > 0)) return double.PositiveInfinity;
        return LogisticKernels.AbsoluteDistance(_weight, h.WeightRef) / h.WeightSum;
    }

    /// <summary>
    /// The quadratic model by naive weighted coordinate descent on residuals (features outnumber rows): the weighted
    /// residual r = v (t - eta) with v = w/n starts at (y - p)/n; each coordinate moves with the intercept
    /// (the feature weighted-centered), so one dot and one update of r over the rows per coordinate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (CdOutcome Outcome, double D0, double Measure) NaiveStep(int[] idx, double[] newBeta, double lambda, int budget)
    {
        int q = idx.Length;
        var r = _naiveResidual ??= new double[_n];
        var vw = _naiveWeight ??= new double[_n];
        for (int i = 0; i < _n; i++)
        {
            r[i] = _resid[i] / _n;
            vw[i] = _weight[i] / _n;
        }
        double total = _wsum;
        bool center = _intercept && total > 0;
        double b0 = _b0, measure = 0;
        if (center)
        {
            double d0 = 0;
            for (int i = 0; i < _n; i++) d0 += r[i];
            d0 /= total;
            for (int i = 0; i < _n; i++) r[i] -= d0 * vw[i];
            b0 += d0;
        }
        var h = new double[q];
        var zbar = new double[q];
        for (int a = 0; a < q; a++)
        {
            int j = idx[a];
            newBeta[a] = _beta[j];
            zbar[a] = center ? _wm[j] / total : 0.0;
            h[a] = center ? _xv[j] - _wm[j] * zbar[a] : _xv[j];
        }
        double l1 = lambda * _alpha, l2 = lambda * (1 - _alpha);
        var active = new List<int>();
        var isActive = new bool[q];
        for (int a = 0; a < q; a++)
            if (newBeta[a] != 0) { isActive[a] = true; active.Add(a); }

        int passes = 0;
        double Pass(IReadOnlyList<int> set)
        {
            double largest = 0;
            for (int s = 0; s < set.Count; s++)
            {
                int a = set[s], j = idx[a];
                double den = h[a] + l2 * _v[j];
                if (!(den > 0)) continue;
                double sj = _d.Scales[j];
                var col = _d.Column(j);
                double g = LogisticKernels.DotShifted(col, _d.Means[j], r) / sj;
                double u = g + h[a] * newBeta[a], t = l1 * _v[j];
                double nb = u > t ? (u - t) / den : u < -t ? (u + t) / den : 0.0;
                double delta = nb - newBeta[a];
                if (delta == 0) continue;
                newBeta[a] = nb;
                LogisticKernels.SubtractWeightedShifted(delta / sj, vw, col, _d.Means[j] + sj * zbar[a], r);
                b0 -= delta * zbar[a];
                largest = Math.Max(largest, _xv[j] * delta * delta);
                if (!isActive[a]) { isActive[a] = true; active.Add(a); }
            }
            passes++;
            return largest;
        }

        var everything = Enumerable.Range(0, q).ToArray();
        bool converged = false;
        while (passes < budget)
        {
            _ct.ThrowIfCancellationRequested();
            if (Pass(everything) < _thr) { converged = true; break; }
            double change;
            do change = Pass(active);
            while (change >= _thr && passes < budget);
        }
        for (int a = 0; a < q; a++)
        {
            double d = newBeta[a] - _beta[idx[a]];
            measure = Math.Max(measure, MeasureWeight(_xv[idx[a]], idx[a]) * d * d);
        }
        double step0 = b0 - _b0;
        measure = Math.Max(measure, Math.Max(total, WeightFloor) * step0 * step0);
        return (new CdOutcome(converged, passes, 0, 0), step0, measure);
    }

    // ---------------------------------------------------------------------------------------------
    // Moving the point.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Moves to beta + d, b0 + d0 and evaluates there; halves the step while the penalized objective rises.
    /// Returns the measure of the step taken.
    /// </summary>
    private double Apply(int[] idx, double[] newBeta, double d0, double lambda, double measure)
    {
        bool moves = d0 != 0;
        for (int a = 0; a < idx.Length && !moves; a++) moves = newBeta[a] != _beta[idx[a]];
        if (!moves) return 0;
        double before = Objective(lambda);
        var old = new double[idx.Length];
        for (int a = 0; a < idx.Length; a++) old[a] = _beta[idx[a]];
        double oldB0 = _b0, t = 1;
        for (int halving = 0; ; halving++)
        {
            for (int a = 0; a < idx.Length; a++)
                _beta[idx[a]] = t == 1 ? newBeta[a] : old[a] + t * (newBeta[a] - old[a]);
            _b0 = oldB0 + t * d0;
            Evaluate();
            double after = Objective(lambda);
            if (after <= before + 1e-12 * Math.Abs(before) || halving >= MaxHalvings) break;
            t *= 0.5;
            _hStale = true;
        }
        return measure * t * t;
    }

    /// <summary>
    /// Moves to beta + d, b0 + d0 without a pass: the loss and the gradient follow the quadratic model of the Gram
    /// matrix (exact to second order; the step is below the threshold), the weights stay those of the last pass.
    /// </summary>
    private void ApplyOnModel(int[] idx, double[] newBeta, double d0)
    {
        var h = _h!;
        int q = idx.Length;
        var delta = new double[q];
        double linear = _g0 * d0, ud = 0;
        for (int a = 0; a < q; a++)
        {
            delta[a] = newBeta[a] - _beta[idx[a]];
            linear += _grad[idx[a]] * delta[a];
            ud += h.U[a] * delta[a];
        }
        var ad = new double[q];
        for (int b = 0; b < q; b++)
        {
            if (delta[b] == 0) continue;
            for (int a = 0; a < q; a++) ad[a] += h.A[a * q + b] * delta[b];
        }
        double quadratic = 0;
        for (int a = 0; a < q; a++) quadratic += delta[a] * ad[a];
        double centered = _intercept && h.W > 0 ? ud + h.W * d0 : 0.0;   // u'd + W d0: the intercept direction
        if (_intercept && h.W > 0) quadratic += centered * centered / h.W;
        _loss += -linear + 0.5 * quadratic;
        for (int a = 0; a < q; a++)
        {
            int j = idx[a];
            _grad[j] -= ad[a] + (_intercept && h.W > 0 ? h.U[a] * centered / h.W : 0.0);
            _beta[j] = newBeta[a];
        }
        _g0 -= centered;
        _b0 += d0;
        _exactPoint = false;
        var (act, coef, offset) = LinearPredictor();
        _shadow = new Predictor(act, coef, offset);
        ModelSteps++;
    }

    private double Objective(double lambda)
    {
        double penalty = 0;
        foreach (int j in _set)
        {
            double b = _beta[j];
            if (b == 0) continue;
            penalty += _v[j] * ((1 - _alpha) / 2 * b * b + _alpha * Math.Abs(b));
        }
        return _loss + lambda * penalty;
    }

    /// <summary>
    /// One pass over the rows at the current point, in row blocks: the linear predictor from the nonzero coefficients,
    /// probabilities, weights, residuals y - p and the mean negative log-likelihood; the exact gradient of every
    /// working-set feature (and in the naive mode its weighted moments). Fixed row segments, reduced in order:
    /// the result does not depend on the thread count.
    /// </summary>
    private void Evaluate()
    {
        _ct.ThrowIfCancellationRequested();
        Passes++;
        _epoch++;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        EvaluateCore();
        _exactPoint = true;
        EvaluateSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EvaluateCore()
    {
        int[] idx = [.. _set];
        int k = idx.Length;
        var (act, coef, offset) = LinearPredictor();
        var shadow = _shadow;
        _shadow = null;
        int segments = (_n + SegmentRows - 1) / SegmentRows;
        bool stats = _naive;
        var partG = new double[segments * k];
        var partF = stats ? new double[segments * k] : null;
        var partS = stats ? new double[segments * k] : null;
        var partLoss = new double[segments];
        var partR = new double[segments];
        var partW = new double[segments];
        var partShadow = shadow is null ? null : new double[segments];

        var pass = new PassPlan(idx, act, coef, offset, stats, partG, partF, partS, partLoss, partR, partW, shadow, partShadow);
        long work = (long)_n * (k + act.Length);
        if (_threads > 1 && segments > 1 && work >= 1L << 20)
            Parallel.For(0, segments, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = _ct }, s => Segment(pass, s));
        else
            for (int s = 0; s < segments; s++) Segment(pass, s);

        double lossSum = 0, rSum = 0, wSum = 0;
        for (int s = 0; s < segments; s++)
        {
            lossSum += partLoss[s];
            rSum += partR[s];
            wSum += partW[s];
        }
        _loss = lossSum / _n;
        if (partShadow is not null)
        {
            double shadowSum = 0;
            for (int s = 0; s < segments; s++) shadowSum += partShadow[s];
            ResolvePending(shadowSum / _n);
        }
        _g0 = _intercept ? rSum / _n : 0.0;
        _wsum = wSum / _n;
        for (int t = 0; t < k; t++)
        {
            double g = 0, f = 0, q = 0;
            for (int s = 0; s < segments; s++)
            {
                g += partG[s * k + t];
                if (stats)
                {
                    f += partF![s * k + t];
                    q += partS![s * k + t];
                }
            }
            int j = idx[t];
            double sj = _d.Scales[j];
            _grad[j] = g / (_n * sj);
            if (stats)
            {
                _wm[j] = f / (_n * sj);
                _xv[j] = q / (_n * sj * sj);
            }
        }
    }

    /// <summary>What one pass computes: gradient columns, nonzero coefficients (original units) and per-segment partial sums.</summary>
    private sealed record PassPlan(int[] Gradient, int[] Active, double[] Coef, double Offset, bool Stats,
                                   double[] PartG, double[]? PartF, double[]? PartS, double[] PartLoss, double[] PartR, double[] PartW,
                                   Predictor? Shadow, double[]? PartShadow);

    /// <summary>A linear predictor in original units: offset + sum_a Coef[a] x_{Active[a]}.</summary>
    private sealed record Predictor(int[] Active, double[] Coef, double Offset);

    /// <summary>The current point as a linear predictor on the original features.</summary>
    private (int[] Active, double[] Coef, double Offset) LinearPredictor()
    {
        var act = new List<int>();
        var coef = new List<double>();
        double offset = _b0;
        foreach (int j in _set)
        {
            if (_beta[j] == 0) continue;
            double c = _beta[j] / _d.Scales[j];
            act.Add(j);
            coef.Add(c);
            offset -= c * _d.Means[j];
        }
        return ([.. act], [.. coef], offset);
    }

    /// <summary>Rows of segment <paramref name="s"/>, block by block (every column's block stays in cache between its two uses).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Segment(PassPlan plan, int s)
    {
        int start = s * SegmentRows, end = Math.Min(_n, start + SegmentRows);
        int k = plan.Gradient.Length;
        Span<double> eta = stackalloc double[BlockRows];
        Span<double> scratch = stackalloc double[BlockRows];
        double loss = 0, sumR = 0, sumW = 0, shadowLoss = 0;
        var shadow = plan.Shadow;
        for (int b = start; b < end; b += BlockRows)
        {
            int m = Math.Min(BlockRows, end - b);
            var e = eta[..m];
            if (shadow is not null)
            {
                // The loss at the point the last lambda ended on (its columns are read again just below, from cache).
                e.Fill(shadow.Offset);
                for (int a = 0; a < shadow.Active.Length; a++)
                    Vec.Axpy(shadow.Coef[a], _d.Column(shadow.Active[a]).Slice(b, m), e);
                shadowLoss += LogisticKernels.Loss(e, _d.Y.AsSpan(b, m));
            }
            e.Fill(plan.Offset);
            for (int a = 0; a < plan.Active.Length; a++)
                Vec.Axpy(plan.Coef[a], _d.Column(plan.Active[a]).Slice(b, m), e);
            var r = _resid.AsSpan(b, m);
            var w = _weight.AsSpan(b, m);
            loss += LogisticKernels.Link(e, _d.Y.AsSpan(b, m), _prob.AsSpan(b, m), w, r, scratch);
            for (int i = 0; i < m; i++)
            {
                sumR += r[i];
                sumW += w[i];
            }
            for (int t = 0; t < k; t++)
            {
                int j = plan.Gradient[t];
                var col = _d.Column(j).Slice(b, m);
                plan.PartG[s * k + t] += LogisticKernels.DotShifted(col, _d.Means[j], r);
                if (plan.Stats)
                {
                    var (f, q) = LogisticKernels.WeightedMoments(col, _d.Means[j], w);
                    plan.PartF![s * k + t] += f;
                    plan.PartS![s * k + t] += q;
                }
            }
        }
        plan.PartLoss[s] = loss;
        if (plan.PartShadow is not null) plan.PartShadow[s] = shadowLoss;
        plan.PartR[s] = sumR;
        plan.PartW[s] = sumW;
    }

    /// <summary>
    /// The quadratic model of the Gram mode over the working set <see cref="Set"/>: A (centered, row-major),
    /// u = Z'w/n, W = sum w / n, the uncentered diagonal Xv = diag(Z'WZ/n), and the weights it was built with.
    /// </summary>
    private sealed record Hessian(int[] Set, double[] A, double[] U, double W, double[] Xv, double[] WeightRef, double WeightSum);
}
