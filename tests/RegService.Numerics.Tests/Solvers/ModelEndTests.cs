using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// A lambda of the proximal-Newton path may end on the quadratic model with features outside the working set when they
/// meet the KKT condition at the last pass's point with room for the move (<see cref="LogisticPathSolver.MoveMargin"/>):
/// the margin must hold every feature's gradient change, for poisson and binomial, with and without observation weights.
/// </summary>
public class ModelEndTests
{
    [Theory]
    [InlineData(Family.Poisson, false)]
    [InlineData(Family.Poisson, true)]
    [InlineData(Family.Binomial, false)]
    [InlineData(Family.Binomial, true)]
    public void MoveMarginHoldsEveryGradientChange(Family kind, bool weighted)
    {
        const int n = 2000, p = 10;
        var rng = new Random(kind == Family.Poisson ? 21 : 22);
        var x = Problem(kind, n, p, kind == Family.Poisson ? 31 : 32);
        double[]? weights = weighted ? [.. Enumerable.Range(0, n).Select(_ => 0.2 + 2 * rng.NextDouble())] : null;
        var settings = new PathSettings { Alpha = 1, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)] };
        var data = LogisticData.Create(x, [.. Enumerable.Range(0, p)], p, null, [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
            settings, GlmFamily.For(kind), weights, null);
        var pass = new LogisticPass(data, intercept: true, threads: 2, CancellationToken.None);
        var all = Enumerable.Range(0, p).ToArray();
        double mean = x.Column(p).ToArray().Average();
        double link = kind == Family.Poisson ? Math.Log(mean) : Math.Log(mean / (1 - mean));

        // The gradients at eta = b0 + sum beta_j z_j (standardized coefficients).
        double[] Gradients(double b0, double[] beta)
        {
            var coef = new double[p];
            double offset = b0;
            for (int j = 0; j < p; j++)
            {
                coef[j] = beta[j] / data.Scales[j];
                offset -= coef[j] * data.Means[j];
            }
            var grad = new double[p];
            pass.Run(all, new Predictor(all, coef, offset), null, grad, null, null);
            return grad;
        }

        double[] start = [0.3, -0.2, 0.05, 0, 0, 0.1, 0, 0, 0, 0];
        var g = Gradients(link, start);
        double maxWeight = pass.MaxWeight;
        Assert.Equal(pass.Weight.Max(), maxWeight);
        int tested = 0, wide = 0;
        foreach (double scale in new[] { 1e-6, 1e-4, 1e-3, 3e-3, 1e-2, 2e-2, 5e-2 })
        for (int trial = 0; trial < 4; trial++)
        {
            var moved = (double[])start.Clone();
            double d0 = scale * (rng.NextDouble() - 0.5), move = Math.Abs(d0);
            for (int j = 0; j < p; j++)
            {
                double d = scale * (rng.NextDouble() - 0.5) / data.BoundNorms[j];
                moved[j] += d;
                move += Math.Abs(d) * data.BoundNorms[j];
            }
            double margin = LogisticPathSolver.MoveMargin(move, n, maxWeight);
            if (Math.Sqrt(n) * move > 1)
            {
                Assert.Equal(double.PositiveInfinity, margin);
                continue;
            }
            tested++;
            if (Math.Sqrt(n) * move > 0.2) wide++;
            var h = Gradients(link + d0, moved);
            for (int j = 0; j < p; j++)
            {
                double change = Math.Abs(h[j] - g[j]), room = margin * data.BoundNorms[j];
                Assert.True(change <= room, $"scale {scale}, feature {j}: the gradient moved {change:G4}, the margin allows {room:G4}");
            }
        }
        Assert.True(tested >= 16 && wide >= 2, $"{tested} moves tested, {wide} with sqrt(n) D above 0.2");
    }

    /// <summary>Poisson paths in the Gram mode end most lambdas on the model; every point still meets KKT at its coefficients.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PoissonPathMeetsKktAtEveryLambda(bool weighted)
    {
        const int n = 1500, p = 25;
        var rng = new Random(weighted ? 23 : 24);
        var x = Problem(Family.Poisson, n, p, weighted ? 33 : 34);
        double[]? weights = weighted ? [.. Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble())] : null;
        int[] cols = [.. Enumerable.Range(0, p)];
        var factors = LambdaGrid.RescalePenaltyFactors(null, p);
        const double alpha = 0.8;
        var settings = new PathSettings { Alpha = alpha, PenaltyFactors = factors, Generate = new LambdaPathSpec(50), Tolerance = 1e-12 };
        var fit = BinomialPath.Fit(x, cols, p, null, [.. cols.Select(c => $"x{c}")], settings, null, default,
            BinomialPath.SubproblemMode.Gram, GlmFamily.Poisson, weights);
        Assert.True(fit.Points.Length >= 20);

        // Exact gradients on the standardized scale (weighted means and 1/n standard deviations, observation weights summing to n).
        double vs = weights?.Sum() ?? n;
        var v = Enumerable.Range(0, n).Select(i => (weights?[i] ?? 1.0) * n / vs).ToArray();
        var means = new double[p];
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            for (int i = 0; i < n; i++) means[j] += v[i] * x[i, j] / n;
            for (int i = 0; i < n; i++) scales[j] += v[i] * (x[i, j] - means[j]) * (x[i, j] - means[j]) / n;
            scales[j] = Math.Sqrt(scales[j]);
        }
        int checkedZeros = 0;
        foreach (var point in fit.Points)
        {
            Assert.True(point.Converged, $"lambda {point.Lambda} not converged");
            var r = new double[n];
            double g0 = 0;
            for (int i = 0; i < n; i++)
            {
                double eta = point.Intercept;
                for (int j = 0; j < p; j++) eta += point.Coefficients[j] * x[i, j];
                r[i] = v[i] * (x[i, p] - Math.Exp(eta));
                g0 += r[i] / n;
            }
            Assert.True(Math.Abs(g0) <= 1e-5, $"lambda {point.Lambda}: intercept gradient {g0:G3}");
            for (int j = 0; j < p; j++)
            {
                double gj = 0;
                for (int i = 0; i < n; i++) gj += (x[i, j] - means[j]) / scales[j] * r[i];
                gj /= n;
                double b = point.Coefficients[j] * scales[j];
                double l1 = point.Lambda * alpha * factors[j];
                if (b == 0)
                {
                    checkedZeros++;
                    Assert.True(Math.Abs(gj) <= l1 + 1e-5, $"lambda {point.Lambda}, feature {j}: |g| {Math.Abs(gj):G6} above {l1:G6}");
                }
                else
                {
                    double expected = l1 * Math.Sign(b) + point.Lambda * (1 - alpha) * factors[j] * b;
                    Assert.True(Math.Abs(gj - expected) <= 1e-5, $"lambda {point.Lambda}, feature {j}: g {gj:G6}, expected {expected:G6}");
                }
            }
        }
        Assert.True(checkedZeros > 50);
    }

    /// <summary>Correlated features (<see cref="SyntheticData.Gaussian"/>) with a binomial target, or a poisson count from a few of them.</summary>
    internal static DenseMatrix Problem(Family kind, int n, int p, int seed)
    {
        var x = SyntheticData.Gaussian(n, p, seed, binary: kind == Family.Binomial);
        if (kind != Family.Poisson) return x;
        var rng = new Random(seed);
        for (int i = 0; i < n; i++)
        {
            double eta = 0.5 + 0.3 * x[i, 0] - 0.25 * x[i, 3 % p] + 0.15 * x[i, 7 % p];
            x[i, p] = GradientScreenTests.Poisson(rng, Math.Exp(Math.Clamp(eta, -5, 4)));
        }
        return x;
    }
}
