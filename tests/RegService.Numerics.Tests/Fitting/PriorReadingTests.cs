using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>The MAP reading of linear fits: the prior's form and scale from the penalty, sigma² from the residuals.</summary>
public class PriorReadingTests
{
    private const int N = 120, P = 6;

    /// <summary>Correlated features with offsets and scales, a gaussian target (column P) and a 0/1 one (column P + 1).</summary>
    private static DenseMatrix Data()
    {
        var rng = new Random(7);
        var x = new DenseMatrix(N, P + 2);
        for (int i = 0; i < N; i++)
        {
            double common = rng.NextDouble() - 0.5, eta = 0;
            for (int j = 0; j < P; j++)
            {
                double v = (j + 1) * (rng.NextDouble() - 0.5 + 0.6 * common) + j;
                x.Column(j)[i] = v;
                eta += (j % 2 == 0 ? 1.0 : -0.5) * (v - j) / (j + 1);
            }
            x.Column(P)[i] = 2 + eta + 0.3 * (rng.NextDouble() - 0.5);
            x.Column(P + 1)[i] = eta + 0.5 * (rng.NextDouble() - 0.5) > 0 ? 1 : 0;
        }
        return x;
    }

    private static FitSpec Spec(Penalty penalty, double lambda, Family family = Family.Gaussian) => new()
    {
        FeatureColumns = [.. Enumerable.Range(0, P)],
        FeatureNames = [.. Enumerable.Range(1, P).Select(j => $"x{j}")],
        TargetColumn = family == Family.Gaussian ? P : P + 1,
        Family = family,
        Penalty = penalty,
        Lambdas = penalty == Penalty.None ? null : [lambda],
        Tolerance = 1e-14,
        MaxThreads = 1,
    };

    private static double Rss(FitResult r) => ((RegressionMetrics)r.TrainMetrics).Mse * N;

    [Fact]
    public void RidgeIsAGaussianPriorWithTheSmoothersDegreesOfFreedom()
    {
        var x = Data();
        const double lambda = 0.05;
        var r = FitEngine.Fit(x, Spec(Penalty.Ridge, lambda));
        var prior = r.Prior!;

        // The known answer: df = 1 + sum d/(d + lambda), d the eigenvalues of Z'Z/n (Z standardized as the fit does).
        var a = new double[P * P];
        for (int u = 0; u < P; u++)
            for (int v = 0; v < P; v++)
            {
                double s = 0;
                for (int i = 0; i < N; i++)
                    s += (x.Column(u)[i] - r.FeatureMeans[u]) / r.FeatureScales[u] * (x.Column(v)[i] - r.FeatureMeans[v]) / r.FeatureScales[v];
                a[u * P + v] = s / N;
            }
        double df = 1 + new EigenRidgePath(a, P).EffectiveDegreesOfFreedom(lambda);
        Assert.Equal(PriorKind.Gaussian, prior.Kind);
        Assert.Equal("map", prior.Source);
        Assert.True(prior.Standardized);
        Assert.Equal(df, prior.DegreesOfFreedom!.Value, 10);
        double sigma2 = Rss(r) / (N - df);
        Assert.Equal(sigma2, prior.NoiseVariance!.Value, 10);
        Assert.Equal(sigma2 / (N * lambda), prior.GaussianVariance!.Value, 12);
        Assert.Null(prior.LaplaceScale);

        // Coordinate descent (no Gram kept: the smoother's Gram is built afresh) reads the same prior.
        var cd = FitEngine.Fit(x, Spec(Penalty.Ridge, lambda) with { PenaltyFactors = [.. Enumerable.Repeat(1.0, P)] }).Prior!;
        Assert.Equal(df, cd.DegreesOfFreedom!.Value, 6);
    }

    [Fact]
    public void LassoIsALaplacePriorAndElasticNetTheProduct()
    {
        var x = Data();
        const double lambda = 0.1;
        var lasso = FitEngine.Fit(x, Spec(Penalty.Lasso, lambda));
        int nonZero = lasso.Coefficients.Count(c => c != 0);
        Assert.InRange(nonZero, 1, P - 1);
        var prior = lasso.Prior!;
        Assert.Equal(PriorKind.Laplace, prior.Kind);
        Assert.Equal(1 + nonZero, prior.DegreesOfFreedom);
        Assert.Equal(Rss(lasso) / (N - 1 - nonZero) / (N * lambda), prior.LaplaceScale!.Value, 12);
        Assert.Null(prior.GaussianVariance);

        var net = FitEngine.Fit(x, Spec(Penalty.ElasticNet, lambda) with { L1Ratio = 0.25 }).Prior!;
        Assert.Equal(PriorKind.GaussianLaplace, net.Kind);
        // sigma²/(n lambda 0.75) and sigma²/(n lambda 0.25): the ratio is l1Ratio / (1 - l1Ratio).
        Assert.Equal(0.25 / 0.75, net.GaussianVariance!.Value / net.LaplaceScale!.Value, 12);
        Assert.Equal(net.NoiseVariance!.Value / (N * lambda * 0.25), net.LaplaceScale.Value, 12);
        Assert.True(net.DegreesOfFreedom > 1 && net.DegreesOfFreedom < 1 + P);
    }

    [Fact]
    public void BinomialHasNoNoiseVarianceAndNoneIsFlat()
    {
        var x = Data();
        var binomial = FitEngine.Fit(x, Spec(Penalty.Ridge, 0.01, Family.Binomial)).Prior!;
        Assert.Equal(PriorKind.Gaussian, binomial.Kind);
        Assert.Null(binomial.NoiseVariance);
        Assert.Equal(1 / (N * 0.01), binomial.GaussianVariance!.Value, 12);

        var none = FitEngine.Fit(x, Spec(Penalty.None, 0)).Prior!;
        Assert.Equal(PriorKind.Flat, none.Kind);
        Assert.Null(none.GaussianVariance);
        Assert.Null(none.LaplaceScale);
        Assert.Equal(1 + P, none.DegreesOfFreedom);

        var unstandardized = FitEngine.Fit(x, Spec(Penalty.Ridge, 0.05) with { Standardize = false }).Prior!;
        Assert.False(unstandardized.Standardized);
    }
}
