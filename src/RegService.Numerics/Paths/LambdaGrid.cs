namespace RegService.Numerics.Paths;

/// <summary>glmnet's lambda sequences and path-stopping rule.</summary>
public static class LambdaGrid
{
    /// <summary>glmnet's lambda.min.ratio default: 1e-4 when rows exceed features, else 1e-2.</summary>
    public static double DefaultMinRatio(int rows, int features) => rows > features ? 1e-4 : 1e-2;

    /// <summary>Geometric: <c>lambdaMax * minRatio^(l / (count - 1))</c> for l = 0..count-1.</summary>
    public static double[] Geometric(double lambdaMax, int count, double minRatio)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!(minRatio > 0 && minRatio < 1)) throw new ArgumentOutOfRangeException(nameof(minRatio), "minRatio must be in (0, 1)");
        var lambdas = new double[count];
        if (count == 1) { lambdas[0] = lambdaMax; return lambdas; }
        double step = Math.Log(minRatio) / (count - 1);
        for (int l = 0; l < count; l++) lambdas[l] = lambdaMax * Math.Exp(step * l);
        return lambdas;
    }

    /// <summary>glmnet.control's devmax: a generated path stops once the deviance ratio exceeds this.</summary>
    public const double DevianceMax = 0.999;

    /// <summary>glmnet.control's fdev: a generated path stops once the deviance ratio grows by less than this (of itself for the gaussian family).</summary>
    public const double DevianceStep = 1e-5;

    /// <summary>glmnet.control's mnlam: the early stop is checked from this many lambdas on.</summary>
    public const int MinPathLambdas = 5;

    /// <summary>
    /// glmnet's lambda_max: the smallest lambda at which every penalized coefficient is 0, from
    /// <paramref name="gradientMax"/> = max_j |g_j| / v_j at the unpenalized solution. glmnet floors alpha at 1e-3,
    /// so a ridge path (alpha = 0) starts at a finite lambda.
    /// </summary>
    public static double LambdaMax(double gradientMax, double alpha) => gradientMax / Math.Max(alpha, AlphaFloor);

    /// <summary>The alpha below which glmnet starts a path as if alpha were this.</summary>
    public const double AlphaFloor = 1e-3;

    /// <summary>
    /// glmnet's early stop of a generated path, checked after the fit at 0-based index <paramref name="l"/>:
    /// from the fifth lambda on, stop once the deviance ratio exceeds 0.999 or grew by less than 1e-5 of itself
    /// (elnet, <paramref name="relative"/>) or by less than 1e-5 (lognet).
    /// </summary>
    /// <remarks><paramref name="step"/> is fdev (glmnet sets it to 0 when a coefficient bound is 0).</remarks>
    public static bool ShouldStop(int l, int count, double devRatio, double previousDevRatio, bool relative = true, double step = DevianceStep) =>
        l + 1 >= Math.Min(MinPathLambdas, count)
        && (devRatio - previousDevRatio < step * (relative ? devRatio : 1.0) || devRatio > DevianceMax);

    /// <summary>
    /// glmnet's fishnet early stop, checked after the fit at 0-based index <paramref name="l"/>: from the fifth lambda on,
    /// stop once the deviance ratio exceeds 0.999 or grew by less than 10 fdev (1e-4) of itself since the lambda
    /// <see cref="MinPathLambdas"/> - 1 back (<paramref name="earlierDevRatio"/>).
    /// </summary>
    /// <remarks><paramref name="step"/> is fdev (glmnet sets it to 0 when a coefficient bound is 0).</remarks>
    public static bool ShouldStopPoisson(int l, int count, double devRatio, double earlierDevRatio, double step = DevianceStep) =>
        l + 1 >= Math.Min(MinPathLambdas, count)
        && ((devRatio - earlierDevRatio) / devRatio < 10 * step || devRatio > DevianceMax);

    /// <summary>
    /// Why <paramref name="rule"/> stopped a generated path after a point of deviance ratio <paramref name="devRatio"/>, in words
    /// (the fit's warning): past devmax, or a gain below fdev (<paramref name="step"/>) as <see cref="ShouldStop"/> and
    /// <see cref="ShouldStopPoisson"/> measure it.
    /// </summary>
    public static string StopReason(EarlyStop rule, double devRatio, double step = DevianceStep)
    {
        string reached = $"the deviance ratio reached {devRatio:G4}";
        if (devRatio > DevianceMax) return $"{reached}, above {DevianceMax} (glmnet's devmax)";
        string fdev = step == 0 ? "0" : step.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture);
        string tenFdev = step == 0 ? "0" : (10 * step).ToString("0e0", System.Globalization.CultureInfo.InvariantCulture);
        return rule switch
        {
            EarlyStop.Relative => $"{reached} and grew by less than {fdev} of itself (glmnet's fdev)",
            EarlyStop.Poisson => $"{reached} and grew by less than {tenFdev} of itself over the last {MinPathLambdas} lambdas (glmnet's fdev)",
            _ => $"{reached} and grew by less than {fdev} (glmnet's fdev)",
        };
    }

    /// <summary>
    /// Penalty factors as glmnet uses them: negatives clamped to 0, then rescaled to sum to the number of
    /// features. All ones when <paramref name="factors"/> is null.
    /// </summary>
    public static double[] RescalePenaltyFactors(double[]? factors, int features)
    {
        var v = new double[features];
        if (factors is null) { Array.Fill(v, 1.0); return v; }
        if (factors.Length != features) throw new ArgumentException($"{factors.Length} penalty factors for {features} features");
        double sum = 0;
        for (int j = 0; j < features; j++) sum += v[j] = Math.Max(0, factors[j]);
        if (sum <= 0) throw new ArgumentException("every penalty factor is 0: nothing is penalized");
        for (int j = 0; j < features; j++) v[j] *= features / sum;
        return v;
    }
}
