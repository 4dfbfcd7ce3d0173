using RegService.Numerics.Data;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Fitting;

/// <summary>Binomial and poisson fits by proximal Newton (with observation weights and the offset), on all rows or the rows
/// outside a fold; losses are cv.glmnet's deviance.</summary>
internal sealed class BinomialSource(DenseMatrix x, FitSpec spec, Folds? folds) : PathSource(x, spec, folds)
{
    public override string Solver => BinomialPath.SolverName;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        BinomialPath.Fit(X, Spec.FeatureColumns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), Spec.FeatureNames,
            settings, Family, Weights, Spec.Offset, progress, ct);

    /// <summary>The refit on some features: proximal Newton over their columns.</summary>
    public override PathFit FitSubset(int fold, int[] features, PathSettings settings, CancellationToken ct)
    {
        var (columns, names) = Subset(features);
        return BinomialPath.Fit(X, columns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), names, settings, Family, Weights, Spec.Offset, null, ct);
    }
}
