using System.Buffers;
using System.Runtime.CompilerServices;

namespace RegService.Numerics.Fitting;

/// <summary>
/// Fits a path on all rows or on the rows outside one validation fold, and scores a fold: the part of
/// a fit that depends on the family and the solver. <see cref="PathFitter"/> does the rest.
/// </summary>
internal abstract class PathSource(DenseMatrix x, FitSpec spec, Folds? folds) : IDisposable
{
    /// <summary>Hands back what the source keeps for the next fit (<see cref="GramSource"/>: its Gram matrices).</summary>
    public virtual void Dispose() { }

    protected DenseMatrix X { get; } = x;
    protected FitSpec Spec { get; } = spec;
    protected Folds? Folds { get; } = folds;

    /// <summary>The observation weights rescaled to sum to the rows (glmnet's), or null.</summary>
    public double[]? Weights { get; } = spec.RescaledWeights();

    /// <summary>Each validation fold's weight (cv.glmnet's: the sum of its rows' weights; its row count without weights).</summary>
    public double[] FoldWeights() =>
        [.. Folds!.Rows.Select(rows => Weights is { } w ? rows.Sum(i => w[i]) : rows.Length)];

    /// <summary>The spec's family: metrics and the per-row validation losses.</summary>
    public GlmFamily Family { get; } = GlmFamily.For(spec.Family);

    private readonly (ValidationMeasure Measure, string? Warning) _measure = ValidationMeasures.Effective(spec, folds, x.Column(spec.TargetColumn));

    /// <summary>What validation scores by (<see cref="ValidationMeasures.Effective"/>: the spec's, or deviance where auc cannot be scored).</summary>
    public ValidationMeasure Measure => _measure.Measure;

    /// <summary>Why <see cref="Measure"/> is not the spec's measure; null when it is.</summary>
    public string? MeasureWarning => _measure.Warning;

    public abstract string Solver { get; }

    /// <summary>The path on all rows (<paramref name="fold"/> -1) or on the rows outside fold <paramref name="fold"/>.</summary>
    public abstract PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct);

    /// <summary>
    /// The path of <paramref name="settings"/> over the features <paramref name="features"/> only (indices into the spec's
    /// features, increasing), on all rows (<paramref name="fold"/> -1) or the rows outside a fold: glmnet's <c>exclude</c>, which
    /// the relaxed lasso's refit uses (<see cref="RelaxedPath"/>). The points' coefficients are aligned with
    /// <paramref name="features"/>. Sources whose solver has no such refit throw (the spec's rules keep relax from them).
    /// </summary>
    public virtual PathFit FitSubset(int fold, int[] features, PathSettings settings, CancellationToken ct) =>
        throw new NotSupportedException($"{Solver} has no refit on a subset of the features");

    /// <summary>
    /// Whether the linear predictor <c>intercept + x'coefficients</c> separates the classes on fold <paramref name="fold"/>'s training
    /// rows (-1: all rows): a certificate that the unpenalized fit on its features has no maximum likelihood (<see cref="RelaxedPath"/>).
    /// False for families without classes.
    /// </summary>
    public virtual bool Separates(int fold, double intercept, double[] coefficients) => false;

    /// <summary>Rows a fit on fold <paramref name="fold"/>'s training rows (-1: all rows) is fitted on.</summary>
    public int TrainingRowCount(int fold) => fold < 0 ? X.Rows : X.Rows - Folds!.Rows[fold].Length;

    /// <summary>The spec's feature columns and names at <paramref name="features"/> (indices into the spec's features).</summary>
    protected (int[] Columns, string[] Names) Subset(int[] features) =>
        ([.. features.Select(j => Spec.FeatureColumns[j])], [.. features.Select(j => Spec.FeatureNames[j])]);

    /// <summary>Metrics of a model on some rows (all when null).</summary>
    public IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows) =>
        Family.Metrics(X, Spec.FeatureColumns, Spec.TargetColumn, intercept, coefficients, rows, Weights, Spec.Offset,
            Spec.MaxThreads > 0 ? Spec.MaxThreads : Environment.ProcessorCount);

    /// <summary>Metrics of a path point's model on some rows (all when null); a family with several linear predictors reads them from the point.</summary>
    public virtual IFitMetrics Metrics(PathPoint point, int[]? rows) => Metrics(point.Intercept, point.Coefficients, rows);

    /// <summary>The classes of a multinomial fit (the target's distinct values, sorted); null for the other families.</summary>
    public virtual double[]? ClassLabels => null;

    /// <summary>
    /// Metrics of the out-of-fold predictions at the chosen lambda: every row scored by the fold fit that did not see it. The
    /// predictions read each column once for all folds (<see cref="RegressionMetrics.PredictByFold"/>), split between the fit's threads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public virtual IFitMetrics OutOfFold(PathFit[] fits, int chosen)
    {
        var eta = new double[X.Rows];
        var points = fits.Select(f => f.Points[chosen]).ToArray();
        RegressionMetrics.PredictByFold(X, Spec.FeatureColumns, Folds!.Rows, [.. points.Select(pt => pt.Intercept)],
            [.. points.Select(pt => pt.Coefficients)], eta, Spec.MaxThreads > 0 ? Spec.MaxThreads : Environment.ProcessorCount);
        return FromPredictions(X.Column(Spec.TargetColumn), eta);
    }

    /// <summary>The all-rows shifted Gram of [features, target] with its sums and shift, when the source built one.</summary>
    public virtual (double[] Gram, double[] Sums, double[] Shift)? AllRowsGram => null;

    /// <summary>A validation curve that needs no folds (ridge's leave-one-out and GCV); null when the source has none.</summary>
    public virtual ValidationCurve? Criterion(double[] lambdas, int threads, CancellationToken ct) => null;

    /// <summary>Metrics of linear predictors <paramref name="eta"/> against <paramref name="y"/>.</summary>
    public IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta) => Family.FromPredictions(y, eta, Weights);

    /// <summary>
    /// Mean loss (weighted with observation weights, as cv.glmnet) on fold <paramref name="fold"/>'s rows of each point of
    /// <paramref name="fit"/>, by <see cref="Measure"/>: the weighted mean of the rows' losses (those not finite left out, as
    /// cv.glmnet's cvcompute), or for auc the fold's weighted AUC.
    /// </summary>
    public virtual double[] FoldLoss(PathFit fit, int fold)
    {
        var rows = Folds!.Rows[fold];
        var loss = new double[fit.Points.Length];
        for (int l = 0; l < fit.Points.Length; l++)
            loss[l] = Measure == ValidationMeasure.Auc ? Auc(fit.Points[l], rows).Auc : Mean(RowLosses(fit.Points[l], rows), rows).Mean;
        return loss;
    }

    /// <summary>
    /// The holdout curve over <paramref name="points"/> on the held-out <paramref name="rows"/>: with the family's default measure
    /// the validation metrics' loss and its standard error (<paramref name="metrics"/>, per point, when already computed);
    /// otherwise the rows' mean loss by <see cref="Measure"/> and sd / sqrt(rows) (weighted), or for auc the AUC and its
    /// Hanley-McNeil standard error.
    /// </summary>
    public ValidationCurve HoldoutCurve(IReadOnlyList<PathPoint> points, int[] rows, IFitMetrics[]? metrics = null)
    {
        var mean = new double[points.Count];
        var se = new double[points.Count];
        for (int l = 0; l < points.Count; l++)
        {
            if (Measure == Family.Measures[0])
            {
                var m = metrics?[l] ?? Metrics(points[l], rows);
                (mean[l], se[l]) = (m.Loss, m.LossStandardError);
            }
            else if (Measure == ValidationMeasure.Auc)
            {
                var (auc, positives, negatives) = Auc(points[l], rows);
                (mean[l], se[l]) = (auc, ValidationMeasures.AucStandardError(auc, positives, negatives));
            }
            else (mean[l], se[l]) = Mean(RowLosses(points[l], rows), rows);
        }
        return new ValidationCurve(SpecNames.Of(Measure), mean, se);
    }

    /// <summary>Each of <paramref name="rows"/>' loss by <see cref="Measure"/> under a path point's model (cv.glmnet's cvraw).</summary>
    protected virtual double[] RowLosses(PathPoint point, int[] rows)
    {
        var eta = Eta(point, rows);
        var y = X.Column(Spec.TargetColumn);
        for (int i = 0; i < rows.Length; i++) eta[i] = Family.RowLoss(Measure, y[rows[i]], eta[i]);
        return eta;
    }

    /// <summary>The linear predictor (with the offset) of a path point's model on <paramref name="rows"/>.</summary>
    private double[] Eta(PathPoint point, int[] rows)
    {
        var eta = new double[rows.Length];
        RegressionMetrics.Predict(X, Spec.FeatureColumns, point.Intercept, point.Coefficients, rows, eta);
        if (Spec.Offset is { } offset)
            for (int i = 0; i < rows.Length; i++) eta[i] += offset[rows[i]];
        return eta;
    }

    /// <summary>
    /// The weighted mean of the finite <paramref name="losses"/> of <paramref name="rows"/> and its standard error, the weights
    /// normalized to sum to the rows counted: sqrt(sum w (l - mean)^2 / (m - 1) / m).
    /// </summary>
    private (double Mean, double StandardError) Mean(double[] losses, int[] rows)
    {
        double sum = 0, total = 0;
        int m = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            if (!double.IsFinite(losses[i])) continue;
            double w = Weights?[rows[i]] ?? 1.0;
            sum += w * losses[i];
            total += w;
            m++;
        }
        double mean = sum / total, spread = 0;
        for (int i = 0; i < rows.Length; i++)
            if (double.IsFinite(losses[i]))
                spread += (Weights?[rows[i]] ?? 1.0) * m / total * (losses[i] - mean) * (losses[i] - mean);
        return (mean, m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN);
    }

    /// <summary>The weighted AUC of a path point's linear predictor on <paramref name="rows"/> (binomial), and the weights of
    /// the positive and negative rows (normalized to sum to the rows).</summary>
    private (double Auc, double Positives, double Negatives) Auc(PathPoint point, int[] rows)
    {
        var eta = Eta(point, rows);
        var column = X.Column(Spec.TargetColumn);
        var y = new double[rows.Length];
        double[]? w = Weights is null ? null : new double[rows.Length];
        double positive = 0, total = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            y[i] = column[rows[i]];
            double wi = Weights?[rows[i]] ?? 1.0;
            if (w is not null) w[i] = wi;
            total += wi;
            if (y[i] == 1) positive += wi;
        }
        double scale = total > 0 ? rows.Length / total : double.NaN;
        return (ClassificationMetrics.AreaUnderCurve(y, eta, w), positive * scale, (total - positive) * scale);
    }

    /// <summary>Rows outside fold <paramref name="fold"/>, gathered into a compact matrix [features..., target] (the given feature columns, else the spec's).</summary>
    protected DenseMatrix Gather(int fold, int[]? featureColumns = null)
    {
        var rows = Folds!.TrainingRows(fold);
        var columns = featureColumns ?? Spec.FeatureColumns;
        int p = columns.Length, m = rows.Length;
        var compact = new DenseMatrix(m, p + 1);
        for (int j = 0; j <= p; j++)
        {
            var source = X.Column(j < p ? columns[j] : Spec.TargetColumn);
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

    /// <summary>Bytes of the fold-sorted copy of the rows at most (see <see cref="Kernels.FoldGrams"/>).</summary>
    internal const long RegroupChunkBytes = Kernels.FoldGrams.RegroupChunkBytes;

    /// <param name="x">The data.</param>
    /// <param name="spec">The fit.</param>
    /// <param name="folds">The validation folds, or null.</param>
    /// <param name="closedForm">Ridge in closed form rather than the coordinate-descent path.</param>
    /// <param name="threads">Threads for the Gram matrices.</param>
    /// <param name="ct">Checked while the Gram matrices are built.</param>
    /// <param name="maxChunkRows">Rows regrouped per chunk at most (k-fold); 0 for the <see cref="RegroupChunkBytes"/> budget. For tests.</param>
    public GramSource(DenseMatrix x, FitSpec spec, Folds? folds, bool closedForm, int threads, CancellationToken ct, int maxChunkRows = 0)
        : base(x, spec, folds)
    {
        _closedForm = closedForm;
        int p = spec.FeatureColumns.Length, k = _k = p + 1;
        var cols = new int[k];
        spec.FeatureColumns.CopyTo(cols, 0);
        cols[p] = spec.TargetColumn;
        _shift = new double[k];
        if (spec.FitIntercept && spec.ColumnShift is { } columnShift)
            for (int a = 0; a < k; a++) _shift[a] = columnShift[cols[a]];

        int gramLength = ArraySizes.Square(k, $"the Gram matrix of {p} features");
        // The k x k matrices are kept between fits (KeptArrays; given back by Dispose): fresh ones cost a page fault per 4 KB.
        // Zeros where they are summed into (k-fold); the Gram kernels overwrite theirs.
        bool clear = folds is { IsHoldout: false };
        _gramAll = KeptArrays.Take(gramLength, clear);
        _sumsAll = new double[k];
        int foldCount = folds?.Rows.Length ?? 0;
        _gramFold = new double[foldCount][];
        _sumsFold = new double[foldCount][];
        for (int f = 0; f < foldCount; f++)
        {
            _gramFold[f] = KeptArrays.Take(gramLength, clear);
            _sumsFold[f] = new double[k];
        }
        if (Weights is { } weights)
        {
            // Observation weights: the weighted Grams X'WX and sums, which give the weighted means and standard deviations
            // as glmnet's; each fold's from its own rows (a pass per fold), the all-rows one their sum under k-fold.
            for (int f = 0; f < foldCount; f++)
            {
                var rows = folds!.Rows[f];
                GramKernel.WeightedShiftedGram(x, cols, _shift, [.. rows.Select(i => weights[i])], rows, _gramFold[f], _sumsFold[f], threads, ct);
            }
            if (folds is null || folds.IsHoldout)
                GramKernel.WeightedShiftedGram(x, cols, _shift, weights, null, _gramAll, _sumsAll, threads, ct);
            else
                for (int f = 0; f < foldCount; f++)
                {
                    Vec.Add(_gramFold[f], _gramAll);
                    Vec.Add(_sumsFold[f], _sumsAll);
                }
        }
        else if (folds is null || folds.IsHoldout)
        {
            for (int f = 0; f < foldCount; f++)
                GramKernel.ShiftedGram(x, cols, _shift, folds!.Rows[f], _gramFold[f], _sumsFold[f], threads, ct);
            GramKernel.ShiftedGram(x, cols, _shift, null, _gramAll, _sumsAll, threads, ct);
        }
        else
        {
            Kernels.FoldGrams.Add(x, cols, _shift, folds.FoldOfRow, _gramFold, _sumsFold, threads, maxChunkRows, ct);
            for (int f = 0; f < foldCount; f++)
            {
                Vec.Add(_gramFold[f], _gramAll);
                Vec.Add(_sumsFold[f], _sumsAll);
            }
        }
    }

    public override string Solver => _closedForm ? ClosedFormRidge.SolverName : GaussianPath.SolverName;

    /// <summary>The Gram matrices go back to <see cref="KeptArrays"/> for the next fit; the source is not used after.</summary>
    public override void Dispose()
    {
        KeptArrays.Give(_gramAll);
        foreach (var gram in _gramFold) KeptArrays.Give(gram);
    }

    public override (double[] Gram, double[] Sums, double[] Shift)? AllRowsGram => (_gramAll, _sumsAll, _shift);

    /// <summary>Each validation fold's shifted Gram of [features, target] (for tests).</summary>
    internal IReadOnlyList<double[]> FoldGrams => _gramFold;

    /// <summary>Each validation fold's shifted column sums (for tests).</summary>
    internal IReadOnlyList<double[]> FoldSums => _sumsFold;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        if (!_closedForm)
        {
            // The standardized system straight from the Grams (a fold's from the all-rows and the fold's: no training Gram formed),
            // its matrix in a pooled buffer: nothing of it outlives the path, and a fresh one per fit cost page faults
            // (about 2 MB at 500 features).
            int rows = TrainingRowCount(fold);
            var buffer = ArrayPool<double>.Shared.Rent(ArraySizes.Square(_k - 1, "the normal equations"));
            try
            {
                int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
                var system = fold >= 0
                    ? NormalSystem.FromDifference(_gramAll, _gramFold[fold], _sumsAll, _sumsFold[fold], FoldFactor(fold, rows), _shift, rows,
                        Spec.FeatureNames, settings.Standardize, settings.FitIntercept, buffer, ct)
                    : NormalSystem.From(_gramAll, _sumsAll, _shift, rows, Spec.FeatureNames, settings.Standardize, settings.FitIntercept, ct, buffer, threads);
                return GaussianPath.FromSystem(system, rows, Spec.FeatureNames, settings, progress, ct);
            }
            finally
            {
                ArrayPool<double>.Shared.Return(buffer);
            }
        }
        var (gram, sums, shift, n) = TrainingGram(fold, null);
        return _closedForm
            ? ClosedFormRidge.FromGram(gram, sums, shift, n, Spec.FeatureNames, settings, progress, ct)
            : GaussianPath.FromGram(gram, sums, shift, n, Spec.FeatureNames, settings, progress, ct);
    }

    /// <summary>The refit on some features: coordinate descent on their rows and columns of the training Gram (no pass over the data).</summary>
    public override PathFit FitSubset(int fold, int[] features, PathSettings settings, CancellationToken ct)
    {
        var (gram, sums, shift, n) = TrainingGram(fold, features);
        return GaussianPath.FromGram(gram, sums, shift, n, Subset(features).Names, settings, null, ct);
    }

    /// <summary>
    /// The shifted Gram of [features, target] of the rows a fit on <paramref name="fold"/> uses (-1: all rows; else the total minus
    /// the fold's), its sums, shift and row count; only the rows and columns of <paramref name="features"/> (and the target) when given.
    /// </summary>
    private (double[] Gram, double[] Sums, double[] Shift, int Rows) TrainingGram(int fold, int[]? features)
    {
        int[] index = features is null ? [.. Enumerable.Range(0, _k)] : [.. features, _k - 1];
        int k = index.Length, n = TrainingRowCount(fold);
        double factor = FoldFactor(fold, n);
        double[]? gramFold = fold >= 0 ? _gramFold[fold] : null, sumsFold = fold >= 0 ? _sumsFold[fold] : null;
        if (features is null && fold < 0) return (_gramAll, _sumsAll, _shift, n);
        var gram = new double[(long)k * k];
        var sums = new double[k];
        var shift = new double[k];
        for (int a = 0; a < k; a++)
        {
            long row = (long)index[a] * _k;
            for (int b = 0; b < k; b++)
            {
                long at = row + index[b];
                gram[(long)a * k + b] = gramFold is null ? _gramAll[at] : (_gramAll[at] - gramFold[at]) * factor;
            }
            sums[a] = sumsFold is null ? _sumsAll[index[a]] : (_sumsAll[index[a]] - sumsFold[index[a]]) * factor;
            shift[a] = _shift[index[a]];
        }
        return (gram, sums, shift, n);
    }

    /// <summary>glmnet rescales a fold fit's weights to sum to its <paramref name="rows"/>: the Gram and sums scale with the weights (1 without).</summary>
    private double FoldFactor(int fold, int rows) =>
        fold >= 0 && Weights is { } w ? rows / (X.Rows - Folds!.Rows[fold].Sum(i => w[i])) : 1;

    public override ValidationCurve? Criterion(double[] lambdas, int threads, CancellationToken ct)
    {
        if (!_closedForm || Spec.Validation is not (ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)) return null;
        var system = NormalSystem.From(_gramAll, _sumsAll, _shift, X.Rows, Spec.FeatureNames, Spec.Standardize, Spec.FitIntercept, ct);
        var eigen = system.Eigen(ct);
        return Spec.Validation == ValidationMethod.Gcv
            ? RidgeCriteria.Gcv(system, eigen, lambdas, X.Rows, Spec.FitIntercept)
            : RidgeCriteria.LeaveOneOut(X, Spec.FeatureColumns, Spec.TargetColumn, system, eigen, lambdas, Spec.FitIntercept, threads, ct);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double[] FoldLoss(PathFit fit, int fold)
    {
        if (Folds!.IsHoldout || Measure == ValidationMeasure.Mae) return base.FoldLoss(fit, fold);
        int k = _k, p = k - 1, m = Folds.Rows[fold].Length;
        var g = _gramFold[fold];
        var s = _sumsFold[fold];
        var z = new double[k];
        var loss = new double[fit.Points.Length];
        // The fold's weight: its row count, or the sum of its weights (the fold's Gram carries them).
        double mass = Weights is { } weights ? Folds.Rows[fold].Sum(i => weights[i]) : m;
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
            // z'Gz as the sum over the nonzero z_a of z_a (G_a. z): one vectorized dot of length k per nonzero coefficient.
            double zgz = 0;
            for (int a = 0; a < k; a++)
                if (z[a] != 0) zgz += z[a] * Vec.Dot(g.AsSpan(a * k, k), z);
            double zs = Vec.Dot(z, s.AsSpan(0, k));
            loss[l] = Math.Max(zgz + 2 * kappa * zs + mass * kappa * kappa, 0) / mass;
        }
        return loss;
    }
}

/// <summary>
/// Closed-form ridge in the dual (<see cref="DualRidge"/>) when features outnumber rows: each fit builds the kernel of
/// its own rows (all rows, or the rows outside a validation fold), centered and scaled on those rows as the Gram route
/// does per fold, so nothing p x p is ever formed.
/// </summary>
internal sealed class DualSource(DenseMatrix x, FitSpec spec, Folds? folds) : PathSource(x, spec, folds)
{
    public override string Solver => ClosedFormRidge.SolverName;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        DualRidge.Fit(X, Spec.FeatureColumns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), Spec.FeatureNames, settings, progress, ct);

    public override ValidationCurve? Criterion(double[] lambdas, int threads, CancellationToken ct)
    {
        if (Spec.Validation is not (ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)) return null;
        var system = DualSystem.From(X, Spec.FeatureColumns, Spec.TargetColumn, null, Spec.FeatureNames, Spec.Standardize, Spec.FitIntercept, threads, ct);
        var eigen = system.Eigen(ct);
        return Spec.Validation == ValidationMethod.Gcv
            ? DualRidge.Gcv(system, eigen, lambdas, Spec.FitIntercept)
            : DualRidge.LeaveOneOut(system, eigen, lambdas, Spec.FitIntercept, ct);
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

    /// <summary>The refit on some features: naive coordinate descent over their columns (gathered for a fold).</summary>
    public override PathFit FitSubset(int fold, int[] features, PathSettings settings, CancellationToken ct)
    {
        var (columns, names) = Subset(features);
        if (fold < 0) return GaussianPath.Naive(X, columns, Spec.TargetColumn, names, settings, null, ct);
        int q = columns.Length;
        return GaussianPath.Naive(Gather(fold, columns), [.. Enumerable.Range(0, q)], q, names, settings, null, ct);
    }
}
