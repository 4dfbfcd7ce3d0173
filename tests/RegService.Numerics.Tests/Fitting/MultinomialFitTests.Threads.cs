using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Fitting;

public sealed partial class MultinomialFitTests
{
    /// <summary>
    /// The passes over the rows run runs of blocks of rows on several threads, each run adding into sums of its own that are
    /// added in run order afterwards: a path fitted on 1, 2 and 3 threads is the same bits at every lambda (coefficients,
    /// intercepts, deviance ratio, Newton steps), ungrouped and grouped, with observation weights (some 0), on enough rows and
    /// features that every pass is split; 5000 rows are one block per run, 40 000 rows several blocks per run.
    /// </summary>
    [Theory]
    [InlineData(false, 5000, 60)]
    [InlineData(true, 5000, 60)]
    [InlineData(false, 40_000, 45)]
    public void PathIsTheSameBitsOnAnyThreadCount(bool grouped, int n, int p)
    {
        const int classes = 4;
        Assert.True((long)n * classes * p >= MultinomialPathSolver.ParallelWork, "the full gradient is split");
        Assert.True((long)n * 30 >= MultinomialPathSolver.ParallelWork, "a class step on 30 working features is split");
        var x = new DenseMatrix(n, p + 1);
        var random = new Random(2026);
        for (int j = 0; j < p; j++)
        {
            var c = x.Column(j);
            for (int i = 0; i < n; i++) c[i] = random.NextDouble() * 2 - 1 + (j % 3 == 0 ? 0.5 * x.Column(0)[i] : 0);
        }
        var y = x.Column(p);
        var weights = new double[n];
        for (int i = 0; i < n; i++)
        {
            double score = x.Column(0)[i] - x.Column(1)[i] + 0.5 * x.Column(2)[i] - 0.7 * x.Column(7)[i] + 0.9 * (random.NextDouble() - 0.5);
            y[i] = score < -0.6 ? 0 : score < 0 ? 1 : score < 0.6 ? 2 : 3;
            weights[i] = i % 17 == 0 ? 0 : 0.5 + random.NextDouble();
        }
        var spec = new FitSpec
        {
            FeatureColumns = [.. Enumerable.Range(0, p)],
            FeatureNames = [.. Enumerable.Range(0, p).Select(j => "x" + j)],
            TargetColumn = p,
            Family = Family.Multinomial,
            MultinomialGrouped = grouped,
            Penalty = Penalty.ElasticNet,
            L1Ratio = 0.9,
            Weights = weights,
            Path = new LambdaPathSpec(30, 0.005),
            Tolerance = 1e-10,
        };
        var one = FitEngine.Fit(x, spec with { MaxThreads = 1 });
        Assert.True(one.Path[^1].NonZero >= 30, $"the last lambda has {one.Path[^1].NonZero} nonzero coefficients: too few columns per pass");
        foreach (int threads in new[] { 2, 3 })
        {
            var many = FitEngine.Fit(x, spec with { MaxThreads = threads });
            Assert.Equal(one.Path.Length, many.Path.Length);
            for (int l = 0; l < one.Path.Length; l++)
            {
                PathPoint a = one.Path[l], b = many.Path[l];
                Assert.Equal(a.Lambda, b.Lambda);
                Assert.Equal(a.Iterations, b.Iterations);
                Assert.Equal(a.DevianceRatio, b.DevianceRatio);
                for (int k = 0; k < classes; k++)
                {
                    Assert.Equal(a.Classes!.Intercepts[k], b.Classes!.Intercepts[k]);
                    Assert.Equal(a.Classes.Coefficients[k], b.Classes.Coefficients[k]);
                }
            }
        }
    }
}
