namespace RegService.Numerics.Data;

/// <summary>
/// Lengths of arrays that hold products of sizes (p x p Gram matrices, n x p designs), computed in 64 bits:
/// a product that one .NET array cannot hold is a clear <see cref="ArgumentException"/>, never an overflowed
/// <c>int</c> (which would wrap or surface as an <see cref="OverflowException"/>).
/// </summary>
public static class ArraySizes
{
    /// <summary>The most elements one array holds (<see cref="Array.MaxLength"/>).</summary>
    public static long MaxLength => Array.MaxLength;

    /// <summary><paramref name="rows"/> * <paramref name="columns"/> as an array length.</summary>
    /// <param name="rows">A non-negative size.</param>
    /// <param name="columns">A non-negative size.</param>
    /// <param name="what">What the array is, for the message (for example "the Gram matrix of 50000 features").</param>
    /// <exception cref="ArgumentException">The product exceeds <see cref="MaxLength"/>.</exception>
    public static int Product(int rows, int columns, string what)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        long length = (long)rows * columns;
        if (length > MaxLength)
            throw new ArgumentException(
                $"{what} needs {rows} x {columns} = {length:N0} values, more than one array holds ({MaxLength:N0}); use fewer features or rows, or another solver");
        return (int)length;
    }

    /// <summary><paramref name="k"/> * <paramref name="k"/> as an array length (a square matrix).</summary>
    /// <exception cref="ArgumentException">The square exceeds <see cref="MaxLength"/>.</exception>
    public static int Square(int k, string what) => Product(k, k, what);
}
