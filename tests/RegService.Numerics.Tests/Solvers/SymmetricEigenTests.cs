using MathNet.Numerics.LinearAlgebra;
using RegService.Numerics.Kernels;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>The cancellable eigendecomposition against MathNet.Numerics' symmetric solver.</summary>
public class SymmetricEigenTests
{
    /// <summary>Z'Z/n of an n x k random design: rank-deficient (many zero eigenvalues) when n &lt; k.</summary>
    private static double[] Gram(int n, int k, int seed)
    {
        var rng = new Random(seed);
        var z = new double[n * k];
        for (int i = 0; i < z.Length; i++) z[i] = rng.NextDouble() - 0.5 + (i % k == 0 ? 3 : 0);
        var a = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int r = 0; r < n; r++) s += z[r * k + i] * z[r * k + j];
                a[i * k + j] = a[j * k + i] = s / n;
            }
        return a;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(50, 40)]
    [InlineData(300, 200)]
    [InlineData(30, 120)]
    public void MatchesMathNet(int n, int k)
    {
        var a = Gram(n, k, seed: k);
        var ours = new EigenRidgePath(a, k);
        var evd = Matrix<double>.Build.Dense(k, k, a).Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(c => c.Real).OrderBy(v => v).ToArray();
        double top = Math.Max(values.Max(Math.Abs), 1e-300);
        for (int i = 0; i < k; i++)
            Assert.True(Math.Abs(values[i] - ours.Eigenvalues[i]) <= 1e-10 * top, $"eigenvalue {i}: {ours.Eigenvalues[i]} vs {values[i]}");

        // Eigenvectors of repeated eigenvalues are not unique: compare what they are used for, A = V D V' and ridge solves.
        var rng = new Random(7);
        var b = Enumerable.Range(0, k).Select(_ => rng.NextDouble() - 0.5).ToArray();
        foreach (double lambda in new[] { 1e-3 * top, 0.1 * top, 10 * top })
        {
            var x = new double[k];
            ours.Solve(b, lambda, x);
            var reference = (evd.EigenVectors * Matrix<double>.Build.DiagonalOfDiagonalArray(
                evd.EigenValues.Select(c => 1 / (c.Real + lambda)).ToArray()) * evd.EigenVectors.Transpose()) * Vector<double>.Build.DenseOfArray(b);
            double scale = reference.AbsoluteMaximum();
            for (int i = 0; i < k; i++)
                Assert.True(Math.Abs(x[i] - reference[i]) <= 1e-10 * scale, $"lambda {lambda}, x[{i}]: {x[i]} vs {reference[i]}");
        }

        // Orthonormal eigenvectors that reconstruct A.
        for (int i = 0; i < k; i++)
        {
            var vi = ours.Eigenvector(i);
            for (int j = 0; j <= i; j++)
            {
                double dot = 0;
                var vj = ours.Eigenvector(j);
                for (int c = 0; c < k; c++) dot += vi[c] * vj[c];
                Assert.True(Math.Abs(dot - (i == j ? 1 : 0)) < 1e-12, $"v{i}.v{j} = {dot}");
            }
        }
        double worst = 0;
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                double sum = 0;
                for (int i = 0; i < k; i++) sum += ours.Eigenvector(i)[r] * ours.Eigenvalues[i] * ours.Eigenvector(i)[c];
                worst = Math.Max(worst, Math.Abs(sum - a[r * k + c]));
            }
        Assert.True(worst <= 1e-12 * top, $"reconstruction error {worst}");
    }

    /// <summary>
    /// The row updates (Householder and QL rotations) are plain multiplies and adds on every instruction-set tier, so each
    /// tier the machine has gives the scalar tier's eigenvalues and eigenvectors bit for bit (row lengths 1 to 37 cross
    /// every vector width's tail).
    /// </summary>
    [Fact]
    public void EveryTierGivesTheScalarBits()
    {
        var a = Gram(60, 37, seed: 5);
        (double[] Values, double[] Vectors) Decompose(KernelPath path)
        {
            using var _ = KernelIsa.Force(path);
            var w = (double[])a.Clone();
            return (SymmetricEigen.Decompose(w, 37, CancellationToken.None), w);
        }
        var scalar = Decompose(KernelPath.Scalar);
        foreach (var path in KernelIsa.Available)
        {
            var tier = Decompose(path);
            Assert.True(scalar.Values.AsSpan().SequenceEqual(tier.Values), $"{path}: eigenvalues");
            Assert.True(scalar.Vectors.AsSpan().SequenceEqual(tier.Vectors), $"{path}: eigenvectors");
        }
    }

    [Fact]
    public void DiagonalAndZeroMatricesAreExact()
    {
        var zero = new EigenRidgePath(new double[16], 4);
        Assert.All(zero.Eigenvalues.ToArray(), v => Assert.Equal(0, v));
        var diagonal = new EigenRidgePath([3, 0, 0, 0, 1, 0, 0, 0, 2], 3);
        Assert.Equal([1.0, 2.0, 3.0], diagonal.Eigenvalues.ToArray());
    }

    [Fact]
    public void CanceledTokenThrows()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new EigenRidgePath(Gram(10, 10, 1), 10, cts.Token));
    }
}
