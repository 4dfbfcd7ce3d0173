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
        // Values spread over several orders of magnitude, with mixed signs, so that cancellation is real; column 3 has one
        // large entry (a coarse step), column 5 is all zeros (no step).
        var data = new double[columns * n];
        for (int i = 0; i < data.Length; i++) data[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4));
        if (n > 1) data[3 * n + n / 2] = 1e6;
        Array.Clear(data, 5 * n, n);
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-2, 3));
        var shadow = new short[columns * n];
        var steps = new double[columns];
        var weights = new double[columns];
        double factor = NaiveCd.ShadowErrorFactor(n);
        for (int j = 0; j < columns; j++)
        {
            var column = data.AsSpan(j * n, n);
            var q = SingleDots.Quantize(column, 0, 1, shadow.AsSpan(j * n, n));
            steps[j] = q.Step;
            weights[j] = NaiveCd.ShadowWeight(q, Math.Sqrt(column.ToArray().Sum(v => v * v)), factor);
        }
        Assert.Equal(0, steps[5]);
        var rShadow = r.Select(v => (float)v).ToArray();
        double rNorm = Math.Sqrt(Math.Max(r.Sum(v => v * v), rShadow.Sum(v => (double)v * v))) * (1 + 1e-9);

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
                double exact = 0;
                for (int i = 0; i < n; i++) exact += data[j * n + i] * r[i];
                double bound = factor * rNorm * weights[j];
                double screened = result[s] * steps[j];
                Assert.True(Math.Abs(screened - exact) <= bound, $"n {n}, column {j}: error {Math.Abs(screened - exact):G3} exceeds the bound {bound:G3}");
                double scalar = SingleDots.DotScalar(shadow.AsSpan(j * n, n), rShadow) * steps[j];
                Assert.True(Math.Abs(scalar - exact) <= bound);
            }
        }
    }

    [Fact]
    public void TheBoundIsNotMuchWiderThanSinglePrecisionOnSpreadColumns()
    {
        // Gaussian-like columns: the quantization error (step / sqrt(12) per entry) is of the order of the float rounding.
        var rng = new Random(3);
        int n = 500;
        var x = Enumerable.Range(0, n).Select(_ => rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5).ToArray();
        var q = SingleDots.Quantize(x, 0, 1, new short[n]);
        double norm = Math.Sqrt(x.Sum(v => v * v));
        double factor = NaiveCd.ShadowErrorFactor(n);
        double weight = NaiveCd.ShadowWeight(q, norm, factor);
        Assert.InRange(weight / norm, 1.0, 4.0);
        Assert.True(Math.Sqrt(q.ErrorSquared) > 0);
    }

    [Fact]
    public void QuantizeMatchesItsScalarTwinAtEveryLength()
    {
        // Every length up to twice the widest vector step (4 x 8 doubles on Vector512) plus one, then some longer ones.
        var rng = new Random(5);
        foreach (int n in Enumerable.Range(0, 66).Concat([100, 1001]))
        {
            var x = Enumerable.Range(0, n).Select(_ => (rng.NextDouble() - 0.3) * Math.Pow(10, rng.Next(-3, 4))).ToArray();
            double mean = 0.17, inverseScale = 1 / 3.3;
            var z = new short[n];
            var zScalar = new short[n];
            var q = SingleDots.Quantize(x, mean, inverseScale, z);
            var qScalar = SingleDots.QuantizeScalar(x, mean, inverseScale, zScalar);
            Assert.Equal(zScalar, z);
            Assert.Equal(qScalar.Step, q.Step);
            double largest = x.Length == 0 ? 0 : x.Max(v => Math.Abs((v - mean) * inverseScale));
            Assert.Equal(largest / SingleDots.FixedPointMax, q.Step);
            double ee = 0, ss = 0;
            for (int i = 0; i < n; i++)
            {
                double exact = (x[i] - mean) * inverseScale;
                Assert.True(Math.Abs(exact - q.Step * z[i]) <= 0.5000001 * q.Step, $"n {n}, entry {i}");
                ee += (exact - q.Step * z[i]) * (exact - q.Step * z[i]);
                ss += q.Step * z[i] * (q.Step * z[i]);
            }
            Assert.True(Math.Abs(q.ErrorSquared - ee) <= 1e-9 * ee + 1e-300, $"n {n}: {q.ErrorSquared} against {ee}");
            Assert.True(Math.Abs(q.NormSquared - ss) <= 1e-12 * ss, $"n {n}: {q.NormSquared} against {ss}");
            Assert.True(Math.Abs(qScalar.NormSquared - ss) <= 1e-12 * ss);
        }
        // A zero column has no step: zeros, and its norm is all error.
        var zeros = SingleDots.Quantize(new double[40], 0, 1, new short[40]);
        Assert.Equal(new SingleDots.QuantizedColumn(0, 0, 0), zeros);
        var tiny = SingleDots.Quantize(Enumerable.Repeat(1e-310, 40).ToArray(), 0, 1, new short[40]);
        Assert.Equal(0, tiny.Step);
        Assert.True(tiny.ErrorSquared >= 0);
        Assert.Throws<ArgumentException>(() => SingleDots.Quantize(new double[3], 0, 1, new short[2]));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var x = new short[10];
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
        Assert.False(NaiveCd.UseShadow(10_000, 20_000));       // the copy would pass 256 MB
        Assert.True(NaiveCd.ShadowErrorFactor(500) < 4e-5);
    }
}
