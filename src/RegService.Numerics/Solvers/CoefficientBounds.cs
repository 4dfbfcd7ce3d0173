namespace RegService.Numerics.Solvers;

/// <summary>
/// Box constraints lower_j ≤ b_j ≤ upper_j on the coefficients (glmnet's lower.limits and upper.limits), on the scale a
/// solver works on. glmnet's semantics: the limits are given for the original-scale coefficient b_j; a solver on
/// standardized features z_j = (x_j - m_j) / s_j clamps beta_j = s_j b_j at s_j lower_j and s_j upper_j (glmnet scales its
/// cl by xs). lower_j ≤ 0 ≤ upper_j, so b = 0 is always feasible and lambda_max, the strong rule and the KKT check over
/// coefficients held at 0 stay glmnet's (|g_j| ≤ lambda alpha v_j still proves a coefficient at 0 optimal).
/// </summary>
/// <param name="Lower">Per coordinate, -infinity where unbounded below.</param>
/// <param name="Upper">Per coordinate, +infinity where unbounded above.</param>
public sealed record CoefficientBounds(double[] Lower, double[] Upper)
{
    /// <summary>
    /// The bounds of coordinates <paramref name="features"/> (or every feature) on the standardized scale: the original-scale
    /// limits times <paramref name="scales"/>; null when neither limit is given.
    /// </summary>
    public static CoefficientBounds? Standardized(double[]? lower, double[]? upper, ReadOnlySpan<double> scales, int[]? features = null)
    {
        if (!AnyFinite(lower) && !AnyFinite(upper)) return null;
        int q = features?.Length ?? scales.Length;
        var lo = new double[q];
        var hi = new double[q];
        for (int u = 0; u < q; u++)
        {
            int j = features is null ? u : features[u];
            lo[u] = lower is null ? double.NegativeInfinity : lower[j] * scales[j];
            hi[u] = upper is null ? double.PositiveInfinity : upper[j] * scales[j];
        }
        return new CoefficientBounds(lo, hi);
    }

    /// <summary>The bounds of coordinates <paramref name="set"/> of these (indices into them).</summary>
    public CoefficientBounds Restrict(ReadOnlySpan<int> set)
    {
        var lo = new double[set.Length];
        var hi = new double[set.Length];
        for (int a = 0; a < set.Length; a++)
        {
            lo[a] = Lower[set[a]];
            hi[a] = Upper[set[a]];
        }
        return new CoefficientBounds(lo, hi);
    }

    /// <summary>b clamped into [lower_j, upper_j]: glmnet's b_j = max(cl_1j, min(cl_2j, b_j)) after the soft threshold.</summary>
    public double Clamp(int j, double b) => Math.Max(Lower[j], Math.Min(Upper[j], b));

    /// <summary>True when some limit is finite (an infinite one bounds nothing).</summary>
    public static bool AnyFinite(double[]? limits) => limits is not null && limits.Any(double.IsFinite);

    /// <summary>True when some limit is 0 (glmnet then turns its fdev path stop off).</summary>
    public static bool AnyZero(double[]? limits) => limits is not null && limits.Any(l => l == 0);
}
