using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RegService.Api.Fits;

public enum FamilyName { Gaussian, Binomial }

public enum PenaltyName { None, Ridge, Lasso, ElasticNet }

public enum SolverName { Auto, ClosedForm }

public enum ValidationMethodName { None, Holdout, Kfold }

public enum RuleName { Min, OneStandardError }

public enum JobStatus { Queued, Running, Succeeded, Failed, Canceled }

/// <summary>A lambda path (arrives with coordinate descent; not accepted yet).</summary>
public sealed record PathRequest(
    [property: Description("Number of lambdas from lambda_max down")] int? Count,
    [property: Description("Smallest lambda as a fraction of lambda_max")] double? MinRatio);

/// <summary>How to score lambdas on rows the fit did not see.</summary>
public sealed record ValidationRequest(
    [property: Description("none, or holdout (a seeded random fraction of rows is held out)")]
    [property: DefaultValue(ValidationMethodName.None)] ValidationMethodName Method = ValidationMethodName.None,
    [property: Description("Fraction of rows held out, in (0, 1)")] [property: DefaultValue(0.2)] double? HoldoutFraction = null,
    [property: Description("Seed of the row shuffle; the same seed gives the same split")] [property: DefaultValue(0)] int? Seed = null,
    [property: Description("min: the lambda with the least validation MSE; oneStandardError: the largest lambda within one standard error of it")]
    [property: DefaultValue(RuleName.Min)] RuleName Rule = RuleName.Min,
    [property: Description("Number of folds for kfold (not accepted yet)")] int? Folds = null);

/// <summary>
/// A fit request. The objective is glmnet's:
/// (1/2n) sum (y - b0 - x.b)^2 + lambda * sum_j [(1 - l1Ratio)/2 b_j^2 + l1Ratio |b_j|].
/// </summary>
public sealed record FitRequest
{
    [Description("Id of an uploaded data set")]
    public string? DatasetId { get; init; }

    [Description("Name of the target column")]
    public string? Target { get; init; }

    [Description("Feature columns; omit for every column but the target")]
    public string[]? Features { get; init; }

    [Description("gaussian (binomial arrives with coordinate descent)")]
    [DefaultValue(FamilyName.Gaussian)]
    public FamilyName Family { get; init; } = FamilyName.Gaussian;

    [Description("ridge or none (lasso and elasticNet arrive with coordinate descent)")]
    [DefaultValue(PenaltyName.Ridge)]
    public PenaltyName Penalty { get; init; } = PenaltyName.Ridge;

    [Description("Mixing between ridge (0) and lasso (1); 0 for ridge")]
    public double? L1Ratio { get; init; }

    [Description("One penalty strength (glmnet's lambda; scikit-learn Ridge(alpha=a) is lambda = a/n)")]
    public double? Lambda { get; init; }

    [Description("Several penalty strengths, all fitted; with validation the best is chosen")]
    public double[]? Lambdas { get; init; }

    [Description("A lambda path from lambda_max down (not accepted yet)")]
    public PathRequest? Path { get; init; }

    [Description("auto or closedForm")]
    [DefaultValue(SolverName.Auto)]
    public SolverName Solver { get; init; } = SolverName.Auto;

    [Description("Scale each feature to unit variance (1/n) for the fit; coefficients are reported on both scales")]
    [DefaultValue(true)]
    public bool Standardize { get; init; } = true;

    [Description("Fit an unpenalized intercept")]
    [DefaultValue(true)]
    public bool FitIntercept { get; init; } = true;

    [Description("Per-feature penalty factors (not accepted yet)")]
    public Dictionary<string, double>? PenaltyFactors { get; init; }

    [Description("Holdout validation and the rule that picks lambda")]
    public ValidationRequest? Validation { get; init; }

    [Description("Convergence tolerance of iterative solvers (the closed form is exact)")]
    public double? Tolerance { get; init; }

    [Description("Iteration limit of iterative solvers")]
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
