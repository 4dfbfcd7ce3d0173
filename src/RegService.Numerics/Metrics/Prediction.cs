namespace RegService.Numerics.Metrics;

/// <summary>
/// Predictions of a fitted linear model on new rows: the linear predictor <c>eta = b0 + x.b</c>, and the
/// mean response through the family's link (gaussian: <c>eta</c>; binomial: <c>P(y = 1) = 1 / (1 + e^-eta)</c>).
/// </summary>
public static class Prediction
{
    /// <summary>
    /// <c>eta = b0 + X[:, columns] b</c> over every row of the column-major <paramref name="x"/>, one column at a
    /// time (contiguous reads); <paramref name="coef"/>[j] multiplies column <paramref name="columns"/>[j].
    /// </summary>
    /// <remarks>The vectorized axpy adds in another order than a row-by-row dot product, so the last bits can differ from it.</remarks>
    public static void LinearPredictor(DenseMatrix x, ReadOnlySpan<int> columns, double intercept, ReadOnlySpan<double> coef, Span<double> eta)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (columns.Length != coef.Length) throw new ArgumentException($"{coef.Length} coefficients for {columns.Length} columns");
        if (eta.Length != x.Rows) throw new ArgumentException($"eta has {eta.Length} elements but the matrix has {x.Rows} rows");
        eta.Fill(intercept);
        for (int j = 0; j < columns.Length; j++)
        {
            if (coef[j] == 0) continue;
            Vec.Axpy(coef[j], x.Column(columns[j]), eta);   // eta += b_j x_j
        }
    }

    /// <summary>The mean response per row: fitted values (gaussian) or probabilities of class 1 (binomial).</summary>
    public static double[] Predict(DenseMatrix x, ReadOnlySpan<int> columns, double intercept, ReadOnlySpan<double> coef, Family family)
    {
        var mean = new double[x.Rows];
        LinearPredictor(x, columns, intercept, coef, mean);
        if (family == Family.Binomial)
            for (int i = 0; i < mean.Length; i++) mean[i] = Logistic(mean[i]);
        return mean;
    }

    /// <summary>
    /// <c>1 / (1 + e^-eta)</c>, written so that neither branch overflows: for <c>eta &lt; 0</c> it is
    /// <c>e^eta / (1 + e^eta)</c>. Saturates to exactly 0 or 1 only where a double cannot tell the difference.
    /// </summary>
    public static double Logistic(double eta)
    {
        if (eta >= 0) return 1 / (1 + Math.Exp(-eta));
        double e = Math.Exp(eta);
        return e / (1 + e);
    }
}
