using System.Numerics.Tensors;

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
        settings.CheckFor(featureCols.Length, featureNames.Length);
        if (labels.Length < 2) throw new ArgumentException("a multinomial fit needs at least 2 classes");
        ct.ThrowIfCancellationRequested();
        var solver = new MultinomialPathSolver(x, featureCols, targetCol, rows, labels, featureNames, settings, grouped, weights, offsets);
        try
        {
            return PathDriver.Run(solver, settings, progress, ct);
        }
        finally
        {
            solver.Release();
        }
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
        // Huge pages where the system allows them (LargeArrays): every class step streams the working columns, 16 MB at 20k x 100.
        // The last fit's copy of that size is taken when there is one (Release keeps it): its pages are already the process's.
        _zData = TakeKeptColumns(ArraySizes.Product(_n, _p, "the standardized features"));
        var obs = _obs;
        var standardized = Standardization.Features(featureNames, _intercept, settings.Standardize,
                                                    j => ObservationWeights.Moments(source.Column(cols[j]), obs));   // weighted as glmnet's with weights
        (_means, _scales, _excluded) = (standardized.Means, standardized.Scales, standardized.Excluded);
        _warnings.AddRange(standardized.Warnings);
        for (int j = 0; j < _p; j++)
        {
            var z = _zData.AsSpan(j * _n, _n);
            if (_excluded[j])
            {
                z.Clear();   // allocated uninitialized
                continue;
            }
            var c = source.Column(cols[j]);
            double center = _means[j], inv = 1 / _scales[j];
            // (c_i - center) * inv, vectorized (the same two roundings as the scalar expression), by blocks of rows so that no
            // store is non-temporal (TensorPrimitives streams past the cache above 256 KB).
            for (int i0 = 0; i0 < _n; i0 += RowBlock)
            {
                int len = Math.Min(RowBlock, _n - i0);
                var zb = z.Slice(i0, len);
                TensorPrimitives.Subtract(c.Slice(i0, len), center, zb);
                TensorPrimitives.Multiply(zb, inv, zb);
            }
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
        if (!_grouped) Extrapolate(lambda, step.PreviousLambda);
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
                _outsideGradientFresh = false;
                double change = _grouped ? GroupedStep(lambda, ref passes) : UngroupedSteps(lambda, ref passes);
                Symmetrize();   // moves no probability: a gradient the step's last pass made stays exact
                steps++;
                if (change < _threshold) { small = true; break; }
            }
            if (!(small && _outsideGradientFresh)) FullGradient();
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
