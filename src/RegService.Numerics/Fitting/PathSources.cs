using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Fitting;

/// <summary>
/// Fits a path on all rows or on the rows outside one validation fold, and scores a fold: the part of
/// a fit that depends on the family and the solver. <see cref="PathFitter"/> does the rest.
/// </summary>
internal abstract class PathSource(DenseMatrix x, FitSpec spec, Folds? folds)
{
    protected DenseMatrix X { get; } = x;
    protected FitSpec Spec { get; } = spec;
    protected Folds? Folds { get; } = folds;

    public abstract string Solver { get; }

    /// <summary>The path on all rows (<paramref name="fold"/> -1) or on the rows outside fold <paramref name="fold"/>.</summary>
    public abstract PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct);

    /// <summary>Metrics of a model on some rows (all when null).</summary>
    public abstract IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows);

    /// <summary>A validation curve that needs no folds (ridge's leave-one-out and GCV); null when the source has none.</summary>
    public virtual ValidationCurve? Criterion(double[] lambdas, int threads, CancellationToken ct) => null;

    /// <summary>Metrics of linear predictors <paramref name="eta"/> against <paramref name="y"/>.</summary>
    public abstract IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta);

    /// <summary>Per-row validation loss of a model (squared error, or deviance with cv.glmnet's clamp of p to [1e-5, 1 - 1e-5]).</summary>
    public abstract double RowLoss(double y, double eta);

    /// <summary>Mean loss on fold <paramref name="fold"/>'s rows of each point of <paramref name="fit"/>.</summary>
    public virtual double[] FoldLoss(PathFit fit, int fold)
    {
        var rows = Folds!.Rows[fold];
        var eta = new double[rows.Length];
        var y = X.Column(Spec.TargetColumn);
        var loss = new double[fit.Points.Length];
        for (int l = 0; l < fit.Points.Length; l++)
        {
            var point = fit.Points[l];
            RegressionMetrics.Predict(X, Spec.FeatureColumns, point.Intercept, point.Coefficients, rows, eta);
            double sum = 0;
            for (int i = 0; i < rows.Length; i++) sum += RowLoss(y[rows[i]], eta[i]);
            loss[l] = sum / rows.Length;
        }
        return loss;
    }

    /// <summary>Rows outside fold <paramref name="fold"/>, gathered into a compact matrix [features..., target].</summary>
    protected DenseMatrix Gather(int fold)
    {
        var rows = Folds!.TrainingRows(fold);
        int p = Spec.FeatureColumns.Length, m = rows.Length;
        var compact = new DenseMatrix(m, p + 1);
        for (int j = 0; j <= p; j++)
        {
            var source = X.Column(j < p ? Spec.FeatureColumns[j] : Spec.TargetColumn);
            var target = compact.Column(j);
            for (int i = 0; i < m; i++) target[i] = source[rows[i]];
        }
        return compact;
    }
}

/// <summary>
/// Gaussian fits from Gram matrices: one pass over the data builds each validation fold's shifted Gram
/// of [features, target]; the all-rows Gram is their sum (plus the never-held-out rows), and a fold's
/// training Gram is the total minus the fold's. Fold losses come from the fold's Gram too:
/// with e = y - b0 - xb, sum e^2 = z'G z + 2 k z's + m k^2 for z = [-b; 1] and k the shift's residual.
/// </summary>
internal sealed class GramSource : PathSource
{
    private readonly bool _closedForm;
    private readonly int _k;
    private readonly double[] _shift;
    private readonly double[] _gramAll;
    private readonly double[] _sumsAll;
    private readonly double[][] _gramFold;
    private readonly double[][] _sumsFold;

    public GramSource(DenseMatrix x, FitSpec spec, Folds? folds, bool closedForm, int threads, CancellationToken ct) : base(x, spec, folds)
    {
        _closedForm = closedForm;
        int p = spec.FeatureColumns.Length, k = _k = p + 1;
        var cols = new int[k];
        spec.FeatureColumns.CopyTo(cols, 0);
        cols[p] = spec.TargetColumn;
        _shift = new double[k];
        if (spec.FitIntercept && spec.ColumnShift is { } columnShift)
            for (int a = 0; a < k; a++) _shift[a] = columnShift[cols[a]];

        _gramAll = new double[k * k];
        _sumsAll = new double[k];
        int foldCount = folds?.Rows.Length ?? 0;
        _gramFold = new double[foldCount][];
        _sumsFold = new double[foldCount][];
        // K-fold: one pass deals the rows into a compact block per fold, so each fold's Gram runs on contiguous rows.
        var blocks = folds is { IsHoldout: false } ? Deal(x, cols, folds) : null;
        var compactCols = Enumerable.Range(0, k).ToArray();
        for (int f = 0; f < foldCount; f++)
        {
            _gramFold[f] = new double[k * k];
            _sumsFold[f] = new double[k];
            if (blocks is not null)
                GramKernel.ShiftedGram(blocks[f], compactCols, _shift, null, _gramFold[f], _sumsFold[f], threads, ct);
            else
                GramKernel.ShiftedGram(x, cols, _shift, folds!.Rows[f], _gramFold[f], _sumsFold[f], threads, ct);
        }
        if (folds is null || folds.IsHoldout)
        {
            GramKernel.ShiftedGram(x, cols, _shift, null, _gramAll, _sumsAll, threads, ct);
        }
        else
        {
            for (int f = 0; f < foldCount; f++)
            {
                for (int i = 0; i < _gramAll.Length; i++) _gramAll[i] += _gramFold[f][i];
                for (int i = 0; i < k; i++) _sumsAll[i] += _sumsFold[f][i];
            }
        }
    }

    public override string Solver => _closedForm ? ClosedFormRidge.SolverName : GaussianPath.SolverName;

    /// <summary>Copies columns <paramref name="cols"/> of every row into its fold's block, reading each column once in order.</summary>
    private static DenseMatrix[] Deal(DenseMatrix x, int[] cols, Folds folds)
    {
        int n = x.Rows, count = folds.Rows.Length;
        var blocks = folds.Rows.Select(r => new DenseMatrix(r.Length, cols.Length)).ToArray();
        var position = new int[n];
        var fill = new int[count];
        for (int i = 0; i < n; i++) position[i] = fill[folds.FoldOfRow[i]]++;
        for (int c = 0; c < cols.Length; c++)
        {
            var source = x.Column(cols[c]);
            var data = blocks.Select(b => b.Data).ToArray();
            var offset = blocks.Select(b => c * b.Rows).ToArray();
            var fold = folds.FoldOfRow;
            for (int i = 0; i < n; i++)
            {
                int f = fold[i];
                data[f][offset[f] + position[i]] = source[i];
            }
        }
        return blocks;
    }

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        double[] gram = _gramAll, sums = _sumsAll;
        int n = X.Rows;
        if (fold >= 0)
        {
            gram = new double[_gramAll.Length];
            sums = new double[_k];
            for (int i = 0; i < gram.Length; i++) gram[i] = _gramAll[i] - _gramFold[fold][i];
            for (int i = 0; i < _k; i++) sums[i] = _sumsAll[i] - _sumsFold[fold][i];
            n -= Folds!.Rows[fold].Length;
        }
        return _closedForm
            ? ClosedFormRidge.FromGram(gram, sums, _shift, n, Spec.FeatureNames, settings, progress, ct)
            : GaussianPath.FromGram(gram, sums, _shift, n, Spec.FeatureNames, settings, progress, ct);
    }

    public override IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows) =>
        RegressionMetrics.Compute(X, Spec.FeatureColumns, Spec.TargetColumn, intercept, coefficients, rows);

    public override double RowLoss(double y, double eta) => (y - eta) * (y - eta);

    public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta) => RegressionMetrics.FromPredictions(y, eta);

    public override ValidationCurve? Criterion(double[] lambdas, int threads, CancellationToken ct)
    {
        if (!_closedForm || Spec.Validation is not (ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)) return null;
        var system = NormalSystem.From(_gramAll, _sumsAll, _shift, X.Rows, Spec.FeatureNames, Spec.Standardize, Spec.FitIntercept);
        var eigen = system.Eigen();
        return Spec.Validation == ValidationMethod.Gcv
            ? RidgeCriteria.Gcv(system, eigen, lambdas, X.Rows, Spec.FitIntercept)
            : RidgeCriteria.LeaveOneOut(X, Spec.FeatureColumns, Spec.TargetColumn, system, eigen, lambdas, Spec.FitIntercept, threads, ct);
    }

    public override double[] FoldLoss(PathFit fit, int fold)
    {
        if (Folds!.IsHoldout) return base.FoldLoss(fit, fold);
        int k = _k, p = k - 1, m = Folds.Rows[fold].Length;
        var g = _gramFold[fold];
        var s = _sumsFold[fold];
        var z = new double[k];
        var nonZero = new List<int>(k);
        var loss = new double[fit.Points.Length];
        for (int l = 0; l < fit.Points.Length; l++)
        {
            var point = fit.Points[l];
            double kappa = _shift[p] - point.Intercept;
            for (int j = 0; j < p; j++)
            {
                z[j] = -point.Coefficients[j];
                kappa -= _shift[j] * point.Coefficients[j];
            }
            z[p] = 1;
            nonZero.Clear();
            for (int a = 0; a < k; a++) if (z[a] != 0) nonZero.Add(a);
            double zgz = 0, zs = 0;
            foreach (int a in nonZero)
            {
                double row = 0;
                foreach (int b in nonZero) row += g[a * k + b] * z[b];
                zgz += z[a] * row;
                zs += z[a] * s[a];
            }
            loss[l] = Math.Max(zgz + 2 * kappa * zs + m * kappa * kappa, 0) / m;
        }
        return loss;
    }
}

/// <summary>Gaussian coordinate descent with naive residual updates (p > n), on all rows or a fold's gathered rows.</summary>
internal sealed class NaiveSource(DenseMatrix x, FitSpec spec, Folds? folds) : PathSource(x, spec, folds)
{
    public override string Solver => GaussianPath.SolverName;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        if (fold < 0) return GaussianPath.Naive(X, Spec.FeatureColumns, Spec.TargetColumn, Spec.FeatureNames, settings, progress, ct);
        var compact = Gather(fold);
        int p = Spec.FeatureColumns.Length;
        return GaussianPath.Naive(compact, [.. Enumerable.Range(0, p)], p, Spec.FeatureNames, settings, progress, ct);
    }

    public override IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows) =>
        RegressionMetrics.Compute(X, Spec.FeatureColumns, Spec.TargetColumn, intercept, coefficients, rows);

    public override double RowLoss(double y, double eta) => (y - eta) * (y - eta);

    public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta) => RegressionMetrics.FromPredictions(y, eta);
}
