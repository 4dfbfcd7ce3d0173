using System.Numerics.Tensors;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The multinomial elastic-net path with glmnet's objective (family "multinomial"):
/// <code>
/// -(1/n) sum_i w_i log p_{i,y_i} + lambda * sum_j v_j P(b_j),   p_ik = e^eta_ik / sum_l e^eta_il,  eta_ik = o_ik + b0_k + x_i.b_k
/// </code>
/// (o_ik glmnet's n x K offset, 0 without one; MultinomialPath.Offset.cs)
/// (observation weights w_i, default 1, rescaled to sum to n; glmnet's <c>weights</c>; every class's b_kj within the feature's
/// lower.limits and upper.limits when given)
/// with P(b_j) = sum_k [(1 - alpha)/2 b_kj² + alpha |b_kj|] (type.multinomial "ungrouped") or
/// (1 - alpha)/2 ||b_j||² + alpha ||b_j||_2 over the K classes (type.multinomial "grouped"), on standardized features as glmnet's
/// lognet (1/n standard deviations about the mean, with or without an intercept; centered only with one), intercepts unpenalized.
/// </summary>
/// <remarks>
/// <para>
/// The loss is unchanged by adding one constant to every class's linear predictor: glmnet's symmetric parametrization fixes
/// it. After every Newton step the intercepts are centered (their sum is 0 on the standardized scale) and each feature's K
/// coefficients are shifted by the c minimizing sum_k P(b_kj - c) (ungrouped: a weighted median between the ridge's mean and the
/// lasso's median, glmnet's elc; grouped: the mean). The shift leaves the loss as it is and lowers the penalty, so the optimum
/// is symmetric by itself; K odd makes the pure lasso's unique. With coefficient bounds the shift is the best one that keeps every
/// class inside them (glmnet's elc clamps it the same way), so with lower limits 0 a feature's smallest class coefficient is 0.
/// </para>
/// <para>
/// Proximal Newton, warm-started along the path. Ungrouped: glmnet's partial Newton, one class at a time (Gauss-Seidel over the
/// classes), the class's diagonal Hessian block w_i = p_ik (1 - p_ik) (each at least 1e-5) as the quadratic model, minimized with
/// the penalty by coordinate descent over the working set. Grouped: every class at once with those weights, each feature's K
/// coefficients updated as one block by the group soft threshold under the bound max_k H_kj of the block's Hessian (glmnet's
/// bound form; with bounds, the group shrinkage with the box, <see cref="GroupBox"/>). Ungrouped coordinates are clamped into
/// the bounds after the soft threshold, as glmnet's. A step that raises the penalized objective is halved until it does not. The Newton steps at a lambda end when the
/// largest weighted squared change of a proposed step, max(W_k Δb0_k², H_kj Δb_kj²), is below <c>Tolerance</c> times the null
/// deviance per row over 2 and the KKT conditions hold with the exact gradient outside the working set (|g_kj| ≤ lambda alpha
/// v_j; grouped ||g_j||_2 ≤ lambda alpha v_j); violators join and the steps go on. lambda_max is max_j max_k |g_kj| / v_j
/// (grouped: ||g_j||_2 / v_j) at the intercept-only model, over max(alpha, 1e-3). A generated path stops as glmnet's lognet.
/// </para>
/// </remarks>
public static class MultinomialPath
{
    public const string SolverName = "proximalNewton";

    /// <summary>Newton steps allowed per lambda (each costs at least one pass, which maxIterations bounds as well): 200 left the
    /// grouped fit of scikit-learn's iris data short of glmnet's optimum at its smallest lambdas (tests/fixtures/real).</summary>
    public const int MaxNewtonSteps = 5000;

    /// <summary>
    /// Fits the path on <paramref name="rows"/> of <paramref name="x"/> (null = all rows), the classes being
    /// <paramref name="labels"/> (sorted; every target value must be one). Each class needs a row among those fitted.
    /// </summary>
    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, double[] labels, string[] featureNames,
                              PathSettings settings, bool grouped, IProgress<FitProgress>? progress, CancellationToken ct)
        => Fit(x, featureCols, targetCol, rows, labels, featureNames, settings, grouped, null, null, progress, ct);

    /// <summary>
    /// The path with observation weights <paramref name="weights"/> (indexed like the rows of <paramref name="x"/>; null: every
    /// row 1), those of the rows fitted rescaled to sum to their count (glmnet's): the loss is -(1/n) sum_i v_i log p_{i,y_i},
    /// the standardization weighted; each class needs positive weight among the rows fitted. The coefficient bounds of
    /// <paramref name="settings"/> (<see cref="PathSettings.LowerLimits"/>) hold every class's coefficient of a feature.
    /// <paramref name="offsets"/> (null: none) is glmnet's n x K offset, [class][row] indexed like the rows of <paramref name="x"/>:
    /// eta_ik = o_ik + b0_k + x_i.b_k in every step, the null model and lambda_max.
    /// </summary>
    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, double[] labels, string[] featureNames,
                              PathSettings settings, bool grouped, double[]? weights, double[][]? offsets, IProgress<FitProgress>? progress,
                              CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(settings);
        if (featureNames.Length != featureCols.Length) throw new ArgumentException("one name per feature column is needed");
        if (settings.PenaltyFactors.Length != featureCols.Length)
            throw new ArgumentException($"{settings.PenaltyFactors.Length} penalty factors for {featureCols.Length} features");
        if (!(settings.Alpha >= 0 && settings.Alpha <= 1)) throw new ArgumentException("alpha (l1Ratio) must be in [0, 1]");
        if (!(settings.Tolerance > 0)) throw new ArgumentException("tolerance must be positive");
        if (labels.Length < 2) throw new ArgumentException("a multinomial fit needs at least 2 classes");
        ct.ThrowIfCancellationRequested();
        var solver = new MultinomialPathSolver(x, featureCols, targetCol, rows, labels, featureNames, settings, grouped, weights, offsets);
        return PathDriver.Run(solver, settings, progress, ct);
    }
}

/// <summary>The point solver of <see cref="MultinomialPath"/> (see there).</summary>
internal sealed partial class MultinomialPathSolver : IPointSolver
{
    private const double MinWeight = SoftmaxKernels.MinWeight;
    private readonly int _n, _p, _classes;
    private readonly double[] _zData;        // standardized columns, column-major (feature j at j n; zeros when excluded)
    private readonly int[] _y;
    private readonly double[] _means, _scales;
    private readonly bool[] _excluded;
    private readonly double[] _v;
    private readonly double _alpha;
    private readonly bool _grouped, _intercept;
    private readonly int _maxPasses;
    private int _budget = int.MaxValue;   // the passes allowed at the current lambda (Converge)
    private readonly double[] _b0;
    private readonly double[][] _b;          // [class][feature], standardized
    private readonly double[][] _eta;        // [class][row]
    private readonly double[][] _prob;       // [class][row]
    private readonly double[][] _grad;       // [class][feature]: (1/n) z_j'(y_k - p_k) at the current point outside the working set (FullGradient)
    private readonly OuterWorkingSet _outer;   // the working set: grows by the strong rule and the KKT check (Solve, Converge)
    private readonly bool[] _working;          // its membership flags, which the passes read
    private readonly List<string> _warnings = [];
    private double _nullDeviance = double.NaN;   // per row: -(2/n) log-likelihood of the null model
    private double _threshold;
    private bool _separated;
    private double _loss;   // the mean negative log-likelihood at the current linear predictors (Refresh)

    // Scratch per class: weights, working residual, step.
    private readonly double[][] _w, _q, _d;
    private readonly double[] _d0;
    private readonly double[] _h;

    // The fitted rows' raw feature columns, for the weighted Gram matrices of the Gram-mode Newton steps.
    private readonly DenseMatrix _source;
    private readonly int[] _sourceCols;
    private readonly int _threads;

    public MultinomialPathSolver(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, double[] labels, string[] featureNames,
                                 PathSettings settings, bool grouped, double[]? weights = null, double[][]? offsets = null)
    {
        _n = rows?.Length ?? x.Rows;
        _p = featureCols.Length;
        _classes = labels.Length;
        if (_n == 0) throw new ArgumentException("no rows to fit");
        var target = x.Column(targetCol);
        _y = new int[_n];
        _obs = ObservationWeights.Fitted(weights, rows, x.Rows);
        if (_obs is { } fitted && Array.IndexOf(fitted, 0.0) >= 0)
        {
            _weightless = new double[_n];
            for (int i = 0; i < _n; i++) if (fitted[i] == 0) _weightless[i] = 1;
        }
        _offset = FittedOffsets(offsets, rows);
        var counts = new double[_classes];
        for (int i = 0; i < _n; i++)
        {
            int r = rows is null ? i : rows[i];
            int c = Array.BinarySearch(labels, target[r]);
            if (c < 0) throw new ArgumentException($"row {r} has {target[r]}, which is not one of the {_classes} classes");
            _y[i] = c;
            counts[c] += _obs?[i] ?? 1.0;
        }
        for (int c = 0; c < _classes; c++)
            if (counts[c] == 0) throw new ArgumentException($"class {labels[c]} has no row {(_obs is null ? "" : "of positive weight ")}among the {_n} rows fitted");

        _alpha = settings.Alpha;
        _v = settings.PenaltyFactors;
        _grouped = grouped;
        _intercept = settings.FitIntercept;
        _maxPasses = settings.MaxIterations;
        var (source, cols) = FittedRows.Features(x, featureCols, rows);
        _source = source;
        _sourceCols = cols;
        _threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
        _zData = new double[ArraySizes.Product(_n, _p, "the standardized features")];
        var obs = _obs;
        var standardized = Standardization.Features(featureNames, _intercept, settings.Standardize,
                                                    j => ObservationWeights.Moments(source.Column(cols[j]), obs));   // weighted as glmnet's with weights
        (_means, _scales, _excluded) = (standardized.Means, standardized.Scales, standardized.Excluded);
        _warnings.AddRange(standardized.Warnings);
        for (int j = 0; j < _p; j++)
        {
            if (_excluded[j]) continue;
            var c = source.Column(cols[j]);
            var z = _zData.AsSpan(j * _n, _n);
            double center = _means[j], inv = 1 / _scales[j];
            for (int i = 0; i < _n; i++) z[i] = (c[i] - center) * inv;
        }
        _b0 = new double[_classes];
        _d0 = new double[_classes];
        _b = Jagged(_classes, _p);
        _grad = Jagged(_classes, _p);
        _d = Jagged(_classes, _p);
        _eta = Jagged(_classes, _n);
        _prob = Jagged(_classes, _n);
        _w = Jagged(_classes, _n);
        _q = Jagged(_classes, _n);
        _h = new double[_p];
        _hessians = new ClassHessian?[_classes];
        _outer = new OuterWorkingSet(_v, _alpha, _excluded);
        _working = _outer.Flags;
        _tolerance = settings.Tolerance;
        _limits = CoefficientBounds.Standardized(settings.LowerLimits, settings.UpperLimits, _scales);
    }

    private readonly double[]? _obs;                 // observation weights of the rows fitted, summing to n; null: all 1
    private readonly CoefficientBounds? _limits;     // lower.limits / upper.limits on the standardized scale, every class alike

    private readonly double _tolerance;

    private static double[][] Jagged(int a, int b)
    {
        var m = new double[a][];
        for (int i = 0; i < a; i++) m[i] = new double[b];
        return m;
    }

    public int Rows => _n;

    /// <summary>Class k's linear predictors eta_k (one per row fitted; the solver's own).</summary>
    internal double[] LinearPredictor(int k) => _eta[k];

    /// <summary>Whether the last refresh found every row of positive weight's class probability above 1 - 1e-9 (the path ends).</summary>
    internal bool Separated => _separated;
    public int Features => _p;
    public EarlyStop Stop => EarlyStop.Absolute;

    public double Start(CancellationToken ct)
    {
        // The null model: class frequencies (symmetric intercepts), or p = 1/K without an intercept.
        var counts = new double[_classes];
        for (int i = 0; i < _n; i++) counts[_y[i]] += _obs?[i] ?? 1.0;
        if (_intercept)
        {
            double mean = 0;
            for (int k = 0; k < _classes; k++) mean += _b0[k] = Math.Log(counts[k] / _n);
            mean /= _classes;
            for (int k = 0; k < _classes; k++) _b0[k] -= mean;
        }
        if (_offset is null) for (int k = 0; k < _classes; k++) Array.Fill(_eta[k], _b0[k]);
        else OffsetNullModel();   // eta_k = offset_k + b0_k, the intercepts fitted to the offsets (glmnet's kazero)
        double loss = Refresh();
        _nullDeviance = 2 * loss;
        _threshold = _tolerance * loss;

        // Unpenalized features join at lambda = infinity.
        bool any = false;
        for (int j = 0; j < _p; j++)
            if (!_excluded[j] && _v[j] == 0) any |= _outer.Add(j);
        if (any) Converge(double.PositiveInfinity, int.MaxValue, ct);
        FullGradient();
        double max = 0;
        var scores = new ClassScores(_grad, _grouped);
        for (int j = 0; j < _p; j++)
            if (!_excluded[j] && _v[j] > 0) max = Math.Max(max, scores.Score(j) / _v[j]);
        return max;
    }

    public PointOutcome Solve(in PathStep step, CancellationToken ct)
    {
        double lambda = step.Lambda;
        // The strong rule on the gradient of the previous solution.
        _outer.JoinStrong(new ClassScores(_grad, _grouped), lambda, step.PreviousLambda);
        var (converged, steps) = Converge(lambda, step.Budget, ct);
        return new PointOutcome(converged, steps, _outer.Outside, EndsPath: _separated);
    }

    /// <summary>Newton steps over the working set until they are small, then the KKT check outside it; again while it finds violators.</summary>
    private (bool Converged, int Steps) Converge(double lambda, int budget, CancellationToken ct)
    {
        int steps = 0, passes = 0;
        _budget = budget;
        while (true)
        {
            bool small = false;
            _recomputeDue = true;
            while (steps < MultinomialPath.MaxNewtonSteps && passes < budget)
            {
                ct.ThrowIfCancellationRequested();
                double change = _grouped ? GroupedStep(lambda, ref passes) : UngroupedSteps(lambda, ref passes);
                Symmetrize();
                steps++;
                if (change < _threshold) { small = true; break; }
            }
            FullGradient();
            if (!small) return (false, steps);
            if (_outer.JoinViolators(new ClassScores(_grad, _grouped), lambda) == 0) return (true, steps);
        }
    }

    /// <summary>A feature's score for the working set's rules: max_k |g_kj| (grouped: ||g_j||_2) of the gradient [class][feature].</summary>
    private readonly struct ClassScores(double[][] gradient, bool grouped) : IFeatureScores
    {
        public double Score(int j)
        {
            double s = 0;
            for (int k = 0; k < gradient.Length; k++)
            {
                double g = gradient[k][j];
                s = grouped ? s + g * g : Math.Max(s, Math.Abs(g));
            }
            return grouped ? Math.Sqrt(s) : s;
        }
    }

    /// <summary>Probabilities from the linear predictors; returns the mean negative log-likelihood.</summary>
    /// <remarks>Vectorized over blocks of rows that stay in cache: the row maxima, then e^(eta - max) per class, their sum,
    /// the division, and the loss sum_i (max_i + log sum_i - eta_{i,y_i}).</remarks>
    internal double Refresh()
    {
        var (loss, worst) = RefreshBlocks();
        _separated = worst > 1 - 1e-9;
        return _loss = loss / _n;
    }

    /// <summary>Rows per block of <see cref="Refresh"/> and the fused passes (MultinomialPath.Passes.cs): a block of the
    /// working columns stays in cache between the passes over it.</summary>
    private const int RowBlock = 1024;

    /// <summary><see cref="Refresh"/> on rows [i0, i0 + len) (<paramref name="max"/>, <paramref name="sum"/>: scratch of len values):
    /// returns their summed negative log-likelihood and lowers <paramref name="worst"/> to their smallest probability of the observed class.</summary>
    private double RefreshRows(int i0, int len, double[] max, double[] sum, ref double worst)
    {
        double loss = 0;
        {
            var m = max.AsSpan(0, len);
            var t = sum.AsSpan(0, len);
            _eta[0].AsSpan(i0, len).CopyTo(m);
            for (int k = 1; k < _classes; k++) TensorPrimitives.Max(m, _eta[k].AsSpan(i0, len), m);
            t.Clear();
            for (int k = 0; k < _classes; k++)
            {
                var pk = _prob[k].AsSpan(i0, len);
                TensorPrimitives.Subtract(_eta[k].AsSpan(i0, len), m, pk);
                TensorPrimitives.Exp(pk, pk);
                TensorPrimitives.Add(t, pk, t);
            }
            for (int k = 0; k < _classes; k++)
            {
                var pk = _prob[k].AsSpan(i0, len);
                TensorPrimitives.Divide(pk, t, pk);
            }
            TensorPrimitives.Log(t, t);
            // Left to right: m is summed before ObservedEta (with weights) and ObservedMin use it as scratch.
            loss += WeightedSum(i0, m) + WeightedSum(i0, t) - ObservedEta(i0, m);
            worst = Math.Min(worst, ObservedMin(i0, m));
        }
        return loss;
    }

    /// <summary>The mean negative log-likelihood at linear predictors eta + step (the step [class][row]; null rows unchanged).</summary>
    private double LossAt(double[]?[] step, double scale)
    {
        double loss = 0;
        var e = new double[_classes];
        for (int i = 0; i < _n; i++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < _classes; k++)
            {
                e[k] = _eta[k][i] + (step[k] is { } s ? scale * s[i] : 0);
                max = Math.Max(max, e[k]);
            }
            double sum = 0;
            for (int k = 0; k < _classes; k++) sum += Math.Exp(e[k] - max);
            loss -= (_obs?[i] ?? 1.0) * (e[_y[i]] - max - Math.Log(sum));
        }
        return loss / _n;
    }

    private double PenaltyOf(int j, double lambda, Func<int, double> coefficient)
    {
        if (_v[j] == 0) return 0;
        double squares = 0, abs = 0;
        for (int k = 0; k < _classes; k++)
        {
            double b = coefficient(k);
            squares += b * b;
            abs += Math.Abs(b);
        }
        double l1 = _grouped ? Math.Sqrt(squares) : abs;
        return lambda * _v[j] * ((1 - _alpha) / 2 * squares + _alpha * l1);
    }

    private double Penalty(double lambda, double scale, bool withStep)
    {
        if (double.IsPositiveInfinity(lambda)) return 0;   // only unpenalized features move at lambda = infinity
        double sum = 0;
        for (int j = 0; j < _p; j++)
            if (_working[j]) sum += PenaltyOf(j, lambda, k => _b[k][j] + (withStep ? scale * _d[k][j] : 0));
        return sum;
    }

    private double Pen(int j, double lambda) => _v[j] == 0 ? 0 : lambda * _v[j];

    /// <summary>One partial Newton step per class in turn; returns the largest weighted squared change proposed.</summary>
    private double UngroupedSteps(double lambda, ref int passes)
    {
        double change = 0;
        var rowStep = new double[_classes][];
        var set = WorkingSet();   // the KKT checks between Newton steps change it, a class step does not
        bool gram = UseGram(set.Length);
        for (int k = 0; k < _classes; k++)
        {
            Array.Clear(_d[k]);
            _d0[k] = 0;
            double inner = Math.Max(_threshold, 1e-300);
            if (gram) passes += GramClassStep(k, set, lambda, inner, passes);
            else
            {
                Weights(k);
                // glmnet's active-set cycling: a pass over the working set, then passes over the nonzero coefficients until they
                // settle, then a full pass again; done when a full pass moves less than the threshold.
                for (int round = 0; round < 1000; round++)
                {
                    passes++;
                    if (ClassPass(k, lambda, nonZeroOnly: false) < inner) break;
                    for (int pass = 0; pass < 1000; pass++)
                    {
                        passes++;
                        if (ClassPass(k, lambda, nonZeroOnly: true) < inner) break;
                    }
                }
            }
            double size = Size(k, gram ? _classWeightSum : null);
            change = Math.Max(change, size);
            if (size == 0) continue;
            // The class's step in the linear predictor: taken, then halved (taken back by half) while it raises the objective; a step below the threshold is kept whole:
            // it cannot raise the objective by more than rounding. In Gram mode the step, the refresh and the next class's
            // gradient are one pass over blocks of rows (StepAndPrepare); the next class's gradient is used if the step stays whole.
            // After the last class it prepares the next Newton step's first class (the symmetrization between does not move
            // the probabilities) and, once per round of Newton steps at a lambda (Converge), recomputes the softmax from the linear
            // predictors: the one-class updates in between renormalize every row (each divides by the new sum), so their
            // rounding does not build up in the sum, only in the ratios, by about 1e-16 per update.
            double before = _loss + ClassPenalty(lambda, k, 0);
            double t = 1;
            double[]? s = null;
            double after;
            bool recompute = k + 1 == _classes && _recomputeDue;
            if (recompute) _recomputeDue = false;
            if (gram) after = StepAndPrepare(k, (k + 1) % _classes, set, recompute);
            else
            {
                s = StepVector(k, rowStep[k] ??= new double[_n]);
                Vec.Axpy(1, s, _eta[k]);
                after = Refresh();
            }
            after += ClassPenalty(lambda, k, t);
            for (int halving = 0; halving < 30; halving++)
            {
                if (halving > 0) after = Refresh() + ClassPenalty(lambda, k, t);
                if (size < _threshold || after <= before + 1e-12 * Math.Abs(before)) break;
                _prepared = null;
                s ??= StepVector(k, rowStep[k] ??= new double[_n]);
                t /= 2;
                Vec.Axpy(-t, s, _eta[k]);
            }
            _b0[k] += t * _d0[k];
            for (int j = 0; j < _p; j++) _b[k][j] += t * _d[k][j];
        }
        return change;
    }

    /// <summary>Sum w of the weights of the last Gram-mode class step (<see cref="GramClassStep"/>).</summary>
    private double _classWeightSum;

    /// <summary>Whether the softmax is still to be recomputed from the linear predictors at this lambda (<see cref="Converge"/>
    /// sets it; the last class step of the next Newton step does it and clears it).</summary>
    private bool _recomputeDue;

    /// <summary>The working features in order.</summary>
    private int[] WorkingSet()
    {
        int q = 0;
        for (int j = 0; j < _p; j++) if (_working[j]) q++;
        var set = new int[q];
        q = 0;
        for (int j = 0; j < _p; j++) if (_working[j]) set[q++] = j;
        return set;
    }

    /// <summary>Working sets up to this size (and at most half the rows) solve the quadratic model on its Gram matrix.</summary>
    internal const int GramLimit = 2048;

    /// <summary>The Gram mode pays n q² / 2 once per class step and then q per coordinate update, against n per update of the
    /// naive mode: worth it while the rows clearly outnumber the working features.</summary>
    private bool UseGram(int q) => q > 0 && q <= GramLimit && 2 * q <= _n;

    /// <summary>
    /// Class k's quadratic model solved on the weighted Gram matrix of the working set (as <see cref="LogisticPathSolver"/>'s
    /// Gram step): with w_i = max(p_ik (1 - p_ik), 1e-5), minimize (1/2) d'Ad - c'd + lambda P(b + d) by
    /// <see cref="CovarianceCd"/>, A = Z'WZ/n - u u'/W with the intercept eliminated (u = Z'w/n, W = sum w / n),
    /// c = g - u g0 / W + A b (g = Z'(y_k - p_k)/n, g0 = sum (y_k - p_k) / n); the intercept's step is (g0 - u'd)/W.
    /// Fills _d[k], _d0[k] and _h (the uncentered diagonal, for the step's size); returns the passes.
    /// </summary>
    private int GramClassStep(int k, int[] set, double lambda, double tolerance, int passesSoFar)
    {
        int q = set.Length;
        // The weights, working residual and raw gradient z_j'(y_k - p_k), from the previous class's fused pass when it made them.
        var prep = _prepared is { } ready && ready.Class == k && ready.Set.AsSpan().SequenceEqual(set) ? ready : PrepareClass(k, set);
        _prepared = null;
        var w = _w[k];
        double wsum = _classWeightSum = prep.WeightSum, g0 = prep.ResidualSum;
        var cached = _hessians[k];
        if (cached is null || !ReferenceEquals(prep.Reference, cached) || !(cached.WeightSum > 0) || prep.Drift / cached.WeightSum > DriftLimit)
            cached = _hessians[k] = BuildHessian(set, w, wsum, cached?.WeightRef);
        else if (cached.Set.Length != q) cached = _hessians[k] = GrowHessian(cached, set);   // the working set grew: add the new features
        var gram = (double[])cached.Gram.Clone();
        var sums = cached.Sums;
        bool center = _intercept;
        double total = cached.WeightSum, W = total / _n;
        var u = new double[q];
        var c = new double[q];
        var start = new double[q];
        var v = new double[q];
        Array.Clear(_h);
        for (int a = 0; a < q; a++)
        {
            int j = set[a];
            double sa = _scales[j];
            u[a] = sums[a] / (_n * sa);
            _h[j] = gram[a * q + a] / (_n * sa * sa);
            for (int b = 0; b < q; b++)
            {
                double g = center ? gram[a * q + b] - sums[a] * sums[b] / total : gram[a * q + b];
                gram[a * q + b] = g / (_n * sa * _scales[set[b]]);
            }
            start[a] = _b[k][j];
            v[a] = _v[j];
            c[a] = prep.Dots[a] / _n - (center ? u[a] * g0 / _n / W : 0);
        }
        for (int b = 0; b < q; b++)
        {
            if (start[b] == 0) continue;
            for (int a = 0; a < q; a++) c[a] += gram[a * q + b] * start[b];
        }
        // At lambda = infinity only unpenalized features are in the working set: any finite lambda is the same model.
        double l = double.IsPositiveInfinity(lambda) ? 0 : lambda;
        var cd = new CovarianceCd(gram, c, q, v, _alpha, start, _limits?.Restrict(set));
        var outcome = cd.Solve(l, l, tolerance, Math.Max(_budget - passesSoFar, 1));
        double ud = 0;
        for (int a = 0; a < q; a++)
        {
            double d = cd.Beta[a] - start[a];
            _d[k][set[a]] = d;
            ud += u[a] * d;
        }
        _d0[k] = center ? (g0 / _n - ud) / W : 0;
        return outcome.Passes;
    }

    /// <summary>
    /// A class's weighted Gram matrix stays while its working set does and its weights moved by at most this fraction
    /// (sum |w - w_ref| / sum w_ref): the Newton model is then slightly off, the gradient stays exact, so the fixed point and
    /// the stopping rule are the same. 0.1 rather than <see cref="LogisticPathSolver"/>'s 0.05: on the 20k x 100, 5-class
    /// path it halves the rebuilds (91 to 47, sum q² 183 000 to 85 000) for 261 Newton steps instead of 257 (0.2: 25 rebuilds,
    /// 278 steps).
    /// </summary>
    private const double DriftLimit = 0.1;

    private readonly ClassHessian?[] _hessians;

    /// <summary>Z'WZ (raw, on the shifted columns), Z'w and sum w of one class's working set, with the weights they came from.</summary>
    internal sealed record ClassHessian(int[] Set, double[] Gram, double[] Sums, double[] WeightRef, double WeightSum);

    /// <summary>The class Gram matrix of the working set <paramref name="set"/> with the working weights <paramref name="w"/>
    /// (summing to <paramref name="wsum"/>) from the raw columns, shifted by their means; a copy of w kept as its reference
    /// (in <paramref name="reuse"/> when given).</summary>
    internal ClassHessian BuildHessian(int[] set, double[] w, double wsum, double[]? reuse)
    {
        int q = set.Length;
        var cols = new int[q];
        var shift = new double[q];
        for (int a = 0; a < q; a++)
        {
            cols[a] = _sourceCols[set[a]];
            shift[a] = _means[set[a]];
        }
        var gram = new double[ArraySizes.Square(q, "the Hessian")];
        var sums = new double[q];
        GramKernel.WeightedShiftedGram(_source, cols, shift, w, null, gram, sums, _threads);
        var weightRef = reuse ?? new double[_n];
        w.CopyTo(weightRef, 0);
        return new ClassHessian(set, gram, sums, weightRef, wsum);
    }

    /// <summary>One coordinate-descent pass of class k's quadratic model (the intercept, then the working features, or only
    /// those nonzero); returns the largest weighted squared change.</summary>
    private double ClassPass(int k, double lambda, bool nonZeroOnly)
    {
        double moved = InterceptUpdate(k);
        var b = _b[k];
        var d = _d[k];
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) continue;
            double old = b[j] + d[j];
            if (nonZeroOnly && old == 0) continue;
            double a = _h[j];
            if (a == 0) continue;
            var z = Z(j);
            double u = LogisticKernels.DotShifted(z, 0, _q[k]) / _n + a * old;
            double pen = Pen(j, lambda);
            double fresh = double.IsPositiveInfinity(pen) ? 0 : Soft(u, _alpha * pen) / (a + (1 - _alpha) * pen);
            if (_limits is { } limits) fresh = limits.Clamp(j, fresh);   // glmnet: max(cl_1j, min(cl_2j, b_kj))
            double delta = fresh - old;
            if (delta == 0) continue;
            d[j] += delta;
            SpanOps.Update<Terms.SubtractWeightedShifted>(_q[k], z, _w[k], delta, 0);
            moved = Math.Max(moved, a * delta * delta);
        }
        return moved;
    }

    private double ClassPenalty(double lambda, int k, double t)
    {
        if (double.IsPositiveInfinity(lambda)) return 0;
        double sum = 0;
        for (int j = 0; j < _p; j++)
            if (_working[j]) sum += PenaltyOf(j, lambda, c => _b[c][j] + (c == k ? t * _d[k][j] : 0));
        return sum;
    }

    /// <summary>One Newton step of every class at once, each feature's block updated together; returns the largest weighted squared change proposed.</summary>
    private double GroupedStep(double lambda, ref int passes)
    {
        var hk = new double[_classes][];
        for (int k = 0; k < _classes; k++)
        {
            Weights(k);
            hk[k] = (double[])_h.Clone();
            Array.Clear(_d[k]);
            _d0[k] = 0;
        }
        double inner = Math.Max(_threshold, 1e-300);
        var u = new double[_classes];
        for (int round = 0; round < 1000; round++)
        {
            passes++;
            if (GroupedPass(lambda, hk, u, nonZeroOnly: false) < inner) break;
            for (int pass = 0; pass < 1000; pass++)
            {
                passes++;
                if (GroupedPass(lambda, hk, u, nonZeroOnly: true) < inner) break;
            }
        }
        double change = 0;
        var steps = new double[]?[_classes];
        for (int k = 0; k < _classes; k++)
        {
            Array.Copy(hk[k], _h, _p);
            double size = Size(k);
            change = Math.Max(change, size);
            if (size == 0) continue;
            steps[k] = StepVector(k, new double[_n]);
        }
        if (change == 0) return 0;
        double before = _loss + Penalty(lambda, 0, true);
        double t = 1;
        for (int halving = 0; halving < 30 && change >= _threshold; halving++, t /= 2)
        {
            double after = LossAt(steps, t) + Penalty(lambda, t, true);
            if (after <= before + 1e-12 * Math.Abs(before)) break;
        }
        for (int k = 0; k < _classes; k++)
        {
            if (steps[k] is not { } s) continue;
            _b0[k] += t * _d0[k];
            for (int j = 0; j < _p; j++) _b[k][j] += t * _d[k][j];
            Vec.Axpy(t, s, _eta[k]);
        }
        Refresh();
        return change;
    }

    /// <summary>One pass of the grouped model: the intercepts, then each working feature's block (or only the nonzero blocks).</summary>
    private double GroupedPass(double lambda, double[][] hk, double[] u, bool nonZeroOnly)
    {
        double moved = 0;
        for (int k = 0; k < _classes; k++) moved = Math.Max(moved, InterceptUpdate(k));
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) continue;
            if (nonZeroOnly)
            {
                bool zero = true;
                for (int k = 0; k < _classes && zero; k++) zero = _b[k][j] + _d[k][j] == 0;
                if (zero) continue;
            }
            double bound = 0;
            for (int k = 0; k < _classes; k++) bound = Math.Max(bound, hk[k][j]);
            if (bound == 0) continue;
            var z = Z(j);
            double norm = 0;
            for (int k = 0; k < _classes; k++)
            {
                u[k] = LogisticKernels.DotShifted(z, 0, _q[k]) / _n + bound * (_b[k][j] + _d[k][j]);
                norm += u[k] * u[k];
            }
            norm = Math.Sqrt(norm);
            double pen = Pen(j, lambda);
            double factor = double.IsPositiveInfinity(pen) || norm <= _alpha * pen ? 0 : (1 - _alpha * pen / norm) / (bound + (1 - _alpha) * pen);
            // With bounds the block's minimizer is the group shrinkage with the box inside (GroupBox); u then holds it.
            bool boxed = _limits is { } box && GroupBox.Binds(u, factor, box.Lower[j], box.Upper[j]);
            if (boxed) GroupBox.Shrink(u, bound + (1 - _alpha) * pen, _alpha * pen, _limits!.Lower[j], _limits.Upper[j], u);
            for (int k = 0; k < _classes; k++)
            {
                double old = _b[k][j] + _d[k][j];
                double delta = (boxed ? u[k] : u[k] * factor) - old;
                if (delta == 0) continue;
                _d[k][j] += delta;
                SpanOps.Update<Terms.SubtractWeightedShifted>(_q[k], z, _w[k], delta, 0);
                moved = Math.Max(moved, hk[k][j] * delta * delta);
            }
        }
        return moved;
    }

    /// <summary>Class k's Newton weights w_i = v_i max(p(1 - p), 1e-5), working residual v_i (y - p) (v the observation weights), and
    /// each working feature's H_kj = (1/n) sum w z².</summary>
    private void Weights(int k)
    {
        double wsum = 0, rsum = 0, drift = 0;
        ClassRows(k, 0, _n, null, ref wsum, ref rsum, ref drift);
        var w = _w[k];
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) { _h[j] = 0; continue; }
            _h[j] = LogisticKernels.WeightedMoments(Z(j), 0, w).Second / _n;
        }
    }

    /// <summary>The intercept's Newton update for class k on the quadratic model; returns its weighted squared change.</summary>
    private double InterceptUpdate(int k)
    {
        if (!_intercept) return 0;
        var w = _w[k];
        var q = _q[k];
        double sw = 0, sq = 0;
        for (int i = 0; i < _n; i++)
        {
            sw += w[i];
            sq += q[i];
        }
        double delta = sq / sw;
        if (delta == 0) return 0;
        _d0[k] += delta;
        for (int i = 0; i < _n; i++) q[i] -= w[i] * delta;
        return sw / _n * delta * delta;
    }

    /// <summary>The weighted squared size of class k's proposed step: max(W Δb0², max_j H_kj Δb_kj²), W = sum w / n
    /// (<paramref name="weightSum"/>: sum w when known, as the Gram-mode step's weights, <see cref="ClassPrep.WeightSum"/>).</summary>
    private double Size(int k, double? weightSum = null)
    {
        double sw = 0;
        if (_intercept)
        {
            if (weightSum is { } known) sw = known;
            else
            {
                var w = _w[k];
                for (int i = 0; i < _n; i++) sw += w[i];
            }
            sw /= _n;
        }
        double size = sw * _d0[k] * _d0[k];
        for (int j = 0; j < _p; j++) size = Math.Max(size, _h[j] * _d[k][j] * _d[k][j]);
        return size;
    }

    private static double Soft(double u, double t) => u > t ? u - t : u < -t ? u + t : 0;

    /// <summary>
    /// glmnet's symmetric parametrization: intercepts centered, each feature's coefficients shifted by the c minimizing its
    /// penalty (the loss does not change: every class's linear predictor moves by the same c z_j).
    /// </summary>
    private void Symmetrize()
    {
        if (_intercept)
        {
            double c = _b0.Average();
            if (c != 0)
                for (int k = 0; k < _classes; k++)
                {
                    _b0[k] -= c;
                    var e = _eta[k];
                    for (int i = 0; i < _n; i++) e[i] -= c;
                }
        }
        var column = new double[_classes];
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) continue;
            for (int k = 0; k < _classes; k++) column[k] = _b[k][j];
            double c = _grouped || _v[j] == 0 || _alpha == 0 ? column.Average() : BestShift(column, _alpha);
            // With bounds, the best shift that keeps every class inside them (glmnet's elc): max_k(b_k - upper) <= c <= min_k(b_k - lower).
            if (_limits is { } limits) c = Math.Clamp(c, column.Max() - limits.Upper[j], column.Min() - limits.Lower[j]);
            if (c == 0) continue;
            for (int k = 0; k < _classes; k++)
            {
                _b[k][j] -= c;
                Vec.Axpy(-c, Z(j), _eta[k]);
            }
        }
    }

    /// <summary>The c minimizing sum_k (1 - alpha)/2 (b_k - c)² + alpha |b_k - c| (glmnet's elc): a stationary point between
    /// two sorted values, or one of the values.</summary>
    internal static double BestShift(double[] b, double alpha)
    {
        var s = (double[])b.Clone();
        Array.Sort(s);
        int K = s.Length;
        double total = s.Sum();
        double best = double.NaN, bestValue = double.PositiveInfinity;
        void Try(double c)
        {
            double f = 0;
            foreach (double v in s) f += (1 - alpha) / 2 * (v - c) * (v - c) + alpha * Math.Abs(v - c);
            if (f < bestValue) { bestValue = f; best = c; }
        }
        if (alpha < 1)
            for (int m = 0; m <= K; m++)
            {
                // m values below c: the derivative (1 - alpha)(K c - total) + alpha (2m - K) vanishes at c.
                double c = (total - alpha * (2 * m - K) / (1 - alpha)) / K;
                double lo = m == 0 ? double.NegativeInfinity : s[m - 1], hi = m == K ? double.PositiveInfinity : s[m];
                if (c >= lo && c <= hi) Try(c);
            }
        foreach (double v in s) Try(v);
        return best;
    }

    public PathPoint Point(in PathStep step)
    {
        var intercepts = new double[_classes];
        var coefficients = new double[_classes][];
        var standardized = new double[_classes][];
        for (int k = 0; k < _classes; k++)
        {
            standardized[k] = (double[])_b[k].Clone();
            var c = coefficients[k] = new double[_p];
            double b0 = _b0[k];
            for (int j = 0; j < _p; j++)
            {
                if (_b[k][j] == 0) continue;
                c[j] = _b[k][j] / _scales[j];
                b0 -= c[j] * _means[j];
            }
            intercepts[k] = b0;
        }
        // glmnet reports original-scale intercepts that sum to 0 (the loss does not see a shift common to every class).
        double shift = intercepts.Average();
        for (int k = 0; k < _classes; k++) intercepts[k] -= shift;
        var model = new MulticlassModel(intercepts, coefficients, standardized);
        double loss = _loss;   // the symmetrization after the last step shifted every class alike: the loss is as refreshed
        return new PathPoint(step.Lambda, intercepts[0], coefficients[0], standardized[0], model.NonZero(), null)
        {
            DevianceRatio = 1 - 2 * loss / _nullDeviance,
            Classes = model,
        };
    }

    public PathFrame Frame() => new(_means, _scales, _nullDeviance, _warnings);
}
