namespace RegService.Numerics.Paths;

/// <summary>
/// Where a lambda falls on a fitted path: the two neighbouring path points and the weight of the first, as glmnet's
/// <c>lambda.interp</c> (R glmnet 4.1, used by <c>coef(fit, s = , exact = FALSE)</c> and <c>predict</c>) computes them.
/// The model at <c>s</c> is <c>Fraction * model[Left] + (1 - Fraction) * model[Right]</c>, intercept and every
/// coefficient alike.
/// </summary>
/// <param name="Left">The path point at the larger lambda (an index into the path as given).</param>
/// <param name="Right">The path point at the smaller lambda; equal to <paramref name="Left"/> on a point or outside the path.</param>
/// <param name="Fraction">The weight of <paramref name="Left"/>, in [0, 1]; 1 when <paramref name="Left"/> equals <paramref name="Right"/>.</param>
/// <param name="Clamped">Whether <c>s</c> lay outside the path's range, so the nearer end point stands for it.</param>
public readonly record struct PathBlend(int Left, int Right, double Fraction, bool Clamped)
{
    /// <summary>Whether the model is a blend of two path points (false on a point or outside the path).</summary>
    public bool Interpolated => Left != Right;

    /// <summary><c>Fraction * left + (1 - Fraction) * right</c>.</summary>
    public double Blend(double left, double right) => Left == Right ? left : Fraction * left + (1 - Fraction) * right;
}

/// <summary>
/// glmnet's rule for coefficients between path lambdas (<c>coef(fit, s = , exact = FALSE)</c>): linear in lambda, not in
/// log lambda, between the two neighbouring path points; a lambda above the path's largest gives the largest's model and
/// one below the smallest the smallest's (glmnet clamps, it does not extrapolate); a one-lambda path gives its one model
/// for any lambda.
/// </summary>
/// <remarks>
/// glmnet's <c>lambda.interp(lambda, s)</c> maps the path to [0, 1] by <c>u_l = (lambda_1 - lambda_l) / (lambda_1 - lambda_k)</c>,
/// clamps <c>u_s</c> to [0, 1], finds <c>u_left &lt;= u_s &lt;= u_right</c> and weights the left point by
/// <c>(u_s - u_right) / (u_left - u_right)</c>, which equals <c>(s - lambda_right) / (lambda_left - lambda_right)</c>;
/// the same arithmetic is done here so the weights agree to the last bits. The path is taken in decreasing order of lambda
/// whatever order it is given in. One addition to glmnet: a lambda within a relative <c>tolerance</c> of a path lambda is
/// that point (a value printed in decimal and read back, for example).
/// </remarks>
public static class PathInterpolation
{
    /// <summary>R's .Machine$double.eps: neighbours closer than this (on the [0, 1] scale) count as one point, as in glmnet.</summary>
    private const double MachineEpsilon = 2.220446049250313e-16;

    /// <summary>The path points that give the model at <paramref name="s"/>.</summary>
    /// <param name="lambdas">The path's lambdas, distinct and positive, in any order (glmnet's are decreasing).</param>
    /// <param name="s">The lambda wanted, finite and &gt;= 0.</param>
    /// <param name="tolerance">A path lambda within this relative distance of <paramref name="s"/> is taken as it.</param>
    public static PathBlend Locate(ReadOnlySpan<double> lambdas, double s, double tolerance = 0)
    {
        if (lambdas.IsEmpty) throw new ArgumentException("a path of no lambdas has no model to interpolate", nameof(lambdas));
        if (!double.IsFinite(s) || s < 0) throw new ArgumentOutOfRangeException(nameof(s), s, "lambda must be finite and >= 0");
        for (int l = 0; l < lambdas.Length; l++)
            if (lambdas[l] == s || Math.Abs(lambdas[l] - s) <= tolerance * Math.Abs(lambdas[l]))
                return new PathBlend(l, l, 1, Clamped: false);
        if (lambdas.Length == 1) return new PathBlend(0, 0, 1, Clamped: true);

        // Decreasing order, as glmnet keeps its path (ties broken by position, so the order is stable).
        var order = new int[lambdas.Length];
        for (int l = 0; l < order.Length; l++) order[l] = l;
        var values = lambdas.ToArray();
        Array.Sort(order, (a, b) => values[b].CompareTo(values[a]) is var c && c != 0 ? c : a.CompareTo(b));

        double first = values[order[0]], last = values[order[^1]];
        if (s >= first) return new PathBlend(order[0], order[0], 1, Clamped: true);
        if (s <= last) return new PathBlend(order[^1], order[^1], 1, Clamped: true);

        // u = (lambda_1 - lambda) / (lambda_1 - lambda_k): 0 at the largest lambda, 1 at the smallest.
        double span = first - last;
        double U(double lambda) => (first - lambda) / span;
        double us = U(s);
        int right = 1;
        while (right < order.Length - 1 && U(values[order[right]]) < us) right++;
        int left = right - 1;
        double uLeft = U(values[order[left]]), uRight = U(values[order[right]]);
        if (us == uRight) return new PathBlend(order[right], order[right], 1, Clamped: false);
        if (us == uLeft || Math.Abs(uLeft - uRight) < MachineEpsilon)
            return new PathBlend(order[left], order[left], 1, Clamped: false);
        return new PathBlend(order[left], order[right], (us - uRight) / (uLeft - uRight), Clamped: false);
    }

    /// <summary>The model at <paramref name="point"/>: the blended intercept and dense coefficients.</summary>
    /// <param name="point">Where on the path, from <see cref="Locate"/>.</param>
    /// <param name="intercepts">Per path lambda.</param>
    /// <param name="coefficients">Per path lambda, every one of the same length.</param>
    public static (double Intercept, double[] Coefficients) Model(PathBlend point, IReadOnlyList<double> intercepts, IReadOnlyList<double[]> coefficients) =>
        (point.Blend(intercepts[point.Left], intercepts[point.Right]), Blend(point, coefficients[point.Left], coefficients[point.Right]));

    /// <summary><c>Fraction * left + (1 - Fraction) * right</c> element by element: the coefficients at <paramref name="point"/>.</summary>
    /// <param name="point">Where on the path, from <see cref="Locate"/>.</param>
    /// <param name="left">The coefficients at <see cref="PathBlend.Left"/>.</param>
    /// <param name="right">The coefficients at <see cref="PathBlend.Right"/>, as long as <paramref name="left"/>.</param>
    public static double[] Blend(PathBlend point, ReadOnlySpan<double> left, ReadOnlySpan<double> right)
    {
        if (left.Length != right.Length) throw new ArgumentException("the two path points' coefficient vectors differ in length", nameof(right));
        var blended = new double[left.Length];
        for (int j = 0; j < blended.Length; j++) blended[j] = point.Blend(left[j], right[j]);
        return blended;
    }
}
