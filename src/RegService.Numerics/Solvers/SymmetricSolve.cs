using System.Buffers;
using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Dense symmetric positive definite solves on row-major k x k matrices: Cholesky factorization
/// (A = L·Lᵀ), triangular solves with the factor, and the ridge system (A + λI)·x = b.
/// </summary>
/// <remarks>
/// The factorization is the unblocked row-oriented (Cholesky–Banachiewicz) algorithm: every entry of L is one
/// contiguous dot product, about k³/3 flops in all. That is instant for the Gram matrices of a few hundred
/// columns this service solves; very large k would want a blocked (LAPACK <c>dpotrf</c>-style) variant.
/// </remarks>
public static class SymmetricSolve
{
    /// <summary>
    /// Factors a symmetric positive definite matrix in place: on return the lower triangle (diagonal included)
    /// of <paramref name="a"/> holds L with A = L·Lᵀ and the strict upper triangle is zero.
    /// </summary>
    /// <param name="a">Row-major k x k; only the lower triangle (diagonal included) is read.</param>
    /// <param name="k">The order of the matrix.</param>
    /// <exception cref="NumericalBreakdownException">A pivot is not positive or not finite: the matrix is not
    /// (numerically) positive definite, or holds NaN/infinity. The message names the pivot; <paramref name="a"/>
    /// is then partly overwritten.</exception>
    /// <param name="ct">Checked once per row (a row costs at most k²/2 multiply-adds: about 30 ms at k = 8000).</param>
    public static void CholeskyFactor(Span<double> a, int k, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a.Length != (long)k * k)
            throw new ArgumentException($"a has {a.Length} values but a {k} x {k} matrix needs {(long)k * k}", nameof(a));

        for (int i = 0; i < k; i++)
        {
            ct.ThrowIfCancellationRequested();
            Span<double> rowI = a.Slice(i * k, k);
            for (int j = 0; j < i; j++)
            {
                ReadOnlySpan<double> rowJ = a.Slice(j * k, j + 1);
                double s = rowI[j] - TensorPrimitives.Dot(rowI[..j], rowJ[..j]);
                rowI[j] = s / rowJ[j];
            }
            double d = rowI[i] - TensorPrimitives.Dot(rowI[..i], rowI[..i]);
            if (!(d > 0) || !double.IsFinite(d))
            {
                throw new NumericalBreakdownException(
                    $"Cholesky factorization failed at pivot {i} of {k}: the pivot is {d}, so the matrix is not positive definite"
                    + (double.IsFinite(d) ? "." : " (or holds values that are not finite)."), i, d);
            }
            rowI[i] = Math.Sqrt(d);
            rowI[(i + 1)..].Clear();
        }
    }

    /// <summary>Solves A·x = b given the Cholesky factor from <see cref="CholeskyFactor"/> (forward then back substitution).</summary>
    /// <param name="factor">Row-major k x k whose lower triangle holds L; the upper triangle is not read.</param>
    /// <param name="b">The right-hand side, length k.</param>
    /// <param name="x">Receives the solution, length k; may be the same memory as <paramref name="b"/>.</param>
    public static void CholeskySolve(ReadOnlySpan<double> factor, ReadOnlySpan<double> b, Span<double> x)
    {
        int k = b.Length;
        if (factor.Length != (long)k * k)
            throw new ArgumentException($"factor has {factor.Length} values but b has length {k}", nameof(factor));
        if (x.Length != k)
            throw new ArgumentException($"x has length {x.Length} but b has length {k}", nameof(x));

        b.CopyTo(x);
        // L·y = b, row by row.
        for (int i = 0; i < k; i++)
        {
            ReadOnlySpan<double> rowI = factor.Slice(i * k, i + 1);
            x[i] = (x[i] - TensorPrimitives.Dot(rowI[..i], x[..i])) / rowI[i];
        }
        // Lᵀ·x = y, column-oriented so that L is still read by rows: after x[i] is final, remove it from the rest.
        for (int i = k - 1; i >= 0; i--)
        {
            ReadOnlySpan<double> rowI = factor.Slice(i * k, i + 1);
            double xi = x[i] / rowI[i];
            x[i] = xi;
            if (i > 0)
                TensorPrimitives.MultiplyAdd(rowI[..i], -xi, x[..i], x[..i]);
        }
    }

    /// <summary>
    /// Solves the ridge system (A + λI)·x = b by Cholesky factorization of a copy of A + λI.
    /// </summary>
    /// <param name="a">Row-major k x k symmetric positive semi-definite matrix (for example a centered Gram matrix); only the lower triangle is read.</param>
    /// <param name="b">The right-hand side, length k.</param>
    /// <param name="lambda">The ridge penalty, finite and ≥ 0.</param>
    /// <param name="x">Receives the solution, length k; may be the same memory as <paramref name="b"/>.</param>
    /// <exception cref="NumericalBreakdownException">A + λI is not numerically positive definite (for example λ = 0 with a singular A).</exception>
    /// <param name="ct">Checked while the matrix is factored.</param>
    public static void RidgeSolve(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double lambda, Span<double> x, CancellationToken ct = default)
    {
        int k = b.Length;
        if (a.Length != (long)k * k)
            throw new ArgumentException($"a has {a.Length} values but b has length {k}", nameof(a));
        if (!double.IsFinite(lambda) || lambda < 0)
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be finite and non-negative");

        double[] work = ArrayPool<double>.Shared.Rent(k * k);
        try
        {
            Span<double> m = work.AsSpan(0, k * k);
            a.CopyTo(m);
            for (int i = 0; i < k; i++)
                m[i * k + i] += lambda;
            CholeskyFactor(m, k, ct);
            CholeskySolve(m, b, x);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(work);
        }
    }
}
