using RegService.Api.Fits;
using RegService.Api.Storage;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Api.Jobs;

/// <summary>Engine result to the stored form (<see cref="StoredResult"/>), from which the response is projected.</summary>
public static class ResultMapper
{
    /// <summary>The partial reason of a fit the engine saw canceled; the worker tells a time limit (<c>timeLimit</c>) from it.</summary>
    public const string CanceledReason = "canceled";

    public const string TimeLimitReason = "timeLimit";

    public static StoredResult ToStored(FitSpec spec, FitResult result, double loadSeconds)
    {
        var names = result.FeatureNames;
        var points = result.Path;
        var timings = new Dictionary<string, double> { ["load"] = loadSeconds };
        foreach (var (key, value) in result.Timings) timings[key] = value;
        var curve = result.ReportedCurve();
        var notConverged = points.Where(p => !p.Converged).Select(p => p.Lambda).ToList();
        var family = SpecNames.Of(spec.Family);
        return new StoredResult
        {
            Model = new StoredModel
            {
                Family = family,
                Link = StoredModel.LinkOf(family),
                Features = names,
                Inputs = result.InputNames,
                Expansion = result.Expansion is { } e ? new StoredExpansion(e.PolynomialDegree, e.Interactions) : null,
                Lambda = result.Lambda,
                Intercept = result.Intercept,
                Coefficients = result.Coefficients,
                StandardizedCoefficients = result.StandardizedCoefficients,
                Means = result.FeatureMeans,
                Scales = result.FeatureScales,
                Path = new StoredPath([.. points.Select(p => p.Lambda)], [.. points.Select(p => p.Intercept)],
                    [.. points.Select(p => p.NonZeroCoefficients()).Select(c => new StoredSparseVector(c.Indices, c.Values))]),
                Network = result.Network is { } network ? Network(spec, network) : null,
                Posterior = result.Bayesian is { } posterior ? new StoredPosterior(posterior.Alpha, posterior.Covariance) : null,
                Relaxed = result.Relaxed is { } relaxed ? Relaxed(points, relaxed) : null,
                Classes = Multiclass.ToStored(spec, result),
            },
            Status = result.Status == FitStatus.Converged ? "converged" : "notConverged",
            Penalty = SpecNames.Of(spec.Penalty),
            L1Ratio = spec.Alpha,
            Metrics = new MetricsDocument(Metrics(result.TrainMetrics)!, Metrics(result.ValidationMetrics)),
            PathReport = new StoredPathReport(
                NonZero: [.. points.Select(p => p.NonZero)],
                DevianceRatio: [.. points.Select(p => Finite(p.DevianceRatio))],
                Converged: [.. points.Select(p => p.Converged)],
                Iterations: [.. points.Select(p => p.Iterations)],
                ScreenedOut: [.. points.Select(p => p.ScreenedOut)],
                DualityGap: [.. points.Select(p => p.DualityGap is { } gap ? Finite(gap) : null)],
                Validation: curve is null ? null : Curve(curve),
                LambdaMin: result.LambdaMin,
                Lambda1se: result.Lambda1se),
            // Validation the cancellation interrupted is dropped: the document would describe folds that were not scored.
            Validation = result.Partial == PartialReason.Canceled ? null : Validation(spec, result),
            PartialReason = result.Partial switch
            {
                PartialReason.Canceled => CanceledReason,
                PartialReason.MaxIterations => "maxIterations",
                _ => null,
            },
            Diagnostics = new DiagnosticsDocument(
                Solver: result.Solver,
                Iterations: result.Iterations,
                Converged: result.Status == FitStatus.Converged && notConverged.Count == 0,
                DualityGap: result.DualityGap is { } gap ? Finite(gap) : null,
                Warnings: result.Warnings,
                Timings: timings,
                NotConvergedLambdas: notConverged,
                NullDeviance: Finite(result.NullDeviance),
                Stopping: Stopping(spec, result)),
            Training = Training(spec, result),
            Prior = result.Prior is { } prior
                ? new PriorDocument(SpecNames.Camel(prior.Kind), prior.Source, prior.Standardized ? "standardized" : "original",
                    Finite(prior.NoiseVariance), Finite(prior.DegreesOfFreedom), Finite(prior.GaussianVariance), Finite(prior.LaplaceScale), prior.Note)
                : null,
            Bayesian = result.Bayesian is { } b
                ? new StoredBayesian(b.Alpha, b.Lambda, [.. b.LogMarginalLikelihood.Select(Finite)], b.CoefficientStd, b.Iterations, b.Converged,
                    new BayesianSettingsDocument(b.Settings.Alpha1, b.Settings.Alpha2, b.Settings.Lambda1, b.Settings.Lambda2, b.Settings.MaxIterations, b.Settings.Tolerance))
                : null,
        };
    }

    private static StoredRelaxed Relaxed(PathPoint[] points, RelaxedReport r) => new(
        r.Gammas, r.Gamma,
        new StoredPath([.. points.Select(p => p.Lambda)], r.RefitIntercepts, [.. r.RefitCoefficients.Select(StoredSparseVector.From)]),
        r.Refitted,
        r.Curves?.Select(Curve).ToArray(),
        r.LambdaMin, r.GammaMin, r.Lambda1se, r.Gamma1se);

    private static ValidationCurveDocument Curve(ValidationCurve curve) =>
        new(curve.Measure, curve.Mean.Select(Finite).ToList(), curve.StandardError.Select(Finite).ToList());

    private static TrainingDocument? Training(FitSpec spec, FitResult result)
    {
        if (result.Training is not { } report) return null;
        var training = (spec.Training ?? new TrainingSpec()).Resolved(spec.ChosenSolver, spec.Model);
        return new TrainingDocument(result.Solver, training.Epochs!.Value, report.EpochsRun, report.BestEpoch, SpecNames.Camel(report.StopReason),
            report.LearningRate, training.BatchSize!.Value, training.WeightDecay!.Value, training.Seed!.Value, report.TrainRows, report.ValidationRows,
            new LearningCurveDocument(report.Curve.Train.Select(Finite).ToList(), report.Curve.Validation?.Select(Finite).ToList()));
    }

    private static StoredNetwork Network(FitSpec spec, NetworkModel network)
    {
        double[] dropout = (spec.Training ?? new TrainingSpec()).DropoutPerLayer(network.Layers.Length - 1);
        return new StoredNetwork("relu", [.. network.Layers.Select(l => new StoredLayer(l.Inputs, l.Outputs, l.Weights, l.Biases))], dropout);
    }

    private static ValidationDocument? Validation(FitSpec spec, FitResult result)
    {
        var rule = SpecNames.Of(spec.Rule);
        var method = SpecNames.Of(spec.Validation);
        var document = spec.Validation switch
        {
            ValidationMethod.Holdout => new ValidationDocument(method, spec.Holdout!.Fraction, spec.Holdout.Seed, rule, result.TrainRows, result.ValidationRows),
            // K-fold and leave-one-out score every row once, out of fold.
            ValidationMethod.KFold => new ValidationDocument(method, null, spec.KFold!.FoldIds is null ? spec.KFold.Seed : null, rule,
                result.TrainRows, result.ValidationMetrics?.Rows ?? result.TrainRows, Folds: spec.KFold.Folds,
                FoldIds: result.FoldIds ?? spec.KFold.FoldIds),
            ValidationMethod.LeaveOneOut => new ValidationDocument(method, null, null, rule, result.TrainRows, result.TrainRows),
            ValidationMethod.Gcv => new ValidationDocument(method, null, null, rule, result.TrainRows, result.ValidationRows),
            _ => null,
        };
        // The measure scored: the curve's (auc falls back to deviance where it cannot be scored).
        return document is null ? null : document with { Measure = result.Curve?.Measure };
    }

    internal static MetricsSetDocument? Metrics(IFitMetrics? metrics) => metrics switch
    {
        null => null,
        RegressionMetrics m => new GaussianMetricsDocument(m.Rows, Finite(m.Mse), Finite(m.Rmse), Finite(m.Mae), Finite(m.R2), Finite(m.DevianceRatio)),
        MulticlassMetrics c => Multiclass.Metrics(c),
        ClassificationMetrics c => new BinomialMetricsDocument(c.Rows, Finite(c.LogLoss), Finite(c.Accuracy), Finite(c.Auc), Finite(c.Deviance), Finite(c.DevianceRatio)),
        PoissonMetrics m => new PoissonMetricsDocument(m.Rows, Finite(m.Deviance), Finite(m.MeanDeviance), Finite(m.DevianceRatio), Finite(m.Mae), Finite(m.Rmse)),
        _ => throw new NotSupportedException($"no result document for metrics of type {metrics.GetType().Name}"),
    };

    /// <summary>The stopping rule of the path solvers that iterate (the engine names it), with the request's tolerance and the value reached.</summary>
    private static StoppingDocument? Stopping(FitSpec spec, FitResult result) =>
        result.StoppingRuleName(spec.Stopping) is { } rule ? new StoppingDocument(rule, spec.Tolerance, Finite(result.StoppingValue)) : null;

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
    private static double? Finite(double? v) => v is { } x ? Finite(x) : null;
}
