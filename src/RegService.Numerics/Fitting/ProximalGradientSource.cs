namespace RegService.Numerics.Fitting;

/// <summary>Gaussian and binomial fits by full-batch proximal gradient (FISTA), on all rows or the rows outside a fold.</summary>
internal sealed class ProximalGradientSource(DenseMatrix x, FitSpec spec, Folds? folds, int threads) : PathSource(x, spec, folds)
{
    public override string Solver => ProximalGradientPath.SolverName;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        ProximalGradientPath.Fit(X, Spec.FeatureColumns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), Spec.FeatureNames,
            Family, fold < 0 ? settings with { MaxThreads = threads } : settings, progress, ct);
}
