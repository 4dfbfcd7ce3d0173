using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RegService.Api.Fits;

/// <summary>Regression metrics on a set of rows. r2 = 1 - SSE/SST about those rows' own mean.</summary>
public sealed record RegressionMetricsDocument(int Rows, double Mse, double Rmse, double Mae, double? R2);

public sealed record MetricsDocument(
    [property: Description("The returned model on the rows it was fitted to (all rows)")] RegressionMetricsDocument Train,
    [property: Description("The model fitted on the training rows at the chosen lambda, on the held-out rows")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RegressionMetricsDocument? Validation);

public sealed record SparsityDocument(int NonZero, int Total, double FractionZero, IReadOnlyList<string> Selected);

/// <summary>Every lambda fitted, in request order.</summary>
public sealed record PathDocument(
    IReadOnlyList<double> Lambdas,
    IReadOnlyList<int> NonZero,
    IReadOnlyList<double> Intercepts,
    [property: Description("Original-scale coefficients per lambda, by feature name")] IReadOnlyList<IReadOnlyDictionary<string, double>> Coefficients,
    [property: Description("Validation MSE per lambda (holdout only)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? ValidationMse,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? ValidationStandardError,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? LambdaMin,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Lambda1se);

public sealed record ValidationDocument(string Method, double? HoldoutFraction, int? Seed, string Rule, int TrainRows, int ValidationRows);

public sealed record DiagnosticsDocument(
    string Solver,
    int Iterations,
    bool Converged,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? DualityGap,
    IReadOnlyList<string> Warnings,
    [property: Description("Seconds per stage: load, gram, path, solve, metrics, total")] IReadOnlyDictionary<string, double> Timings);

/// <summary>The result of a finished fit.</summary>
public sealed record FitResultDocument(
    [property: Description("converged or notConverged")] string Status,
    string Family,
    string Penalty,
    double L1Ratio,
    [property: Description("The lambda of the returned model")] double Lambda,
    double Intercept,
    [property: Description("Original-scale coefficients by feature name")] IReadOnlyDictionary<string, double> Coefficients,
    [property: Description("Coefficients of the standardized features (equal to coefficients when standardize is off)")] IReadOnlyDictionary<string, double> StandardizedCoefficients,
    [property: Description("Means and scales used to standardize each feature")] IReadOnlyDictionary<string, double> FeatureMeans,
    IReadOnlyDictionary<string, double> FeatureScales,
    SparsityDocument Sparsity,
    MetricsDocument Metrics,
    PathDocument Path,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ValidationDocument? Validation,
    DiagnosticsDocument Diagnostics);
