using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Coordinate descent for the penalized quadratic
/// <code>
/// minimize (1/2) b'Ab - c'b + lambda * sum_j v_j [ (1 - alpha)/2 b_j^2 + alpha |b_j| ]
/// </code>
/// with A symmetric positive semidefinite (q x q, row-major). This is the covariance form of
/// Friedman, Hastie &amp; Tibshirani (2010): for the gaussian family A = Z'Z/n and c = Z'y/n; for a
/// proximal Newton step A and c are the weighted ones. The gradient g = c - Ab is kept for every
/// coordinate, so each update costs one axpy of length q, and the KKT check over the features the
/// strong rule left out costs nothing. The solution is warm: each <see cref="Solve"/> starts from the last.
/// </summary>
/// <remarks>One solve is <see cref="CoordinateDescent.Solve"/>: strong rule, active set, KKT check.</remarks>
public sealed class CovarianceCd : ICdCore
{
    private readonly double[] _a;
    private readonly double[] _c;
    private readonly int _q;
    private readonly CoordinateDescent _cd;

    /// <summary>
    /// Starts at b = <paramref name="start"/> (or 0, feasible for <paramref name="bounds"/>), so g = c - A b. The passes over the
    /// active set are extrapolated (<see cref="CoordinateDescent.Extrapolates"/>) unless <paramref name="extrapolate"/> is false.
    /// </summary>
    public CovarianceCd(double[] a, double[] c, int q, double[] penaltyFactors, double alpha, double[]? start = null, CoefficientBounds? bounds = null,
                        bool extrapolate = true)
    {
        if (a.Length < (long)q * q || c.Length < q || penaltyFactors.Length < q) throw new ArgumentException("A, c and the penalty factors must match q");
        _a = a;
        _c = c[..q];
        _q = q;
        _cd = new CoordinateDescent(q, penaltyFactors, alpha) { Bounds = bounds, SettleFactor = CoordinateDescent.GaussianSettle, Extrapolates = extrapolate };
        Beta = new double[q];
        Gradient = c[..q];
        if (start is not null)
        {
            for (int j = 0; j < q; j++)
            {
                if (start[j] == 0) continue;
                Beta[j] = start[j];
                Vec.Axpy(-start[j], _a.AsSpan(j * q, q), Gradient);
                _cd.MarkActive(j);
            }
        }
    }

    /// <summary>The current solution.</summary>
    public double[] Beta { get; }

    /// <summary>g = c - A b at the current solution.</summary>
    public double[] Gradient { get; }

    /// <summary>Coordinates that have been nonzero at some point (never shrinks).</summary>
    public IReadOnlyList<int> Active => _cd.Active;

    /// <summary>Extrapolations tried and kept so far.</summary>
    internal (int Tried, int Taken) Extrapolations => _cd.Extrapolations;

    /// <summary>(1/2) b'Ab - c'b at the current solution as the extrapolation's objective test computes it (from b and g).</summary>
    internal double QuadraticPart() => new Coordinates(this).Smooth(_cd.Active);

    /// <summary>
    /// Solves at <paramref name="lambda"/> from the current solution. <paramref name="previousLambda"/> is the
    /// lambda of the warm start (for the strong rule; pass <paramref name="lambda"/> itself to screen by
    /// |g_j| ≥ alpha v_j lambda). Stops after <paramref name="maxPasses"/> passes, unconverged.
    /// </summary>
    public CdOutcome Solve(double lambda, double previousLambda, double tolerance, int maxPasses, CancellationToken ct = default)
    {
        var coordinates = new Coordinates(this);
        return _cd.Solve(ref coordinates, lambda, previousLambda, tolerance, maxPasses, ct);
    }

    /// <summary>The covariance form: g = c - A b kept for every coordinate; a move of b_j is one axpy of row j of A.</summary>
    private readonly struct Coordinates(CovarianceCd owner) : ICoordinates
    {
        public double[] Beta => owner.Beta;
        public double[] Gradient => owner.Gradient;
        public void Begin(int first) { }
        public double GradientAt(int j) => owner.Gradient[j];
        public double Curvature(int j) => owner._a[j * owner._q + j];
        public double ChangeWeight(int j) => owner._a[j * owner._q + j];
        public void Stay(int j, double g, int next) { }

        // g -= d A_j
        public void Move(int j, double delta, double g, int next) => Vec.Axpy(-delta, owner._a.AsSpan(j * owner._q, owner._q), owner.Gradient);

        public void BeforeKkt(bool[] inStrong, double lambda) { }

        /// <summary>(1/2) b'Ab - c'b = -(1/2) b'(c + g) with g = c - A b, over the coordinates that can be nonzero.</summary>
        public double Smooth(List<int> active)
        {
            double sum = 0;
            foreach (int j in active) sum += owner.Beta[j] * (owner._c[j] + owner.Gradient[j]);
            return -0.5 * sum;
        }

        /// <summary>Recomputes g = c - A b from the nonzero coordinates, so rounding does not drift along a path.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Finish(List<int> strong)
        {
            owner._c.CopyTo(owner.Gradient, 0);
            foreach (int j in owner._cd.Active)
                if (owner.Beta[j] != 0) Vec.Axpy(-owner.Beta[j], owner._a.AsSpan(j * owner._q, owner._q), owner.Gradient);
        }
    }
}
