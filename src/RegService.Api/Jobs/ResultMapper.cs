using RegService.Api.Fits;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Api.Jobs;

/// <summary>Engine result to the JSON result document.</summary>
public static class ResultMapper
{
    public static FitResultDocument ToDocument(FitRequest request, FitSpec spec, FitResult result, double loadSeconds)
    {
        var names = result.FeatureNames;
        var selected = names.Where((_, j) => result.Coefficients[j] != 0).ToList();
        var timings = new Dictionary<string, double> { ["load"] = loadSeconds };
        foreach (var (key, value) in result.Timings) timings[key] = value;

        bool holdout = spec.Holdout is not null;
        var path = new PathDocument(
            result.Path.Select(p => p.Lambda).ToList(),
            result.Path.Select(p => p.NonZero).ToList(),
            result.Path.Select(p => p.Intercept).ToList(),
            result.Path.Select(p => (IReadOnlyDictionary<string, double>)ByName(names, p.Coefficients)).ToList(),
            holdout ? result.Path.Select(p => p.Validation!.Loss).ToList() : null,
            holdout ? result.Path.Select(p => Finite(p.Validation!.LossStandardError) ?? 0).ToList() : null,
            result.LambdaMin,
            result.Lambda1se);

        return new FitResultDocument(
            Status: result.Status == FitStatus.Converged ? "converged" : "notConverged",
            Family: FitPlanner.Camel(request.Family),
            Penalty: FitPlanner.Camel(request.Penalty),
            L1Ratio: spec.L1Ratio,
            Lambda: result.Lambda,
            Intercept: result.Intercept,
            Coefficients: ByName(names, result.Coefficients),
            StandardizedCoefficients: ByName(names, result.StandardizedCoefficients),
            FeatureMeans: ByName(names, result.FeatureMeans),
            FeatureScales: ByName(names, result.FeatureScales),
            Sparsity: new SparsityDocument(selected.Count, names.Length, names.Length == 0 ? 0 : 1.0 - (double)selected.Count / names.Length, selected),
            Metrics: new MetricsDocument(Metrics(result.TrainMetrics as RegressionMetrics)!, Metrics(result.ValidationMetrics as RegressionMetrics)),
            Path: path,
            Validation: spec.Holdout is { } h
                ? new ValidationDocument("holdout", h.Fraction, h.Seed, FitPlanner.Camel(request.Validation!.Rule), result.TrainRows, result.ValidationRows)
                : null,
            Diagnostics: new DiagnosticsDocument(result.Solver, result.Iterations, result.Status == FitStatus.Converged,
                result.DualityGap, result.Warnings, timings));
    }

    private static Dictionary<string, double> ByName(string[] names, double[] values)
    {
        var map = new Dictionary<string, double>(names.Length, StringComparer.Ordinal);
        for (int j = 0; j < names.Length; j++) map[names[j]] = values[j];
        return map;
    }

    private static RegressionMetricsDocument? Metrics(RegressionMetrics? m) =>
        m is null ? null : new(m.Rows, m.Mse, m.Rmse, m.Mae, Finite(m.R2));

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
