using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;

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

    /// <summary>
    /// Covariance form over n rows, from the shifted Gram of [features, target] and its column sums
    /// (see <see cref="Kernels.GramKernel"/>; the shift must be 0 without an intercept).
    /// </summary>
    public static PathFit FromGram(double[] gram, double[] sums, double[] shift, int n, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        var system = NormalSystem.From(gram, sums, shift, n, featureNames, settings.Standardize, settings.FitIntercept);
        int q = system.Active.Length;
        var v = Restrict(settings.PenaltyFactors, system.Active);
        var core = new CovarianceCd(system.A, system.C, q, v, settings.Alpha);
        var diagonal = new double[q];
        for (int u = 0; u < q; u++) diagonal[u] = system.Diagonal(u);
        var problem = new Problem(system.Active, v, system.C, diagonal, system.FeatureMeans, system.Scales,
            system.TargetMean, system.TargetVariance, n, featureNames, [.. system.Warnings]);
        return Drive(core, problem, settings, progress, ct);
    }

    /// <summary>Naive form over every row of <paramref name="x"/> (gather rows first to fit a subset).</summary>
    public static PathFit Naive(DenseMatrix x, int[] featureCols, int targetCol, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        int n = x.Rows, p = featureCols.Length;
        var means = new double[p];
        var scales = new double[p];
        var variances = new double[p];
        var warnings = new List<string>();
        var active = new List<int>(p);
        var rawMeans = new double[p];
        var rawVariances = new double[p];
        int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
        int parts = (long)p * n > 1_000_000 ? threads : 1;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            for (int j = (int)((long)p * t / parts); j < (int)((long)p * (t + 1) / parts); j++)
            {
                var col = x.Column(featureCols[j]);
                double m = System.Numerics.Tensors.TensorPrimitives.Sum(col) / n;
                rawMeans[j] = m;
                rawVariances[j] = Vec.SumSquaredDeviations(col, m) / n;
            }
        });
        for (int j = 0; j < p; j++)
        {
            var scale = Standardization.Of(rawMeans[j], rawVariances[j], settings.FitIntercept, settings.Standardize, GlmFamily.Gaussian.Scale);
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
        var core = new NaiveCd(columns, activeMeans, activeScales, activeVariances, yc, v, settings.Alpha, threads);
        var diagonal = new double[q];
        for (int u = 0; u < q; u++) diagonal[u] = core.Diagonal(u);
        var problem = new Problem([.. active], v, core.C, diagonal, means, scales, yMean, yVariance, n, featureNames, warnings);
        return Drive(core, problem, settings, progress, ct);
    }

    /// <summary>What the path driver needs to know besides the solver: the standardized problem's data.</summary>
    private sealed record Problem(
        int[] Active, double[] V, double[] C, double[] Diagonal, double[] Means, double[] Scales,
        double TargetMean, double TargetVariance, int Rows, string[] Names, List<string> Warnings);

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
            return new PointOutcome(outcome.Converged, outcome.Passes, ScreenedOut: outcome.ScreenedOut);
        }

        public PathPoint Point(in PathStep step) => GaussianPath.Point(core, problem, settings.Alpha, step.Lambda);

        public PathFrame Frame() =>
            new(settings.FitIntercept ? problem.Means : new double[problem.Names.Length], problem.Scales, problem.TargetVariance, problem.Warnings);
    }

    private static PathPoint Point(ICdCore core, Problem problem, double alpha, double lambda)
    {
        int q = problem.Active.Length, p = problem.Names.Length;
        var beta = core.Beta;
        var g = core.Gradient;
        var standardized = new double[p];
        var original = new double[p];
        double intercept = problem.TargetMean;
        int nonZero = 0;
        double cb = 0, bg = 0, l1Norm = 0, l2Norm = 0, dualNorm = 0;
        double l1 = lambda * alpha, l2 = lambda * (1 - alpha);
        for (int u = 0; u < q; u++)
        {
            int j = problem.Active[u];
            double b = beta[u];
            cb += problem.C[u] * b;
            bg += b * g[u];
            if (problem.V[u] > 0)
                dualNorm = Math.Max(dualNorm, Math.Abs(g[u] - l2 * problem.V[u] * b) / problem.V[u]);
            if (b == 0) continue;
            nonZero++;
            standardized[j] = b;
            original[j] = b / problem.Scales[j];
            intercept -= problem.Means[j] * original[j];
            l1Norm += problem.V[u] * Math.Abs(b);
            l2Norm += problem.V[u] * b * b;
        }
        double yVar = problem.TargetVariance;
        double rss = Math.Max(yVar - cb - bg, 0);          // (1/n) ||y - Zb||^2
        double ratio = yVar > 0 ? 1 - rss / yVar : double.NaN;

        // Duality gap (the elastic-net dual of scikit-learn's enet_coordinate_descent, per row, penalty factors included).
        double? gap = null;
        if (l1 > 0)
        {
            double scale = dualNorm > l1 ? l1 / dualNorm : 1.0;
            double ry = yVar - cb;                             // (1/n) r'y
            double value = 0.5 * rss * (1 + scale * scale) + l1 * l1Norm - scale * ry + 0.5 * l2 * (1 + scale * scale) * l2Norm;
            gap = Math.Max(value, 0) / (yVar > 0 ? yVar : 1.0);
        }
        return new PathPoint(lambda, problem.Rows > 0 ? intercept : 0, original, standardized, nonZero, null)
        {
            DevianceRatio = ratio,
            DualityGap = gap,
        };
    }
}
