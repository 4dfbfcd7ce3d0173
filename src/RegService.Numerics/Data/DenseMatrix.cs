namespace RegService.Numerics.Data;

/// <summary>
/// A dense matrix of float64 stored column-major: column <c>j</c> occupies
/// <c>Data[j * Rows .. (j + 1) * Rows)</c>. This is the layout of a stored data set and
/// of every solver's design matrix, so a feature is one contiguous span.
/// </summary>
public sealed class DenseMatrix
{
    /// <summary>Creates a zero matrix.</summary>
    public DenseMatrix(int rows, int columns)
        : this(rows, columns, new double[ArraySizes.Product(rows, columns, $"a {rows} x {columns} matrix")])
    {
    }

    /// <summary>Wraps column-major <paramref name="data"/> (length rows * columns) without copying.</summary>
    public DenseMatrix(int rows, int columns, double[] data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (data.LongLength != (long)rows * columns)
            throw new ArgumentException($"data has {data.LongLength} values but {rows} x {columns} needs {(long)rows * columns}", nameof(data));
        Rows = rows;
        Columns = columns;
        Data = data;
    }

    public int Rows { get; }
    public int Columns { get; }

    /// <summary>The column-major values.</summary>
    public double[] Data { get; }

    public double this[int row, int column]
    {
        get => Data[(long)column * Rows + row];
        set => Data[(long)column * Rows + row] = value;
    }

    public Span<double> Column(int j) => Data.AsSpan(checked(j * Rows), Rows);
}
