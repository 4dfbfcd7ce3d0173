using RegService.Numerics.Kernels;

namespace RegService.Numerics.Tests.Kernels;

/// <summary>
/// <see cref="SingleColumnKernels"/> (single-precision columns widened to double, the multinomial class pass) on every tier this
/// machine has against its scalar twins, and against <see cref="ColumnKernels"/> on the same tier run on the columns widened to
/// double, whose bits they keep: at every length from 0 to twice the widest unrolled step plus one, from misaligned column starts.
/// </summary>
public class SingleColumnKernelTests
{
    /// <summary>Four Vector512 accumulators of 8 doubles: the widest unrolled step.</summary>
    private const int WidestStep = 4 * 8;

    public static TheoryData<string> Tiers()
    {
        var data = new TheoryData<string>();
        foreach (var path in KernelIsa.Available) data.Add(path.ToString());
        return data;
    }

    private static double[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1)];

    [Theory]
    [MemberData(nameof(Tiers))]
    public void SingleColumnsMatchTheScalarTwinsAndTheDoubleKernelsOnTheWidenedColumns(string tier)
    {
        var rng = new Random(37);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        for (int n = 0; n <= 2 * WidestStep + 1; n++)
            foreach (int o in new[] { 0, 1, 3 })
                foreach (int columns in new[] { 0, 1, 3, 4, 5, 9 })
                {
                    var single = Random(rng, columns * (n + 3) + o).Select(v => (float)v).ToArray();
                    var widened = single.Select(v => (double)v).ToArray();
                    long[] offsets = [.. Enumerable.Range(0, columns).Select(c => (long)c * (n + 3) + o)];
                    var r = Random(rng, n);
                    var a = Random(rng, columns);
                    var start = Random(rng, columns);
                    var y0 = Random(rng, n);
                    string at = $"{tier} n={n} offset={o} columns={columns}";

                    var (twin, dots, wide) = ((double[])start.Clone(), (double[])start.Clone(), (double[])start.Clone());
                    SingleColumnKernels.AddDotsScalar(single, offsets, r, twin);
                    SingleColumnKernels.AddDots(single, offsets, r, dots);
                    ColumnKernels.AddDots(widened, offsets, r, wide);
                    for (int c = 0; c < columns; c++)
                    {
                        Assert.True(Math.Abs(twin[c] - dots[c]) <= 1e-13 * Math.Max(1, Math.Abs(twin[c])), $"dots {at} [{c}]: {dots[c]} against the twin's {twin[c]}");
                        Assert.Equal(wide[c], dots[c]);
                    }

                    var (yt, ys, yw) = ((double[])y0.Clone(), (double[])y0.Clone(), (double[])y0.Clone());
                    SingleColumnKernels.AddScaledScalar(single, offsets, a, yt);
                    SingleColumnKernels.AddScaled(single, offsets, a, ys);
                    ColumnKernels.AddScaled(widened, offsets, a, yw);
                    for (int i = 0; i < n; i++)
                    {
                        Assert.True(Math.Abs(yt[i] - ys[i]) <= 1e-13 * Math.Max(1, Math.Abs(yt[i])), $"scaled {at} [{i}]: {ys[i]} against the twin's {yt[i]}");
                        Assert.Equal(yw[i], ys[i]);
                    }
                }
    }

    [Fact]
    public void MismatchedLengthsAndColumnsOutsideTheDataAreRefused()
    {
        Assert.Throws<ArgumentException>(() => SingleColumnKernels.AddDots(new float[10], [0L], new double[4], new double[2]));
        Assert.Throws<ArgumentException>(() => SingleColumnKernels.AddScaled(new float[10], [0L, 1L], new double[1], new double[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SingleColumnKernels.AddDots(new float[10], [5L], new double[6], new double[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SingleColumnKernels.AddScaled(new float[10], [-1L], new double[1], new double[2]));
    }
}
