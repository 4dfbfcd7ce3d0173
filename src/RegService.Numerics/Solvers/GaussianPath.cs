using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Gaussian lasso and elastic-net paths by coordinate descent, warm-started from lambda_max down:
/// the covariance form from a Gram matrix when rows exceed features, naive residual updates otherwise.
/// </summary>
public static class GaussianPath
{
    public const string SolverName = "coordinateDescent";

    /// <summary>Lambdas larger than this are "infinite": every penalized coefficient is 0.</summary>
    private const double Infinite = 1e300;

    /// <summary>Below this, glmnet's threshold cannot be tightened further (a pass that moves nothing measures 0).</summary>
    private const double MinThreshold = 1e-290;

    /// <summary>
    /// Covariance form over n rows, from the shifted Gram of [features, target] and its column sums
    /// (see <see cref="Kernels.GramKernel"/>; the shift must be 0 without an intercept).
    /// </summary>
    public static PathFit FromGram(double[] gram, double[] sums, double[] shift, int n, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default) =>
        FromSystem(NormalSystem.From(gram, sums, shift, n, featureNames, settings.Standardize, settings.FitIntercept), n, featureNames, settings, progress, ct);

    /// <summary>Covariance form over n rows from their standardized normal system (a validation fold's builds its own).</summary>
    internal static PathFit FromSystem(NormalSystem system, int n, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        int q = system.Active.Length;
        var v = Restrict(settings.PenaltyFactors, system.Active);
        var bounds = CoefficientBounds.Standardized(settings.LowerLimits, settings.UpperLimits, system.Scales, system.Active);
        var core = new CovarianceCd(system.A, system.C, q, v, settings.Alpha, bounds: bounds);
        var diagonal = new double[q];
        for (int u = 0; u < q; u++) diagonal[u] = system.Diagonal(u);
        var problem = new Problem(system.Active, v, system.C, diagonal, system.FeatureMeans, system.Scales,
            system.TargetMean, system.TargetVariance, n, featureNames, [.. system.Warnings], bounds);
        return Drive(core, problem, settings, progress, ct);
    }

    /// <summary>Naive form over every row of <paramref name="x"/> (gather rows first to fit a subset).</summary>
    public static PathFit Naive(DenseMatrix x, int[] featureCols, int targetCol, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default) =>
        Naive(x, featureCols, targetCol, featureNames, settings, UseWorkingSets(x.Rows, featureCols.Length), progress, ct);

    /// <summary>
    /// The naive form with working sets on or off (<see cref="UseWorkingSets"/> chooses for the public overload), and each
    /// lambda's warm start extrapolated from the last two solutions or not (by default with working sets: wide data, where
    /// it was measured; elsewhere the naive form keeps glmnet's sequence of iterates, which the covariance form leaves only by
    /// extrapolating its active passes, <see cref="CoordinateDescent.Extrapolates"/>; <see cref="NaiveCd"/>).
    /// </summary>
    internal static PathFit Naive(DenseMatrix x, int[] featureCols, int targetCol, string[] featureNames, PathSettings settings,
        bool workingSets, IProgress<FitProgress>? progress = null, CancellationToken ct = default, bool? extrapolate = null)
    {
        int n = x.Rows, p = featureCols.Length;
        var y = x.Column(targetCol);
        double yMean = 0;
        if (settings.FitIntercept)
        {
            for (int i = 0; i < n; i++) yMean += y[i];
            yMean /= n;
        }
        var yc = new double[n];
        double yVariance = 0;
        for (int i = 0; i < n; i++)
        {
            yc[i] = y[i] - yMean;
            yVariance += yc[i] * yc[i];
        }
        yVariance /= n;

        var means = new double[p];
        var scales = new double[p];
        var variances = new double[p];
        var warnings = new List<string>();
        var active = new List<int>(p);
        var rawMeans = new double[p];
        var rawVariances = new double[p];
        int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
        // The statistics loop and the solver's screens share the fit's helper threads (FitTeam: items taken as threads come
        // free; from Parallel.For the pool's second thread could start late).
        var team = threads > 1 ? new FitTeam(threads - 1) : null;
        int block = (long)p * n > 1_000_000 && team is not null ? Math.Max(16, 131072 / Math.Max(n, 1)) : p;
        // One read of the data: each column's mean and variance, and, while it is in cache, its standardized 16-bit copy for
        // the KKT screen and its gradient at b = 0 (NaiveCd.Shadow; a column left out is copied, then dropped).
        var shadow = NaiveCd.UseShadow(n, p) ? NaiveCd.Shadow.Rent(n, p) : null;
        void Statistics(int t)
        {
            for (int j = t * block; j < Math.Min(p, (t + 1) * block); j++)
            {
                var col = x.Column(featureCols[j]);
                double m = System.Numerics.Tensors.TensorPrimitives.Sum(col) / n;
                rawMeans[j] = m;
                rawVariances[j] = Vec.SumSquaredDeviations(col, m) / n;
                if (shadow is null) continue;
                var scale = Standardization.Of(m, rawVariances[j], settings.FitIntercept, settings.Standardize);
                if (!scale.Excluded) shadow.Build(j, col, scale.Center, scale.Scale, scale.Spread, yc);
            }
        }
        int blocks = (p + block - 1) / block;
        if (blocks > 1) team!.For(blocks, Statistics);
        else if (p > 0) Statistics(0);
        for (int j = 0; j < p; j++)
        {
            var scale = Standardization.Of(rawMeans[j], rawVariances[j], settings.FitIntercept, settings.Standardize);
            means[j] = scale.Center;
            scales[j] = scale.Scale;
            if (scale.Excluded)
            {
                warnings.Add(Standardization.ZeroVarianceWarning(featureNames[j]));
                continue;
            }
            // (1/n) sum (x - center)^2: the variance with an intercept, the mean square without.
            variances[j] = scale.Spread;
            active.Add(j);
        }
        shadow?.Keep(active);

        int q = active.Count;
        var columns = new ReadOnlyMemory<double>[q];
        var activeMeans = new double[q];
        var activeScales = new double[q];
        var activeVariances = new double[q];
        for (int u = 0; u < q; u++)
        {
            int j = active[u];
            columns[u] = x.Data.AsMemory((int)((long)featureCols[j] * n), n);
            activeMeans[u] = means[j];
            activeScales[u] = scales[j];
            activeVariances[u] = variances[j];
        }
        var v = Restrict(settings.PenaltyFactors, [.. active]);
        var bounds = CoefficientBounds.Standardized(settings.LowerLimits, settings.UpperLimits, scales, [.. active]);
        var core = new NaiveCd(columns, activeMeans, activeScales, activeVariances, yc, v, settings.Alpha, threads, workingSets, bounds, shadow,
            extrapolate ?? workingSets, team);
        var diagonal = new double[q];
        for (int u = 0; u < q; u++) diagonal[u] = core.Diagonal(u);
        var problem = new Problem([.. active], v, core.C, diagonal, means, scales, yMean, yVariance, n, featureNames, warnings, bounds);
        try
        {
            return Drive(core, problem, settings, progress, ct);
        }
        finally
        {
            core.Release();
        }
    }

    /// <summary>
    /// Working sets pay on wide data (more than twice as many features as rows), where the strong rule admits many
    /// more candidates than the solution has nonzeros (docs/engine.md).
    /// </summary>
    internal static bool UseWorkingSets(int rows, int features) => features > 2 * rows;

    /// <summary>What the path driver needs to know besides the solver: the standardized problem's data (its bounds on that scale).</summary>
    private sealed record Problem(
        int[] Active, double[] V, double[] C, double[] Diagonal, double[] Means, double[] Scales,
        double TargetMean, double TargetVariance, int Rows, string[] Names, List<string> Warnings, CoefficientBounds? Bounds);

    private static double[] Restrict(double[] factors, int[] active)
    {
        var v = new double[active.Length];
        for (int u = 0; u < active.Length; u++) v[u] = factors[active[u]];
        return v;
    }

    private static PathFit Drive(ICdCore core, Problem problem, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) =>
        PathDriver.Run(new PointSolver(core, problem, settings), settings, progress, ct);

    /// <summary>One lambda of the gaussian path by either coordinate-descent form.</summary>
    private sealed class PointSolver(ICdCore core, Problem problem, PathSettings settings) : IPointSolver
    {
        private readonly double _tolerance = settings.Tolerance * (problem.TargetVariance > 0 ? problem.TargetVariance : 1.0);

        public int Rows => problem.Rows;
        public int Features => problem.Names.Length;
        public EarlyStop Stop => GlmFamily.Gaussian.Stop;

        public double Start(CancellationToken ct)
        {
            // Unpenalized features are fitted first: the solution at lambda = infinity.
            if (problem.V.Any(f => f == 0))
                core.Solve(Infinite, Infinite, _tolerance, settings.MaxIterations, ct);
            double max = 0;
            for (int u = 0; u < problem.Active.Length; u++)
                if (problem.V[u] > 0) max = Math.Max(max, Math.Abs(core.Gradient[u]) / problem.V[u]);
            return max;
        }

        public PointOutcome Solve(in PathStep step, CancellationToken ct)
        {
            var outcome = core.Solve(step.Lambda, step.PreviousLambda, _tolerance, step.Budget, ct);
            if (settings.Stopping != StoppingRule.DualityGap || !(step.Lambda > 0))
                return new PointOutcome(outcome.Converged, outcome.Passes, ScreenedOut: outcome.ScreenedOut);

            // Stop on the gap: glmnet's rule is tightened until the gap is at most the tolerance times the null
            // deviance per row (scikit-learn scales its tol by ||y||² the same way), or the budget is spent.
            double target = _tolerance, threshold = _tolerance;
            int passes = outcome.Passes;
            while (true)
            {
                double gap = Gap(step.Lambda);
                if (gap <= target) return new PointOutcome(true, passes, ScreenedOut: outcome.ScreenedOut);
                if (passes >= step.Budget || threshold < MinThreshold)
                    return new PointOutcome(false, passes, ScreenedOut: outcome.ScreenedOut);
                // The change rule and the gap both fall like the squared distance: aim a little below the target.
                threshold *= Math.Clamp(0.1 * target / gap, 1e-6, 0.1);
                outcome = core.Solve(step.Lambda, step.Lambda, threshold, step.Budget - passes, ct);
                passes += outcome.Passes;
            }
        }

        private double Gap(double lambda)
        {
            var (rss, ry) = Residual(core, problem);
            return DualityGap(core, problem, rss, ry, lambda, settings.Alpha);
        }

        public PathPoint Point(in PathStep step)
        {
            var point = GaussianPath.Point(core, problem, settings.Alpha, step.Lambda);
            return settings.Stopping == StoppingRule.DualityGap && point.DualityGap is { } gap
                ? point with { StoppingValue = gap / (problem.TargetVariance > 0 ? problem.TargetVariance : 1.0) }
                : point;
        }

        public PathFrame Frame() =>
            new(settings.FitIntercept ? problem.Means : new double[problem.Names.Length], problem.Scales, problem.TargetVariance, problem.Warnings);
    }

    /// <remarks>
    /// The point is stored by its nonzero coefficients (<see cref="SparseCoefficients"/>): on wide data the path is nearly all
    /// zeros, and dense vectors per lambda cost more in allocation and collection than the solve.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static PathPoint Point(ICdCore core, Problem problem, double alpha, double lambda)
    {
        int q = problem.Active.Length;
        var beta = core.Beta;
        var nonZeroAt = ArrayPool<int>.Shared.Rent(q);
        int nonZero = NonZeroIndices(beta, nonZeroAt);
        var indices = new int[nonZero];
        var original = new double[nonZero];
        var standardized = new double[nonZero];
        double intercept = problem.TargetMean;
        // Active is ascending, so the indices are too.
        for (int k = 0; k < nonZero; k++)
        {
            int u = nonZeroAt[k];
            double b = beta[u];
            int j = problem.Active[u];
            indices[k] = j;
            standardized[k] = b;
            original[k] = b / problem.Scales[j];
            intercept -= problem.Means[j] * original[k];
        }
        double yVar = problem.TargetVariance;
        var (rss, ry) = Residual(core, problem, nonZeroAt.AsSpan(0, nonZero));
        ArrayPool<int>.Shared.Return(nonZeroAt);
        double ratio = yVar > 0 ? 1 - rss / yVar : double.NaN;
        var coefficients = new SparseCoefficients(problem.Names.Length, indices, original, standardized);
        return new PathPoint(lambda, problem.Rows > 0 ? intercept : 0, coefficients, null)
        {
            DevianceRatio = ratio,
            DualityGap = lambda > 0 ? DualityGap(core, problem, rss, ry, lambda, alpha) : null,
        };
    }

    /// <summary>
    /// Writes the u with <paramref name="beta"/>[u] != 0 to <paramref name="into"/>, ascending, and returns how many: a wide
    /// path's coefficients are nearly all 0, so runs of a vector's width of zeros are skipped at one comparison each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int NonZeroIndices(ReadOnlySpan<double> beta, Span<int> into)
    {
        int count = 0, u = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            for (; u + w <= beta.Length; u += w)
            {
                if (Vector.EqualsAll(new Vector<double>(beta[u..]), Vector<double>.Zero)) continue;
                for (int k = u; k < u + w; k++)
                    if (beta[k] != 0) into[count++] = k;
            }
        }
        for (; u < beta.Length; u++)
            if (beta[u] != 0) into[count++] = u;
        return count;
    }
    /// <summary>
    /// The standard gap; with bounds that of the box-constrained problem, and without an L1 part (ridge by coordinate
    /// descent) the Fenchel gap of <see cref="BoxDualityGap"/> with no box: scikit-learn's dual point needs an L1 part to
    /// rescale the residual to, and the unscaled residual is not feasible for its augmented dual away from the optimum.
    /// </summary>
    private static double DualityGap(ICdCore core, Problem problem, double rss, double ry, double lambda, double alpha) =>
        problem.Bounds is not null || !(alpha > 0)
            ? BoxDualityGap.Of(core.Beta, core.Gradient, problem.V, problem.Bounds, rss, lambda, alpha)
            : StandardGap(core.Beta, core.Gradient, problem.V, rss, ry, lambda, alpha);

    /// <summary>(1/n)||r||² and (1/n) r'y at the current solution, from the Gram form: r'r = y'y - c'b - b'g, r'y = y'y - c'b.</summary>
    private static (double Rss, double Ry) Residual(ICdCore core, Problem problem)
    {
        var nonZeroAt = ArrayPool<int>.Shared.Rent(core.Beta.Length);
        var result = Residual(core, problem, nonZeroAt.AsSpan(0, NonZeroIndices(core.Beta, nonZeroAt)));
        ArrayPool<int>.Shared.Return(nonZeroAt);
        return result;
    }

    /// <summary><see cref="Residual(ICdCore, Problem)"/> given the nonzero coordinates, ascending.</summary>
    private static (double Rss, double Ry) Residual(ICdCore core, Problem problem, ReadOnlySpan<int> nonZero)
    {
        double cb = 0, bg = 0;
        var beta = core.Beta;
        var g = core.Gradient;
        foreach (int u in nonZero)
        {
            cb += problem.C[u] * beta[u];
            bg += beta[u] * g[u];
        }
        return (Math.Max(problem.TargetVariance - cb - bg, 0), problem.TargetVariance - cb);
    }

    /// <summary>
    /// The standard duality gap of the elastic net at <paramref name="beta"/>, on the objective's scale
    /// P(b) = (1/2n)||y - Zb||² + lambda sum_j v_j [(1 - alpha)/2 b_j² + alpha |b_j|]: P(b) - D(theta) at scikit-learn's
    /// dual point (enet_coordinate_descent; celer's for the lasso), the residual rescaled to dual feasibility,
    /// theta = r / max(n lambda alpha, max_j |z_j'r - n lambda (1 - alpha) v_j b_j| / v_j) over the penalized features
    /// (the L2 part enters as scikit-learn's, through the augmented design). Per row: scikit-learn's <c>dual_gap_</c>
    /// with the same data, lambda alpha its alpha and penalty factors 1.
    /// </summary>
    /// <param name="beta">The standardized coefficients b.</param>
    /// <param name="gradient">g_j = (1/n) z_j'r (an upper bound of |g_j| off the support still gives a valid gap).</param>
    /// <param name="rss">(1/n) r'r.</param>
    /// <param name="v">Penalty factors.</param>
    /// <param name="ry">(1/n) r'y.</param>
    /// <param name="lambda">The penalty strength.</param>
    /// <param name="alpha">The L1 share (l1Ratio).</param>
    /// <remarks>
    /// With s the rescaling (s = 1 when r is feasible), the gap 0.5 rss (1 + s²) + l1 ||b||_1 - s ry + 0.5 l2 (1 + s²) ||b||²
    /// is evaluated as sum_j v_j (l1 |b_j| + l2 b_j²) - g_j b_j + (1 - s) (ry - (1 + s)(rss + l2 ||b||²) / 2), the same in
    /// exact arithmetic: no difference of two O(||y||²) terms, so gaps near rounding stay meaningful. Unpenalized
    /// features (v_j = 0) are left out of the dual norm: their g_j is 0 at any solution.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double StandardGap(ReadOnlySpan<double> beta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> v,
        double rss, double ry, double lambda, double alpha)
    {
        double l1 = lambda * alpha, l2 = lambda * (1 - alpha);
        double support = 0, l2Norm = 0, dualNorm = DualNorm(beta, gradient, v, l2);
        var nonZeroAt = ArrayPool<int>.Shared.Rent(beta.Length);
        int nonZero = NonZeroIndices(beta, nonZeroAt);
        for (int k = 0; k < nonZero; k++)
        {
            int u = nonZeroAt[k];
            double b = beta[u];
            support += v[u] * (l1 * Math.Abs(b) + l2 * b * b) - gradient[u] * b;
            l2Norm += v[u] * b * b;
        }
        ArrayPool<int>.Shared.Return(nonZeroAt);
        // Without an L1 part (ridge) there is nothing to rescale to: callers take BoxDualityGap's Fenchel gap there.
        double s = l1 > 0 && dualNorm > l1 ? l1 / dualNorm : 1.0;
        double gap = support + (1 - s) * (ry - 0.5 * (1 + s) * (rss + l2 * l2Norm));
        return Math.Max(gap, 0);
    }
    /// <summary>
    /// max_j |g_j - l2 v_j b_j| / v_j over the penalized features (v_j > 0), vectorized (<see cref="Vector{T}"/>; each
    /// element the same operations as <see cref="DualNormScalar"/>, and a maximum does not depend on the order, so the two agree).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double DualNorm(ReadOnlySpan<double> beta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, double l2)
    {
        double norm = 0;
        int u = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            var l = new Vector<double>(l2);
            var top = Vector<double>.Zero;
            for (; u + w <= beta.Length; u += w)
            {
                var f = new Vector<double>(v[u..]);
                var value = Vector.Abs(new Vector<double>(gradient[u..]) - l * f * new Vector<double>(beta[u..])) / f;
                top = Vector.Max(top, Vector.ConditionalSelect(Vector.GreaterThan(f, Vector<double>.Zero), value, Vector<double>.Zero));
            }
            for (int k = 0; k < w; k++) norm = Math.Max(norm, top[k]);
        }
        for (; u < beta.Length; u++)
            if (v[u] > 0) norm = Math.Max(norm, Math.Abs(gradient[u] - l2 * v[u] * beta[u]) / v[u]);
        return norm;
    }

    /// <summary>The scalar twin of <see cref="DualNorm"/>.</summary>
    internal static double DualNormScalar(ReadOnlySpan<double> beta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, double l2)
    {
        double norm = 0;
        for (int u = 0; u < beta.Length; u++)
            if (v[u] > 0) norm = Math.Max(norm, Math.Abs(gradient[u] - l2 * v[u] * beta[u]) / v[u]);
        return norm;
    }
}
