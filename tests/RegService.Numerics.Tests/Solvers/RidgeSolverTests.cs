using MathNet.Numerics.LinearAlgebra;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

public class RidgeSolverTests
{
    private static readonly double[] Lambdas = [1, 0.1, 0.01, 0.001];

    [Fact]
    public void CholeskyFactorReproducesTheMatrix()
    {
        var rng = new Random(1);
        const int k = 37;
        double[] a = RandomSpd(rng, k);
        double[] l = (double[])a.Clone();
        SymmetricSolve.CholeskyFactor(l, k);
        for (int i = 0; i < k; i++)
        {
            Assert.True(l[i * k + i] > 0);
            for (int j = i + 1; j < k; j++)
                Assert.Equal(0.0, l[i * k + j]);
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int p = 0; p <= j; p++)
                    s += l[i * k + p] * l[j * k + p];
                Assert.Equal(a[i * k + j], s, 1e-12 * Math.Sqrt(a[i * k + i] * a[j * k + j]));
            }
        }
    }

    [Fact]
    public void CholeskySolveHasSmallResidualAndAllowsAliasing()
    {
        var rng = new Random(2);
        const int k = 50;
        double[] a = RandomSpd(rng, k);
        double[] b = Enumerable.Range(0, k).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double[] l = (double[])a.Clone();
        SymmetricSolve.CholeskyFactor(l, k);
        var x = new double[k];
        SymmetricSolve.CholeskySolve(l, b, x);
        double[] r = MatVec(a, x, k);
        for (int i = 0; i < k; i++)
            Assert.Equal(b[i], r[i], 1e-10);

        double[] inPlace = (double[])b.Clone();
        SymmetricSolve.CholeskySolve(l, inPlace, inPlace);
        Assert.Equal(x, inPlace);
    }

    /// <summary>
    /// Columns of a scaled orthonormal matrix: A = XᵀX = diag(s²), so the ridge solution is b_j / (s_j² + λ).
    /// </summary>
    [Fact]
    public void OrthogonalDesignHasClosedFormSolution()
    {
        var rng = new Random(3);
        const int n = 60, k = 9;
        var q = Matrix<double>.Build.Dense(n, k, (_, _) => rng.NextDouble() - 0.5).QR().Q.SubMatrix(0, n, 0, k);
        double[] scales = Enumerable.Range(0, k).Select(j => Math.Pow(3, j - 4)).ToArray();
        var design = q * Matrix<double>.Build.DenseOfDiagonalArray(scales);
        double[] a = design.TransposeThisAndMultiply(design).ToRowMajorArray();
        var y = Vector<double>.Build.Dense(n, _ => rng.NextDouble() - 0.5);
        double[] b = design.TransposeThisAndMultiply(y).ToArray();

        var path = new EigenRidgePath(a, k);
        double[] sortedSquares = scales.Select(s => s * s).Order().ToArray();
        for (int j = 0; j < k; j++)
            Assert.Equal(sortedSquares[j], path.Eigenvalues[j], 1e-12 * sortedSquares[j] + 1e-14);

        foreach (double lambda in Lambdas.Append(0.0))
        {
            var x1 = new double[k];
            var x2 = new double[k];
            SymmetricSolve.RidgeSolve(a, b, lambda, x1);
            path.Solve(b, lambda, x2);
            for (int j = 0; j < k; j++)
            {
                double expected = b[j] / (scales[j] * scales[j] + lambda);
                Assert.Equal(expected, x1[j], 1e-10 * Math.Abs(expected) + 1e-14);
                Assert.Equal(expected, x2[j], 1e-10 * Math.Abs(expected) + 1e-14);
            }
            double df = scales.Sum(s => s * s / (s * s + lambda));
            Assert.Equal(df, path.EffectiveDegreesOfFreedom(lambda), 1e-12);
        }
        Assert.Equal(k, path.EffectiveDegreesOfFreedom(0), 1e-12);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(12)]
    public void CholeskyAndEigenPathAgreeOnHilbertMatrix(int k)
    {
        double[] a = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                a[i * k + j] = 1.0 / (i + j + 1);
        double[] b = Enumerable.Range(0, k).Select(i => Math.Cos(i)).ToArray();
        AssertSolversAgree(a, b, k);
    }

    [Fact]
    public void CholeskyAndEigenPathAgreeOnNearlyCollinearDesign()
    {
        var rng = new Random(5);
        const int n = 400, k = 30;
        double[] z = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var design = Matrix<double>.Build.Dense(n, k, (i, j) => j % 3 == 0 ? z[i] + 1e-6 * (rng.NextDouble() - 0.5) : rng.NextDouble() - 0.5);
        double[] a = design.TransposeThisAndMultiply(design).ToRowMajorArray();
        double[] b = design.TransposeThisAndMultiply(Vector<double>.Build.Dense(n, i => z[i] + rng.NextDouble())).ToArray();

        var path = new EigenRidgePath(a, k);
        Assert.True(path.Eigenvalues[0] < 1e-9 * path.Eigenvalues[k - 1], "the design is meant to be ill-conditioned");
        AssertSolversAgree(a, b, k);
    }

    [Fact]
    public void ProjectedSolvesMatchDirectSolves()
    {
        var rng = new Random(6);
        const int k = 20;
        double[] a = RandomSpd(rng, k);
        double[] b = Enumerable.Range(0, k).Select(_ => rng.NextDouble()).ToArray();
        var path = new EigenRidgePath(a, k);
        var coordinates = new double[k];
        path.Project(b, coordinates);
        foreach (double lambda in Lambdas)
        {
            var x1 = new double[k];
            var x2 = (double[])b.Clone();
            path.SolveProjected(coordinates, lambda, x1);
            path.Solve(x2, lambda, x2);
            Assert.Equal(x1, x2);
        }
        for (int i = 1; i < k; i++)
            Assert.True(path.Eigenvalues[i - 1] <= path.Eigenvalues[i]);
        double norm = 0;
        foreach (double v in path.Eigenvector(3))
            norm += v * v;
        Assert.Equal(1.0, norm, 1e-12);
    }

    [Fact]
    public void NonPositiveDefiniteMatrixThrows()
    {
        // Eigenvalues 3 and -1.
        double[] indefinite = [1, 2, 2, 1];
        var e = Assert.Throws<NumericalBreakdownException>(() => SymmetricSolve.CholeskyFactor((double[])indefinite.Clone(), 2));
        Assert.Equal(1, e.PivotIndex);
        Assert.Contains("pivot 1", e.Message);
        Assert.Throws<NumericalBreakdownException>(() => SymmetricSolve.RidgeSolve(indefinite, [1.0, 1.0], 0.5, new double[2]));
        Assert.Throws<NumericalBreakdownException>(() => new EigenRidgePath(indefinite, 2).Solve([1.0, 1.0], 0.5, new double[2]));
        using (var reduced = new TridiagonalRidge(indefinite, 2, [1.0, 1.0]))
        {
            Assert.Throws<NumericalBreakdownException>(() => reduced.Solve(0.5, new double[2], out _, out _));
            reduced.Solve(1.5, new double[2], out _, out _);
        }
        SymmetricSolve.RidgeSolve(indefinite, [1.0, 1.0], 1.5, new double[2]);

        // Singular positive semi-definite: fails at λ = 0, fine with a penalty.
        double[] singular = [1, 1, 1, 1];
        e = Assert.Throws<NumericalBreakdownException>(() => SymmetricSolve.RidgeSolve(singular, [1.0, 1.0], 0, new double[2]));
        Assert.Equal(1, e.PivotIndex);
        var x = new double[2];
        SymmetricSolve.RidgeSolve(singular, [1.0, 1.0], 1, x);
        Assert.Equal(1.0 / 3, x[0], 1e-15);

        double[] notANumber = [1, double.NaN, double.NaN, 1];
        Assert.Throws<NumericalBreakdownException>(() => SymmetricSolve.CholeskyFactor((double[])notANumber.Clone(), 2));
        Assert.Throws<NumericalBreakdownException>(() => new EigenRidgePath(notANumber, 2));
        Assert.Throws<NumericalBreakdownException>(() => new TridiagonalRidge(notANumber, 2, [1.0, 1.0]));
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        double[] a = [2, 0, 0, 2];
        Assert.Throws<ArgumentException>(() => SymmetricSolve.CholeskyFactor(new double[3], 2));
        Assert.Throws<ArgumentException>(() => SymmetricSolve.RidgeSolve(a, [1.0], 1, new double[1]));
        Assert.Throws<ArgumentException>(() => SymmetricSolve.RidgeSolve(a, [1.0, 1.0], 1, new double[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricSolve.RidgeSolve(a, [1.0, 1.0], -1, new double[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SymmetricSolve.RidgeSolve(a, [1.0, 1.0], double.NaN, new double[2]));
        var path = new EigenRidgePath(a, 2);
        Assert.Throws<ArgumentException>(() => path.Solve([1.0], 1, new double[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => path.EffectiveDegreesOfFreedom(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => path.Eigenvector(2));
    }

    // ------------------------------------------------------------------------------------------

    private static void AssertSolversAgree(double[] a, double[] b, int k)
    {
        var path = new EigenRidgePath(a, k);
        foreach (double lambda in Lambdas)
        {
            var x1 = new double[k];
            var x2 = new double[k];
            SymmetricSolve.RidgeSolve(a, b, lambda, x1);
            path.Solve(b, lambda, x2);
            double diff = 0, norm = 0;
            for (int j = 0; j < k; j++)
            {
                diff += (x1[j] - x2[j]) * (x1[j] - x2[j]);
                norm += x1[j] * x1[j];
            }
            // Two backward-stable solves of (A + lambda I) x = b differ by up to about k eps cond (relative), cond =
            // (d_max + lambda) / (d_min + lambda): 1e-10, or that where the system is worse conditioned (the nearly collinear
            // design at lambda 1e-3 differed by 1.25e-10 with the kernels' scalar tier, DOTNET_EnableHWIntrinsic=0).
            var d = path.Eigenvalues;
            double cond = (d[k - 1] + lambda) / (Math.Max(d[0], 0.0) + lambda);
            double tolerance = Math.Max(1e-10, k * 2.220446049250313e-16 * cond);
            Assert.True(Math.Sqrt(diff) <= tolerance * Math.Sqrt(norm),
                $"lambda={lambda}: relative difference {Math.Sqrt(diff / norm)} (tolerance {tolerance:e2}, condition number {cond:e2})");

            // The path's reduction to a tridiagonal: the same solution, and c'x and x'Ax as from A.
            using var reduced = new TridiagonalRidge(a, k, b);
            var x3 = new double[k];
            reduced.Solve(lambda, x3, out double cb, out double bab);
            double diff3 = 0;
            for (int j = 0; j < k; j++) diff3 += (x1[j] - x3[j]) * (x1[j] - x3[j]);
            Assert.True(Math.Sqrt(diff3) <= tolerance * Math.Sqrt(norm),
                $"lambda={lambda}: tridiagonal relative difference {Math.Sqrt(diff3 / norm)} (tolerance {tolerance:e2})");
            double[] ax = MatVec(a, x3, k);
            double expectedCb = 0, expectedBab = 0;
            for (int j = 0; j < k; j++)
            {
                expectedCb += b[j] * x3[j];
                expectedBab += x3[j] * ax[j];
            }
            Assert.Equal(expectedCb, cb, tolerance * Math.Abs(expectedCb));
            Assert.Equal(expectedBab, bab, tolerance * (Math.Abs(expectedBab) + lambda * norm));
        }
    }

    /// <summary>
    /// The Householder reduction without V formed: V T Vᵀ rebuilt from its reflectors (V applied to the unit vectors) is A, V is
    /// orthogonal, and T is the tridiagonal tred2 leaves before its QL iterations (the same diagonal as the reduction that forms V).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(64)]
    public void HouseholderReflectorsRebuildTheMatrix(int k)
    {
        var rng = new Random(100 + k);
        double[] a = RandomSpd(rng, k);
        var w = (double[])a.Clone();
        var (diagonal, off, h) = SymmetricEigen.Householder(w, k, default);
        var formed = (double[])a.Clone();
        var (formedDiagonal, formedOff) = SymmetricEigen.Tridiagonal(formed, k, default);
        Assert.Equal(formedDiagonal, diagonal);
        Assert.Equal(formedOff, off);
        Assert.Equal(0.0, off[0]);
        var v = new double[k * k];   // column j of V = V e_j
        for (int j = 0; j < k; j++)
        {
            var column = new double[k];
            column[j] = 1;
            SymmetricEigen.ReflectBack(w, k, h, column);
            for (int i = 0; i < k; i++) v[i * k + j] = column[i];
            for (int i = 0; i < k; i++) Assert.Equal(formed[j * k + i], column[i], 1e-13);   // tred2's Vᵀ row j
            var back = (double[])column.Clone();
            SymmetricEigen.Reflect(w, k, h, back);   // Vᵀ V e_j = e_j
            for (int i = 0; i < k; i++) Assert.Equal(i == j ? 1.0 : 0.0, back[i], 1e-13);
        }
        double scale = a.Max(Math.Abs);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double sum = 0;
                for (int m = 0; m < k; m++)
                {
                    double tv = diagonal[m] * v[j * k + m];
                    if (m > 0) tv += off[m] * v[j * k + m - 1];
                    if (m + 1 < k) tv += off[m + 1] * v[j * k + m + 1];
                    sum += v[i * k + m] * tv;
                }
                Assert.Equal(a[i * k + j], sum, 1e-12 * scale * k);
            }
    }

    /// <summary>A diagonal matrix needs no reflection (every reflector is the identity): the solves are c_j / (a_jj + λ).</summary>
    [Fact]
    public void TridiagonalRidgeOnADiagonalMatrix()
    {
        const int k = 6;
        var a = new double[k * k];
        for (int j = 0; j < k; j++) a[j * k + j] = j + 1;
        double[] c = [.. Enumerable.Range(0, k).Select(j => 1.0 - j)];
        using var reduced = new TridiagonalRidge(a, k, c);
        var x = new double[k];
        reduced.Solve(0.5, x, out _, out _);
        for (int j = 0; j < k; j++) Assert.Equal(c[j] / (j + 1.5), x[j], 1e-15);
    }

    private static double[] RandomSpd(Random rng, int k)
    {
        var m = Matrix<double>.Build.Dense(k + 5, k, (_, _) => rng.NextDouble() - 0.5);
        var a = m.TransposeThisAndMultiply(m) + Matrix<double>.Build.DenseIdentity(k) * 0.1;
        return a.ToRowMajorArray();
    }

    private static double[] MatVec(double[] a, double[] x, int k)
    {
        var r = new double[k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                r[i] += a[i * k + j] * x[j];
        return r;
    }
}
