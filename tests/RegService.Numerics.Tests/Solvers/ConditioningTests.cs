using MathNet.Numerics.LinearAlgebra;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>The extreme eigenvalues and the smallest's eigenvector, against matrices of known spectrum and MathNet's solver.</summary>
public class ConditioningTests
{
    /// <summary>A = Q diag(d) Q' for a random orthogonal Q (the QR of a random matrix); returns A and Q.</summary>
    private static (double[] A, Matrix<double> Q) WithSpectrum(double[] d, int seed)
    {
        int k = d.Length;
        var rng = new Random(seed);
        var q = Matrix<double>.Build.Dense(k, k, (_, _) => rng.NextDouble() - 0.5).QR().Q;
        var a = q * Matrix<double>.Build.DiagonalOfDiagonalArray(d) * q.Transpose();
        var flat = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) flat[i * k + j] = 0.5 * (a[i, j] + a[j, i]);
        return (flat, q);
    }

    [Theory]
    [InlineData(2, 1e-6)]
    [InlineData(10, 1e-3)]
    [InlineData(60, 1e-9)]
    [InlineData(200, 1e-12)]
    public void FindsTheExtremesOfAKnownSpectrum(int k, double smallest)
    {
        // Eigenvalues from `smallest` (once) through a spread in [0.05, 3] to 4 (once).
        var rng = new Random(k);
        var d = new double[k];
        d[0] = smallest;
        d[k - 1] = 4;
        for (int i = 1; i < k - 1; i++) d[i] = 0.05 + 2.95 * rng.NextDouble();
        var (a, q) = WithSpectrum(d, seed: k + 1);

        var extremes = Conditioning.Of(a, k);
        Assert.Equal(4, extremes.Largest, 4 * 1e-5);
        Assert.True(Math.Abs(extremes.Smallest - smallest) <= 1e-3 * smallest + Conditioning.NoiseFloor * k * 4,
            $"smallest {extremes.Smallest} vs {smallest}");
        Assert.False(extremes.Singular);
        Assert.InRange(extremes.Condition, 0.99 * 4 / smallest, 1.01 * 4 / smallest);
        // The eigenvector of the smallest eigenvalue: column 0 of Q, up to sign.
        double cosine = 0;
        for (int i = 0; i < k; i++) cosine += extremes.SmallestVector[i] * q[i, 0];
        Assert.True(Math.Abs(cosine) > 1 - 1e-6, $"|cos| = {Math.Abs(cosine)}");
    }

    [Fact]
    public void AZeroEigenvalueIsSingularWithItsEigenvector()
    {
        var d = new double[] { 0, 0.5, 1, 2, 3 };
        var (a, q) = WithSpectrum(d, seed: 3);
        var extremes = Conditioning.Of(a, 5);
        Assert.True(extremes.Singular);
        Assert.True(extremes.Condition >= 1 / (Conditioning.NoiseFloor * 5) * 0.99);
        double cosine = 0;
        for (int i = 0; i < 5; i++) cosine += extremes.SmallestVector[i] * q[i, 0];
        Assert.True(Math.Abs(cosine) > 1 - 1e-6);
    }

    [Theory]
    [InlineData(100, 30)]
    [InlineData(40, 39)]
    public void MatchesMathNetOnAGram(int n, int k)
    {
        var rng = new Random(n);
        var z = Matrix<double>.Build.Dense(n, k, (_, _) => rng.NextDouble() - 0.5);
        var gram = z.TransposeThisAndMultiply(z) / n;
        var values = gram.Evd(Symmetricity.Symmetric).EigenValues.Select(c => c.Real).OrderBy(v => v).ToArray();
        var flat = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) flat[i * k + j] = gram[i, j];
        var extremes = Conditioning.Of(flat, k);
        Assert.True(Math.Abs(extremes.Largest - values[^1]) <= 1e-4 * values[^1], $"largest {extremes.Largest} vs {values[^1]}");
        Assert.True(Math.Abs(extremes.Smallest - values[0]) <= 1e-2 * values[0], $"smallest {extremes.Smallest} vs {values[0]}");
        Assert.True(extremes.Condition <= values[^1] / values[0] * (1 + 1e-9), "never overstated");
    }
}
