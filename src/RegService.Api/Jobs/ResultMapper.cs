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
        var points = result.Path;
        // An MLP has no coefficients: its first-layer weight norms go to network.inputWeightNorms.
        bool mlp = result.Network is not null;
        IReadOnlyDictionary<string, double> Coefficients(double[] values) => mlp ? new Dictionary<string, double>() : ByName(names, values);
        var selected = names.Where((_, j) => result.Coefficients[j] != 0).ToList();
        var timings = new Dictionary<string, double> { ["load"] = loadSeconds };
        foreach (var (key, value) in result.Timings) timings[key] = value;

        var curve = Curve(result);
        bool mse = curve?.Measure == "mse";
        var path = new PathDocument(
            Lambdas: points.Select(p => p.Lambda).ToList(),
            NonZero: points.Select(p => p.NonZero).ToList(),
            Intercepts: points.Select(p => p.Intercept).ToList(),
            Coefficients: points.Select(p => Coefficients(p.Coefficients)).ToList(),
            DevianceRatio: points.Select(p => Finite(p.DevianceRatio)).ToList(),
            Converged: points.Select(p => p.Converged).ToList(),
            Iterations: points.Select(p => p.Iterations).ToList(),
            ScreenedOut: points.Select(p => p.ScreenedOut).ToList(),
            DualityGap: points.Select(p => p.DualityGap is { } gap ? Finite(gap) : null).ToList(),
            Validation: curve is null ? null : new ValidationCurveDocument(curve.Measure, curve.Mean.Select(Finite).ToList(), curve.StandardError.Select(Finite).ToList()),
            ValidationMse: mse ? curve!.Mean : null,
            ValidationStandardError: mse ? curve!.StandardError.Select(se => Finite(se) ?? 0).ToList() : null,
            LambdaMin: result.LambdaMin,
            Lambda1se: result.Lambda1se);

        var notConverged = points.Where(p => !p.Converged).Select(p => p.Lambda).ToList();
        return new FitResultDocument(
            Status: result.Status == FitStatus.Converged ? "converged" : "notConverged",
            Family: FitPlanner.Camel(request.Family),
            Penalty: FitPlanner.Camel(request.Penalty),
            L1Ratio: spec.L1Ratio,
            Lambda: result.Lambda,
            Intercept: result.Intercept,
            Coefficients: Coefficients(result.Coefficients),
            StandardizedCoefficients: Coefficients(result.StandardizedCoefficients),
            FeatureMeans: ByName(names, result.FeatureMeans),
            FeatureScales: ByName(names, result.FeatureScales),
            Sparsity: new SparsityDocument(selected.Count, names.Length, names.Length == 0 ? 0 : 1.0 - (double)selected.Count / names.Length, selected),
            Metrics: new MetricsDocument(Metrics(result.TrainMetrics)!, Metrics(result.ValidationMetrics)),
            Path: path,
            Validation: Validation(request, spec, result),
            Diagnostics: new DiagnosticsDocument(
                Solver: result.Solver,
                Iterations: result.Iterations,
                Converged: result.Status == FitStatus.Converged && notConverged.Count == 0,
                DualityGap: result.DualityGap is { } gap ? Finite(gap) : null,
                Warnings: result.Warnings,
                Timings: timings,
                NotConvergedLambdas: notConverged,
                NullDeviance: Finite(result.NullDeviance)),
            Features: names,
            Inputs: result.InputNames,
            Expansion: result.Expansion is { } e ? new ExpansionDocument(e.PolynomialDegree, e.Interactions, result.InputNames!.Length, names.Length) : null,
            Training: Training(spec, result),
            Network: result.Network is { } network ? Network(spec, result, network) : null);
    }

    private static TrainingDocument? Training(FitSpec spec, FitResult result)
    {
        if (result.Training is not { } report) return null;
        var training = spec.Training ?? new TrainingSpec();
        return new TrainingDocument(result.Solver, training.Epochs, report.EpochsRun, report.BestEpoch, FitPlanner.Camel(report.StopReason),
            report.LearningRate, training.BatchSize, training.WeightDecay, training.Seed, report.TrainRows, report.ValidationRows,
            new LearningCurveDocument(report.Curve.Train.Select(Finite).ToList(), report.Curve.Validation?.Select(Finite).ToList()));
    }

    private static NetworkDocument Network(FitSpec spec, FitResult result, NetworkModel network)
    {
        var hidden = network.Layers[..^1].Select(l => l.Outputs).ToList();
        var rates = spec.Training?.Dropout ?? [];
        var dropout = hidden.Select((_, l) => rates.Length == 0 ? 0 : rates.Length == 1 ? rates[0] : rates[l]).ToList();
        var layers = network.Layers.Select((l, i) => new LayerDocument(l.Inputs, l.Outputs, i < network.Layers.Length - 1 ? "relu" : "identity",
            l.WeightNorm, l.Weights, l.Biases)).ToList();
        return new NetworkDocument(hidden, dropout, ByName(result.FeatureNames, result.StandardizedCoefficients), layers);
    }

    /// <summary>The validation curve: the engine's, or (from solvers that score each point) the points' own losses.</summary>
    private static ValidationCurve? Curve(FitResult result)
    {
        if (result.Curve is { } curve) return curve;
        if (result.Path.Length == 0 || result.Path.Any(p => p.Validation is null)) return null;
        var measure = result.Path[0].Validation is RegressionMetrics ? "mse" : "deviance";
        return new ValidationCurve(measure,
            [.. result.Path.Select(p => p.Validation!.Loss)],
            [.. result.Path.Select(p => p.Validation!.LossStandardError)]);
    }

    private static ValidationDocument? Validation(FitRequest request, FitSpec spec, FitResult result)
    {
        var rule = FitPlanner.Camel(request.Validation?.Rule ?? RuleName.Min);
        return spec.Validation switch
        {
            ValidationMethod.Holdout => new ValidationDocument("holdout", spec.Holdout!.Fraction, spec.Holdout.Seed, rule, result.TrainRows, result.ValidationRows),
            // K-fold and leave-one-out score every row once, out of fold.
            ValidationMethod.KFold => new ValidationDocument("kfold", null, spec.KFold!.FoldIds is null ? spec.KFold.Seed : null, rule,
                result.TrainRows, result.ValidationMetrics?.Rows ?? result.TrainRows, Folds: spec.KFold.Folds,
                FoldIds: result.FoldIds ?? spec.KFold.FoldIds),
            ValidationMethod.LeaveOneOut => new ValidationDocument("loo", null, null, rule, result.TrainRows, result.TrainRows),
            ValidationMethod.Gcv => new ValidationDocument("gcv", null, null, rule, result.TrainRows, result.ValidationRows),
            _ => null,
        };
    }

    private static Dictionary<string, double> ByName(string[] names, double[] values)
    {
        var map = new Dictionary<string, double>(names.Length, StringComparer.Ordinal);
        for (int j = 0; j < names.Length; j++) map[names[j]] = values[j];
        return map;
    }

    private static MetricsSetDocument? Metrics(IFitMetrics? metrics) => metrics switch
    {
        null => null,
        RegressionMetrics m => new GaussianMetricsDocument(m.Rows, Finite(m.Mse), Finite(m.Rmse), Finite(m.Mae), Finite(m.R2), Finite(m.DevianceRatio)),
        ClassificationMetrics c => new BinomialMetricsDocument(c.Rows, Finite(c.LogLoss), Finite(c.Accuracy), Finite(c.Auc), Finite(c.Deviance), Finite(c.DevianceRatio)),
        _ => throw new NotSupportedException($"no result document for metrics of type {metrics.GetType().Name}"),
    };

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
