using RegService.Numerics.Kernels;

namespace RegService.Numerics.Tests.Kernels;

/// <summary>
/// <see cref="PairDotKernels.AddDots"/> (a block of columns times two vectors at once, the multinomial Gram growth) on every
/// tier this machine has against its scalar twin, and against <see cref="ColumnKernels.AddDots"/> on the same tier, whose bits
/// it keeps: at every length from 0 to twice the widest unrolled step plus one, from misaligned column starts.
/// </summary>
public class PairDotKernelTests
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
    public void TwoVectorsAtOnceMatchTheScalarTwinAndTheOneVectorKernelsBits(string tier)
    {
        var rng = new Random(31);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        for (int n = 0; n <= 2 * WidestStep + 1; n++)
            foreach (int o in new[] { 0, 1, 3 })
                foreach (int columns in new[] { 0, 1, 3, 4, 5, 9 })
                {
                    var data = Random(rng, columns * (n + 3) + o);
                    long[] offsets = [.. Enumerable.Range(0, columns).Select(c => (long)c * (n + 3) + o)];
                    var (r0, r1) = (Random(rng, n), Random(rng, n));
                    var start0 = Random(rng, columns);
                    var start1 = Random(rng, columns);
                    string at = $"{tier} n={n} offset={o} columns={columns}";

                    var (t0, t1) = ((double[])start0.Clone(), (double[])start1.Clone());
                    PairDotKernels.AddDotsScalar(data, offsets, r0, r1, t0, t1);
                    var (v0, v1) = ((double[])start0.Clone(), (double[])start1.Clone());
                    PairDotKernels.AddDots(data, offsets, r0, r1, v0, v1);
                    var (s0, s1) = ((double[])start0.Clone(), (double[])start1.Clone());
                    ColumnKernels.AddDots(data, offsets, r0, s0);
                    ColumnKernels.AddDots(data, offsets, r1, s1);
                    for (int c = 0; c < columns; c++)
                    {
                        Assert.True(Math.Abs(t0[c] - v0[c]) <= 1e-13 * Math.Max(1, Math.Abs(t0[c])), $"first {at} [{c}]: {v0[c]} against the twin's {t0[c]}");
                        Assert.True(Math.Abs(t1[c] - v1[c]) <= 1e-13 * Math.Max(1, Math.Abs(t1[c])), $"second {at} [{c}]: {v1[c]} against the twin's {t1[c]}");
                        Assert.Equal(s0[c], v0[c]);
                        Assert.Equal(s1[c], v1[c]);
                    }
                }
    }

    [Fact]
    public void MismatchedLengthsAndColumnsOutsideTheDataAreRefused()
    {
        Assert.Throws<ArgumentException>(() => PairDotKernels.AddDots(new double[10], [0L], new double[4], new double[3], new double[1], new double[1]));
        Assert.Throws<ArgumentException>(() => PairDotKernels.AddDots(new double[10], [0L], new double[4], new double[4], new double[2], new double[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairDotKernels.AddDots(new double[10], [5L], new double[6], new double[6], new double[1], new double[1]));
    }
}
