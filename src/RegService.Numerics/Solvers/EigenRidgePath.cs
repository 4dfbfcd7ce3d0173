using System.Buffers;
using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Ridge solutions (A + λI)⁻¹·b for many penalties λ from one symmetric eigendecomposition A = V·diag(d)·Vᵀ:
/// x = V·diag(1/(d + λ))·Vᵀ·b costs O(k²) per λ (O(k) when Vᵀ·b is projected once with <see cref="Project"/>).
/// </summary>
/// <remarks>
/// The decomposition (O(k³), done once in the constructor) is <see cref="SymmetricEigen"/> (Householder
/// tridiagonalization and implicit QL, the algorithm of MathNet.Numerics' managed solver), which checks a cancellation token. The eigenvalues are exposed for
/// generalized cross-validation and leave-one-out formulas. Rounding can leave eigenvalues of a positive
/// semi-definite matrix slightly below zero; they are reported as computed.
/// </remarks>
public sealed class EigenRidgePath
{
    private readonly int _k;
    private readonly double[] _eigenvalues;   // ascending
    private readonly double[] _eigenvectors;  // row i = unit eigenvector i (k x k row-major, i.e. Vᵀ)

    /// <summary>Decomposes the symmetric matrix A.</summary>
    /// <param name="a">Row-major k x k symmetric matrix; it is symmetrized as (A + Aᵀ)/2 so tiny asymmetries do not matter.</param>
    /// <param name="k">The order of the matrix.</param>
    /// <exception cref="NumericalBreakdownException">A holds values that are not finite, or the eigenvalue iteration failed.</exception>
    /// <param name="ct">Checked while the matrix is decomposed (see <see cref="SymmetricEigen"/>).</param>
    public EigenRidgePath(ReadOnlySpan<double> a, int k, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a.Length != (long)k * k)
            throw new ArgumentException($"a has {a.Length} values but a {k} x {k} matrix needs {(long)k * k}", nameof(a));
        foreach (double v in a)
        {
            if (!double.IsFinite(v))
                throw new NumericalBreakdownException("Eigendecomposition needs a finite matrix; it holds NaN or infinity.");
        }

        _k = k;
        _eigenvalues = new double[k];
        _eigenvectors = new double[ArraySizes.Square(k, "the eigenvectors")];
        if (k == 0)
            return;

        // Symmetric, so column-major storage equals row-major. Decomposed in place in _eigenvectors, whose rows are then put in
        // ascending order through a pooled copy (a second fresh k x k array cost a page fault per 4 KB).
        var sym = _eigenvectors;
        for (int i = 0; i < k; i++)
        {
            // Per row: on a loaded 2-core machine (load average 60) a cancel at 0.3 s (ClosedFormCancellationTests, k = 2500)
            // found this setup running unchecked for 0.3-0.45 s of CPU (2-4.5 s of wall time).
            ct.ThrowIfCancellationRequested();
            for (int j = 0; j <= i; j++)
            {
                double v = 0.5 * (a[i * k + j] + a[j * k + i]);
                sym[i * k + j] = v;
                sym[j * k + i] = v;
            }
        }

        ct.ThrowIfCancellationRequested();
        double[] values = SymmetricEigen.Decompose(sym, k, ct);  // row i of sym = eigenvector i
        var vectors = ArrayPool<double>.Shared.Rent(sym.Length);
        try
        {
            sym.CopyTo(vectors, 0);
            int[] order = Enumerable.Range(0, k).ToArray();
            Array.Sort(values.ToArray(), order);
            for (int i = 0; i < k; i++)
            {
                _eigenvalues[i] = values[order[i]];
                vectors.AsSpan((int)((long)order[i] * k), k).CopyTo(_eigenvectors.AsSpan((int)((long)i * k), k));
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(vectors);
        }
    }

    /// <summary>The order k of A.</summary>
    public int Dimension => _k;

    /// <summary>The eigenvalues d of A in ascending order.</summary>
    public ReadOnlySpan<double> Eigenvalues => _eigenvalues;

    /// <summary>The unit eigenvector belonging to <c>Eigenvalues[i]</c> (column i of V).</summary>
    public ReadOnlySpan<double> Eigenvector(int i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, _k);
        return _eigenvectors.AsSpan(i * _k, _k);
    }

    /// <summary>Computes the coordinates Vᵀ·b of <paramref name="b"/> in the eigenbasis, for reuse across many λ.</summary>
    /// <param name="b">Length k.</param>
    /// <param name="coordinates">Receives Vᵀ·b, length k; must not overlap <paramref name="b"/>.</param>
    public void Project(ReadOnlySpan<double> b, Span<double> coordinates)
    {
        CheckLength(b.Length, nameof(b));
        CheckLength(coordinates.Length, nameof(coordinates));
        if (b.Overlaps(coordinates))
            throw new ArgumentException("coordinates must not overlap b", nameof(coordinates));
        for (int i = 0; i < _k; i++)
            coordinates[i] = TensorPrimitives.Dot(_eigenvectors.AsSpan(i * _k, _k), b);
    }

    /// <summary>Computes x = V·diag(1/(d + λ))·<paramref name="coordinates"/>, the ridge solution when the coordinates come from <see cref="Project"/>.</summary>
    /// <param name="coordinates">Vᵀ·b, length k.</param>
    /// <param name="lambda">The ridge penalty; must be finite.</param>
    /// <param name="x">Receives the solution, length k; must not overlap <paramref name="coordinates"/>.</param>
    /// <exception cref="NumericalBreakdownException">d + λ is not positive for some eigenvalue (A + λI is not positive definite).</exception>
    public void SolveProjected(ReadOnlySpan<double> coordinates, double lambda, Span<double> x)
    {
        CheckLength(coordinates.Length, nameof(coordinates));
        CheckLength(x.Length, nameof(x));
        if (!double.IsFinite(lambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be finite");
        if (coordinates.Overlaps(x))
            throw new ArgumentException("x must not overlap coordinates", nameof(x));

        x.Clear();
        for (int i = 0; i < _k; i++)
        {
            double shifted = _eigenvalues[i] + lambda;
            if (!(shifted > 0))
            {
                throw new NumericalBreakdownException(
                    $"A + lambda*I is not positive definite: eigenvalue {i} is {_eigenvalues[i]} and lambda is {lambda}.", i, shifted);
            }
            double scale = coordinates[i] / shifted;
            TensorPrimitives.MultiplyAdd(_eigenvectors.AsSpan(i * _k, _k), scale, x, x);
        }
    }

    /// <summary>Solves (A + λI)·x = b as V·diag(1/(d + λ))·Vᵀ·b in O(k²).</summary>
    /// <param name="b">The right-hand side, length k.</param>
    /// <param name="lambda">The ridge penalty; must be finite with d + λ &gt; 0 for every eigenvalue.</param>
    /// <param name="x">Receives the solution, length k; may be the same memory as <paramref name="b"/>.</param>
    /// <exception cref="NumericalBreakdownException">A + λI is not positive definite.</exception>
    public void Solve(ReadOnlySpan<double> b, double lambda, Span<double> x)
    {
        CheckLength(b.Length, nameof(b));
        Span<double> coordinates = _k <= 512 ? stackalloc double[_k] : new double[_k];
        Project(b, coordinates);
        SolveProjected(coordinates, lambda, x);
    }

    /// <summary>
    /// Effective degrees of freedom of the ridge fit, Σᵢ dᵢ/(dᵢ + λ) (the trace of the hat matrix when A = XᵀX).
    /// Eigenvalues below zero (rounding noise of a semi-definite A) count as zero; so does a zero eigenvalue at λ = 0.
    /// </summary>
    /// <param name="lambda">The ridge penalty, finite and ≥ 0.</param>
    public double EffectiveDegreesOfFreedom(double lambda)
    {
        if (!double.IsFinite(lambda) || lambda < 0)
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be finite and non-negative");
        double df = 0;
        foreach (double d in _eigenvalues)
        {
            if (d > 0)
                df += d / (d + lambda);
        }
        return df;
    }

    private void CheckLength(int length, string name)
    {
        if (length != _k)
            throw new ArgumentException($"{name} has length {length} but the matrix has order {_k}", name);
    }
}

/// <summary>
/// Ridge solutions (A + λI)⁻¹·c of one right-hand side for many penalties λ from one Householder reduction A = V·T·Vᵀ
/// (<see cref="SymmetricEigen.Householder"/>, T tridiagonal, V kept as its k − 1 reflectors): with u = Vᵀ·c projected once,
/// each λ solves the tridiagonal (T + λI)·x = u in O(k) and maps back, β = V·x, through the reflectors in O(k²) (what a
/// product with V formed would cost). Neither V formed (half of the reduction's work) nor the eigendecomposition's QL
/// iterations (two thirds of <see cref="EigenRidgePath"/>'s work at k = 200, each a rotation of whole rows) are needed for a
/// path; the eigenvalues (leave-one-out, GCV) are not read by it.
/// </summary>
/// <remarks>
/// The fit's quantities follow from x without A: cᵀβ = uᵀx and βᵀAβ = xᵀTx = uᵀx − λ·xᵀx (as (T + λI)·x = u). T + λI is
/// factored as L·D·Lᵀ without pivoting, which is backward stable for a positive definite tridiagonal; a pivot that is not
/// positive means A + λI is not positive definite (the eigen route's test d + λ &gt; 0), and throws as it does. The
/// reflectors live in a pooled buffer, handed back by <see cref="Dispose"/>.
/// </remarks>
internal sealed class TridiagonalRidge : IDisposable
{
    private readonly int _k;
    private double[]? _w;                 // the reflectors (SymmetricEigen.Householder), k x k row-major, pooled
    private readonly double[] _d, _e, _h; // T's diagonal and off-diagonal (e[j] = T[j, j - 1]); the reflectors' scalars
    private readonly double[] _u;         // Vᵀc
    private readonly double[] _x, _pivot, _lower;

    /// <summary>Reduces the symmetric k x k <paramref name="a"/> (symmetrized as (A + Aᵀ)/2) and projects <paramref name="c"/>.</summary>
    /// <exception cref="NumericalBreakdownException">A holds values that are not finite.</exception>
    public TridiagonalRidge(ReadOnlySpan<double> a, int k, ReadOnlySpan<double> c, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a.Length != (long)k * k || c.Length != k)
            throw new ArgumentException($"a has {a.Length} values and c {c.Length} but the order is {k}");
        foreach (double v in a)
            if (!double.IsFinite(v))
                throw new NumericalBreakdownException("Tridiagonal reduction needs a finite matrix; it holds NaN or infinity.");
        _k = k;
        var w = _w = ArrayPool<double>.Shared.Rent(Math.Max(ArraySizes.Square(k, "the reduction"), 1));
        for (int i = 0; i < k; i++)
        {
            ct.ThrowIfCancellationRequested();
            for (int j = 0; j <= i; j++)
            {
                double v = 0.5 * (a[i * k + j] + a[j * k + i]);
                w[i * k + j] = v;
                w[j * k + i] = v;
            }
        }
        (_d, _e, _h) = SymmetricEigen.Householder(w, k, ct);
        _u = c.ToArray();
        SymmetricEigen.Reflect(w, k, _h, _u);
        _x = new double[k];
        _pivot = new double[k];
        _lower = new double[k];
    }

    /// <summary>
    /// β = (A + λI)⁻¹·c into <paramref name="beta"/> (length k), with cᵀβ and βᵀAβ (<paramref name="cb"/>, <paramref name="bab"/>).
    /// </summary>
    /// <exception cref="NumericalBreakdownException">A + λI is not positive definite.</exception>
    public void Solve(double lambda, Span<double> beta, out double cb, out double bab)
    {
        if (!double.IsFinite(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be finite");
        if (beta.Length != _k) throw new ArgumentException($"beta has length {beta.Length} but the order is {_k}", nameof(beta));
        var w = _w ?? throw new ObjectDisposedException(nameof(TridiagonalRidge));
        int k = _k;
        cb = bab = 0;
        if (k == 0) return;
        var (d, e, u, x, pivot, lower) = (_d, _e, _u, _x, _pivot, _lower);
        // L D Lᵀ of T + λI, forward substitution into x.
        for (int i = 0; i < k; i++)
        {
            double diagonal = d[i] + lambda, rhs = u[i];
            if (i > 0)
            {
                lower[i] = e[i] / pivot[i - 1];
                diagonal -= lower[i] * e[i];
                rhs -= lower[i] * x[i - 1];
            }
            if (!(diagonal > 0))
                throw new NumericalBreakdownException($"A + lambda*I is not positive definite: pivot {i} is {diagonal} at lambda {lambda}.", i, diagonal);
            pivot[i] = diagonal;
            x[i] = rhs;
        }
        x[k - 1] /= pivot[k - 1];
        for (int i = k - 2; i >= 0; i--) x[i] = x[i] / pivot[i] - lower[i + 1] * x[i + 1];
        double ux = 0, xx = 0;
        for (int i = 0; i < k; i++)
        {
            ux += u[i] * x[i];
            xx += x[i] * x[i];
        }
        cb = ux;
        bab = ux - lambda * xx;
        x.CopyTo(beta);
        SymmetricEigen.ReflectBack(w, k, _h, beta);
    }

    /// <summary>Hands the reduction's buffer back to the pool; the object is not used after.</summary>
    public void Dispose()
    {
        if (_w is { } w) ArrayPool<double>.Shared.Return(w);
        _w = null;
    }
}
