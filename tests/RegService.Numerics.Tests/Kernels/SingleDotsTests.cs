using RegService.Numerics.Kernels;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Kernels;

public class SingleDotsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(64)]
    [InlineData(500)]
    [InlineData(1001)]
    public void DotsAreWithinTheScreensErrorBoundOfTheDoublePrecisionProducts(int n)
    {
        var rng = new Random(n);
        int columns = 11;
        // Values spread over several orders of magnitude, with mixed signs, so that cancellation is real.
        var data = new double[columns * n];
        for (int i = 0; i < data.Length; i++) data[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4));
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-2, 3));
        var shadow = data.Select(v => (float)v).ToArray();
        var rShadow = r.Select(v => (float)v).ToArray();
        double factor = NaiveCd.ShadowErrorFactor(n);
        double rNorm = Math.Sqrt(r.Sum(v => v * v));

        // Every selection length from 0 to 9 (the 4-wide and 2-wide blocks and their remainders), in scrambled order,
        // on every instruction-set tier this machine has.
        foreach (var path in KernelIsa.Available)
        using (KernelIsa.Force(path))
        for (int count = 0; count <= 9; count++)
        {
            var which = Enumerable.Range(0, count).Select(s => (s * 7 + count) % columns).ToArray();
            var result = new double[count];
            SingleDots.Dots(shadow, n, which, rShadow, result);
            for (int s = 0; s < count; s++)
            {
                int j = which[s];
                double exact = 0, norm = 0;
                for (int i = 0; i < n; i++)
                {
                    exact += data[j * n + i] * r[i];
                    norm += data[j * n + i] * data[j * n + i];
                }
                double bound = factor * Math.Sqrt(norm) * rNorm;
                Assert.True(Math.Abs(result[s] - exact) <= bound, $"n {n}, column {j}: error {Math.Abs(result[s] - exact):G3} exceeds the bound {bound:G3}");
                double scalar = SingleDots.DotScalar(shadow.AsSpan(j * n, n), rShadow);
                Assert.True(Math.Abs(scalar - exact) <= bound);
            }
        }
    }

    [Fact]
    public void RoundMatchesItsScalarTwinAtEveryLength()
    {
        // Every length up to twice the widest vector (8 doubles on Vector512) plus one, then some longer ones.
        var rng = new Random(5);
        foreach (int n in Enumerable.Range(0, 34).Concat([63, 100, 1001]))
        {
            var x = Enumerable.Range(0, n).Select(_ => (rng.NextDouble() - 0.3) * Math.Pow(10, rng.Next(-3, 4))).ToArray();
            double mean = 0.17, inverseScale = 1 / 3.3;
            var z = new float[n];
            var zScalar = new float[n];
            double ss = SingleDots.Round(x, mean, inverseScale, z);
            double ssScalar = SingleDots.RoundScalar(x, mean, inverseScale, zScalar);
            Assert.Equal(zScalar, z);
            for (int i = 0; i < n; i++) Assert.Equal((float)((x[i] - mean) * inverseScale), z[i]);
            Assert.True(Math.Abs(ss - ssScalar) <= 1e-13 * ssScalar, $"n {n}: {ss} against {ssScalar}");
        }
        Assert.Throws<ArgumentException>(() => SingleDots.Round(new double[3], 0, 1, new float[2]));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var x = new float[10];
        Assert.Throws<ArgumentException>(() => SingleDots.Dots(x, 5, [0], new float[4], new double[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SingleDots.Dots(x, 5, [2], new float[5], new double[1]));
        Assert.Throws<ArgumentException>(() => SingleDots.Dots(x, 5, [0, 1], new float[5], new double[1]));
    }

    [Fact]
    public void TheScreenIsUsedOnlyWhereItsBoundIsTightAndItsCopySmall()
    {
        Assert.True(NaiveCd.UseShadow(500, 10_000));
        Assert.False(NaiveCd.UseShadow(50, 10_000));          // too few rows to be worth a copy
        Assert.False(NaiveCd.UseShadow(1_000_000, 3_000));     // n u too large for a useful bound
        Assert.False(NaiveCd.UseShadow(10_000, 20_000));       // the copy would pass 512 MB
        Assert.True(NaiveCd.ShadowErrorFactor(500) < 4e-5);
    }
}
