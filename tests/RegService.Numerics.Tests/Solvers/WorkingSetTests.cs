using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// The working-set start of the naive coordinate descent (<see cref="CoordinateDescent.WorkingSets"/>), chosen for wide
/// data: the same solutions as the whole strong set, the KKT conditions met, and a duality gap that bounds the
/// distance to the optimum.
/// </summary>
public class WorkingSetTests
{
    private static PathFit Fit(DenseMatrix x, FitSpec spec, bool workingSets) =>
        GaussianPath.Naive(x, spec.FeatureColumns, spec.TargetColumn, spec.FeatureNames, PathFitter.Settings(spec, 2), workingSets);

    private static FitSpec WideSpec(int p, double alpha, bool intercept, bool standardize) =>
        SyntheticData.Spec(p, alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet, alpha) with
        {
            FitIntercept = intercept,
            Standardize = standardize,
            Tolerance = 1e-12,
            Path = new LambdaPathSpec(Count: 60),
        };

    [Fact]
    public void WideDataChoosesWorkingSets()
    {
        Assert.True(GaussianPath.UseWorkingSets(500, 10_000));
        Assert.True(GaussianPath.UseWorkingSets(1_000, 50_000));
        Assert.False(GaussianPath.UseWorkingSets(500, 1_000));
        Assert.False(GaussianPath.UseWorkingSets(50_000, 500));
    }

    [Theory]
    [InlineData(1.0, true, true)]
    [InlineData(1.0, false, true)]
    [InlineData(1.0, true, false)]
    [InlineData(1.0, false, false)]
    [InlineData(0.5, true, true)]
    [InlineData(0.5, false, false)]
    public void ReachesTheSolutionOfTheWholeStrongSet(double alpha, bool intercept, bool standardize)
    {
        const int n = 80, p = 600;
        var x = SyntheticData.Gaussian(n, p, seed: 31, signal: 12, rho: 0.2);
        var spec = WideSpec(p, alpha, intercept, standardize);
        var plain = Fit(x, spec, workingSets: false);
        var ws = Fit(x, spec, workingSets: true);
        Assert.Equal(plain.Points.Length, ws.Points.Length);
        var v = Enumerable.Repeat(1.0, p).ToArray();
        double yScale = Math.Sqrt(plain.NullDeviance);
        int nonZeroPoints = 0;
        for (int l = 0; l < ws.Points.Length; l++)
        {
            var a = plain.Points[l];
            var b = ws.Points[l];
            Assert.True(b.Converged);
            Assert.Equal(a.Lambda, b.Lambda, 12);
            // Both stopped at 1e-12 of the null deviance per row: the objective agrees closely; the coefficients of a
            // p > n lasso are ill-determined along nearly flat directions, so they agree only to about 1e-4.
            double pa = Objective(x, spec, alpha, a), pb = Objective(x, spec, alpha, b);
            Assert.True(Math.Abs(pa - pb) <= 1e-9 * plain.NullDeviance, $"lambda {l}: objective {pa} vs {pb}");
            for (int j = 0; j < p; j++)
                Assert.True(Math.Abs(a.StandardizedCoefficients[j] - b.StandardizedCoefficients[j]) <= 1e-3 * yScale,
                    $"lambda {l}, feature {j}: {a.StandardizedCoefficients[j]} vs {b.StandardizedCoefficients[j]}");
            Assert.True(Math.Abs(a.DevianceRatio - b.DevianceRatio) <= 1e-6, $"lambda {l}: deviance ratio {a.DevianceRatio} vs {b.DevianceRatio}");
            double kkt = SyntheticData.KktViolation(x, spec, ws.FeatureMeans, ws.FeatureScales, v, b);
            Assert.True(kkt <= 1e-5 * yScale, $"lambda {l}: KKT violation {kkt}");
            if (b.NonZero > 0) nonZeroPoints++;
        }
        Assert.True(nonZeroPoints > ws.Points.Length / 2);
        Assert.True(ws.Points[^1].NonZero > 20);
    }

    [Theory]
    [InlineData(1.0, true, true)]
    [InlineData(1.0, false, false)]
    [InlineData(0.5, true, true)]
    public void ExtrapolatedWarmStartsReachTheSameSolutionsInFewerPasses(double alpha, bool intercept, bool standardize)
    {
        const int n = 80, p = 600;
        var x = SyntheticData.Gaussian(n, p, seed: 43, signal: 12, rho: 0.2);
        var spec = WideSpec(p, alpha, intercept, standardize);
        var settings = PathFitter.Settings(spec, 2);
        var plain = GaussianPath.Naive(x, spec.FeatureColumns, spec.TargetColumn, spec.FeatureNames, settings, workingSets: true, extrapolate: false);
        var moved = GaussianPath.Naive(x, spec.FeatureColumns, spec.TargetColumn, spec.FeatureNames, settings, workingSets: true, extrapolate: true);
        Assert.Equal(plain.Points.Length, moved.Points.Length);
        var v = Enumerable.Repeat(1.0, p).ToArray();
        double yScale = Math.Sqrt(plain.NullDeviance);
        for (int l = 0; l < moved.Points.Length; l++)
        {
            var a = plain.Points[l];
            var b = moved.Points[l];
            Assert.True(b.Converged);
            double pa = Objective(x, spec, alpha, a), pb = Objective(x, spec, alpha, b);
            Assert.True(Math.Abs(pa - pb) <= 1e-9 * plain.NullDeviance, $"lambda {l}: objective {pa} vs {pb}");
            double kkt = SyntheticData.KktViolation(x, spec, moved.FeatureMeans, moved.FeatureScales, v, b);
            Assert.True(kkt <= 1e-5 * yScale, $"lambda {l}: KKT violation {kkt}");
        }
        // The path is affine in lambda between knots, so the extrapolated start is closer and fewer passes reach the tolerance.
        Assert.True(moved.Iterations < plain.Iterations, $"{moved.Iterations} passes against {plain.Iterations}");
    }

    [Fact]
    public void WorkingSetsLeaveMoreFeaturesOutThanTheStrongRule()
    {
        const int n = 80, p = 600;
        var x = SyntheticData.Gaussian(n, p, seed: 37, signal: 12, rho: 0.2);
        var spec = WideSpec(p, 1, intercept: true, standardize: true);
        var plain = Fit(x, spec, workingSets: false);
        var ws = Fit(x, spec, workingSets: true);
        Assert.True(ws.Points.Sum(pt => pt.ScreenedOut) > plain.Points.Sum(pt => pt.ScreenedOut));
    }

    [Theory]
    [InlineData(1.0, 1e-4)]
    [InlineData(0.5, 1e-4)]
    [InlineData(1.0, 1e-7)]
    public void DualityGapBoundsTheDistanceToTheOptimum(double alpha, double tolerance)
    {
        const int n = 70, p = 500;
        var x = SyntheticData.Gaussian(n, p, seed: 41, signal: 10, rho: 0.3);
        var loose = WideSpec(p, alpha, intercept: true, standardize: true) with { Tolerance = tolerance };
        var exact = loose with { Tolerance = 1e-14 };
        var fit = Fit(x, loose, workingSets: true);
        var reference = Fit(x, exact with { Path = null, Lambdas = [.. fit.Lambdas] }, workingSets: false);
        double yVar = fit.NullDeviance;
        bool positive = false;
        for (int l = 0; l < fit.Points.Length; l++)
        {
            var pt = fit.Points[l];
            if (pt.DualityGap is not { } gap) continue;
            double excess = Objective(x, loose, alpha, pt) - Objective(x, loose, alpha, reference.Points[l]);
            // The gap (on the objective's scale) is at least the primal suboptimality.
            Assert.True(excess <= gap + 1e-12 * yVar, $"lambda {l}: excess {excess} above the gap {gap}");
            Assert.True(gap >= 0);
            positive |= gap > 0;
        }
        Assert.True(positive);
    }

    /// <summary>The objective of docs/engine.md on the standardized scale, from the data directly.</summary>
    private static double Objective(DenseMatrix x, FitSpec spec, double alpha, PathPoint point)
    {
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var y = x.Column(spec.TargetColumn);
        double rss = 0;
        for (int i = 0; i < n; i++)
        {
            double e = y[i] - point.Intercept;
            for (int j = 0; j < p; j++) e -= x[i, j] * point.Coefficients[j];
            rss += e * e;
        }
        double penalty = 0;
        foreach (double b in point.StandardizedCoefficients) penalty += (1 - alpha) / 2 * b * b + alpha * Math.Abs(b);
        return rss / (2 * n) + point.Lambda * penalty;
    }

    [Fact]
    public void ASpareShadowLeftByAnotherFitGivesTheSameSolutions()
    {
        // The 16-bit shadow of a finished fit is kept for the next (NaiveCd.Release); a fit that takes it over
        // must overwrite every column it reads, whatever the data that filled it.
        var x = SyntheticData.Gaussian(80, 600, seed: 31, signal: 12, rho: 0.2);
        var other = SyntheticData.Gaussian(90, 700, seed: 32, signal: 20, rho: 0.5);
        var spec = WideSpec(600, 1.0, true, true);
        Assert.True(NaiveCd.UseShadow(80, 600));
        var first = Fit(x, spec, workingSets: true);
        Fit(other, WideSpec(700, 1.0, true, true), workingSets: true);
        var again = Fit(x, spec, workingSets: true);
        Assert.Equal(first.Points.Length, again.Points.Length);
        for (int l = 0; l < first.Points.Length; l++)
        {
            Assert.Equal(first.Points[l].Coefficients, again.Points[l].Coefficients);
            Assert.Equal(first.Points[l].Iterations, again.Points[l].Iterations);
        }
    }

    /// <summary>
    /// On two threads the setup's statistics, the KKT screens, and the exact gradients at the checks and at each solve's end
    /// are split into items the fit's helper thread shares (<see cref="FitTeam"/>); which thread computes a column does not
    /// change its value, so the path is the one-thread path bit for bit. 512 x 2,100 is large enough for every split: the
    /// setup's (over a million values), the full screens' (items of 256 columns) and the end-of-solve gradients' (64 columns).
    /// </summary>
    [Fact]
    public void TwoThreadsGiveTheOneThreadPathBitForBit()
    {
        const int n = 512, p = 2100;
        var x = SyntheticData.Gaussian(n, p, seed: 41, signal: 150, rho: 0.3);
        var spec = WideSpec(p, 1.0, true, true) with { Tolerance = 1e-7, Path = new LambdaPathSpec(Count: 40) };
        Assert.True(GaussianPath.UseWorkingSets(n, p) && NaiveCd.UseShadow(n, p) && NaiveCd.SweepChunk(n) == 256);
        PathFit Run(int threads) =>
            GaussianPath.Naive(x, spec.FeatureColumns, spec.TargetColumn, spec.FeatureNames, PathFitter.Settings(spec, threads), workingSets: true);
        var one = Run(1);
        var two = Run(2);
        Assert.True(one.Points[^1].NonZero >= 128, $"only {one.Points[^1].NonZero} nonzeros at the last lambda");
        Assert.Equal(one.Points.Length, two.Points.Length);
        for (int l = 0; l < one.Points.Length; l++)
        {
            Assert.Equal(one.Points[l].Lambda, two.Points[l].Lambda);
            Assert.Equal(one.Points[l].Coefficients, two.Points[l].Coefficients);
            Assert.Equal(one.Points[l].Iterations, two.Points[l].Iterations);
        }
    }

    /// <summary>
    /// The setup builds the KKT screen's 16-bit shadow in its one read of every column, before it knows which columns are
    /// constant, then drops those (<see cref="NaiveCd.Shadow.Keep"/>): with constant columns among wide data the path is the
    /// one of the data without them (the same lambdas, so the same gradients at b = 0; the same coefficients), with a warning each.
    /// </summary>
    [Fact]
    public void ConstantColumnsAmongWideDataLeaveThePathOfTheRest()
    {
        const int n = 80, p = 600;
        var x = SyntheticData.Gaussian(n, p, seed: 37, signal: 12, rho: 0.2);
        int[] constant = [3, 250, 599];
        var padded = new DenseMatrix(n, p + constant.Length + 1);
        var kept = new List<int>();
        for (int j = 0, k = 0, c = 0; j < p + constant.Length; j++)
        {
            if (c < constant.Length && j == constant[c] + c)
            {
                padded.Column(j).Fill(2.5);
                c++;
                continue;
            }
            x.Column(k++).CopyTo(padded.Column(j));
            kept.Add(j);
        }
        x.Column(p).CopyTo(padded.Column(p + constant.Length));
        Assert.True(NaiveCd.UseShadow(n, p + constant.Length));

        var spec = WideSpec(p, 1.0, intercept: true, standardize: true);
        var paddedSpec = WideSpec(p + constant.Length, 1.0, intercept: true, standardize: true);
        var plain = Fit(x, spec, workingSets: true);
        var withConstants = Fit(padded, paddedSpec, workingSets: true);
        Assert.Equal(constant.Length, withConstants.Warnings.Count(w => w.Contains("zero variance", StringComparison.Ordinal)));
        Assert.Equal(plain.Points.Length, withConstants.Points.Length);
        for (int l = 0; l < plain.Points.Length; l++)
        {
            Assert.Equal(plain.Points[l].Lambda, withConstants.Points[l].Lambda, 14);
            var a = plain.Points[l].Coefficients;
            var b = withConstants.Points[l].Coefficients;
            for (int k = 0; k < p; k++) Assert.Equal(a[k], b[kept[k]], 12);
            for (int c = 0; c < constant.Length; c++) Assert.Equal(0.0, b[constant[c] + c]);
        }
    }
}
