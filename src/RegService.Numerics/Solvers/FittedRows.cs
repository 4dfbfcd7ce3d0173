namespace RegService.Numerics.Solvers;

/// <summary>The rows a solver fits, as contiguous feature columns.</summary>
internal static class FittedRows
{
    /// <summary>
    /// The data set's own columns when every row is fitted (<paramref name="rows"/> null), else a compact copy of the
    /// selected rows of each feature, so every later pass reads contiguous columns. Returns the matrix and the column
    /// of each feature in it.
    /// </summary>
    public static (DenseMatrix Source, int[] Columns) Features(DenseMatrix x, int[] featureCols, int[]? rows)
    {
        if (rows is null) return (x, (int[])featureCols.Clone());
        int n = rows.Length, p = featureCols.Length;
        var source = new DenseMatrix(n, p);
        for (int j = 0; j < p; j++)
        {
            var from = x.Column(featureCols[j]);
            var to = source.Column(j);
            for (int i = 0; i < n; i++) to[i] = from[rows[i]];
        }
        return (source, [.. Enumerable.Range(0, p)]);
    }
}
