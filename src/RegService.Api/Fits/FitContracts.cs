using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RegService.Api.Fits;

public enum FamilyName { Gaussian, Binomial }

public enum PenaltyName { None, Ridge, Lasso, ElasticNet }

public enum SolverName { Auto, ClosedForm, CoordinateDescent, ProximalNewton }

public enum ValidationMethodName { None, Holdout, Kfold, Loo, Gcv }

public enum RuleName { Min, OneStandardError }

public enum JobStatus { Queued, Running, Succeeded, Failed, Canceled }

/// <summary>A lambda path: <c>count</c> values, geometric from lambda_max (the smallest lambda at which every
/// penalized coefficient is zero) down to <c>minRatio * lambda_max</c>, as glmnet's nlambda and lambda.min.ratio.</summary>
public sealed record PathRequest(
    [property: Description("Number of lambdas from lambda_max down, 1 to 1000 (glmnet's nlambda); like glmnet, the path stops early once the deviance ratio saturates")]
    [property: DefaultValue(100)] int? Count = null,
    [property: Description("Smallest lambda as a fraction of lambda_max, in (0, 1) (glmnet's lambda.min.ratio); default 1e-4 when rows exceed features, else 1e-2")]
    double? MinRatio = null);

/// <summary>How to score lambdas on rows the fit did not see.</summary>
public sealed record ValidationRequest(
    [property: Description("none; holdout (a seeded random fraction of rows is held out); kfold (k-fold cross-validation, as cv.glmnet); loo or gcv (leave-one-out or generalized cross-validation, gaussian ridge only, exact from the closed form)")]
    [property: DefaultValue(ValidationMethodName.None)] ValidationMethodName Method = ValidationMethodName.None,
    [property: Description("holdout: fraction of rows held out, in (0, 1)")] [property: DefaultValue(0.2)] double? HoldoutFraction = null,
    [property: Description("holdout and kfold: seed of the row shuffle; the same seed gives the same split")] [property: DefaultValue(0)] int? Seed = null,
    [property: Description("min: the lambda with the least validation loss; oneStandardError: the largest lambda within one standard error of it (cv.glmnet's lambda.1se)")]
    [property: DefaultValue(RuleName.Min)] RuleName Rule = RuleName.Min,
    [property: Description("kfold: number of folds, 2 to the number of rows (stratified by class for binomial)")] [property: DefaultValue(10)] int? Folds = null,
    [property: Description("kfold: the fold label of every data set row, in row order (glmnet's foldid); each distinct label is one fold")]
    int[]? FoldIds = null);

/// <summary>
/// A fit request. The objective is glmnet's:
/// gaussian (1/2n) sum (y - b0 - x.b)^2, binomial -(1/n) sum [y eta - log(1 + e^eta)], plus
/// lambda * sum_j v_j [(1 - l1Ratio)/2 b_j^2 + l1Ratio |b_j|].
/// </summary>
public sealed record FitRequest
{
    [Description("Id of an uploaded data set")]
    public string? DatasetId { get; init; }

    [Description("Name of the target column (binomial: every value 0 or 1)")]
    public string? Target { get; init; }

    [Description("Feature columns; omit for every column but the target")]
    public string[]? Features { get; init; }

    [Description("gaussian (least squares) or binomial (logistic regression on a 0/1 target)")]
    [DefaultValue(FamilyName.Gaussian)]
    public FamilyName Family { get; init; } = FamilyName.Gaussian;

    [Description("none, ridge (l1Ratio 0), lasso (l1Ratio 1) or elasticNet (l1Ratio in (0, 1))")]
    [DefaultValue(PenaltyName.Ridge)]
    public PenaltyName Penalty { get; init; } = PenaltyName.Ridge;

    [Description("Mixing between ridge (0) and lasso (1), glmnet's alpha, scikit-learn's l1_ratio. Implied by ridge (0), lasso (1) and none; elasticNet takes a value in (0, 1), default 0.5 (as scikit-learn's ElasticNet)")]
    public double? L1Ratio { get; init; }

    [Description("One penalty strength (glmnet's lambda; scikit-learn Ridge(alpha=a) is lambda = a/n). Give one of lambda, lambdas or path; a penalized fit with none of them gets the default path")]
    public double? Lambda { get; init; }

    [Description("Several penalty strengths, all fitted in the order given; with validation the best is chosen")]
    public double[]? Lambdas { get; init; }

    [Description("A generated lambda path from lambda_max down; {} takes the defaults (count 100)")]
    public PathRequest? Path { get; init; }

    [Description("auto (the engine picks), or the solver you expect, checked against the request: closedForm (gaussian ridge or none without penaltyFactors), coordinateDescent (gaussian lasso, elasticNet, or ridge with penaltyFactors), proximalNewton (binomial)")]
    [DefaultValue(SolverName.Auto)]
    public SolverName Solver { get; init; } = SolverName.Auto;

    [Description("Scale each feature to unit variance (1/n) for the fit; coefficients are reported on both scales")]
    [DefaultValue(true)]
    public bool Standardize { get; init; } = true;

    [Description("Fit an unpenalized intercept")]
    [DefaultValue(true)]
    public bool FitIntercept { get; init; } = true;

    [Description("Per-feature penalty factors by feature name (glmnet's penalty.factor): finite, >= 0, 0 leaves a feature unpenalized; unlisted features get 1. Rescaled to sum to the number of features, as glmnet does")]
    public Dictionary<string, double>? PenaltyFactors { get; init; }

    [Description("How lambda is chosen: holdout, k-fold, leave-one-out or GCV, and the selection rule")]
    public ValidationRequest? Validation { get; init; }

    [Description("Convergence threshold of iterative solvers (glmnet's thresh), > 0; default 1e-7. The closed form is exact")]
    [DefaultValue(1e-7)]
    public double? Tolerance { get; init; }

    [Description("Limit on passes of iterative solvers over the whole path (glmnet's maxit), > 0; default 100000")]
    public int? MaxIterations { get; init; }
}

/// <summary>Progress of a job: a fraction in [0, 1] and the current stage.</summary>
public sealed record JobProgress(double Fraction, string? Stage);

/// <summary>Why a job failed.</summary>
public sealed record JobError(string Title, string Detail);

/// <summary>A fit job: its state, progress, timestamps and, once succeeded, its result.</summary>
public sealed record FitJob
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required JobStatus Status { get; init; }
    public required JobProgress Progress { get; init; }
    public required int Attempts { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    [Description("Seconds spent queued and running")]
    public JobTimings Timings { get; init; } = new(null, null);

    [Description("True once DELETE asked a running fit to stop")]
    public bool CancelRequested { get; init; }
    public required FitRequest Request { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FitResultDocument? Result { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobError? Error { get; init; }
}

public sealed record JobTimings(double? QueuedSeconds, double? RunSeconds);

/// <summary>A page of fit jobs (results omitted; GET /v1/fits/{id} has them).</summary>
public sealed record FitJobPage(IReadOnlyList<FitJob> Items, int Total, int Offset, int Limit);
