using System.Buffers;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Closed-form ridge (and unpenalized least squares) for the gaussian family:
/// minimizes <c>(1/2n) ||y - b0 - Xb||^2 + lambda/2 ||b||^2</c> on the standardized scale.
/// </summary>
/// <remarks>
/// From the shifted Gram matrix of [features, target] (<see cref="Kernels.GramKernel"/>):
/// <c>A = Z'Z/n</c>, <c>c = Z'y/n</c> for the centered, scaled features <c>Z</c>, and
/// <c>beta = (A + lambda I)^-1 c</c> by Cholesky for one lambda, or by one symmetric
/// eigendecomposition <c>A = V D V'</c> for many (<c>beta = V (D + lambda I)^-1 V'c</c>).
/// Original-scale coefficients are <c>b_j = beta_j / s_j</c>, <c>b0 = mean(y) - sum_j mean_j b_j</c>.
/// A generated path starts, like glmnet's alpha = 0 path, at max_j |c_j| / 1e-3.
/// </remarks>
public static class ClosedFormRidge
{
    public const string SolverName = "closedForm";

    public static PathFit FromGram(double[] gram, double[] sums, double[] shift, int n, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        // A in a pooled buffer (it does not outlive the path): a fresh one per fit cost a page fault per 4 KB (320 KB at 200 features).
        var buffer = ArrayPool<double>.Shared.Rent(ArraySizes.Square(featureNames.Length, "the normal equations"));
        try
        {
            var system = NormalSystem.From(gram, sums, shift, n, featureNames, settings.Standardize, settings.FitIntercept, ct, buffer);
            using var solver = new PointSolver(system, n, featureNames.Length);
            return PathDriver.Run(solver, settings, progress, ct);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// One lambda by Cholesky, or, when the path has several, from one Householder reduction of A made at the first
    /// (<see cref="TridiagonalRidge"/>: a tridiagonal solve and the map back per lambda, the deviance ratio from the
    /// tridiagonal system in O(p); an eigendecomposition's QL iterations were most of the path's time).
    /// Every generated lambda is fitted (no early stop: a point costs O(p^2)).
    /// </summary>
    private sealed class PointSolver(NormalSystem system, int rows, int features) : IPointSolver, IDisposable
    {
        private TridiagonalRidge? _reduced;
        private double[] _beta = [];
        private double _ratio;

        public void Dispose() => _reduced?.Dispose();

        public int Rows => rows;
        public int Features => features;
        public EarlyStop Stop => EarlyStop.None;

        /// <summary>max_j |c_j|: every feature is penalized alike (closed form is used without penalty factors).</summary>
        public double Start(CancellationToken ct) => MaxAbs(system.C);

        public PointOutcome Solve(in PathStep step, CancellationToken ct)
        {
            if (step.Index == 0 && step.Count > 1) _reduced = system.Reduce(ct);
            if (_reduced is null)
            {
                _beta = system.Solve(step.Lambda, ct);
                _ratio = DevianceRatio(system, _beta, ct);
            }
            else
            {
                ct.ThrowIfCancellationRequested();
                _beta = new double[system.C.Length];
                _reduced.Solve(step.Lambda, _beta, out double cb, out double bab);
                _ratio = DevianceRatio(system.TargetVariance, cb, bab);
            }
            return new PointOutcome(true, 0);
        }

        public PathPoint Point(in PathStep step) =>
            system.Point(step.Lambda, _beta) with { DevianceRatio = _ratio };

        public PathFrame Frame() => new(system.FeatureMeans, system.Scales, system.TargetVariance, [.. system.Warnings]);
    }

    /// <summary>max_j |c_j|: with every penalty factor 1, lambda_max times max(alpha, 1e-3).</summary>
    internal static double MaxAbs(double[] c)
    {
        double max = 0;
        foreach (var value in c) max = Math.Max(max, Math.Abs(value));
        return max;
    }

    /// <summary>1 - RSS/TSS with RSS/n = var(y) - 2c'b + b'Ab.</summary>
    private static double DevianceRatio(NormalSystem system, double[] beta, CancellationToken ct)
    {
        int q = beta.Length;
        var a = system.A;
        double cb = 0, bab = 0;
        for (int u = 0; u < q; u++)
        {
            if ((u & 255) == 0) ct.ThrowIfCancellationRequested();
            cb += system.C[u] * beta[u];
            double row = System.Numerics.Tensors.TensorPrimitives.Dot<double>(a.AsSpan((int)((long)u * q), q), beta);
            bab += beta[u] * row;
        }
        return DevianceRatio(system.TargetVariance, cb, bab);
    }

    /// <summary>1 - RSS/TSS from var(y), c'b and b'Ab.</summary>
    private static double DevianceRatio(double yVar, double cb, double bab) =>
        yVar > 0 ? 1 - Math.Max(yVar - 2 * cb + bab, 0) / yVar : double.NaN;
}
