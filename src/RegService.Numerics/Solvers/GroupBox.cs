namespace RegService.Numerics.Solvers;

/// <summary>
/// The group soft threshold with a box: the minimizer over beta in R^K of
/// <code>
/// (a/2) ||beta||² - u'beta + c ||beta||_2     subject to  lower ≤ beta_k ≤ upper (every k),  lower ≤ 0 ≤ upper
/// </code>
/// (a &gt; 0, c ≥ 0): the block update of a grouped multinomial fit (<see cref="MultinomialPath"/>) when
/// <see cref="CoefficientBounds"/> hold its coefficients. Without a box it is u (1 - c/||u||)_+ / a.
/// </summary>
/// <remarks>
/// The KKT conditions with tau = ||beta|| &gt; 0 make the problem separable: beta_k = clamp(u_k s, lower, upper) with
/// s = tau / (a tau + c), so tau solves tau = ||clamp(u s(tau), lower, upper)||. The ratio ||clamp(u s(tau))|| / tau falls
/// as tau grows (each term is min(|u_k| / (a tau + c), bound / tau)), from ||t|| / c at 0 to at most 1 at tau = ||u|| / a,
/// so the root is unique and bisection finds it. beta = 0 exactly when ||t|| ≤ c, t being u with the components the box
/// blocks at 0 removed (u_k &lt; 0 when lower is 0, u_k &gt; 0 when upper is 0): 0 is then optimal with the subgradient
/// t / c. glmnet's chkbnds instead clamps the worst component and re-solves the rest, one component at a time.
/// </remarks>
internal static class GroupBox
{
    /// <summary>True when the unboxed minimizer u * factor leaves [lower, upper] in some component.</summary>
    public static bool Binds(ReadOnlySpan<double> u, double factor, double lower, double upper)
    {
        if (factor == 0 || (double.IsNegativeInfinity(lower) && double.IsPositiveInfinity(upper))) return false;
        foreach (double v in u)
        {
            double b = v * factor;
            if (b < lower || b > upper) return true;
        }
        return false;
    }

    /// <summary>The minimizer (see the type) into <paramref name="beta"/>, which may be <paramref name="u"/> itself.</summary>
    public static void Shrink(ReadOnlySpan<double> u, double a, double c, double lower, double upper, Span<double> beta)
    {
        if (!(a > 0)) throw new ArgumentOutOfRangeException(nameof(a), a, "the curvature must be positive");
        int K = u.Length;
        if (c == 0)
        {
            // No group term: each component alone, clamped.
            for (int k = 0; k < K; k++) beta[k] = Math.Max(lower, Math.Min(upper, u[k] / a));
            return;
        }
        double blocked = 0, all = 0;
        for (int k = 0; k < K; k++)
        {
            double v = u[k];
            all += v * v;
            double t = v < 0 ? (lower < 0 ? v : 0) : (upper > 0 ? v : 0);
            blocked += t * t;
        }
        if (Math.Sqrt(blocked) <= c)
        {
            beta.Clear();
            return;
        }
        // Bisection on tau in (0, ||u|| / a]: Excess(tau) = ||clamp(u s(tau))|| - tau is positive below the root, not above.
        double lo = 0, hi = Math.Sqrt(all) / a;
        for (int it = 0; it < 200 && hi - lo > 1e-16 * hi; it++)
        {
            double mid = 0.5 * (lo + hi);
            if (Norm(u, mid / (a * mid + c), lower, upper) > mid) lo = mid;
            else hi = mid;
        }
        double tau = 0.5 * (lo + hi), s = tau / (a * tau + c);
        for (int k = 0; k < K; k++) beta[k] = Math.Max(lower, Math.Min(upper, u[k] * s));
    }

    private static double Norm(ReadOnlySpan<double> u, double s, double lower, double upper)
    {
        double sum = 0;
        foreach (double v in u)
        {
            double b = Math.Max(lower, Math.Min(upper, v * s));
            sum += b * b;
        }
        return Math.Sqrt(sum);
    }
}
