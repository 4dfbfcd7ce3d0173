using System.Globalization;

namespace RegService.Numerics.Fitting;

/// <summary>
/// Warnings for fits the data do not determine (docs/engine.md "Ill-posed fits"): an unpenalized (or nearly unpenalized)
/// fit on collinear features, whose coefficients the data barely fix, and an unpenalized binomial fit on (quasi-)separable
/// classes, whose maximum likelihood does not exist.
/// </summary>
internal static class IllPosed
{
    /// <summary>A standardized Gram whose condition number exceeds this makes an unpenalized fit's coefficients unstable.</summary>
    public const double ConditionThreshold = 1e10;

    /// <summary>A lambda below this times the standardized Gram's largest eigenvalue counts as no penalty.</summary>
    public const double TinyLambda = 1e-8;

    /// <summary>Features named in a collinearity warning at most.</summary>
    private const int MaxNamed = 6;

    /// <summary>The warnings about a path fit's returned result (<paramref name="source"/> fitted it on all rows of <paramref name="x"/>).</summary>
    public static List<string> Warnings(DenseMatrix x, FitSpec spec, PathSource source, FitResult result, int threads, CancellationToken ct)
    {
        var warnings = new List<string>();
        if (result.Path.Length == 0) return warnings;
        double smallest = result.Path.Min(p => p.Lambda);
        if (Collinearity(x, spec, source, smallest, threads, ct) is { } collinear) warnings.Add(collinear);
        // Finite coefficient bounds keep the likelihood's maximum over the box finite: no separation warning then.
        if (spec.Family == Family.Binomial && !spec.Bounded)
            foreach (var point in result.Path.Where(p => p.Lambda == 0))
                if (Separation(x, spec, source.Weights, point) is { } separated && !result.Warnings.Contains(separated))
                    warnings.Add(separated);
        return warnings;
    }

    /// <summary>
    /// Why an unpenalized solve broke down, when the design is rank-deficient or ill-conditioned (the collinearity warning's
    /// text); null when it is not.
    /// </summary>
    public static string? Explain(DenseMatrix x, FitSpec spec, PathSource source, int threads, CancellationToken ct) =>
        Collinearity(x, spec, source, 0, threads, ct);

    /// <summary>
    /// The collinearity warning when the smallest lambda fitted is 0 (penalty none) or below <see cref="TinyLambda"/> times the
    /// largest eigenvalue of the standardized Gram R (the features' correlation matrix; their cosines about 0 without an
    /// intercept), and R's condition number exceeds <see cref="ConditionThreshold"/> or the design has more features than
    /// rows to fix them; null otherwise. From the Gram the solver built, else from one built here when the features are
    /// fewer than the rows and at most <see cref="FitEngine.MaxCovarianceFeatures"/>.
    /// </summary>
    internal static string? Collinearity(DenseMatrix x, FitSpec spec, PathSource source, double smallestLambda, int threads, CancellationToken ct)
    {
        bool none = spec.Penalty == Penalty.None || smallestLambda == 0;
        string what = spec.Penalty == Penalty.None ? "penalty none" : $"lambda {Show(smallestLambda)}";
        var weights = source.Weights;
        int p = spec.FeatureColumns.Length, intercept = spec.FitIntercept ? 1 : 0;
        int rows = weights is null ? x.Rows : weights.Count(w => w > 0), independent = rows - intercept;
        // λmax(R) is at most trace(R) = q and at least q / rank(R): a lambda at or above 1e-8 p is never tiny.
        if (!none && !(smallestLambda < TinyLambda * p)) return null;

        var gram = source.AllRowsGram;
        int q = gram is null ? Varying(x, spec, weights) : -1;
        if (gram is null && q > independent)
            return !none && !(smallestLambda < TinyLambda * q / independent) ? null : RankDeficient(what, q, rows, spec.FitIntercept);
        if (gram is null)
        {
            if (q > FitEngine.MaxCovarianceFeatures || q == 0) return null;
            gram = BuildGram(x, spec, weights, threads, ct);
        }
        var (g, sums, shift) = gram.Value;
        var system = NormalSystem.From(g, sums, shift, x.Rows, spec.FeatureNames, spec.Standardize, spec.FitIntercept, ct);
        q = system.Active.Length;
        if (q == 0) return null;
        if (q > independent)
            return !none && !(smallestLambda < TinyLambda * q / independent) ? null : RankDeficient(what, q, rows, spec.FitIntercept);

        var r = Correlation(system.A, q);
        var extremes = Conditioning.Of(r, q, ct);
        if (!none && !(smallestLambda < TinyLambda * extremes.Largest)) return null;
        if (!extremes.Singular && !(extremes.Condition > ConditionThreshold)) return null;

        var names = system.Active.Select(j => spec.FeatureNames[j]).ToArray();
        string loadings = string.Join(", ", MostLoaded(extremes.SmallestVector).Select(u => $"'{names[u]}' ({extremes.SmallestVector[u].ToString("+0.000;-0.000", CultureInfo.InvariantCulture)})"));
        var (a, b, corr) = MostCorrelated(r, q);
        string tiny = none ? "" : $" (below {Show(TinyLambda)} times its largest eigenvalue, {Show(extremes.Largest)})";
        return
            $"{what}{tiny}: the design is ill-conditioned, so the data barely determine the coefficients of collinear features: "
            + $"the standardized Gram matrix of the {q} features has condition number {(extremes.Singular ? "at least " : "")}{Show(extremes.Condition)} "
            + $"(this warning is given above {Show(ConditionThreshold)}){(extremes.Singular ? ", beyond what double precision resolves (numerically rank-deficient)" : "")}. "
            + $"Most collinear (the loadings of the smallest eigenvalue's eigenvector): {loadings}; the most correlated pair is '{names[a]}' and '{names[b]}' "
            + $"(correlation {ShowCorrelation(corr)}). "
            + "Add a ridge or elastic-net penalty, or drop all but one of the collinear features.";
    }

    private static string RankDeficient(string what, int q, int rows, bool intercept) =>
        $"{what}: the design is rank-deficient: {q} features on {rows} rows{(intercept ? " with an intercept" : "")} have at most "
        + $"{rows - (intercept ? 1 : 0)} linearly independent {(intercept ? "centered " : "")}columns, so the data do not determine the coefficients "
        + "(other coefficients fit the rows as well). Add a penalty with a larger lambda (ridge, lasso or elastic net), or use fewer features.";

    /// <summary>
    /// The separation warning at an unpenalized binomial point: null unless some fitted probability is within
    /// <see cref="LogisticPathSolver.ProbabilityFloor"/> of 0 or 1 (glmnet's pmin), the mark of coefficients that grow without
    /// bound along a direction that separates those rows.
    /// </summary>
    internal static string? Separation(DenseMatrix x, FitSpec spec, double[]? weights, PathPoint point)
    {
        var eta = new double[x.Rows];
        Metrics.RegressionMetrics.Predict(x, spec.FeatureColumns, point.Intercept, point.Coefficients, null, eta);
        if (spec.Offset is { } offset)
            for (int i = 0; i < eta.Length; i++) eta[i] += offset[i];
        // p within pmin of 0 or 1: |eta| >= logit(1 - pmin).
        double edge = Math.Log((1 - LogisticPathSolver.ProbabilityFloor) / LogisticPathSolver.ProbabilityFloor);
        double floor = LogisticPathSolver.ProbabilityFloor, variance = 0;
        int saturated = 0, rows = 0;
        for (int i = 0; i < eta.Length; i++)
        {
            if (weights is { } w && w[i] == 0) continue;
            rows++;
            if (Math.Abs(eta[i]) >= edge) saturated++;
            double prob = 1 / (1 + Math.Exp(-eta[i]));
            variance += prob * (1 - prob);
        }
        // Every row, by the solver's test (glmnet's): the weights p(1 - p) sum to at most pmin(1 - pmin)(1 + pmin) per row.
        if (variance <= rows * (1 + floor) * floor * (1 - floor)) saturated = rows;
        return saturated == 0 ? null : SeparationWarning(point.Lambda, saturated, rows);
    }

    /// <summary>
    /// The warning for <paramref name="saturated"/> of <paramref name="rows"/> fitted probabilities within
    /// <see cref="LogisticPathSolver.ProbabilityFloor"/> of 0 or 1 at lambda 0: all of them, the classes are separable;
    /// some, quasi-separable, or separable with iterations stopped before every row saturated (or, rarely, rows of extreme
    /// leverage under a maximum likelihood that exists). Either way the unpenalized maximum likelihood does not
    /// exist and the coefficients are where the iterations stopped.
    /// </summary>
    internal static string SeparationWarning(double lambda, int saturated, int rows) =>
        $"lambda {Show(lambda)}: "
        + (saturated == rows
            ? $"every fitted probability is within {Show(LogisticPathSolver.ProbabilityFloor)} of 0 or 1: the classes are separable by the features, "
            : $"{saturated} of {rows} fitted probabilities are within {Show(LogisticPathSolver.ProbabilityFloor)} of 0 or 1: the classes are (quasi-)separable "
              + "by the features (those rows are separated; the others overlap, or are still on their way), ")
        + "so the unpenalized maximum likelihood does not exist: the coefficients grow without bound while the deviance falls, "
        + "and those returned are where the iterations stopped, not estimates. Add a penalty (ridge, lasso or elastic net with lambda > 0) for finite coefficients.";

    /// <summary>Features with a variance above zero (weighted by <paramref name="weights"/>, rows of weight 0 left out).</summary>
    private static int Varying(DenseMatrix x, FitSpec spec, double[]? weights)
    {
        int count = 0;
        foreach (int c in spec.FeatureColumns)
        {
            var column = x.Column(c);
            double mean, variance;
            if (weights is null)
            {
                mean = System.Numerics.Tensors.TensorPrimitives.Sum(column) / column.Length;
                variance = Vec.SumSquaredDeviations(column, mean) / column.Length;
            }
            else
            {
                double sw = 0, swx = 0, sq = 0;
                for (int i = 0; i < column.Length; i++) { sw += weights[i]; swx += weights[i] * column[i]; }
                mean = swx / sw;
                for (int i = 0; i < column.Length; i++) sq += weights[i] * (column[i] - mean) * (column[i] - mean);
                variance = sq / sw;
            }
            if (!Standardization.IsConstant(mean, variance)) count++;
        }
        return count;
    }

    /// <summary>The all-rows shifted Gram of [features, target], weighted with observation weights, as <see cref="GramSource"/> builds it.</summary>
    private static (double[] Gram, double[] Sums, double[] Shift) BuildGram(DenseMatrix x, FitSpec spec, double[]? weights, int threads, CancellationToken ct)
    {
        int p = spec.FeatureColumns.Length, k = p + 1;
        int[] cols = [.. spec.FeatureColumns, spec.TargetColumn];
        var shift = new double[k];
        if (spec.FitIntercept && spec.ColumnShift is { } columnShift)
            for (int a = 0; a < k; a++) shift[a] = columnShift[cols[a]];
        var gram = new double[ArraySizes.Square(k, $"the Gram matrix of {p} features")];
        var sums = new double[k];
        if (weights is null) GramKernel.ShiftedGram(x, cols, shift, null, gram, sums, threads, ct);
        else GramKernel.WeightedShiftedGram(x, cols, shift, weights, null, gram, sums, threads, ct);
        return (gram, sums, shift);
    }

    /// <summary>R = D^-1/2 A D^-1/2 (A's diagonal is positive: constant features are not in it).</summary>
    private static double[] Correlation(double[] a, int q)
    {
        var d = new double[q];
        for (int u = 0; u < q; u++) d[u] = 1 / Math.Sqrt(a[(long)u * q + u]);
        var r = new double[a.Length];
        for (int u = 0; u < q; u++)
            for (int v = 0; v < q; v++) r[(long)u * q + v] = u == v ? 1.0 : a[(long)u * q + v] * d[u] * d[v];
        return r;
    }

    /// <summary>The largest loadings (by magnitude) that hold 95% of a unit vector's squared length; at least 2, at most <see cref="MaxNamed"/>.</summary>
    internal static int[] MostLoaded(double[] vector)
    {
        var order = Enumerable.Range(0, vector.Length).OrderByDescending(u => Math.Abs(vector[u])).ToArray();
        var named = new List<int>();
        double held = 0;
        foreach (int u in order)
        {
            if (named.Count >= MaxNamed || named.Count >= 2 && held >= 0.95) break;
            named.Add(u);
            held += vector[u] * vector[u];
        }
        return [.. named];
    }

    /// <summary>The off-diagonal entry of R largest in magnitude; (0, 0, 1) for one feature.</summary>
    private static (int A, int B, double Corr) MostCorrelated(double[] r, int q)
    {
        (int A, int B, double Corr) best = (0, 0, 1);
        double largest = -1;
        for (int u = 0; u < q; u++)
            for (int v = u + 1; v < q; v++)
            {
                double value = r[(long)u * q + v];
                if (Math.Abs(value) > largest) (largest, best) = (Math.Abs(value), (u, v, value));
            }
        return best;
    }

    /// <summary>A correlation near ±1 as ±(1 - gap), so the digits that matter show; ±1 when it rounds there.</summary>
    private static string ShowCorrelation(double corr)
    {
        double gap = Math.Max(1 - Math.Abs(corr), 0);   // rounding can put a correlation a hair past 1
        string sign = corr < 0 ? "-" : "";
        return gap == 0 ? $"{sign}1" : gap < 1e-3 ? $"{sign}(1 - {Show(gap)})" : corr.ToString("F4", CultureInfo.InvariantCulture);
    }

    private static string Show(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
