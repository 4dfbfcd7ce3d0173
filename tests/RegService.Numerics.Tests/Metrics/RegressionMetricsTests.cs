using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Metrics;

public class RegressionMetricsTests
{
    /// <summary>
    /// The prediction over all rows split between threads gives, bit for bit, one axpy per column over all rows (the one-thread
    /// computation), on every tier, with zero coefficients skipped, at row counts that split into ranges with and without
    /// ragged ends; and the scalar twin within rounding.
    /// </summary>
    [Fact]
    public void PredictionSplitBetweenThreadsIsOneAxpyPerColumn()
    {
        foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
                Check();
    }

    private static void Check()
    {
        var rng = new Random(23);
        const int p = 600;   // 600 columns x 4,000+ rows: above ParallelPredictMinWork
        foreach (int n in new[] { 0, 1, 7, 4095, 8192, 8193, 12_345 })
        {
            var x = new DenseMatrix(n, p + 1);
            for (int i = 0; i < x.Data.Length; i++) x.Data[i] = 4 * rng.NextDouble() - 2;
            int[] features = [.. Enumerable.Range(0, p).Select(j => (j * 7 + 3) % (p + 1))];
            double[] coef = [.. features.Select((_, j) => j % 3 == 1 ? 0.0 : rng.NextDouble() - 0.5)];
            const double intercept = 0.75;
            Assert.True(n < 8192 || (long)n * coef.Count(c => c != 0) >= RegressionMetrics.ParallelPredictMinWork);

            var expected = new double[n];
            Array.Fill(expected, intercept);
            for (int j = 0; j < p; j++)
                if (coef[j] != 0) Vec.Axpy(coef[j], x.Column(features[j]), expected);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var split = new double[n];
                RegressionMetrics.Predict(x, features, intercept, coef, null, split, threads);
                Assert.Equal(expected, split);
            }

            var scalar = new double[n];
            Array.Fill(scalar, intercept);
            for (int j = 0; j < p; j++)
                if (coef[j] != 0) Vec.AxpyScalar(coef[j], x.Column(features[j]), scalar);
            for (int i = 0; i < n; i++) Assert.Equal(scalar[i], expected[i], 1e-12);
        }
    }

    /// <summary>The out-of-fold predictions in one pass over the columns are, bit for bit, each fold's prediction over its rows.</summary>
    [Fact]
    public void OutOfFoldPredictionsAreEachFoldsPredictionBitForBit()
    {
        var rng = new Random(41);
        const int p = 300, folds = 7;
        foreach (int n in new[] { 7, 4095, 16_000 })
        {
            var x = new DenseMatrix(n, p);
            for (int i = 0; i < x.Data.Length; i++) x.Data[i] = 4 * rng.NextDouble() - 2;
            int[] features = [.. Enumerable.Range(0, p).Select(j => (j * 11 + 5) % p)];
            int[] foldOfRow = [.. Enumerable.Range(0, n).Select(_ => rng.Next(folds))];
            double[] intercepts = [.. Enumerable.Range(0, folds).Select(_ => rng.NextDouble() - 0.5)];
            // Some columns zero in every fold, some in some folds only.
            double[][] coefs = [.. Enumerable.Range(0, folds).Select(f =>
                Enumerable.Range(0, p).Select(j => j % 5 == 0 || (j + f) % 3 == 0 ? 0.0 : rng.NextDouble() - 0.5).ToArray())];
            var expected = new double[n];
            int[][] foldRows = [.. Enumerable.Range(0, folds).Select(f => Enumerable.Range(0, n).Where(i => foldOfRow[i] == f).ToArray())];
            for (int f = 0; f < folds; f++)
            {
                var rows = foldRows[f];
                var part = new double[rows.Length];
                RegressionMetrics.Predict(x, features, intercepts[f], coefs[f], rows, part);
                for (int i = 0; i < rows.Length; i++) expected[rows[i]] = part[i];
            }
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var eta = new double[n];
                RegressionMetrics.PredictByFold(x, features, foldRows, intercepts, coefs, eta, threads);
                Assert.Equal(expected, eta);
            }
        }
    }
}
