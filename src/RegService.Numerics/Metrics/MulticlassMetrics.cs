namespace RegService.Numerics.Metrics;

/// <summary>Multinomial-family metrics on a set of rows (each row's class, and its predicted class probabilities).</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="LogLoss">Mean of -log p_{y}, with p clamped to [1e-15, 1 - 1e-15] (scikit-learn's log_loss).</param>
/// <param name="Accuracy">Fraction of rows whose most probable class (the first of ties) is theirs.</param>
/// <param name="Deviance">Mean deviance per row, 2 * LogLoss.</param>
/// <param name="DevianceRatio">1 - deviance / null deviance, the null model predicting the class frequencies of the same rows; NaN
/// when the rows hold one class.</param>
/// <param name="LogLossStandardError">Standard deviation of the per-row log losses / sqrt(rows).</param>
/// <param name="ClassAuc">Per class, the one-vs-rest ROC AUC of its probability (Mann-Whitney, ties counted half); NaN for a class
/// absent from the rows or present in all of them.</param>
public sealed record MulticlassMetrics(
    int Rows, double LogLoss, double Accuracy, double Deviance, double DevianceRatio, double LogLossStandardError, double[] ClassAuc) : IFitMetrics
{
    /// <summary>The loss validation minimizes: the mean deviance per row.</summary>
    double IFitMetrics.Loss => Deviance;

    /// <summary>Standard error of the mean deviance: sd of the per-row deviances / sqrt(rows).</summary>
    double IFitMetrics.LossStandardError => 2 * LogLossStandardError;

    /// <summary>The fraction of rows misclassified (cv.glmnet's "class" measure).</summary>
    public double ClassError => 1 - Accuracy;

    /// <summary>Metrics of probabilities [row][class] against each row's class (an index into the classes).</summary>
    public static MulticlassMetrics FromProbabilities(int[] classOf, double[][] probabilities, int classes)
    {
        int m = classOf.Length;
        if (probabilities.Length != m) throw new ArgumentException("one row of probabilities per row is needed");
        var auc = new double[classes];
        if (m == 0)
        {
            Array.Fill(auc, double.NaN);
            return new MulticlassMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, auc);
        }
        var losses = new double[m];
        var counts = new int[classes];
        double sum = 0;
        int correct = 0;
        for (int i = 0; i < m; i++)
        {
            var p = probabilities[i];
            int y = classOf[i];
            counts[y]++;
            double loss = -Math.Log(Math.Clamp(p[y], ClassificationMetrics.Clamp, 1 - ClassificationMetrics.Clamp));
            losses[i] = loss;
            sum += loss;
            int best = 0;
            for (int k = 1; k < classes; k++) if (p[k] > p[best]) best = k;
            if (best == y) correct++;
        }
        double logLoss = sum / m, spread = 0;
        for (int i = 0; i < m; i++) spread += (losses[i] - logLoss) * (losses[i] - logLoss);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;

        double nullLogLoss = 0;
        int present = 0;
        for (int k = 0; k < classes; k++)
            if (counts[k] > 0)
            {
                present++;
                double f = (double)counts[k] / m;
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
            auc[k] = ClassificationMetrics.MannWhitneyAuc(indicator, score, counts[k]);
        }
        return new MulticlassMetrics(m, logLoss, (double)correct / m, 2 * logLoss, ratio, se, auc);
    }
}
