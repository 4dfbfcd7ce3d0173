namespace RegService.Numerics.Fitting;

/// <summary>
/// Multinomial fits by proximal Newton (<see cref="MultinomialPath"/>), on all rows or the rows outside a fold, the classes
/// being the target's distinct values on all rows, with the observation weights, coefficient bounds and class offsets of the spec
/// (the offsets in every fit, fold score and metric, as cv.glmnet scores a fold with its rows' offsets); fold losses
/// are cv.glmnet's multinomial measures (deviance with probabilities clamped to [1e-5, 1 - 1e-5], class, mse, mae; the weighted
/// mean over the fold's rows with weights), metrics <see cref="MulticlassMetrics"/> (weighted likewise).
/// </summary>
internal sealed class MultinomialSource : PathSource
{
    private readonly double[] _labels;
    private readonly int[] _classOf;
    private readonly double[][]? _offsets;   // glmnet's n x K offset, [class][row]; null without one

    public MultinomialSource(DenseMatrix x, FitSpec spec, Folds? folds) : base(x, spec, folds)
    {
        var y = x.Column(spec.TargetColumn);
        _labels = FitSpec.ClassLabels(y);
        _classOf = FitSpec.ClassIndex(y, _labels);
        _offsets = spec.ClassOffsetMatrix(_labels);
    }

    public override string Solver => MultinomialPath.SolverName;

    public override double[]? ClassLabels => _labels;

    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        MultinomialPath.Fit(X, Spec.FeatureColumns, Spec.TargetColumn, fold < 0 ? null : Folds!.TrainingRows(fold), _labels, Spec.FeatureNames,
            settings, Spec.MultinomialGrouped, Weights, _offsets, progress, ct);

    public override IFitMetrics Metrics(PathPoint point, int[]? rows) =>
        MulticlassMetrics.FromProbabilities(Classes(rows), point.Classes!.Probabilities(X, Spec.FeatureColumns, rows, _offsets), _labels.Length, RowWeights(rows));

    /// <summary>
    /// cv.multnet's rows: deviance -2 log p_y (clamped), mse and mae the sums over the classes of (y_k - p_k)^2 and |y_k - p_k|,
    /// class 1 when the most probable class (the first of ties) is not the row's.
    /// </summary>
    protected override double[] RowLosses(PathPoint point, int[] rows)
    {
        var prob = point.Classes!.Probabilities(X, Spec.FeatureColumns, rows, _offsets);
        var loss = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            var p = prob[i];
            int y = _classOf[rows[i]];
            switch (Measure)
            {
                case ValidationMeasure.Deviance:
                    loss[i] = RowDeviance(p[y]);
                    break;
                case ValidationMeasure.Class:
                    int best = 0;
                    for (int k = 1; k < p.Length; k++) if (p[k] > p[best]) best = k;
                    loss[i] = best == y ? 0 : 1;
                    break;
                default:
                    bool squared = Measure == ValidationMeasure.Mse;
                    for (int k = 0; k < p.Length; k++)
                    {
                        double e = (k == y ? 1 : 0) - p[k];
                        loss[i] += squared ? e * e : Math.Abs(e);
                    }
                    break;
            }
        }
        return loss;
    }

    public override IFitMetrics OutOfFold(PathFit[] fits, int chosen)
    {
        var prob = new double[X.Rows][];
        for (int k = 0; k < Folds!.Rows.Length; k++)
        {
            var rows = Folds.Rows[k];
            var part = fits[k].Points[chosen].Classes!.Probabilities(X, Spec.FeatureColumns, rows, _offsets);
            for (int i = 0; i < rows.Length; i++) prob[rows[i]] = part[i];
        }
        return MulticlassMetrics.FromProbabilities(_classOf, prob, _labels.Length, Weights);
    }

    /// <summary>cv.glmnet's multinomial deviance of one row: -2 log of its class's probability, clamped.</summary>
    public static double RowDeviance(double probability) => -2 * Math.Log(Math.Clamp(probability, GlmFamily.ProbabilityClamp, 1 - GlmFamily.ProbabilityClamp));

    private int[] Classes(int[]? rows) => rows is null ? _classOf : [.. rows.Select(i => _classOf[i])];

    private double[]? RowWeights(int[]? rows) => rows is null || Weights is not { } w ? Weights : [.. rows.Select(i => w[i])];
}
