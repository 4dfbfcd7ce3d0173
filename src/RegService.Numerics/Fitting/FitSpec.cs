using System.Text.Json.Serialization;

namespace RegService.Numerics.Fitting;

/// <summary>What ends a coordinate-descent solve at one lambda (docs/engine.md, "Convergence").</summary>
public enum StoppingRule
{
    /// <summary>glmnet's rule: the largest weighted squared coefficient change of a pass is below the tolerance times the null deviance per row.</summary>
    Glmnet,

    /// <summary>The standard duality gap (scikit-learn's dual point) is at most the tolerance times the null deviance per row.</summary>
    DualityGap,
}

/// <summary>Distribution of the target.</summary>
public enum Family { Gaussian, Binomial, Poisson, Multinomial }

/// <summary>Which penalty P(b) the objective carries.</summary>
public enum Penalty { None, Ridge, Lasso, ElasticNet }

/// <summary>How the penalty strength is chosen when several lambdas are fitted.</summary>
public enum ValidationMethod { None, Holdout, KFold, LeaveOneOut, Gcv }

/// <summary>
/// The solver a fit runs with. <see cref="Auto"/> picks the closed form, coordinate descent or proximal Newton
/// from the family and penalty (and a stochastic solver, AdamW, for an MLP); <see cref="FitSpec.Resolve"/> replaces it
/// by the one chosen. The others name one explicitly. The names as the wire spells them (closedForm, coordinateDescent,
/// ...) are <see cref="SpecNames.Of(SolverKind)"/>, and they are what a result's <see cref="FitResult.Solver"/> reports.
/// </summary>
public enum SolverKind { Auto, ClosedForm, CoordinateDescent, ProximalNewton, ProximalGradient, Sgd, Adam, AdamW }

/// <summary>
/// The model fitted: a linear predictor (glmnet's), a multilayer perceptron with ReLU hidden layers, or Bayesian ridge
/// regression (scikit-learn's BayesianRidge: a linear predictor whose Gaussian prior and noise precisions are chosen by
/// evidence maximization, <see cref="BayesianRidge"/>).
/// </summary>
public enum ModelKind { Linear, Mlp, BayesianRidge }

/// <summary>Selection rule over the validation curve.</summary>
public enum SelectionRule { Min, OneStandardError }

/// <summary>Outcome of a fit, as data: a fit that did not converge still returns its coefficients.</summary>
public enum FitStatus { Converged, NotConverged }

/// <summary>Holdout validation: a seeded random fraction of rows (default 0.2) is kept out of training.</summary>
public sealed record HoldoutSpec(double Fraction = 0.2, int Seed = 0);

/// <summary>
/// K-fold cross-validation: <paramref name="Folds"/> seeded random folds (stratified by class for the
/// binomial family), or explicit <paramref name="FoldIds"/>: one integer label per row, each distinct
/// label a fold (glmnet's foldid; any labels, for example 1..K). Resolved, <paramref name="Folds"/> is the number of
/// distinct labels when fold ids are given.
/// </summary>
public sealed record KFoldSpec(int Folds = 10, int Seed = 0, int[]? FoldIds = null);

/// <summary>
/// A lambda path of <paramref name="Count"/> values, geometric from lambda_max (the smallest lambda at
/// which every penalized coefficient is zero) down to <c>MinRatio * lambda_max</c>. MinRatio defaults to
/// 1e-4 when rows exceed features, else 1e-2 (glmnet's lambda.min.ratio). Like glmnet, a generated path
/// stops early once the deviance ratio passes 0.999 or gains less than 1e-5 per step (relative to the ratio
/// for gaussian, absolute for binomial: <see cref="Paths.LambdaGrid.ShouldStop"/>). Resolved, MinRatio is
/// never null.
/// </summary>
public sealed record LambdaPathSpec(int Count = LambdaPathSpec.DefaultCount, double? MinRatio = null)
{
    /// <summary>glmnet's nlambda default.</summary>
    public const int DefaultCount = 100;
}

/// <summary>
/// One fit, as the engine sees it. Columns are indices into the data set's matrix.
/// The objective (glmnet's), for n rows:
/// <code>
/// gaussian: (1/2n) sum_i (y_i - b0 - x_i.b)^2 + lambda * P(b)
/// binomial: -(1/n) sum_i [y_i eta_i - log(1 + e^eta_i)] + lambda * P(b),  eta_i = b0 + x_i.b
/// P(b) = sum_j v_j [ (1 - l1Ratio)/2 * b_j^2 + l1Ratio * |b_j| ]
/// </code>
/// with penalty factors v_j rescaled to sum to the number of features, on standardized features when
/// <see cref="Standardize"/> is on.
/// <para>
/// A spec checks itself against the data (<see cref="Check"/>: every fault as a field path and a message) and resolves
/// its defaults and its solver (<see cref="Resolve"/>); <see cref="FitEngine.Fit"/> does both first. A resolved spec
/// resolves to itself, so it can be stored and run later as it is. The rules are in FitSpec.Rules.cs.
/// </para>
/// </summary>
public sealed partial record FitSpec
{
    public required int[] FeatureColumns { get; init; }
    public required string[] FeatureNames { get; init; }
    public required int TargetColumn { get; init; }

    /// <summary>The target's name, for messages; null names it by its column.</summary>
    public string? TargetName { get; init; }

    public Family Family { get; init; } = Family.Gaussian;
    public Penalty Penalty { get; init; } = Penalty.Ridge;

    /// <summary>
    /// Family multinomial: glmnet's type.multinomial "grouped" (one group-lasso penalty per feature across the classes) when
    /// true, "ungrouped" (each class's coefficient penalized alone) when false.
    /// </summary>
    public bool MultinomialGrouped { get; init; }

    /// <summary>
    /// Family multinomial: the number of classes (the target's distinct values), set by <see cref="Resolve"/> from the data
    /// so that <see cref="FitCost"/> sizes the per-class vectors and work by it; null for other families (and before resolving).
    /// </summary>
    public int? Classes { get; init; }

    /// <summary>
    /// Mixing between ridge (0) and lasso (1), glmnet's alpha: in [0, 1], and in (0, 1) for elasticNet, the only penalty
    /// that reads it (null: <see cref="DefaultElasticNetL1Ratio"/>). Resolved, it is the penalty's: ridge and none 0, lasso 1.
    /// </summary>
    public double? L1Ratio { get; init; }

    /// <summary>The mixing the solvers use: 1 for lasso, the (resolved) l1Ratio for elastic net, 0 otherwise.</summary>
    [JsonIgnore]
    public double Alpha => Penalty switch
    {
        Penalty.Lasso => 1.0,
        Penalty.ElasticNet => L1Ratio ?? DefaultElasticNetL1Ratio,
        _ => 0.0,
    };

    /// <summary>
    /// Penalty strengths, fitted in the order given (no early stop). Null when <see cref="Path"/> is given; null with
    /// no path resolves to [0] for penalty none and the stochastic solvers, else to the default path.
    /// </summary>
    public double[]? Lambdas { get; init; }

    /// <summary>A generated path from lambda_max down, instead of <see cref="Lambdas"/>.</summary>
    public LambdaPathSpec? Path { get; init; }

    /// <summary>Per-feature penalty factors (>= 0, 0 = never penalized), in feature order (with an expansion: one per
    /// expanded feature); null means all 1.</summary>
    public double[]? PenaltyFactors { get; init; }

    /// <summary>
    /// Lower bounds of the coefficients, one per fitted feature (with an expansion: per expanded feature), on the original
    /// scale (glmnet's lower.limits): each ≤ 0, <see cref="double.NegativeInfinity"/> for none; null bounds nothing. With
    /// <see cref="Standardize"/> the solvers clamp the standardized coefficient at the bound times the feature's scale, so the
    /// reported coefficient respects it. Fitted by coordinate descent, proximal Newton and proximal gradient.
    /// </summary>
    public double[]? LowerLimits { get; init; }

    /// <summary>Upper bounds of the coefficients (glmnet's upper.limits): each ≥ 0, <see cref="double.PositiveInfinity"/> for none; as <see cref="LowerLimits"/>.</summary>
    public double[]? UpperLimits { get; init; }

    /// <summary>True when some coefficient has a finite bound (<see cref="LowerLimits"/>, <see cref="UpperLimits"/>).</summary>
    [JsonIgnore]
    public bool Bounded => Solvers.CoefficientBounds.AnyFinite(LowerLimits) || Solvers.CoefficientBounds.AnyFinite(UpperLimits);

    /// <summary>
    /// Observation weights, one per row of the data (glmnet's <c>weights</c>): finite, non-negative, not all zero; null
    /// weighs every row 1. The engine rescales them to sum to the number of rows, as glmnet does, so the objective is
    /// <c>(1/2n) sum_i w_i (y_i - b0 - x_i.b)^2 + lambda * P(b)</c> (gaussian; the binomial log-likelihood likewise),
    /// and the standardization, lambda_max and the metrics are weighted.
    /// </summary>
    public double[]? Weights { get; init; }

    /// <summary>The weights rescaled to sum to the number of rows (glmnet's); null without weights.</summary>
    public double[]? RescaledWeights()
    {
        if (Weights is not { } w) return null;
        double sum = 0;
        foreach (double v in w) sum += v;
        var scaled = new double[w.Length];
        double factor = w.Length / sum;
        for (int i = 0; i < w.Length; i++) scaled[i] = w[i] * factor;
        return scaled;
    }

    /// <summary>
    /// glmnet's <c>offset</c>: one value per row of the data, added to the linear predictor in fitting and scoring (poisson:
    /// the log exposure); null for none. The request names a column; the mapper reads it here.
    /// </summary>
    public double[]? Offset { get; init; }

    /// <summary>
    /// Family multinomial: glmnet's offset, an n x K matrix, as one column of values per class (each class label with one
    /// value per row of the data), added to that class's linear predictor in fitting and scoring; every class named once, in
    /// any order (<see cref="ClassOffsetMatrix"/> orders them by class). Null for none. The request names a column per class;
    /// the mapper reads them here. (A single <see cref="Offset"/> column cancels in the softmax and is refused.)
    /// </summary>
    public ClassOffset[]? ClassOffsets { get; init; }

    public bool Standardize { get; init; } = true;
    public bool FitIntercept { get; init; } = true;

    public ValidationMethod Validation { get; init; } = ValidationMethod.None;
    public HoldoutSpec? Holdout { get; init; }
    public KFoldSpec? KFold { get; init; }
    public SelectionRule Rule { get; init; } = SelectionRule.Min;

    /// <summary>
    /// What validation scores the lambdas by (cv.glmnet's <c>type.measure</c>): one of the family's
    /// <see cref="GlmFamily.Measures"/>; null takes the family's default (gaussian mse, else deviance), which resolving writes.
    /// Only with validation; leave-one-out and GCV score mse.
    /// </summary>
    public Selection.ValidationMeasure? Measure { get; init; }

    /// <summary>Convergence threshold of iterative solvers: the largest weighted squared coefficient change
    /// in a full pass, relative to the null deviance per row (glmnet's thresh).</summary>
    public double Tolerance { get; init; } = DefaultTolerance;

    /// <summary>glmnet's thresh default.</summary>
    public const double DefaultTolerance = 1e-7;

    /// <summary>What ends a coordinate-descent solve: glmnet's rule (default) or the duality gap (gaussian only).</summary>
    public StoppingRule Stopping { get; init; } = StoppingRule.Glmnet;

    /// <summary>Limit on coordinate-descent passes (over all lambdas of one path), as glmnet's maxit.</summary>
    public int MaxIterations { get; init; } = DefaultMaxIterations;

    /// <summary>glmnet's maxit default.</summary>
    public const int DefaultMaxIterations = 100_000;

    /// <summary>
    /// Per-column shift used to center the Gram pass (for example the data set's column means);
    /// any value near the mean keeps the one-pass Gram accurate. Indexed like the matrix columns.
    /// </summary>
    public double[]? ColumnShift { get; init; }

    /// <summary>Threads the kernels may use; 0 means all processors.</summary>
    public int MaxThreads { get; init; }

    /// <summary>
    /// A path fit canceled after some lambdas (or out of its path-spanning iteration budget) returns what it finished, marked
    /// <see cref="FitResult.Partial"/>, instead of throwing (<see cref="Paths.PathSettings.KeepPartial"/>). How this process runs
    /// the spec, like <see cref="MaxThreads"/>: not stored with it.
    /// </summary>
    [JsonIgnore]
    public bool KeepPartial { get; init; }

    /// <summary>The solver; <see cref="SolverKind.Auto"/> lets the engine choose.</summary>
    public SolverKind Solver { get; init; } = SolverKind.Auto;

    /// <summary>Linear model (default) or MLP (needs a stochastic solver).</summary>
    public ModelKind Model { get; init; } = ModelKind.Linear;

    /// <summary>Settings of the stochastic solvers (sgd, adam, adamW) and of the MLP; null takes the defaults. Resolved, it is
    /// null for the other solvers and complete (no null setting) for these.</summary>
    public TrainingSpec? Training { get; init; }

    /// <summary>Polynomial expansion of the features before any solver; null (or degree 1) fits the features as they are.</summary>
    public ExpansionSpec? Expansion { get; init; }

    /// <summary>Settings of <see cref="ModelKind.BayesianRidge"/> (hyperpriors, iterations, tolerance); null takes the defaults.
    /// Resolved, it is complete for that model and null for the others.</summary>
    public BayesianSpec? Bayesian { get; init; }

    /// <summary>
    /// The relaxed lasso (glmnet's <c>relax = TRUE</c>, <see cref="RelaxedPath"/>): every path lambda's model is also refitted
    /// without penalty on its active set, and the returned model blends the two by a gamma; null fits the penalized path only.
    /// </summary>
    public RelaxSpec? Relax { get; init; }
}

/// <summary>One class's column of a multinomial offset (<see cref="FitSpec.ClassOffsets"/>): the class label and one value per row.</summary>
public sealed record ClassOffset(double Label, double[] Values);

/// <summary>
/// The relaxed lasso's mixing values: the model at (lambda, gamma) is <c>gamma * lasso(lambda) + (1 - gamma) * refit(lambda)</c>,
/// the refit being the unpenalized fit on lambda's active set (glmnet's <c>relax = TRUE</c>, <c>gamma</c> of
/// <c>coef.relaxed</c> and <c>cv.glmnet</c>). Each in [0, 1], distinct; glmnet's default list when none is given.
/// </summary>
public sealed record RelaxSpec
{
    /// <summary>glmnet's default gammas (cv.glmnet's <c>gamma = c(0, 0.25, 0.5, 0.75, 1)</c>).</summary>
    public static readonly double[] DefaultGammas = [0, 0.25, 0.5, 0.75, 1];

    public double[] Gammas { get; init; } = DefaultGammas;
}

/// <summary>
/// Progress of a running fit: a fraction in [0, 1], the stage in words and, where the reporter knows them, where it is
/// (lambda of a path, fold of a cross-validation, epoch of a training run) and the latest loss or deviance ratio.
/// Every detail is a figure the reporter already has: reporting costs no pass over the data.
/// </summary>
public readonly record struct FitProgress(double Fraction, string Stage)
{
    /// <summary>1-based position of the latest lambda fitted in its sequence.</summary>
    public int? LambdaIndex { get; init; }

    /// <summary>Lambdas in the sequence being fitted (a generated path may stop before its count).</summary>
    public int? LambdaCount { get; init; }

    /// <summary>The latest lambda fitted.</summary>
    public double? Lambda { get; init; }

    /// <summary>The latest point's deviance ratio on the rows it was fitted on (1 - deviance / null deviance).</summary>
    public double? DevianceRatio { get; init; }

    /// <summary>1-based fold the lambda figures come from, in a cross-validation (folds run in parallel).</summary>
    public int? Fold { get; init; }

    /// <summary>Folds of the cross-validation.</summary>
    public int? Folds { get; init; }

    /// <summary>Folds whose whole path is fitted.</summary>
    public int? FoldsDone { get; init; }

    /// <summary>1-based epoch just finished, in a training run.</summary>
    public int? Epoch { get; init; }

    /// <summary>Epochs the training run may take (early stopping may end it sooner).</summary>
    public int? Epochs { get; init; }

    /// <summary>The latest epoch's mean training loss (as the learning curve records it).</summary>
    public double? Loss { get; init; }

    /// <summary>The latest epoch's mean loss on the held-out rows (early stopping only).</summary>
    public double? ValidationLoss { get; init; }
}
