using RegService.Numerics.Fitting;
using RegService.Numerics.Solvers;
using RegService.Numerics.Tests.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// A path point stored by its nonzero coefficients (<see cref="SparseCoefficients"/>) reads as the dense point it stands for.
/// </summary>
public class PathPointTests
{
    private static PathPoint Sparse() =>
        new(0.5, 1.25, new SparseCoefficients(6, [1, 4], [2.0, -0.5], [4.0, -1.0]), null) { DevianceRatio = 0.3 };

    [Fact]
    public void SparsePointReadsAsItsDenseVectors()
    {
        var point = Sparse();
        Assert.Equal(2, point.NonZero);
        Assert.Equal([0, 2.0, 0, 0, -0.5, 0], point.Coefficients);
        Assert.Equal([0, 4.0, 0, 0, -1.0, 0], point.StandardizedCoefficients);
        Assert.Same(point.Coefficients, point.Coefficients);
        var (indices, values) = point.NonZeroCoefficients();
        Assert.Equal([1, 4], indices);
        Assert.Equal([2.0, -0.5], values);
    }

    [Fact]
    public void ReplacedCoefficientsAreTheOnesRead()
    {
        var point = Sparse() with { Coefficients = [0, 0, 3.0, 0, 0, -0.0] };
        var (indices, values) = point.NonZeroCoefficients();
        // -0 is kept, as the stored result keeps what the engine gave.
        Assert.Equal([2, 5], indices);
        Assert.Equal(3.0, values[0]);
        Assert.True(double.IsNegative(values[1]));
        Assert.Equal([0, 4.0, 0, 0, -1.0, 0], point.StandardizedCoefficients);
    }

    [Fact]
    public void DensePointListsItsNonZeros()
    {
        var point = new PathPoint(0.1, 0, [0, 1.5, 0], [0, 3.0, 0], 1, null);
        var (indices, values) = point.NonZeroCoefficients();
        Assert.Equal([1], indices);
        Assert.Equal([1.5], values);
    }

    [Fact]
    public void WideGaussianPathPointsMatchTheirNonZeroList()
    {
        const int n = 60, p = 400;
        var x = SyntheticData.Gaussian(n, p, seed: 7, signal: 10, rho: 0.1);
        var spec = SyntheticData.Spec(p, Penalty.Lasso, 1.0) with { Path = new(Count: 30) };
        var fit = GaussianPath.Naive(x, spec.FeatureColumns, spec.TargetColumn, spec.FeatureNames, PathFitter.Settings(spec, 1));
        Assert.Contains(fit.Points, pt => pt.NonZero > 0);
        foreach (var point in fit.Points)
        {
            var (indices, values) = point.NonZeroCoefficients();
            Assert.Equal(point.NonZero, indices.Length);
            Assert.Equal(p, point.Coefficients.Length);
            Assert.Equal(p, point.StandardizedCoefficients.Length);
            for (int k = 0; k < indices.Length; k++)
            {
                Assert.Equal(values[k], point.Coefficients[indices[k]]);
                Assert.Equal(values[k] * fit.FeatureScales[indices[k]], point.StandardizedCoefficients[indices[k]], 12);
            }
            Assert.Equal(point.NonZero, point.Coefficients.Count(c => c != 0));
        }
    }
}
