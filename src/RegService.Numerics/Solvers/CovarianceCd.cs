using RegService.Numerics.Kernels;

namespace RegService.Numerics.Solvers;

/// <summary>What one coordinate-descent solve at one lambda did.</summary>
public readonly record struct CdOutcome(bool Converged, int Passes, int ScreenedOut, int KktViolations);

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
/// <remarks>
/// One solve: the sequential strong rule (Tibshirani et al. 2012) picks the features with
/// |g_j| ≥ alpha v_j (2 lambda - lambda_prev) plus every nonzero one; a full pass over them settles the
/// active set, passes over the active set run until the largest weighted change max_j A_jj Δb_j² falls
/// below the tolerance, then a full pass confirms; finally the KKT conditions |g_j| ≤ lambda alpha v_j are
/// checked over the features left out, and any violators join and the solve goes on.
/// </remarks>
public sealed class CovarianceCd : ICdCore
{
    private readonly double[] _a;
    private readonly double[] _c;
    private readonly int _q;
    private readonly double[] _v;
    private readonly double _alpha;
    private readonly bool[] _inStrong;
    private readonly bool[] _inActive;
    private readonly List<int> _active = [];

    /// <summary>Starts at b = <paramref name="start"/> (or 0), so g = c - A b.</summary>
    public CovarianceCd(double[] a, double[] c, int q, double[] penaltyFactors, double alpha, double[]? start = null)
    {
        if (a.Length < (long)q * q || c.Length < q || penaltyFactors.Length < q) throw new ArgumentException("A, c and the penalty factors must match q");
        _a = a;
        _c = c[..q];
        _q = q;
        _v = penaltyFactors;
        _alpha = alpha;
        Beta = new double[q];
        Gradient = c[..q];
        _inStrong = new bool[q];
        _inActive = new bool[q];
        if (start is not null)
        {
            for (int j = 0; j < q; j++)
            {
                if (start[j] == 0) continue;
                Beta[j] = start[j];
                Vec.Axpy(-start[j], _a.AsSpan(j * q, q), Gradient);
                _inActive[j] = true;
                _active.Add(j);
            }
        }
    }

    /// <summary>The current solution.</summary>
    public double[] Beta { get; }

    /// <summary>g = c - A b at the current solution.</summary>
    public double[] Gradient { get; }

    /// <summary>Coordinates that have been nonzero at some point (never shrinks).</summary>
    public IReadOnlyList<int> Active => _active;

    /// <summary>
    /// Solves at <paramref name="lambda"/> from the current solution. <paramref name="previousLambda"/> is the
    /// lambda of the warm start (for the strong rule; pass <paramref name="lambda"/> itself to screen by
    /// |g_j| ≥ alpha v_j lambda). Stops after <paramref name="maxPasses"/> passes, unconverged.
    /// </summary>
    public CdOutcome Solve(double lambda, double previousLambda, double tolerance, int maxPasses, CancellationToken ct = default)
    {
        int q = _q;
        var strong = new List<int>(q);
        double screen = _alpha * Math.Max(2 * lambda - previousLambda, 0);
        Array.Clear(_inStrong);
        for (int j = 0; j < q; j++)
        {
            if (Beta[j] != 0 || _v[j] == 0 || Math.Abs(Gradient[j]) >= screen * _v[j])
            {
                _inStrong[j] = true;
                strong.Add(j);
            }
        }
        int screenedOut = q - strong.Count, violations = 0, passes = 0;
        while (true)
        {
            double change = Pass(strong, lambda);
            passes++;
            while ((change >= tolerance || (passes == 1 && change > 0)) && passes < maxPasses)
            {
                // Settle the active set before another full pass.
                do
                {
                    ct.ThrowIfCancellationRequested();
                    change = Pass(_active, lambda);
                    passes++;
                } while (change >= tolerance && passes < maxPasses);
                if (passes >= maxPasses) break;
                change = Pass(strong, lambda);
                passes++;
            }
            if (change >= tolerance) return new CdOutcome(false, passes, screenedOut, violations);

            // KKT over the features the strong rule left out.
            double bound = lambda * _alpha;
            int added = 0;
            for (int j = 0; j < q; j++)
            {
                if (_inStrong[j] || Math.Abs(Gradient[j]) <= bound * _v[j]) continue;
                _inStrong[j] = true;
                strong.Add(j);
                added++;
            }
            if (added == 0) break;
            violations += added;
            screenedOut -= added;
        }
        Refresh();
        return new CdOutcome(true, passes, screenedOut, violations);
    }

    /// <summary>One cyclic pass over <paramref name="set"/>; returns max_j A_jj Δb_j².</summary>
    private double Pass(List<int> set, double lambda)
    {
        int q = _q;
        double largest = 0;
        double l1 = lambda * _alpha, l2 = lambda * (1 - _alpha);
        for (int s = 0; s < set.Count; s++)
        {
            int j = set[s];
            double ajj = _a[j * q + j];
            double den = ajj + l2 * _v[j];
            if (den <= 0) continue;
            double bj = Beta[j];
            double u = Gradient[j] + ajj * bj;
            double t = l1 * _v[j];
            double nb = u > t ? (u - t) / den : u < -t ? (u + t) / den : 0.0;
            if (nb == bj) continue;
            double d = nb - bj;
            Beta[j] = nb;
            Vec.Axpy(-d, _a.AsSpan(j * q, q), Gradient);
            largest = Math.Max(largest, ajj * d * d);
            if (!_inActive[j])
            {
                _inActive[j] = true;
                _active.Add(j);
            }
        }
        return largest;
    }

    /// <summary>Recomputes g = c - A b from the nonzero coordinates, so rounding does not drift along a path.</summary>
    private void Refresh()
    {
        _c.CopyTo(Gradient, 0);
        foreach (int j in _active)
            if (Beta[j] != 0) Vec.Axpy(-Beta[j], _a.AsSpan(j * _q, _q), Gradient);
    }
}
