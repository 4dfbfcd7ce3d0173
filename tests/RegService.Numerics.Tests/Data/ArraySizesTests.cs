using RegService.Numerics.Data;
using RegService.Numerics.Solvers;
using RegService.Numerics.Training;

namespace RegService.Numerics.Tests.Data;

/// <summary>Products of sizes are computed in 64 bits: too large is a clear ArgumentException, never a wrapped int.</summary>
public class ArraySizesTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(0, int.MaxValue, 0)]
    [InlineData(3, 8000, 24000)]
    [InlineData(46340, 46340, 2147395600)]
    [InlineData(1, 2147483591, 2147483591)]
    public void AllowedProductsAreExact(int rows, int columns, int expected) =>
        Assert.Equal(expected, ArraySizes.Product(rows, columns, "test"));

    [Theory]
    [InlineData(46341, 46341)]   // p * p overflows int: 2,147,488,281
    [InlineData(46342, 46342)]
    [InlineData(65536, 65536)]   // wraps to exactly 0 in 32 bits
    [InlineData(int.MaxValue, 2)]
    [InlineData(1, 2147483592)]  // one more than Array.MaxLength
    public void TooLargeProductsThrowAClearArgumentException(int rows, int columns)
    {
        var error = Assert.Throws<ArgumentException>(() => ArraySizes.Product(rows, columns, "the Gram matrix"));
        Assert.Contains("the Gram matrix needs", error.Message);
        Assert.Contains("more than one array holds", error.Message);
    }

    [Fact]
    public void SquareIsTheProductWithItself()
    {
        Assert.Equal(46340 * 46340, ArraySizes.Square(46340, "a"));
        Assert.Throws<ArgumentException>(() => ArraySizes.Square(46341, "a"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArraySizes.Square(-1, "a"));
    }

    [Fact]
    public void AMatrixTooLargeForOneArrayIsRejectedBeforeAllocating()
    {
        Assert.Throws<ArgumentException>(() => new DenseMatrix(100_000, 30_000));
        Assert.Throws<ArgumentException>(() => new NetworkLayout(100_000, [30_000]));
    }

    [Fact]
    public void TheNormalSystemOf46341FeaturesIsRejectedBeforeAllocating()
    {
        // k = p + 1 = 46342 would overflow k * k; the sizes are checked before any p x p array is made.
        int p = 46341;
        var names = Enumerable.Range(0, p).Select(j => $"x{j}").ToArray();
        var error = Assert.Throws<ArgumentException>(() =>
            NormalSystem.From([], new double[p + 1], new double[p + 1], 10, names, standardize: true, fitIntercept: true));
        Assert.Contains("46341 features", error.Message);
    }
}
