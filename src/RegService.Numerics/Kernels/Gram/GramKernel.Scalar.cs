namespace RegService.Numerics.Kernels;

/// <summary>The scalar twins of the Gram kernels: one thread, one term at a time in row order (references for tests).</summary>
public static partial class GramKernel
{
    /// <summary>
    /// Plain scalar twin of <see cref="ShiftedGram"/> with the same contract: one thread, one term at a time in row order.
    /// Meant as a reference for tests; it is far slower.
    /// </summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices, each in <c>[0, x.Columns)</c>.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k shifted column sums.</param>
    public static void ShiftedGramScalar(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows,
                                         Span<double> gram, Span<double> sums)
    {
        int k = Validate(x, cols, shift, gram, sums);
        if (rows is not null)
            ValidateRows(rows, x.Rows, out _);
        ScalarCore(x, cols, shift, default, rows, rows?.Length ?? x.Rows, k, gram, sums);
    }

    /// <summary>Plain scalar twin of <see cref="WeightedShiftedGram"/>: one thread, one term at a time in row order. For tests.</summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="weights">One weight per selected row.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k weighted shifted column sums.</param>
    public static void WeightedShiftedGramScalar(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                                 int[]? rows, Span<double> gram, Span<double> sums)
    {
        int k = Validate(x, cols, shift, gram, sums);
        if (rows is not null)
            ValidateRows(rows, x.Rows, out _);
        int count = rows?.Length ?? x.Rows;
        ValidateWeights(weights, count);
        ScalarCore(x, cols, shift, weights, rows, count, k, gram, sums);
    }

    /// <summary>
    /// The twins' one loop: weight w_i (1 where <paramref name="weights"/> is empty: 1 · d is d, so the plain twin's terms are its
    /// own) times the shifted values, one term at a time in row order.
    /// </summary>
    private static void ScalarCore(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                   int[]? rows, int count, int k, Span<double> gram, Span<double> sums)
    {
        bool plain = weights.IsEmpty;
        for (int a = 0; a < k; a++)
        {
            ReadOnlySpan<double> ca = x.Column(cols[a]);
            double sa = shift[a];
            double s = 0;
            for (int i = 0; i < count; i++)
                s += (plain ? 1.0 : weights[i]) * (ca[rows is null ? i : rows[i]] - sa);
            sums[a] = s;
            for (int b = a; b < k; b++)
            {
                ReadOnlySpan<double> cb = x.Column(cols[b]);
                double sb = shift[b];
                double g = 0;
                for (int i = 0; i < count; i++)
                {
                    int r = rows is null ? i : rows[i];
                    g += (plain ? 1.0 : weights[i]) * (ca[r] - sa) * (cb[r] - sb);
                }
                gram[a * k + b] = g;
                gram[b * k + a] = g;
            }
        }
    }
}
