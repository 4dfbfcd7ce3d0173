using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>glmnet's two scale conventions and the zero-variance rule, in the one place every solver takes them from.</summary>
public class StandardizationTests
{
    [Theory]
    [InlineData(true, ScaleConvention.StandardDeviation, 3.0, 2.0, 4.0, false)]
    [InlineData(false, ScaleConvention.StandardDeviation, 0.0, 2.0, 13.0, false)]   // scaled by the sd, spread about 0
    [InlineData(false, ScaleConvention.AboutCenter, 0.0, 3.605551275463989, 13.0, false)]   // scaled by the rms
    public void StandardizationFollowsTheFamilysConvention(bool intercept, ScaleConvention convention, double center, double scale, double spread, bool excluded)
    {
        var s = Standardization.Of(mean: 3, variance: 4, intercept, standardize: true, convention);
        Assert.Equal((center, excluded), (s.Center, s.Excluded));
        Assert.Equal(scale, s.Scale, 1e-12);
        Assert.Equal(spread, s.Spread, 1e-12);
    }

    [Fact]
    public void AConstantFeatureIsLeftOutExceptByLognetWithoutAnIntercept()
    {
        Assert.True(Standardization.Of(5, 1e-30, true, true, ScaleConvention.AboutCenter).Excluded);
        Assert.True(Standardization.Of(5, 1e-30, false, true, ScaleConvention.StandardDeviation).Excluded);
        var kept = Standardization.Of(5, 0, false, true, ScaleConvention.AboutCenter);
        Assert.False(kept.Excluded);
        Assert.Equal(5, kept.Scale, 1e-12);
        Assert.False(Standardization.Of(5, 1e-20, true, true, ScaleConvention.StandardDeviation).Excluded);
    }
}
