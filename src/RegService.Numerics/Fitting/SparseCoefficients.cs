namespace RegService.Numerics.Fitting;

/// <summary>
/// A path point's coefficients by their nonzero entries: on wide data a lasso path is nearly all zeros, and 100 points of
/// dense original and standardized vectors (2 x 100 x p doubles, kept for the fit's lifetime) cost more in allocation and
/// garbage collection than fitting them (docs/benchmarks.md, "Wide lasso").
/// </summary>
/// <param name="Length">The dense vectors' length (every feature, excluded ones included).</param>
/// <param name="Indices">Feature indices of the nonzero coefficients, ascending.</param>
/// <param name="Values">The original-scale coefficients at <paramref name="Indices"/>.</param>
/// <param name="StandardizedValues">The standardized coefficients at <paramref name="Indices"/>.</param>
public sealed record SparseCoefficients(int Length, int[] Indices, double[] Values, double[] StandardizedValues)
{
    /// <summary>Entries stored.</summary>
    public int Count => Indices.Length;

    /// <summary>The dense vector of <paramref name="values"/> (<see cref="Values"/> or <see cref="StandardizedValues"/>).</summary>
    internal double[] ToDense(double[] values)
    {
        var dense = new double[Length];
        for (int k = 0; k < Indices.Length; k++) dense[Indices[k]] = values[k];
        return dense;
    }
}
