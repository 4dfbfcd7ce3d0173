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

    /// <summary>
    /// Binomial: whether <c>intercept + x'coefficients</c> (without the offset) puts every training row of positive weight strictly
    /// on its own class's side, 1 above 0 and 0 below: then that direction separates the classes, and along it the likelihood
    /// rises towards its supremum without reaching it (no maximum likelihood on any superset of its features).
    /// </summary>
    public override bool Separates(int fold, double intercept, double[] coefficients)
    {
        if (!Family.CanSaturate) return false;
        var rows = fold < 0 ? null : Folds!.TrainingRows(fold);
        var eta = new double[rows?.Length ?? X.Rows];
        RegressionMetrics.Predict(X, Spec.FeatureColumns, intercept, coefficients, rows, eta);
        var y = X.Column(Spec.TargetColumn);
        double scale = 0;
        foreach (double e in eta) scale = Math.Max(scale, Math.Abs(e));
        double margin = 1e-9 * scale;   // a side decided by rounding does not count
        for (int r = 0; r < eta.Length; r++)
        {
            int i = rows?[r] ?? r;
            if (Weights is { } w && w[i] == 0) continue;
            if ((y[i] == 1 ? eta[r] : -eta[r]) <= margin) return false;
        }
        return true;
    }
}
