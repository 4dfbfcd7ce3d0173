using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>glmnet's one scale convention and the zero-variance rule, in the one place every solver takes them from.</summary>
public class StandardizationTests
{
    [Theory]
    [InlineData(true, 3.0, 2.0, 4.0)]
    [InlineData(false, 0.0, 2.0, 13.0)]   // not centered, scaled by the sd about the mean (not the rms, 3.61), spread about 0
    public void StandardizationScalesByTheStandardDeviationWithOrWithoutAnIntercept(bool intercept, double center, double scale, double spread)
    {
        var s = Standardization.Of(mean: 3, variance: 4, intercept, standardize: true);
        Assert.Equal((center, false), (s.Center, s.Excluded));
        Assert.Equal(scale, s.Scale, 1e-12);
        Assert.Equal(spread, s.Spread, 1e-12);
        Assert.Equal(1.0, Standardization.Of(mean: 3, variance: 4, intercept, standardize: false).Scale);
    }

    [Fact]
    public void AConstantFeatureIsLeftOutWithOrWithoutAnIntercept()
    {
        Assert.True(Standardization.Of(5, 1e-30, true, true).Excluded);
        Assert.True(Standardization.Of(5, 1e-30, false, true).Excluded);
        Assert.True(Standardization.Of(5, 0, false, false).Excluded);
        Assert.False(Standardization.Of(5, 1e-20, true, true).Excluded);
        Assert.False(Standardization.Of(5, 1e-20, false, true).Excluded);
    }
}
