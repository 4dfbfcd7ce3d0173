using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Metrics;

public class RegressionMetricsTests
{
    /// <summary>
    /// The row-blocked prediction over all rows gives, bit for bit, one axpy per column over all rows (the computation before the
    /// blocks), on every tier, at lengths around the block size, with zero coefficients skipped; and the scalar twin within rounding.
    /// </summary>
    [Fact]
    public void BlockedPredictionIsOneAxpyPerColumn()
    {
        foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
                Check();
    }

    private static void Check()
    {
        var rng = new Random(23);
        int block = RegressionMetrics.PredictBlockRows;
        foreach (int n in new[] { 0, 1, 7, block - 1, block, block + 1, 2 * block + 13, 3 * block + 8 })
        {
            const int p = 9;
            var x = new DenseMatrix(n, p + 1);
            for (int i = 0; i < x.Data.Length; i++) x.Data[i] = 4 * rng.NextDouble() - 2;
            int[] features = [9, 3, 0, 5, 1, 8, 2, 7, 4];
            double[] coef = [.. features.Select((_, j) => j % 3 == 1 ? 0.0 : rng.NextDouble() - 0.5)];
            const double intercept = 0.75;

            var blocked = new double[n];
            RegressionMetrics.Predict(x, features, intercept, coef, null, blocked);

            var expected = new double[n];
            Array.Fill(expected, intercept);
            for (int j = 0; j < p; j++)
                if (coef[j] != 0) Vec.Axpy(coef[j], x.Column(features[j]), expected);
            Assert.Equal(expected, blocked);

            var scalar = new double[n];
            Array.Fill(scalar, intercept);
            for (int j = 0; j < p; j++)
                if (coef[j] != 0) Vec.AxpyScalar(coef[j], x.Column(features[j]), scalar);
            for (int i = 0; i < n; i++) Assert.Equal(scalar[i], blocked[i], 1e-13);
        }
    }
}
