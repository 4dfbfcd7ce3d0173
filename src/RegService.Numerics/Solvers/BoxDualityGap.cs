using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The Fenchel duality gap of the box-constrained elastic net (glmnet's lower.limits / upper.limits), on the objective's
/// scale P(b) = (1/2n)||y - Zb||² + sum_j h_j(b_j) with h_j(b) = lambda v_j [alpha |b| + (1 - alpha)/2 b²] on
/// [lower_j, upper_j] (and +infinity outside). Its dual is D(theta) = (1/n) theta'y - (1/2n)||theta||² - sum_j h_j*(z_j'theta/n),
/// and the dual point is the residual, theta = s r, rescaled (s &lt; 1) only where a conjugate would be infinite.
/// </summary>
/// <remarks>
/// The conjugate per coordinate, h*(t) = sup over the box of (t b - h(b)), in closed form: with a = |t| - lambda alpha v
/// and c the limit on the side of t's sign (upper for t &gt; 0, -lower for t &lt; 0), h*(t) = 0 when a ≤ 0; otherwise
/// the maximizer is the unconstrained one, a / (lambda (1 - alpha) v), clipped to c, and h*(t) = a m - lambda (1 - alpha) v m² / 2
/// at that m (a c when the quadratic part is 0). It is infinite only when both the quadratic part is 0 (alpha = 1, or an
/// unpenalized feature) and c is: then s caps t = s g_j at lambda alpha v_j on that side, as scikit-learn's
/// positive=True dual point does (its max of z_j'r over the features bounded on one side only), so with finite limits,
/// or alpha &lt; 1, s = 1 and the dual point is r itself. Unpenalized features with an open side are left out of the cap,
/// as the unbounded gap leaves them out of its dual norm (their g_j is 0 at a solution inside that side).
/// With the identity r'y - r'r = r'Zb the gap reads as a sum of Fenchel-Young terms, each non-negative:
/// gap = P(b) - D(s r) = sum_j [h_j(b_j) + h_j*(s g_j) - s g_j b_j] + (1 - s)² rss / 2 (g_j = z_j'r/n, rss = r'r/n), so it is
/// 0 only at the optimum, and no difference of two O(||y||²) terms enters. It bounds the objective's excess, and since
/// P is (Z'Z/n + lambda (1 - alpha) V)-strongly convex over the box, the distance to the solution b*:
/// (1/2n)||Z(b - b*)||² + lambda (1 - alpha)/2 sum_j v_j (b_j - b*_j)² ≤ P(b) - P* ≤ gap.
/// For alpha = 1 and lower limits 0 (no upper) it is scikit-learn's <c>dual_gap_</c> of <c>Lasso(positive=True)</c>;
/// for alpha &lt; 1 scikit-learn's ElasticNet takes another dual point (through its augmented design), so the two gaps differ
/// away from the optimum and both vanish at it.
/// </remarks>
internal static class BoxDualityGap
{
    /// <param name="beta">The standardized coefficients b, inside the box.</param>
    /// <param name="gradient">g_j = (1/n) z_j'r, exact on the support; off it an upper bound of |g_j| at most lambda alpha v_j
    /// (a coordinate the KKT check settled by a bound) still gives the same gap.</param>
    /// <param name="v">Penalty factors.</param>
    /// <param name="bounds">The limits on the standardized scale (infinite where open); null for none (the plain elastic net,
    /// whose Fenchel gap this then is: the one taken for ridge, alpha = 0, where scikit-learn's dual point is not defined).</param>
    /// <param name="rss">(1/n) r'r.</param>
    /// <param name="lambda">The penalty strength.</param>
    /// <param name="alpha">The L1 share (l1Ratio).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Of(ReadOnlySpan<double> beta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, CoefficientBounds? bounds,
        double rss, double lambda, double alpha)
    {
        double l1 = lambda * alpha, l2 = lambda * (1 - alpha);
        // The rescaling: only a coordinate with no quadratic part and an open side can make the conjugate infinite.
        double s = 1;
        for (int u = 0; u < beta.Length; u++)
        {
            if (!(v[u] > 0) || l2 > 0) continue;
            double g = gradient[u];
            double open = g > 0 ? Upper(bounds, u) : -Lower(bounds, u);
            if (double.IsPositiveInfinity(open) && Math.Abs(g) * s > l1 * v[u]) s = l1 * v[u] / Math.Abs(g);
        }
        double gap = 0.5 * (1 - s) * (1 - s) * rss;
        for (int u = 0; u < beta.Length; u++)
        {
            double b = beta[u], t = s * gradient[u];
            double primal = v[u] * (l1 * Math.Abs(b) + 0.5 * l2 * b * b);   // h(b)
            gap += primal + Conjugate(t, l1 * v[u], l2 * v[u], t > 0 ? Upper(bounds, u) : -Lower(bounds, u)) - t * b;
        }
        return Math.Max(gap, 0);
    }

    private static double Upper(CoefficientBounds? bounds, int u) => bounds is null ? double.PositiveInfinity : bounds.Upper[u];

    private static double Lower(CoefficientBounds? bounds, int u) => bounds is null ? double.NegativeInfinity : bounds.Lower[u];

    /// <summary>
    /// sup over 0 ≤ m ≤ <paramref name="limit"/> of (|t| - l1) m - l2 m² / 2: the conjugate of l1 |b| + l2 b² / 2 on the box, on t's
    /// side. An infinite value (no quadratic part, an open side) is 0 here: the rescaling has capped |t| at l1 there, up to rounding.
    /// </summary>
    internal static double Conjugate(double t, double l1, double l2, double limit)
    {
        double a = Math.Abs(t) - l1;
        if (!(a > 0)) return 0;
        if (l2 > 0)
        {
            double m = Math.Min(limit, a / l2);   // the unconstrained maximizer, clipped to the box
            return m * (a - 0.5 * l2 * m);
        }
        return double.IsPositiveInfinity(limit) ? 0 : a * limit;
    }
}
