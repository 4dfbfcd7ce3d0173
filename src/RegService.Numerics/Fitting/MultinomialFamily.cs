namespace RegService.Numerics.Fitting;

/// <summary>
/// The multinomial family (glmnet's lognet with K classes): a linear predictor per class, p_k = e^eta_k / sum_l e^eta_l,
/// validation by cv.glmnet's deviance, glmnet's lognet early stop and scaling. Its models are not one coefficient vector, so
/// the scalar members of <see cref="GlmFamily"/> do not apply: <see cref="MultinomialSource"/> scores folds and metrics
/// from the per-class coefficients (<see cref="PathPoint.Classes"/>).
/// </summary>
public sealed class MultinomialFamily : GlmFamily
{
    public static MultinomialFamily Instance { get; } = new();

    private MultinomialFamily() { }

    public override Family Kind => Fitting.Family.Multinomial;
    public override IReadOnlyList<ValidationMeasure> Measures { get; } = [ValidationMeasure.Deviance, ValidationMeasure.Class, ValidationMeasure.Mse, ValidationMeasure.Mae];
    public override EarlyStop Stop => EarlyStop.Absolute;

    public override double Mean(double eta) => throw Scalar();
    public override double Link(double yMean) => throw Scalar();
    public override double RowDeviance(double y, double eta) => throw Scalar();

    public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null) => throw Scalar();

    private static NotSupportedException Scalar() =>
        new("the multinomial family has one linear predictor per class: use its per-class models (PathPoint.Classes)");
}

/// <summary>
/// A multinomial model: per class (in the order of the sorted class labels) its intercept and coefficients on the original
/// and the standardized scale, in glmnet's symmetric parametrization (the coefficients of each feature across the classes
/// minimize the penalty among their shifts; the standardized intercepts sum to 0).
/// </summary>
public sealed record MulticlassModel(double[] Intercepts, double[][] Coefficients, double[][] StandardizedCoefficients)
{
    public int Classes => Intercepts.Length;

    /// <summary>Features whose coefficient is nonzero in some class (glmnet's df for the multinomial family).</summary>
    public int NonZero()
    {
        int p = Coefficients[0].Length, count = 0;
        for (int j = 0; j < p; j++)
            for (int k = 0; k < Classes; k++)
                if (Coefficients[k][j] != 0) { count++; break; }
        return count;
    }

    /// <summary>
    /// Each row's class probabilities [row][class] for the rows of <paramref name="x"/> (all when null) on the columns
    /// <paramref name="features"/>; with <paramref name="offsets"/> (glmnet's n x K offset, [class][row of x]) class k's offset
    /// added to its linear predictor.
    /// </summary>
    public double[][] Probabilities(DenseMatrix x, ReadOnlySpan<int> features, int[]? rows, double[][]? offsets = null)
    {
        int m = rows?.Length ?? x.Rows, K = Classes;
        var eta = new double[K][];
        for (int k = 0; k < K; k++)
        {
            var e = eta[k] = new double[m];
            RegressionMetrics.Predict(x, features, Intercepts[k], Coefficients[k], rows, e);
            if (offsets?[k] is not { } o) continue;
            for (int i = 0; i < m; i++) e[i] += o[rows is null ? i : rows[i]];
        }
        return Softmax(eta);
    }

    /// <summary>Probabilities [row][class] from linear predictors [class][row].</summary>
    public static double[][] Softmax(double[][] eta)
    {
        int K = eta.Length, m = eta[0].Length;
        var prob = new double[m][];
        for (int i = 0; i < m; i++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < K; k++) max = Math.Max(max, eta[k][i]);
            var row = prob[i] = new double[K];
            double sum = 0;
            for (int k = 0; k < K; k++) sum += row[k] = Math.Exp(eta[k][i] - max);
            for (int k = 0; k < K; k++) row[k] /= sum;
        }
        return prob;
    }
}
