using RegService.Numerics.Data;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Metrics;

public class ClassificationMetricsTests
{
    [Fact]
    public void HandComputedCase()
    {
        // p = 0.8, 0.4, 0.6, 0.3, 0.5 for y = 1, 1, 0, 0, 1.
        double[] p = [0.8, 0.4, 0.6, 0.3, 0.5];
        double[] y = [1, 1, 0, 0, 1];
        double[] eta = p.Select(v => Math.Log(v / (1 - v))).ToArray();
        var m = ClassificationMetrics.FromLinearPredictor(y, eta);

        double[] losses = [-Math.Log(0.8), -Math.Log(0.4), -Math.Log(0.4), -Math.Log(0.7), -Math.Log(0.5)];
        double logLoss = losses.Average();
        Assert.Equal(5, m.Rows);
        Assert.Equal(logLoss, m.LogLoss, 1e-12);
        Assert.Equal(2 * logLoss, m.Deviance, 1e-12);
        Assert.Equal(2 * logLoss, ((IFitMetrics)m).Loss, 1e-12);
        double sd = Math.Sqrt(losses.Sum(l => (l - logLoss) * (l - logLoss)) / 4);
        Assert.Equal(sd / Math.Sqrt(5), m.LogLossStandardError, 1e-12);
        Assert.Equal(2 * sd / Math.Sqrt(5), ((IFitMetrics)m).LossStandardError, 1e-12);

        // Class 1 when p > 0.5: predictions 1, 0, 1, 0, 0 -> right on rows 0 and 3.
        Assert.Equal(0.4, m.Accuracy, 1e-15);

        // Positives' scores 0.8, 0.4, 0.5 against negatives' 0.6, 0.3: pairs won 2 + 1 + 1 = 4 of 6.
        Assert.Equal(4.0 / 6, m.Auc, 1e-12);

        double f = 0.6, nullLoss = -(f * Math.Log(f) + (1 - f) * Math.Log(1 - f));
        Assert.Equal(1 - logLoss / nullLoss, m.DevianceRatio, 1e-12);
        Assert.Equal(1 - logLoss / nullLoss, ((IFitMetrics)m).DevianceRatio, 1e-12);
    }

    [Fact]
    public void AucCountsTiesHalf()
    {
        // Scores (y): 1 (1), 1 (0), 2 (1), 2 (0), 2 (1), 3 (0). Midranks: 1.5, 1.5, 4, 4, 4, 6.
        // Positives' rank sum 1.5 + 4 + 4 = 9.5; AUC = (9.5 - 3*4/2) / (3*3) = 3.5/9.
        double[] eta = [1, 1, 2, 2, 2, 3];
        double[] y = [1, 0, 1, 0, 1, 0];
        var m = ClassificationMetrics.FromLinearPredictor(y, eta);
        Assert.Equal(3.5 / 9, m.Auc, 1e-15);

        // Pairwise: P(s+ > s-) + P(s+ = s-)/2 over the 9 pairs.
        double won = 0;
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++)
                if (y[a] == 1 && y[b] == 0) won += eta[a] > eta[b] ? 1 : eta[a] == eta[b] ? 0.5 : 0;
        Assert.Equal(won / 9, m.Auc, 1e-15);

        // All scores tied: 0.5.
        Assert.Equal(0.5, ClassificationMetrics.FromLinearPredictor(y, new double[6]).Auc, 1e-15);
    }

    [Fact]
    public void OneClassGivesNaNAucAndRatio()
    {
        var m = ClassificationMetrics.FromLinearPredictor([1, 1, 1], [0.5, -1, 2]);
        Assert.True(double.IsNaN(m.Auc));
        Assert.True(double.IsNaN(m.DevianceRatio));
        Assert.Equal(2.0 / 3, m.Accuracy, 1e-15);
        Assert.True(double.IsFinite(m.LogLoss));
    }

    [Fact]
    public void ProbabilitiesAreClampedInTheLogLoss()
    {
        // A confident wrong prediction costs -log(1e-15), not infinity.
        var m = ClassificationMetrics.FromLinearPredictor([0, 1], [800, 800]);
        Assert.Equal((-Math.Log(1e-15) - Math.Log(1 - 1e-15)) / 2, m.LogLoss, 1e-9);
        Assert.True(double.IsFinite(m.DevianceRatio));
    }

    [Fact]
    public void ComputeScoresTheRowsOfTheMatrix()
    {
        // Columns: x0, x1, y. eta = 0.5 + 1 * x0 - 2 * x1.
        var x = new DenseMatrix(4, 3, [1, -1, 0, 2, 0.5, 0, 1, -1, 1, 0, 0, 1]);
        var all = ClassificationMetrics.Compute(x, [0, 1], 2, 0.5, [1.0, -2.0], null);
        double[] eta = [0.5 + 1 - 1, 0.5 - 1, 0.5 - 2, 0.5 + 2 + 2];
        Assert.Equal(ClassificationMetrics.FromLinearPredictor([1, 0, 0, 1], eta), all);

        var some = ClassificationMetrics.Compute(x, [0, 1], 2, 0.5, [1.0, -2.0], [3, 1]);
        Assert.Equal(ClassificationMetrics.FromLinearPredictor([1, 0], [eta[3], eta[1]]), some);

        var none = ClassificationMetrics.Compute(x, [0, 1], 2, 0.5, [1.0, -2.0], []);
        Assert.Equal(0, none.Rows);
        Assert.True(double.IsNaN(none.LogLoss));
    }

    [Fact]
    public void NonBinaryTargetIsRejected()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.FromLinearPredictor([0, 2], [0, 0]));
    }
}
