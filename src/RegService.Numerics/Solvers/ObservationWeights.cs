namespace RegService.Numerics.Solvers;

/// <summary>
/// Observation weights of the rows a path fits (glmnet's <c>weights</c>): those of the rows fitted, rescaled to sum to their
/// count, so a fold fit rescales its own; and the weighted moments glmnet standardizes a feature with.
/// </summary>
internal static class ObservationWeights
{
    /// <summary>
    /// The weights of <paramref name="rows"/> (all when null) of <paramref name="weights"/> (indexed like the data's
    /// <paramref name="dataRows"/> rows), rescaled to sum to the rows fitted; null without weights. Each must be finite and
    /// non-negative and some positive.
    /// </summary>
    public static double[]? Fitted(double[]? weights, int[]? rows, int dataRows)
    {
        if (weights is null) return null;
        if (weights.Length != dataRows) throw new ArgumentException($"{weights.Length} weights for {dataRows} rows");
        int n = rows?.Length ?? dataRows;
        var v = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            int r = rows is null ? i : rows[i];
            double w = weights[r];
            if (!(double.IsFinite(w) && w >= 0)) throw new ArgumentException($"the weight of row {r} is {w}; weights must be finite and >= 0");
            total += v[i] = w;
        }
        if (!(total > 0)) throw new ArgumentException($"every weight is 0 on the {n} rows fitted");
        double factor = n / total;   // glmnet rescales the weights to sum to the rows fitted
        for (int i = 0; i < n; i++) v[i] *= factor;
        return v;
    }

    /// <summary>
    /// Mean, variance about it and mean square of <paramref name="column"/>, each weighted by <paramref name="weights"/>
    /// (summing to the rows; null: all 1) and divided by the rows (glmnet's 1/n convention).
    /// </summary>
    public static (double Mean, double Variance, double Square) Moments(ReadOnlySpan<double> column, double[]? weights)
    {
        int n = column.Length;
        if (weights is null)
        {
            double mean = Vec.Sum(column) / n;
            return (mean, Vec.SumSquaredDeviations(column, mean) / n, Vec.SumSquaredDeviations(column, 0.0) / n);
        }
        double m = LogisticKernels.WeightedMoments(column, 0.0, weights).First / n;
        return (m, Math.Max(LogisticKernels.WeightedMoments(column, m, weights).Second / n, 0.0),
                LogisticKernels.WeightedMoments(column, 0.0, weights).Second / n);
    }
}
