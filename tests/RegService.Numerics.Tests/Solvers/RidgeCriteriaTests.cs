using MathNet.Numerics.LinearAlgebra;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Solvers;

public class RidgeCriteriaTests
{
    private static readonly double[] Lambdas = [3.0, 0.5, 0.05, 0.001];

    /// <summary>Brute force: for each row, the smoother [1, Z] (standardized on all rows) refitted without it, penalty n*lambda on Z.</summary>
    private static (double[] Loo, double[] Gcv) BruteForce(Numerics.Data.DenseMatrix x, int p)
    {
        int n = x.Rows;
        var z = Matrix<double>.Build.Dense(n, p + 1);
        for (int j = 0; j < p; j++)
        {
            double mean = Enumerable.Range(0, n).Average(i => x[i, j]);
            double sd = Math.Sqrt(Enumerable.Range(0, n).Sum(i => (x[i, j] - mean) * (x[i, j] - mean)) / n);
            for (int i = 0; i < n; i++) z[i, j + 1] = (x[i, j] - mean) / sd;
        }
        for (int i = 0; i < n; i++) z[i, 0] = 1;
        var y = Vector<double>.Build.Dense(n, i => x[i, p]);
        var loo = new double[Lambdas.Length];
        var gcv = new double[Lambdas.Length];
        for (int l = 0; l < Lambdas.Length; l++)
        {
            var penalty = Matrix<double>.Build.DenseDiagonal(p + 1, p + 1, k => k == 0 ? 0 : n * Lambdas[l]);
            for (int i = 0; i < n; i++)
            {
                var keep = Enumerable.Range(0, n).Where(r => r != i).ToArray();
                var zi = Matrix<double>.Build.Dense(n - 1, p + 1, (r, c) => z[keep[r], c]);
                var yi = Vector<double>.Build.Dense(n - 1, r => y[keep[r]]);
                var b = (zi.TransposeThisAndMultiply(zi) + penalty).Solve(zi.TransposeThisAndMultiply(yi));
                double e = y[i] - z.Row(i) * b;
                loo[l] += e * e / n;
            }
            var hat = z * (z.TransposeThisAndMultiply(z) + penalty).Inverse() * z.Transpose();
            var residual = y - hat * y;
            double df = hat.Trace();
            gcv[l] = residual * residual / n / Math.Pow(1 - df / n, 2);
        }
        return (loo, gcv);
    }

    [Fact]
    public void LeaveOneOutAndGcvMatchBruteForce()
    {
        const int n = 40, p = 5;
        var x = SyntheticData.Gaussian(n, p, seed: 23);
        var (loo, gcv) = BruteForce(x, p);
        foreach (var method in new[] { ValidationMethod.LeaveOneOut, ValidationMethod.Gcv })
        {
            var spec = SyntheticData.Spec(p, Penalty.Ridge, 0, Lambdas) with { Validation = method, ColumnShift = null };
            var result = FitEngine.Fit(x, spec);
            var expected = method == ValidationMethod.Gcv ? gcv : loo;
            for (int l = 0; l < Lambdas.Length; l++)
                Assert.Equal(expected[l], result.Curve!.Mean[l], 1e-9 * expected[l]);
            int best = Array.IndexOf(expected, expected.Min());
            Assert.Equal(Lambdas[best], result.LambdaMin);
            Assert.Equal(Lambdas[best], result.Lambda);
        }
    }
}
