using RegService.Numerics.Data;

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

    /// <summary>Metrics of linear predictors <paramref name="eta"/> against targets <paramref name="y"/> (0 or 1 each).</summary>
    public static ClassificationMetrics FromLinearPredictor(ReadOnlySpan<double> y, ReadOnlySpan<double> eta)
    {
        if (y.Length != eta.Length) throw new ArgumentException("y and eta differ in length");
        int m = y.Length;
        if (m == 0) return new ClassificationMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var losses = new double[m];
        double sum = 0;
        int correct = 0, ones = 0;
        for (int i = 0; i < m; i++)
        {
            double yi = y[i];
            if (yi != 0 && yi != 1) throw new ArgumentException($"the binomial target must be 0 or 1; row {i} of the rows scored has {yi}");
            if (yi == 1) ones++;
            // p and 1 - p straight from eta, so neither loses digits to the other.
            double t = eta[i];
            double p = 1 / (1 + Math.Exp(-t)), q = 1 / (1 + Math.Exp(t));
            double loss = -Math.Log(Math.Clamp(yi == 1 ? p : q, Clamp, 1 - Clamp));
            losses[i] = loss;
            sum += loss;
            if ((t > 0 ? 1.0 : 0.0) == yi) correct++;
        }
        double logLoss = sum / m, spread = 0;
        for (int i = 0; i < m; i++) spread += (losses[i] - logLoss) * (losses[i] - logLoss);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;

        double ratio = double.NaN;
        if (ones > 0 && ones < m)
        {
            double f = (double)ones / m;
            double nullLogLoss = -(f * Math.Log(f) + (1 - f) * Math.Log(1 - f));
            ratio = 1 - logLoss / nullLogLoss;
        }
        return new ClassificationMetrics(m, logLoss, (double)correct / m, MannWhitneyAuc(y, eta, ones), 2 * logLoss, ratio, se);
    }

    /// <summary>Mann-Whitney AUC: (sum of the positives' midranks - n1 (n1 + 1)/2) / (n1 n0).</summary>
    internal static double MannWhitneyAuc(ReadOnlySpan<double> y, ReadOnlySpan<double> score, int ones)
    {
        int m = y.Length, zeros = m - ones;
        if (ones == 0 || zeros == 0) return double.NaN;
        var order = new int[m];
        for (int i = 0; i < m; i++) order[i] = i;
        var keys = score.ToArray();
        Array.Sort(keys, order);
        double rankSum = 0;
        for (int start = 0; start < m;)
        {
            int end = start + 1;
            while (end < m && keys[end] == keys[start]) end++;
            double midrank = (start + 1 + end) / 2.0;   // ranks start+1 .. end, averaged
            for (int k = start; k < end; k++)
                if (y[order[k]] == 1) rankSum += midrank;
            start = end;
        }
        return (rankSum - ones * (ones + 1) / 2.0) / ((double)ones * zeros);
    }
}
