using RegService.Numerics.Data;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Fitting;

/// <summary>Binomial fits by proximal Newton, on all rows or the rows outside a fold; losses are cv.glmnet's deviance.</summary>
internal sealed class BinomialSource(DenseMatrix x, FitSpec spec, Folds? folds) : PathSource(x, spec, folds)
{
    /// <summary>cv.glmnet clamps predicted probabilities to [1e-5, 1 - 1e-5] before taking the deviance.</summary>
    private const double ProbabilityClamp = 1e-5;

    public override string Solver => BinomialPath.SolverName;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        BinomialPath.Fit(X, Spec.FeatureColumns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), Spec.FeatureNames,
            settings, progress, ct);

    public override IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows) =>
        ClassificationMetrics.Compute(X, Spec.FeatureColumns, Spec.TargetColumn, intercept, coefficients, rows);

    public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta) => ClassificationMetrics.FromLinearPredictor(y, eta);

    public override double RowLoss(double y, double eta)
    {
        double p = 1 / (1 + Math.Exp(-eta));
        p = Math.Clamp(p, ProbabilityClamp, 1 - ProbabilityClamp);
        return -2 * (y * Math.Log(p) + (1 - y) * Math.Log(1 - p));
    }
}
