using RegService.Numerics.Data;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Fitting;

/// <summary>Gaussian and binomial fits by full-batch proximal gradient (FISTA), on all rows or the rows outside a fold.</summary>
internal sealed class ProximalGradientSource(DenseMatrix x, FitSpec spec, Folds? folds, int threads) : PathSource(x, spec, folds)
{
    private const double ProbabilityClamp = 1e-5;
    private bool Binomial => Spec.Family == Family.Binomial;

    public override string Solver => ProximalGradientPath.SolverName;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        ProximalGradientPath.Fit(X, Spec.FeatureColumns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), Spec.FeatureNames,
            Binomial, fold < 0 ? settings with { MaxThreads = threads } : settings, progress, ct);

    public override IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows) => Binomial
        ? ClassificationMetrics.Compute(X, Spec.FeatureColumns, Spec.TargetColumn, intercept, coefficients, rows)
        : RegressionMetrics.Compute(X, Spec.FeatureColumns, Spec.TargetColumn, intercept, coefficients, rows);

    public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta) =>
        Binomial ? ClassificationMetrics.FromLinearPredictor(y, eta) : RegressionMetrics.FromPredictions(y, eta);

    public override double RowLoss(double y, double eta)
    {
        if (!Binomial) return (y - eta) * (y - eta);
        double p = Math.Clamp(1 / (1 + Math.Exp(-eta)), ProbabilityClamp, 1 - ProbabilityClamp);
        return -2 * (y * Math.Log(p) + (1 - y) * Math.Log(1 - p));
    }
}
