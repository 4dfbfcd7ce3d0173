namespace RegService.Numerics.Solvers;

/// <summary>
/// The extreme eigenvalues of a symmetric positive semi-definite matrix (a standardized Gram: the correlation matrix of
/// the features) and the eigenvector of the smallest, without a full eigendecomposition: the largest by power iteration,
/// the smallest by inverse iteration with one Cholesky factor of <c>A + delta I</c> (Golub and Van Loan, Matrix
/// Computations, 4th ed., 7.3 and 8.2). About k³/3 flops for the factor and O(k²) per iteration, against about 9k³ for
/// <see cref="SymmetricEigen"/>.
/// </summary>
/// <remarks>
/// Both eigenvalues are Rayleigh quotients, so the largest is approached from below and the smallest from above: the
/// condition number <c>Largest / Smallest</c> is never overstated. An eigenvalue below <see cref="NoiseFloor"/> times
/// k times the largest is within the rounding of the matrix's entries: the matrix is then numerically singular
/// (<see cref="Extremes.Singular"/>) and the smallest eigenvalue is reported as that floor.
/// </remarks>
internal static class Conditioning
{
    /// <summary>Relative size of an eigenvalue indistinguishable from 0, per order of the matrix (a few units of rounding).</summary>
    public const double NoiseFloor = 1e-15;

    /// <summary>Iterations of each of the two at most (O(k²) each): the power iteration's Rayleigh quotient is within a few parts in
    /// 10⁴ of the largest eigenvalue by then even when the two largest are close, and inverse iteration needs a few.</summary>
    private const int MaxIterations = 300;

    /// <summary>The largest and smallest eigenvalues, the unit eigenvector of the smallest, and whether it is numerically 0.</summary>
    public sealed record Extremes(double Largest, double Smallest, double[] SmallestVector, bool Singular)
    {
        /// <summary>Largest / Smallest (a lower bound when <see cref="Singular"/>).</summary>
        public double Condition => Largest / Smallest;
    }

    /// <summary>The extremes of the k x k row-major symmetric positive semi-definite <paramref name="a"/> (not modified); k ≥ 1.</summary>
    /// <param name="a">Row-major k x k; symmetric.</param>
    /// <param name="k">Its order.</param>
    /// <param name="ct">Checked once per iteration and per row of the factorization.</param>
    public static Extremes Of(double[] a, int k, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (a.Length != (long)k * k) throw new ArgumentException($"a has {a.Length} values but a {k} x {k} matrix needs {(long)k * k}", nameof(a));

        // Largest: power iteration from a start with a component along every axis (a fixed pseudo-random sequence).
        var v = Start(k, 17);
        var w = new double[k];
        double largest = 0;
        for (int it = 0; it < MaxIterations; it++)
        {
            ct.ThrowIfCancellationRequested();
            Multiply(a, k, v, w);
            double rayleigh = Dot(v, w), norm = Norm(w);
            if (norm == 0) break;   // a = 0
            for (int i = 0; i < k; i++) v[i] = w[i] / norm;
            bool settled = Math.Abs(rayleigh - largest) <= 1e-9 * rayleigh;
            largest = Math.Max(largest, rayleigh);
            if (settled) break;
        }
        if (!(largest > 0)) return new Extremes(0, 0, Start(k, 1), Singular: true);

        // Smallest: inverse iteration, v <- (A + delta I)^-1 v, with delta just above the rounding of A's entries so the
        // factor exists for a singular A (a larger delta, times 100, when rounding made an eigenvalue negative).
        double floor = NoiseFloor * k * largest;
        var factor = new double[a.Length];
        for (double delta = floor; ; delta *= 100)
        {
            a.CopyTo(factor, 0);
            for (int i = 0; i < k; i++) factor[(long)i * k + i] += delta;
            try
            {
                SymmetricSolve.CholeskyFactor(factor, k, ct);
                break;
            }
            catch (NumericalBreakdownException) when (delta < 1e-3 * largest)
            {
            }
        }
        v = Start(k, 29);
        double smallest = double.PositiveInfinity;
        for (int it = 0; it < MaxIterations; it++)
        {
            ct.ThrowIfCancellationRequested();
            SymmetricSolve.CholeskySolve(factor, v, w);
            double norm = Norm(w);
            for (int i = 0; i < k; i++) v[i] = w[i] / norm;
            Multiply(a, k, v, w);
            double rayleigh = Math.Max(Dot(v, w), 0);   // v'Av
            bool settled = Math.Abs(smallest - rayleigh) <= 1e-3 * rayleigh + floor;
            smallest = Math.Min(smallest, rayleigh);
            if (settled) break;
        }
        bool singular = smallest <= floor;
        return new Extremes(largest, Math.Max(smallest, floor), v, singular);
    }

    private static double[] Start(int k, int seed)
    {
        var rng = new Random(seed);
        var v = new double[k];
        for (int i = 0; i < k; i++) v[i] = 0.5 + rng.NextDouble();
        double norm = Norm(v);
        for (int i = 0; i < k; i++) v[i] /= norm;
        return v;
    }

    /// <summary>w = A v.</summary>
    private static void Multiply(double[] a, int k, double[] v, double[] w)
    {
        for (int i = 0; i < k; i++)
            w[i] = System.Numerics.Tensors.TensorPrimitives.Dot<double>(a.AsSpan((int)((long)i * k), k), v);
    }

    private static double Dot(double[] u, double[] v) => System.Numerics.Tensors.TensorPrimitives.Dot<double>(u, v);

    private static double Norm(double[] v) => Math.Sqrt(Dot(v, v));
}
