namespace RegService.Numerics.Metrics;

/// <summary>Multinomial-family metrics on a set of rows (each row's class, and its predicted class probabilities).</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="LogLoss">Mean of -log p_{y}, with p clamped to [1e-15, 1 - 1e-15] (scikit-learn's log_loss; weighted with weights).</param>
/// <param name="Accuracy">Fraction of rows (of the weight) whose most probable class (the first of ties) is theirs.</param>
/// <param name="Deviance">Mean deviance per row, 2 * LogLoss.</param>
/// <param name="DevianceRatio">1 - deviance / null deviance, the null model predicting the class frequencies of the same rows
/// (without an offset; the path's deviance ratio, glmnet's dev.ratio, takes the null model with the class offsets); NaN when the
/// rows hold one class.</param>
/// <param name="LogLossStandardError">Standard deviation of the per-row log losses / sqrt(rows).</param>
/// <param name="ClassAuc">Per class, the one-vs-rest ROC AUC of its probability (Mann-Whitney, ties counted half; weighted pairs
/// with weights); NaN for a class absent from the rows (or of weight 0 there) or present in all of them.</param>
public sealed record MulticlassMetrics(
    int Rows, double LogLoss, double Accuracy, double Deviance, double DevianceRatio, double LogLossStandardError, double[] ClassAuc) : IFitMetrics
{
    /// <summary>The loss validation minimizes: the mean deviance per row.</summary>
    double IFitMetrics.Loss => Deviance;

    /// <summary>Standard error of the mean deviance: sd of the per-row deviances / sqrt(rows).</summary>
    double IFitMetrics.LossStandardError => 2 * LogLossStandardError;

    /// <summary>The fraction of rows misclassified (cv.glmnet's "class" measure).</summary>
    public double ClassError => 1 - Accuracy;

    /// <summary>
    /// Metrics of probabilities [row][class] against each row's class (an index into the classes), weighted by
    /// <paramref name="weights"/> (indexed like the rows; normalized to sum to the rows scored) when given, as
    /// <see cref="ClassificationMetrics.FromLinearPredictor"/>: weighted means, the null model the weighted class
    /// frequencies, each class's AUC counting a (positive, negative) pair with the product of their weights.
    /// </summary>
    public static MulticlassMetrics FromProbabilities(int[] classOf, double[][] probabilities, int classes, double[]? weights = null)
    {
        int m = classOf.Length;
        if (probabilities.Length != m) throw new ArgumentException("one row of probabilities per row is needed");
        var auc = new double[classes];
        Array.Fill(auc, double.NaN);
        var w = m == 0 ? null : ClassificationMetrics.Normalized(weights, m);
        if (w is null) return new MulticlassMetrics(m, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, auc);
        var losses = new double[m];
        var counts = new double[classes];
        double sum = 0, correct = 0;
        for (int i = 0; i < m; i++)
        {
            var p = probabilities[i];
            int y = classOf[i];
            counts[y] += w[i];
            double loss = -Math.Log(Math.Clamp(p[y], ClassificationMetrics.Clamp, 1 - ClassificationMetrics.Clamp));
            losses[i] = loss;
            sum += w[i] * loss;
            int best = 0;
            for (int k = 1; k < classes; k++) if (p[k] > p[best]) best = k;
            if (best == y) correct += w[i];
        }
        double logLoss = sum / m, spread = 0;
        for (int i = 0; i < m; i++) spread += w[i] * (losses[i] - logLoss) * (losses[i] - logLoss);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;

        double nullLogLoss = 0;
        int present = 0;
        for (int k = 0; k < classes; k++)
            if (counts[k] > 0)
            {
                present++;
                double f = counts[k] / m;
                nullLogLoss -= f * Math.Log(f);
            }
        double ratio = present > 1 ? 1 - logLoss / nullLogLoss : double.NaN;

        var indicator = new double[m];
        var score = new double[m];
        for (int k = 0; k < classes; k++)
        {
            for (int i = 0; i < m; i++)
            {
                indicator[i] = classOf[i] == k ? 1 : 0;
                score[i] = probabilities[i][k];
            }
            auc[k] = ClassificationMetrics.WeightedAuc(indicator, score, w);
        }
        return new MulticlassMetrics(m, logLoss, correct / m, 2 * logLoss, ratio, se, auc);
    }
}
