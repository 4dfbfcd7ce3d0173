namespace RegService.Numerics.Fitting;

/// <summary>The model at one lambda, with how its solve went.</summary>
/// <remarks>
/// A point is stored either dense (the positional constructor) or by its nonzero entries (<see cref="SparseCoefficients"/>,
/// the wide gaussian path's); <see cref="Coefficients"/> and <see cref="StandardizedCoefficients"/> read the same either way,
/// a sparse point forming each dense vector on its first read. <see cref="NonZeroCoefficients"/> reads the nonzero entries
/// without forming it.
/// </remarks>
public sealed record PathPoint(
    double Lambda,
    double Intercept,
    double[] Coefficients,
    double[] StandardizedCoefficients,
    int NonZero,
    IFitMetrics? Validation)
{
    /// <summary>A point stored by its nonzero coefficients (<see cref="NonZero"/> is their count).</summary>
    public PathPoint(double lambda, double intercept, SparseCoefficients sparse, IFitMetrics? validation)
        : this(lambda, intercept, null!, null!, sparse.Count, validation) => _sparse = sparse;

    private readonly SparseCoefficients? _sparse;
    private double[]? _coefficients = Coefficients;
    private double[]? _standardized = StandardizedCoefficients;
    private bool _coefficientsReplaced;

    /// <summary>Original-scale coefficients, one per feature.</summary>
    public double[] Coefficients
    {
        get => _coefficients ?? Interlocked.CompareExchange(ref _coefficients, _sparse!.ToDense(_sparse.Values), null) ?? _coefficients;
        init
        {
            _coefficients = value;
            _coefficientsReplaced = _sparse is not null;
        }
    }

    /// <summary>Coefficients of the standardized features, one per feature.</summary>
    public double[] StandardizedCoefficients
    {
        get => _standardized ?? Interlocked.CompareExchange(ref _standardized, _sparse!.ToDense(_sparse.StandardizedValues), null) ?? _standardized;
        init => _standardized = value;
    }

    /// <summary>
    /// The original-scale coefficients whose bits are not 0 (-0 is kept), as ascending feature indices and values: a sparse
    /// point's own arrays (not to be modified), a dense point's found by a scan.
    /// </summary>
    public (int[] Indices, double[] Values) NonZeroCoefficients()
    {
        if (_sparse is { } sparse && !_coefficientsReplaced)
        {
            int kept = 0;
            foreach (double v in sparse.Values) if (BitConverter.DoubleToInt64Bits(v) != 0) kept++;
            if (kept == sparse.Count) return (sparse.Indices, sparse.Values);
        }
        var dense = Coefficients;
        var indices = new List<int>();
        var values = new List<double>();
        for (int j = 0; j < dense.Length; j++)
            if (BitConverter.DoubleToInt64Bits(dense[j]) != 0)
            {
                indices.Add(j);
                values.Add(dense[j]);
            }
        return ([.. indices], [.. values]);
    }

    /// <summary>Fraction of the null deviance explained on the rows fitted (glmnet's dev.ratio).</summary>
    public double DevianceRatio { get; init; } = double.NaN;

    /// <summary>False when the solver stopped at its iteration limit before meeting the tolerance.</summary>
    public bool Converged { get; init; } = true;

    /// <summary>Coordinate-descent passes (or Newton steps for the binomial family) spent at this lambda.</summary>
    public int Iterations { get; init; }

    /// <summary>
    /// Duality gap of the solution on the objective's scale (scikit-learn's dual point, docs/engine.md "Convergence");
    /// null when not computed.
    /// </summary>
    public double? DualityGap { get; init; }

    /// <summary>
    /// The stopping criterion's value at the end of this lambda's solve, in the tolerance's units, where it is not glmnet's
    /// change rule: proximal gradient ||G||_2 / sqrt(null deviance per row); coordinate descent with stopping dualityGap
    /// the gap / null deviance per row. Null otherwise.
    /// </summary>
    public double? StoppingValue { get; init; }

    /// <summary>Features the strong rule left out of the coordinate-descent passes at this lambda.</summary>
    public int ScreenedOut { get; init; }

    /// <summary>Family multinomial: every class's model (the positional Intercept and Coefficients are the first class's).</summary>
    public MulticlassModel? Classes { get; init; }
}

/// <summary>
/// Validation loss per lambda: <paramref name="Measure"/> is "mse" (gaussian) or "deviance"
/// (binomial: mean of -2 log-likelihood per row, cv.glmnet's). For k-fold, Mean weights each fold's mean
/// loss by its size and StandardError is the weighted sd of the fold means over sqrt(K - 1), as cv.glmnet.
/// For a holdout, StandardError is the sd of the per-row losses over sqrt(rows).
/// </summary>
public sealed record ValidationCurve(string Measure, double[] Mean, double[] StandardError);

/// <summary>What a fit returns. Coefficients are on the original scale, in FitSpec.FeatureNames order.</summary>
public sealed record FitResult
{
    public required FitStatus Status { get; init; }
    public required string Solver { get; init; }
    public required double Lambda { get; init; }
    public required double Intercept { get; init; }
    public required double[] Coefficients { get; init; }
    public required double[] StandardizedCoefficients { get; init; }
    public required string[] FeatureNames { get; init; }
    public required IFitMetrics TrainMetrics { get; init; }
    public IFitMetrics? ValidationMetrics { get; init; }

    /// <summary>Every lambda fitted on all rows, in order; validation fits each fold's path at these lambdas.</summary>
    public required PathPoint[] Path { get; init; }

    /// <summary>Validation loss per path lambda (holdout, k-fold, leave-one-out or GCV).</summary>
    public ValidationCurve? Curve { get; init; }

    /// <summary>With validation: the lambda of least validation loss, and the largest within one standard error of it.</summary>
    public double? LambdaMin { get; init; }
    public double? Lambda1se { get; init; }

    /// <summary>K-fold: the fold label of every row (as given, or 1..K when generated).</summary>
    public int[]? FoldIds { get; init; }
    public int TrainRows { get; init; }
    public int ValidationRows { get; init; }

    /// <summary>Total iterations over the final path (passes, or Newton steps).</summary>
    public int Iterations { get; init; }
    public double? DualityGap { get; init; }

    /// <summary>The stopping criterion's value at the returned lambda (<see cref="PathPoint.StoppingValue"/>).</summary>
    public double? StoppingValue { get; init; }

    /// <summary>
    /// The stopping rule the path solver ran by, as the request names it: coordinate descent the spec's rule (glmnet or
    /// dualityGap), proximal Newton glmnet's, proximal gradient proximalGradientMapping (the value is
    /// <see cref="StoppingValue"/>); null for the closed forms and the stochastic trainers.
    /// </summary>
    public string? StoppingRuleName(StoppingRule requested) => Solver switch
    {
        GaussianPath.SolverName => requested == StoppingRule.DualityGap ? "dualityGap" : "glmnet",
        BinomialPath.SolverName => "glmnet",
        ProximalGradientPath.SolverName => "proximalGradientMapping",
        _ => null,
    };

    /// <summary>
    /// The validation curve to report: <see cref="Curve"/>, or where a solver scored its points itself (the stochastic
    /// trainers' held-out rows) the points' own losses, mse for regression metrics and deviance otherwise; null when neither.
    /// </summary>
    public ValidationCurve? ReportedCurve()
    {
        if (Curve is { } curve) return curve;
        if (Path.Length == 0 || Path.Any(p => p.Validation is null)) return null;
        var measure = Path[0].Validation is RegressionMetrics ? "mse" : "deviance";
        return new ValidationCurve(measure, [.. Path.Select(p => p.Validation!.Loss)], [.. Path.Select(p => p.Validation!.LossStandardError)]);
    }

    public double NullDeviance { get; init; } = double.NaN;
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Feature means and scales used for standardization (scale 1 when standardize is off).</summary>
    public required double[] FeatureMeans { get; init; }
    public required double[] FeatureScales { get; init; }

    /// <summary>Stochastic solvers: the learning curve, best epoch and why training stopped.</summary>
    public TrainingReport? Training { get; init; }

    /// <summary>
    /// MLP: the fitted network. <see cref="Coefficients"/> then hold each input's first-layer weight norm on the
    /// original scale (norm / scale), <see cref="StandardizedCoefficients"/> the norms themselves, and
    /// <see cref="Intercept"/> is 0; a feature whose norm is 0 (L1 on the first layer) is not used.
    /// </summary>
    public NetworkModel? Network { get; init; }

    /// <summary>
    /// With a polynomial expansion: the data set features it expanded (what prediction rows must carry), and
    /// the expansion. <see cref="FeatureNames"/> are then the expanded names.
    /// </summary>
    public string[]? InputNames { get; init; }
    public ExpansionSpec? Expansion { get; init; }

    /// <summary>The prior the returned linear model corresponds to (<see cref="PriorReading"/>); null for an MLP.</summary>
    public PriorReading? Prior { get; init; }

    /// <summary>Model bayesianRidge: the precisions evidence chose, the log evidence per step and the posterior.</summary>
    public BayesianReport? Bayesian { get; init; }

    /// <summary>
    /// The relaxed lasso (<see cref="FitSpec.Relax"/>): the gammas, the refit per lambda and the (lambda, gamma) choice. The
    /// returned model (<see cref="Intercept"/>, <see cref="Coefficients"/>) is then the relaxed one at (<see cref="Lambda"/>,
    /// <see cref="RelaxedReport.Gamma"/>); <see cref="Curve"/>, <see cref="LambdaMin"/> and <see cref="Lambda1se"/> stay the
    /// penalized path's (gamma 1, as cv.glmnet's own lambda.min and lambda.1se).
    /// </summary>
    public RelaxedReport? Relaxed { get; init; }

    /// <summary>
    /// Named timings in seconds: a path fit has gram (the Gram routes: closed form, covariance coordinate descent) or setup
    /// (the other path solvers), path, relax (a relaxed fit), validation (with validation), metrics and total;
    /// bayesianRidge gram, eigen, evidence, metrics and total; a trained network setup, train, epoch, metrics and total.
    /// </summary>
    public IReadOnlyDictionary<string, double> Timings { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Non-null when the fit kept partial work (<see cref="FitSpec.KeepPartial"/>): <see cref="Path"/> holds the lambdas completed
    /// before a cancellation or a spent path budget, and the model is the last of them (validation, when the cancellation came
    /// before or during it, is dropped; after a spent budget it is limited to the completed lambdas).
    /// </summary>
    public Paths.PartialReason? Partial { get; init; }

    /// <summary>
    /// Family multinomial: the class labels (the target's distinct values, sorted) and every class's model at the returned lambda;
    /// <see cref="Intercept"/>, <see cref="Coefficients"/> and <see cref="StandardizedCoefficients"/> are then the first class's.
    /// </summary>
    public double[]? ClassLabels { get; init; }
    public MulticlassModel? Classes { get; init; }
}
