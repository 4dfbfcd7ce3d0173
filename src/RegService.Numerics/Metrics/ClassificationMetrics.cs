namespace RegService.Numerics.Metrics;

/// <summary>Binomial-family metrics on a set of rows (target 0 or 1, predicted probability p = 1/(1 + e^-eta)).</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="LogLoss">Mean of -[y log p + (1 - y) log(1 - p)], with p clamped to [1e-15, 1 - 1e-15].</param>
/// <param name="Accuracy">Fraction of rows whose class is predicted right at threshold 0.5 (class 1 when p &gt; 0.5).</param>
/// <param name="Auc">Area under the ROC curve: the Mann-Whitney statistic of the linear predictor, ties counted half
/// (midranks); NaN when one class is absent.</param>
/// <param name="Deviance">Mean deviance per row, 2 * LogLoss (cv.glmnet's type.measure "deviance").</param>
/// <param name="DevianceRatio">1 - deviance / null deviance, the null model predicting the class frequency of the same
/// rows; NaN when one class is absent.</param>
/// <param name="LogLossStandardError">Standard deviation of the per-row log losses / sqrt(rows).</param>
public sealed record ClassificationMetrics(
    int Rows, double LogLoss, double Accuracy, double Auc, double Deviance, double DevianceRatio, double LogLossStandardError) : IFitMetrics
{
    /// <summary>The loss validation minimizes: the mean deviance per row.</summary>
    double IFitMetrics.Loss => Deviance;

    /// <summary>Standard error of the mean deviance: sd of the per-row deviances / sqrt(rows).</summary>
    double IFitMetrics.LossStandardError => 2 * LogLossStandardError;

    /// <summary>Probabilities are clamped to [Clamp, 1 - Clamp] in the log loss.</summary>
    public const double Clamp = 1e-15;

    /// <summary>The class predicted from P(y = 1), as <see cref="Accuracy"/> counts it: 1 when the probability exceeds 0.5.</summary>
    public static int PredictedClass(double probability) => probability > 0.5 ? 1 : 0;

    /// <summary>Metrics of the model <c>eta = b0 + X[rows, features] b</c> against the 0/1 target.</summary>
    public static ClassificationMetrics Compute(
        DenseMatrix x, ReadOnlySpan<int> features, int target, double intercept, ReadOnlySpan<double> coef, int[]? rows)
    {
        int m = rows?.Length ?? x.Rows;
        var eta = new double[m];
        RegressionMetrics.Predict(x, features, intercept, coef, rows, eta);
        var column = x.Column(target);
        var y = new double[m];
        for (int i = 0; i < m; i++) y[i] = column[rows is null ? i : rows[i]];
        return FromLinearPredictor(y, eta);
    }

    /// <summary>
    /// Metrics of linear predictors <paramref name="eta"/> against targets <paramref name="y"/> (0 or 1 each), weighted by
    /// <paramref name="weights"/> (indexed like y; normalized to sum to the rows scored) when given: every mean is the
    /// weighted mean, the null model predicts the weighted class frequency, and the AUC counts each (positive, negative)
    /// pair with the product of their weights.
    /// </summary>
    public static ClassificationMetrics FromLinearPredictor(ReadOnlySpan<double> y, ReadOnlySpan<double> eta, double[]? weights = null)
    {
        if (y.Length != eta.Length) throw new ArgumentException("y and eta differ in length");
        int m = y.Length;
        if (m == 0) return new ClassificationMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var w = Normalized(weights, m);
        if (w is null) return new ClassificationMetrics(m, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var losses = new double[m];
        double sum = 0, correct = 0, ones = 0;
        for (int i = 0; i < m; i++)
        {
            double yi = y[i];
            if (yi != 0 && yi != 1) throw new ArgumentException($"the binomial target must be 0 or 1; row {i} of the rows scored has {yi}");
            if (yi == 1) ones += w[i];
            // p and 1 - p straight from eta, so neither loses digits to the other.
            double t = eta[i];
            double p = 1 / (1 + Math.Exp(-t)), q = 1 / (1 + Math.Exp(t));
            double loss = -Math.Log(Math.Clamp(yi == 1 ? p : q, Clamp, 1 - Clamp));
            losses[i] = loss;
            sum += w[i] * loss;
            if ((t > 0 ? 1.0 : 0.0) == yi) correct += w[i];
        }
        double logLoss = sum / m, spread = 0;
        for (int i = 0; i < m; i++) spread += w[i] * (losses[i] - logLoss) * (losses[i] - logLoss);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;

        double ratio = double.NaN;
        if (ones > 0 && ones < m)
        {
            double f = ones / m;
            double nullLogLoss = -(f * Math.Log(f) + (1 - f) * Math.Log(1 - f));
            ratio = 1 - logLoss / nullLogLoss;
        }
        return new ClassificationMetrics(m, logLoss, correct / m, WeightedAuc(y, eta, w), 2 * logLoss, ratio, se);
    }

    /// <summary>The weighted AUC of <paramref name="score"/> against the 0/1 <paramref name="y"/> (weights indexed like y; null: all 1;
    /// NaN when they sum to nothing): cv.glmnet's per-fold auc (survival's concordance with case weights, ties counted half).</summary>
    internal static double AreaUnderCurve(ReadOnlySpan<double> y, ReadOnlySpan<double> score, double[]? weights) =>
        Normalized(weights, y.Length) is { } w ? WeightedAuc(y, score, w) : double.NaN;

    /// <summary>Weights normalized to sum to <paramref name="m"/> (all 1 when null); null when they sum to nothing.</summary>
    internal static double[]? Normalized(double[]? weights, int m)
    {
        var w = new double[m];
        if (weights is null)
        {
            Array.Fill(w, 1.0);
            return w;
        }
        if (weights.Length != m) throw new ArgumentException($"{weights.Length} weights for {m} rows");
        double total = 0;
        foreach (double v in weights) total += v;
        if (!(total > 0)) return null;
        for (int i = 0; i < m; i++) w[i] = weights[i] * m / total;
        return w;
    }

    /// <summary>
    /// The Mann-Whitney AUC with weights: sum over positives of w_pos (weight of negatives scored below + half of those tied),
    /// over (total positive weight)(total negative weight). With unit weights, the midrank statistic.
    /// </summary>
    internal static double WeightedAuc(ReadOnlySpan<double> y, ReadOnlySpan<double> score, double[] w)
    {
        int m = y.Length;
        var order = new int[m];
        for (int i = 0; i < m; i++) order[i] = i;
        var keys = score.ToArray();
        Array.Sort(keys, order);
        double below = 0, pairs = 0, positives = 0;
        for (int start = 0; start < m;)
        {
            int end = start + 1;
            while (end < m && keys[end] == keys[start]) end++;
            double pos = 0, neg = 0;
            for (int k = start; k < end; k++)
            {
                int i = order[k];
                if (y[i] == 1) pos += w[i];
                else neg += w[i];
            }
            pairs += pos * (below + neg / 2);
            below += neg;
            positives += pos;
            start = end;
        }
        return positives > 0 && below > 0 ? pairs / (positives * below) : double.NaN;
    }
}
