namespace RegService.Numerics.Fitting;

/// <summary>
/// The relaxed lasso as R glmnet 4.1's <c>relax = TRUE</c> (<c>relax.glmnet</c>, <c>blend.relaxed</c>; Meinshausen 2007,
/// Hastie, Tibshirani and Tibshirani 2020): for each lambda of a fitted path, the model refitted WITHOUT penalty on that
/// lambda's active set A = {j : b_j(lambda) != 0}, with the same standardization, intercept and weights,
/// <code>
/// refit(lambda) = argmin over b with b_j = 0 outside A of the loss alone (glmnet: lambda = 0, the other features excluded)
/// relaxed(lambda, gamma) = gamma * lasso(lambda) + (1 - gamma) * refit(lambda),   intercept and coefficients alike
/// </code>
/// The refit is the path solver itself at lambda 0 on the active columns (<see cref="PathSource.FitSubset"/>: the Gram's rows and
/// columns for covariance coordinate descent, the columns for the naive form and proximal Newton), once per distinct active set;
/// proximal Newton starts it warm, from the previous refit (<see cref="WarmStart"/>).
/// As glmnet: an empty active set keeps the penalized model (the intercept-only fit); a lambda whose active set has more than
/// n - 3 features (n the rows fitted; glmnet's <c>maxp</c>, a refit that would nearly interpolate) is not refitted, and takes the
/// refit of the last lambda that was (<c>blend.relaxed(extend = TRUE)</c>); a gamma below 1 is used as at least 1e-5
/// (<c>blend.relaxed</c>'s <c>epsilon</c>), so gamma 0 is 1e-5 * lasso + (1 - 1e-5) * refit.
/// </summary>
public static class RelaxedPath
{
    /// <summary>Most gammas a spec may list.</summary>
    public const int MaxGammas = 100;

    /// <summary>glmnet's <c>blend.relaxed</c> floor: a gamma below 1 is blended as at least this.</summary>
    public const double GammaFloor = 1e-5;

    /// <summary>The gamma the blend uses: 1 as it is, anything below at least <see cref="GammaFloor"/> (glmnet's).</summary>
    public static double Effective(double gamma) => gamma >= 1 ? 1 : Math.Max(gamma, GammaFloor);

    /// <summary><c>gamma * lasso + (1 - gamma) * refit</c> with glmnet's floor on gamma.</summary>
    public static double Blend(double lasso, double refit, double gamma)
    {
        double g = Effective(gamma);
        return g == 1 ? lasso : g * lasso + (1 - g) * refit;
    }

    /// <summary>The blend element by element: the relaxed coefficients from the penalized and refitted ones at one lambda.</summary>
    public static double[] Blend(ReadOnlySpan<double> lasso, ReadOnlySpan<double> refit, double gamma)
    {
        if (lasso.Length != refit.Length) throw new ArgumentException("the penalized and refitted coefficients differ in length", nameof(refit));
        var blended = new double[lasso.Length];
        for (int j = 0; j < blended.Length; j++) blended[j] = Blend(lasso[j], refit[j], gamma);
        return blended;
    }

    /// <summary>
    /// The relaxed model at one lambda: both scales blended; the rest (lambda, nonzero count, how the solve went) the penalized
    /// point's, but no duality gap below gamma 1 (the blend is not the penalized problem's solution, so its gap says nothing).
    /// </summary>
    internal static PathPoint Blend(PathPoint lasso, PathPoint refit, double gamma) => lasso with
    {
        Intercept = Blend(lasso.Intercept, refit.Intercept, gamma),
        Coefficients = Blend(lasso.Coefficients, refit.Coefficients, gamma),
        StandardizedCoefficients = Blend(lasso.StandardizedCoefficients, refit.StandardizedCoefficients, gamma),
        DualityGap = Effective(gamma) == 1 ? lasso.DualityGap : null,
        Validation = null,
    };

    /// <summary>The relaxed path at one gamma: every point of <paramref name="lasso"/> blended with its refit.</summary>
    internal static PathFit Blend(PathFit lasso, PathPoint[] refit, double gamma) => new()
    {
        Lambdas = lasso.Lambdas,
        Points = [.. lasso.Points.Select((p, l) => Blend(p, refit[l], gamma))],
        FeatureMeans = lasso.FeatureMeans,
        FeatureScales = lasso.FeatureScales,
        NullDeviance = lasso.NullDeviance,
        Rows = lasso.Rows,
    };

    /// <summary>
    /// The unpenalized refit of every point of <paramref name="lasso"/> (fitted by <paramref name="source"/> on all rows, fold -1,
    /// or outside fold <paramref name="fold"/>), aligned with its points: coefficients on both scales, the deviance ratio, and
    /// whether the refit converged. <see cref="Refits.Refitted"/> is false where glmnet's maxp left a lambda to the last refit,
    /// and where the classes are separable on the active set (binomial; <see cref="Refits.Separable"/>), which has no refit either.
    /// </summary>
    /// <remarks>
    /// Separation is shown, not guessed: a linear predictor on the active features that puts every row strictly on its own
    /// class's side (<see cref="PathSource.Separates"/>) proves that the likelihood has no maximum there (it rises along that
    /// direction without bound), and on any active set holding those features. Tried in order of cost: the last such direction
    /// found, when the active set holds its features (no pass); the penalized fit itself (one pass); and after the refit, its last
    /// iterate (one pass), whether or not its solver stopped on its tolerance (its step can fall below it while the coefficients
    /// still grow). A separable set that none of them shows stays a refit, reported as not converged when it did not. With a finite
    /// coefficient bound the likelihood has a maximum over the box, and no test is made.
    /// </remarks>
    internal static Refits Refit(PathSource source, int fold, PathFit lasso, PathSettings settings, CancellationToken ct)
    {
        int maxp = source.TrainingRowCount(fold) - 3;
        var points = new PathPoint[lasso.Points.Length];
        var refitted = new bool[points.Length];
        var cache = new Dictionary<string, PathPoint?>(StringComparer.Ordinal);   // null: separable, no refit
        var notConverged = new List<double>();
        var separable = new List<double>();
        int last = -1, fits = 0;
        PathPoint? previous = null;
        int[]? separating = null;   // the features of the last direction shown to separate the classes
        // With a finite bound the likelihood has a maximum over the box (a separating direction may leave it): no test then.
        bool test = !settings.Bounded;
        for (int l = 0; l < points.Length; l++)
        {
            var point = lasso.Points[l];
            int[] active = [.. Enumerable.Range(0, point.Coefficients.Length).Where(j => point.Coefficients[j] != 0)];
            if (active.Length > maxp) continue;
            if (active.Length == 0)
            {
                refitted[l] = true;
                last = l;
                points[l] = point;   // glmnet keeps the penalized model: with nothing active it is the intercept-only fit
                continue;
            }
            string key = string.Join(',', active);
            if (!cache.TryGetValue(key, out var refit))
            {
                if (test && (separating is not null && !separating.Except(active).Any() || source.Separates(fold, point.Intercept, point.Coefficients)))
                {
                    if (separating is null || separating.Except(active).Any()) separating = active;
                    refit = null;
                }
                else
                {
                    refit = FitOne(source, fold, point, active, previous, settings, ct);
                    fits++;
                    if (test && source.Separates(fold, refit.Intercept, refit.Coefficients))   // whatever the solver's own test said
                    {
                        separating = active;
                        refit = null;
                    }
                    else
                    {
                        if (!refit.Converged) notConverged.Add(point.Lambda);
                        previous = refit;
                    }
                }
                cache[key] = refit;
            }
            if (refit is null)
            {
                separable.Add(point.Lambda);
                continue;
            }
            refitted[l] = true;
            if (refit.Converged) last = l;   // a refit that did not converge stands for no other lambda
            points[l] = refit with { Lambda = point.Lambda, NonZero = point.NonZero, Validation = null };
        }
        for (int l = 0; l < points.Length; l++)
            if (!refitted[l]) points[l] = last >= 0 ? points[last] with { Lambda = lasso.Points[l].Lambda } : lasso.Points[l];
        return new Refits(points, refitted, notConverged, separable, last >= 0 ? lasso.Points[last].Lambda : null, fits);
    }

    /// <summary>The unpenalized fit on <paramref name="active"/>, spread back over every feature (0 outside).</summary>
    private static PathPoint FitOne(PathSource source, int fold, PathPoint point, int[] active, PathPoint? previous, PathSettings settings, CancellationToken ct)
    {
        // lambda 0 on the active columns: the penalty (and so its factors) vanishes; every factor 1 keeps lambda_max finite.
        // Coefficient bounds stay, restricted to those columns (glmnet's refit passes lower.limits and upper.limits on).
        var fit = source.FitSubset(fold, active, settings with
        {
            Lambdas = [0.0],
            Generate = null,
            PenaltyFactors = [.. active.Select(_ => 1.0)],
            LowerLimits = settings.LowerLimits is { } lower ? [.. active.Select(j => lower[j])] : null,
            UpperLimits = settings.UpperLimits is { } upper ? [.. active.Select(j => upper[j])] : null,
            KeepPartial = false,
            Start = WarmStart(point, active, previous),
        }, ct);
        var sub = fit.Points[^1];
        return sub with
        {
            Coefficients = Spread(sub.Coefficients, active, point.Coefficients.Length),
            StandardizedCoefficients = Spread(sub.StandardizedCoefficients, active, point.Coefficients.Length),
            DualityGap = null,
            StoppingValue = null,
        };
    }

    /// <summary>
    /// The one warning for the lambdas whose active set separates the classes (<see cref="Refits.Separable"/>), in words:
    /// which lambdas, why there is no refit, and what those lambdas' relaxed models are instead (<paramref name="standIn"/>'s
    /// refit, as beyond glmnet's maxp; with <paramref name="validation"/>, in some fold's fit, each fold its own).
    /// </summary>
    internal static string SeparableWarning(List<double> lambdas, double? standIn, bool validation)
    {
        string which = validation ? "a validation fit's relaxed refit" : "the relaxed refit";
        string instead = validation
            ? "that fold's last refit stands for them"
            : standIn is { } s
                ? $"those lambdas take the refit at lambda {s.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}, the last one that exists"
                : "those lambdas keep the penalized model";
        return $"{which} has no solution at lambda {PathFitter.Join(lambdas)}: the features active there separate the two classes "
            + "(a combination of them puts every row on its own class's side), so without a penalty the likelihood has no maximum and "
            + $"the coefficients would grow without bound; as glmnet does beyond maxp, {instead} (relaxed.refitted is false there)";
    }

    /// <summary>
    /// Where the refit on <paramref name="active"/> starts (proximal Newton takes it; <see cref="PathSettings.Start"/>): the last
    /// refit's coefficients where it has them, the penalized fit's for the features that entered since, and the last refit's
    /// intercept; the penalized fit itself for the first refit. Consecutive active sets differ by a few features, so the start
    /// is near the new refit and its working weights near the new ones: fewer Newton steps and Gram rebuilds than from the
    /// intercept-only model.
    /// </summary>
    private static PathStart WarmStart(PathPoint lasso, int[] active, PathPoint? previous)
    {
        var c = new double[active.Length];
        for (int u = 0; u < active.Length; u++)
        {
            int j = active[u];
            c[u] = previous is not null && previous.Coefficients[j] != 0 ? previous.Coefficients[j] : lasso.Coefficients[j];
        }
        return new PathStart(previous?.Intercept ?? lasso.Intercept, c);
    }

    private static double[] Spread(double[] values, int[] at, int length)
    {
        var dense = new double[length];
        for (int u = 0; u < at.Length; u++) dense[at[u]] = values[u];
        return dense;
    }

    /// <summary>
    /// glmnet's <c>getOptcv.relaxed</c> over every (gamma, lambda) of the curves (one per gamma, aligned with the lambdas): the
    /// least mean loss, ties to the largest lambda and then the largest gamma; and for 1se the largest lambda (then gamma) whose
    /// mean is within one standard error (the minimum's) of that minimum. Indices into the lambdas and the gammas.
    /// </summary>
    public static (int MinLambda, int MinGamma, int OneSeLambda, int OneSeGamma) Select(double[] lambdas, double[] gammas, ValidationCurve[] curves)
    {
        if (curves.Length != gammas.Length) throw new ArgumentException("one curve per gamma is needed", nameof(curves));
        double best = double.PositiveInfinity;
        foreach (var c in curves)
            foreach (double m in c.Mean)
                if (m < best) best = m;   // NaN never compares less: glmnet's na.rm
        var (minL, minG) = Largest(m => m <= best);
        var at = curves[minG];
        double bound = at.Mean[minL] + at.StandardError[minL];
        var (seL, seG) = Largest(m => m <= bound);
        return (minL, minG, seL, seG);

        // The largest lambda, then the largest gamma, among the points whose mean passes.
        (int L, int G) Largest(Func<double, bool> passes)
        {
            int bl = -1, bg = -1;
            for (int g = 0; g < curves.Length; g++)
                for (int l = 0; l < lambdas.Length; l++)
                    if (passes(curves[g].Mean[l]) && (bl < 0 || lambdas[l] > lambdas[bl] || lambdas[l] == lambdas[bl] && gammas[g] > gammas[bg]))
                        (bl, bg) = (l, g);
            if (bl < 0) throw new ArgumentException("no finite validation loss to choose from", nameof(curves));
            return (bl, bg);
        }
    }

    /// <summary>The refit per path lambda (<see cref="Refit"/>).</summary>
    /// <param name="Points">Per lambda, the refitted model (the penalized one where the active set is empty; the last refit where not refitted).</param>
    /// <param name="Refitted">Per lambda, false where the active set exceeded n - 3 features (glmnet's maxp) or separates the classes.</param>
    /// <param name="NotConverged">Lambdas whose refit stopped at its iteration limit.</param>
    /// <param name="Separable">Lambdas whose active set separates the classes (binomial): no maximum likelihood, so no refit.</param>
    /// <param name="StandIn">The lambda whose refit the lambdas not refitted take (the last one refitted that converged), or null when none was.</param>
    /// <param name="Fits">Unpenalized fits run (distinct active sets, less those shown separable before a fit).</param>
    internal sealed record Refits(PathPoint[] Points, bool[] Refitted, List<double> NotConverged, List<double> Separable, double? StandIn, int Fits);
}

/// <summary>
/// The relaxed lasso's part of a result (<see cref="RelaxedPath"/>): the gammas, the one the returned model uses, the refit per
/// path lambda and, with validation, a curve per gamma and cv.glmnet's (lambda, gamma) choices.
/// </summary>
public sealed record RelaxedReport
{
    /// <summary>The gammas, increasing.</summary>
    public required double[] Gammas { get; init; }

    /// <summary>The gamma of the returned model: the rule's choice with validation, else the largest gamma (glmnet's coef default is 1).</summary>
    public required double Gamma { get; init; }

    /// <summary>Per path lambda, the unpenalized refit on its active set (original-scale coefficients).</summary>
    public required double[] RefitIntercepts { get; init; }
    public required double[][] RefitCoefficients { get; init; }

    /// <summary>Per path lambda, false where glmnet's maxp (n - 3 active features) left it to the last refit.</summary>
    public required bool[] Refitted { get; init; }

    /// <summary>With validation: one curve per gamma (aligned with <see cref="Gammas"/>), over the path's lambdas.</summary>
    public ValidationCurve[]? Curves { get; init; }

    public double? LambdaMin { get; init; }
    public double? GammaMin { get; init; }
    public double? Lambda1se { get; init; }
    public double? Gamma1se { get; init; }
}
