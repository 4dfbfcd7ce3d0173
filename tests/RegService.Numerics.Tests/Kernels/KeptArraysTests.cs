using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Tests.Solvers;

namespace RegService.Numerics.Tests.Kernels;

public class KeptArraysTests
{
    [Fact]
    public void AGivenArrayIsHandedOutAgainForItsLengthAndClearedWhenAsked()
    {
        int length = KeptArrays.MinLength + 12_345;   // a length no other test's fit uses
        var first = KeptArrays.Take(length, clear: true);
        Assert.Equal(length, first.Length);
        Assert.All(first, v => Assert.Equal(0.0, v));
        first.AsSpan().Fill(7.5);
        KeptArrays.Give(first);
        var again = KeptArrays.Take(length, clear: false);
        Assert.Same(first, again);
        Assert.Equal(7.5, again[^1]);
        KeptArrays.Give(again);
        var cleared = KeptArrays.Take(length, clear: true);
        Assert.Same(first, cleared);
        Assert.All(cleared, v => Assert.Equal(0.0, v));
        // Not handed out twice, nor for another length.
        Assert.NotSame(first, KeptArrays.Take(length, clear: false));
        KeptArrays.Give(cleared);
        Assert.NotSame(first, KeptArrays.Take(length + 1, clear: false));
        // Small arrays are not kept.
        var small = new double[KeptArrays.MinLength - 1];
        KeptArrays.Give(small);
        Assert.NotSame(small, KeptArrays.Take(small.Length, clear: false));
    }

    /// <summary>
    /// The Gram source's k x k matrices and the metrics' predictor are kept between fits: a fit after another fit of the same
    /// sizes on other data (its matrices handed back full of that fit's values) gives the bits of the first fit.
    /// </summary>
    [Theory]
    [InlineData(Penalty.Lasso, ValidationMethod.KFold, false)]
    [InlineData(Penalty.Lasso, ValidationMethod.KFold, true)]
    [InlineData(Penalty.Ridge, ValidationMethod.None, false)]
    [InlineData(Penalty.Lasso, ValidationMethod.Holdout, true)]
    public void AFitOnKeptMatricesGivesTheBitsOfAFitOnFreshOnes(Penalty penalty, ValidationMethod validation, bool weighted)
    {
        const int n = 17_000, p = 130;   // k = 131: k x k and n above KeptArrays.MinLength
        var x = SyntheticData.Gaussian(n, p, seed: 41);
        var other = SyntheticData.Gaussian(n, p, seed: 42, signal: 20, noise: 3.0);
        var weights = weighted ? Enumerable.Range(0, n).Select(i => 0.5 + (i * 37 % 11) / 10.0).ToArray() : null;
        var spec = SyntheticData.Spec(p, penalty) with
        {
            Lambdas = null,
            Path = new LambdaPathSpec(Count: 12),
            Validation = validation,
            KFold = validation == ValidationMethod.KFold ? new KFoldSpec(Folds: 4, Seed: 3) : null,
            Weights = weights,
            MaxThreads = 2,
        };
        var first = FitEngine.Fit(x, spec);
        FitEngine.Fit(other, spec);
        var again = FitEngine.Fit(x, spec);
        Assert.Equal(first.Path.Length, again.Path.Length);
        for (int l = 0; l < first.Path.Length; l++)
        {
            Assert.Equal(first.Path[l].Intercept, again.Path[l].Intercept);
            Assert.Equal(first.Path[l].Coefficients, again.Path[l].Coefficients);
        }
        Assert.Equal(first.Curve?.Mean, again.Curve?.Mean);
        Assert.Equal(((Numerics.Metrics.RegressionMetrics)first.TrainMetrics!).Mse, ((Numerics.Metrics.RegressionMetrics)again.TrainMetrics!).Mse);
        Assert.Equal(first.Prior?.DegreesOfFreedom, again.Prior?.DegreesOfFreedom);
    }
}
