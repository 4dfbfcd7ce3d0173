using System.Runtime.Intrinsics;
using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using Path = RegService.Numerics.Kernels.KernelPath;

namespace RegService.Numerics.Tests.Kernels;

public class GroupedGramKernelTests
{
    // Column counts: every k up to two zmm vectors + 1, then around a 24-column tile and beyond.
    public static TheoryData<int> ColumnCounts()
    {
        var data = new TheoryData<int>();
        for (int k = 1; k <= 2 * Vector512<double>.Count + 1; k++)
            data.Add(k);
        foreach (int k in new[] { 23, 24, 25, 33, 49 })
            data.Add(k);
        return data;
    }

    // Group sizes: empty, tiny, around a panel of 8 rows, around the default row block, ragged; with rows before
    // the first group and after the last that must not be read.
    private static readonly int[][] Layouts =
    [
        [0, 1, 7, 8, 9],
        [GramKernel.DefaultBlockRows - 1, 0, GramKernel.DefaultBlockRows + 1, 3, 1000, 0],
        [2000],
        [0],
        [],
        [5, 0, 0, 301, 17, 800, 1, 64],
    ];

    /// <summary>Every layout, instruction-set path, 1 or 2 threads, default and tiny row blocks, against the scalar twin per group.</summary>
    [Theory]
    [MemberData(nameof(ColumnCounts))]
    public void EveryGroupMatchesScalarTwin(int k)
    {
        var rng = new Random(3000 + k);
        foreach (int[] sizes in Layouts)
        {
            const int before = 5, after = 3;
            int[] groupStart = Starts(before, sizes);
            var (x, cols, shift) = RandomProblem(rng, groupStart[^1] + after, k);
            foreach (Path path in new[] { Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    foreach (int blockRows in new[] { 0, 8, 40 })
                    {
                        var (grams, sums) = Poisoned(sizes.Length, k);
                        GramKernel.GroupedShiftedGramCore(x, cols, shift, groupStart, grams, sums, threads, default, accumulate: false, path, blockRows, forceThreads: true);
                        for (int g = 0; g < sizes.Length; g++)
                        {
                            AssertMatchesScalar(x, cols, shift, Range(groupStart[g], groupStart[g + 1]), grams[g], sums[g],
                                $"path={path} k={k} sizes=[{string.Join(",", sizes)}] group={g} threads={threads} block={blockRows}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void PublicEntryMatchesScalarTwin()
    {
        var rng = new Random(31);
        int[] sizes = [900, 0, 1100, 13, 2500];
        int[] groupStart = Starts(0, sizes);
        var (x, cols, shift) = RandomProblem(rng, groupStart[^1], 41);
        var (grams, sums) = Poisoned(sizes.Length, 41);
        GramKernel.GroupedShiftedGram(x, cols, shift, groupStart, grams, sums, 0, default, accumulate: false);
        for (int g = 0; g < sizes.Length; g++)
            AssertMatchesScalar(x, cols, shift, Range(groupStart[g], groupStart[g + 1]), grams[g], sums[g], $"group {g}");
    }

    [Theory]
    [InlineData("Vector512")]
    [InlineData("Vector256")]
    [InlineData("Scalar")]
    public void ThreadCountDoesNotChangeTheResult(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        var rng = new Random(32);
        int[] sizes = [3000, 0, 1500, 7, 2400, 1, 2093];
        int[] groupStart = Starts(11, sizes);
        var (x, cols, shift) = RandomProblem(rng, groupStart[^1] + 4, 27);
        // Row blocks of 40 give dozens of blocks per group and several segments per group.
        var (g1, s1) = Poisoned(sizes.Length, 27);
        GramKernel.GroupedShiftedGramCore(x, cols, shift, groupStart, g1, s1, 1, default, accumulate: false, path, 40, forceThreads: true);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var (g2, s2) = Poisoned(sizes.Length, 27);
            GramKernel.GroupedShiftedGramCore(x, cols, shift, groupStart, g2, s2, threads, default, accumulate: false, path, 40, forceThreads: true);
            for (int g = 0; g < sizes.Length; g++)
            {
                Assert.Equal(g1[g], g2[g]);
                Assert.Equal(s1[g], s2[g]);
            }
        }
    }

    /// <summary>One group over all rows is the job of <see cref="GramKernel.ShiftedGram"/>: the same bits.</summary>
    [Fact]
    public void OneGroupIsBitwiseShiftedGram()
    {
        var rng = new Random(33);
        foreach (int n in new[] { 1, 7, GramKernel.DefaultBlockRows + 1, 3001, 20_000 })
        {
            foreach (int k in new[] { 1, 9, 24, 40 })
            {
                var (x, cols, shift) = RandomProblem(rng, n, k);
                foreach (Path path in new[] { Path.Auto, Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
                {
                    foreach (int blockRows in new[] { 0, 40 })
                    {
                        var gram = new double[k * k];
                        var sums = new double[k];
                        GramKernel.ShiftedGramCore(x, cols, shift, null, gram, sums, 2, default, path, blockRows, forceThreads: false);
                        var (grams, groupSums) = Poisoned(1, k);
                        GramKernel.GroupedShiftedGramCore(x, cols, shift, [0, n], grams, groupSums, 2, default, accumulate: false, path, blockRows, forceThreads: false);
                        Assert.Equal(gram, grams[0]);
                        Assert.Equal(sums, groupSums[0]);
                    }
                }
            }
        }
    }

    [Fact]
    public void AccumulateAddsToTheOutputs()
    {
        var rng = new Random(34);
        int[] sizes = [700, 0, 1300, 9];
        int[] groupStart = Starts(0, sizes);
        int k = 19;
        var (x, cols, shift) = RandomProblem(rng, groupStart[^1], k);
        var (fresh, freshSums) = Poisoned(sizes.Length, k);
        GramKernel.GroupedShiftedGram(x, cols, shift, groupStart, fresh, freshSums, 2, default, accumulate: false);

        // Each entry is the prior value plus the group's result, in one addition; empty groups are left alone.
        var prior = Enumerable.Range(0, sizes.Length).Select(_ => Enumerable.Range(0, k * k).Select(_ => rng.NextDouble()).ToArray()).ToArray();
        var priorSums = Enumerable.Range(0, sizes.Length).Select(_ => Enumerable.Range(0, k).Select(_ => rng.NextDouble()).ToArray()).ToArray();
        var grams = prior.Select(g => (double[])g.Clone()).ToArray();
        var sums = priorSums.Select(s => (double[])s.Clone()).ToArray();
        GramKernel.GroupedShiftedGram(x, cols, shift, groupStart, grams, sums, 2, default, accumulate: true);
        for (int g = 0; g < sizes.Length; g++)
        {
            for (int i = 0; i < k * k; i++)
                Assert.Equal(prior[g][i] + fresh[g][i], grams[g][i]);
            for (int i = 0; i < k; i++)
                Assert.Equal(priorSums[g][i] + freshSums[g][i], sums[g][i]);
        }
        Assert.Equal(prior[1], grams[1]);
        Assert.Equal(priorSums[1], sums[1]);
    }

    [Fact]
    public void ChunksAccumulateToTheWholeGroup()
    {
        // Two groups of x passed in three chunks of rows: [0, 500) of group 0, [500, 1200) = rest of group 0 and
        // the start of group 1, [1200, 2000) = the rest of group 1.
        var rng = new Random(35);
        int k = 26;
        var (x, cols, shift) = RandomProblem(rng, 2000, k);
        var grams = new[] { new double[k * k], new double[k * k] };
        var sums = new[] { new double[k], new double[k] };
        GramKernel.GroupedShiftedGram(x, cols, shift, [0, 500, 500], grams, sums, 2, default, accumulate: true);
        GramKernel.GroupedShiftedGram(x, cols, shift, [500, 900, 1200], grams, sums, 2, default, accumulate: true);
        GramKernel.GroupedShiftedGram(x, cols, shift, [1200, 1200, 2000], grams, sums, 2, default, accumulate: true);
        AssertMatchesScalar(x, cols, shift, Range(0, 900), grams[0], sums[0], "group 0");
        AssertMatchesScalar(x, cols, shift, Range(900, 2000), grams[1], sums[1], "group 1");
    }

    [Fact]
    public void OnlyTheFirstKSquaredValuesAreWritten()
    {
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        double[][] grams = [Enumerable.Repeat(-7.0, 6).ToArray(), Enumerable.Repeat(-7.0, 5).ToArray()];
        double[][] sums = [Enumerable.Repeat(-7.0, 3).ToArray(), Enumerable.Repeat(-7.0, 2).ToArray()];
        // col0 = [1, 2, 3], col1 = [4, 0, 2], shift 1 -> [0, 1, 2] and [3, -1, 1]; group 0 is rows 0-1, group 1 is row 2.
        GramKernel.GroupedShiftedGram(x, [0, 1], [1.0, 1.0], [0, 2, 3], grams, sums, 0, default, accumulate: false);
        Assert.Equal([1.0, -1.0, -1.0, 10.0, -7.0, -7.0], grams[0]);
        Assert.Equal([1.0, 2.0, -7.0], sums[0]);
        Assert.Equal([4.0, 2.0, 2.0, 1.0, -7.0], grams[1]);
        Assert.Equal([2.0, 1.0], sums[1]);
    }

    [Fact]
    public void EmptyGroupsGiveZeros()
    {
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        var (grams, sums) = Poisoned(3, 2);
        GramKernel.GroupedShiftedGram(x, [0, 1], [1.0, 1.0], [1, 1, 1, 1], grams, sums, 0, default, accumulate: false);
        Assert.All(grams, g => Assert.All(g, v => Assert.Equal(0.0, v)));
        Assert.All(sums, s => Assert.All(s, v => Assert.Equal(0.0, v)));

        // No groups at all, and no columns: nothing to do.
        GramKernel.GroupedShiftedGram(x, [0, 1], [1.0, 1.0], [2], [], [], 0, default, accumulate: false);
        GramKernel.GroupedShiftedGram(x, [], [], [0, 3], [[]], [[]], 0, default, accumulate: false);
    }

    [Fact]
    public void PreCanceledTokenThrows()
    {
        var rng = new Random(36);
        var (x, cols, shift) = RandomProblem(rng, 1000, 10);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var (grams, sums) = Poisoned(2, 10);
        Assert.ThrowsAny<OperationCanceledException>(() => GramKernel.GroupedShiftedGram(x, cols, shift, [0, 400, 1000], grams, sums, 2, cts.Token, accumulate: false));
        Assert.ThrowsAny<OperationCanceledException>(() => GramKernel.GroupedShiftedGram(x, cols, shift, [0, 0, 0], grams, sums, 1, cts.Token, accumulate: true));
    }

    [Fact]
    public void CancellationDuringTheRunThrows()
    {
        // The scalar path on 200000 x 64 takes far longer than the 20 ms before cancellation. The token is
        // canceled from a dedicated thread: a timer callback could be delayed by a busy thread pool.
        var rng = new Random(37);
        var (x, cols, shift) = RandomProblem(rng, 200_000, 64);
        using var cts = new CancellationTokenSource();
        int[] groupStart = Enumerable.Range(0, 11).Select(g => g * 20_000).ToArray();
        var (grams, sums) = Poisoned(10, 64);
        var task = Task.Run(() => GramKernel.GroupedShiftedGramCore(x, cols, shift, groupStart, grams, sums, 3, cts.Token, accumulate: true, Path.Scalar, 64, forceThreads: true));
        var canceler = new Thread(() =>
        {
            Thread.Sleep(20);
            cts.Cancel();
        });
        canceler.Start();
        Assert.True(((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "canceled call did not return");
        var e = Assert.ThrowsAny<OperationCanceledException>(() => task.GetAwaiter().GetResult());
        Assert.Equal(cts.Token, e.CancellationToken);
        canceler.Join();
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        int[] cols = [0, 1];
        double[] shift = [1.0, 1.0];
        var (grams, sums) = Poisoned(2, 2);
        void Call(int[] groupStart, double[][] g, double[][] s) => GramKernel.GroupedShiftedGram(x, cols, shift, groupStart, g, s, 0, default, accumulate: false);
        Assert.Throws<ArgumentException>(() => Call([], [], []));
        Assert.Throws<ArgumentException>(() => Call([0, 2, 1], grams, sums));      // not in order
        Assert.Throws<ArgumentException>(() => Call([0, 2, 4], grams, sums));      // past the last row
        Assert.Throws<ArgumentException>(() => Call([-1, 2, 3], grams, sums));
        Assert.Throws<ArgumentException>(() => Call([4, 4, 4], grams, sums));
        Assert.Throws<ArgumentException>(() => Call([0, 3], grams, sums));         // two outputs for one group
        Assert.Throws<ArgumentException>(() => Call([0, 1, 3], [grams[0], new double[3]], sums));
        Assert.Throws<ArgumentException>(() => Call([0, 1, 3], grams, [sums[0], new double[1]]));
        Assert.Throws<ArgumentException>(() => GramKernel.GroupedShiftedGram(x, [0, 2], shift, [0, 3], [grams[0]], [sums[0]], 0, default, false));
        Assert.Throws<ArgumentException>(() => GramKernel.GroupedShiftedGram(x, cols, [1.0], [0, 3], [grams[0]], [sums[0]], 0, default, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => GramKernel.GroupedShiftedGram(x, cols, shift, [0, 3], [grams[0]], [sums[0]], -1, default, false));
    }

    // ------------------------------------------------------------------------------------------

    private static int[] Starts(int first, int[] sizes)
    {
        var starts = new int[sizes.Length + 1];
        starts[0] = first;
        for (int g = 0; g < sizes.Length; g++)
            starts[g + 1] = starts[g] + sizes[g];
        return starts;
    }

    private static int[] Range(int start, int end) => Enumerable.Range(start, end - start).ToArray();

    /// <summary>Outputs full of NaN: everything a call does not add to must be overwritten.</summary>
    private static (double[][] Grams, double[][] Sums) Poisoned(int groups, int k) =>
        (Enumerable.Range(0, groups).Select(_ => Enumerable.Repeat(double.NaN, k * k).ToArray()).ToArray(),
         Enumerable.Range(0, groups).Select(_ => Enumerable.Repeat(double.NaN, k).ToArray()).ToArray());

    /// <summary>Data with non-zero column means; a shuffled column selection with a repeat; the shift is the mean plus noise.</summary>
    private static (DenseMatrix X, int[] Cols, double[] Shift) RandomProblem(Random rng, int n, int k)
    {
        int p = k + 3;
        var x = new DenseMatrix(n, p);
        for (int j = 0; j < p; j++)
        {
            double mean = 5 * rng.NextDouble() - 2, scale = 0.1 + 3 * rng.NextDouble();
            Span<double> c = x.Column(j);
            for (int i = 0; i < n; i++)
                c[i] = mean + scale * (2 * rng.NextDouble() - 1);
        }
        int[] all = Enumerable.Range(0, p).ToArray();
        rng.Shuffle(all);
        int[] cols = all[..k];
        if (k > 2)
            cols[k - 1] = cols[0];
        double[] shift = cols.Select(c => (n > 0 ? x.Column(c).ToArray().Average() : 0) + 0.1 * (2 * rng.NextDouble() - 1)).ToArray();
        return (x, cols, shift);
    }

    /// <summary>
    /// Agreement with the scalar twin over <paramref name="rows"/> to 1e-12 relative to the natural scale of each entry:
    /// sqrt(G[a,a]·G[b,b]) for G[a,b] and sqrt(|R|·G[a,a]) for sums[a]; exact zeros for an empty group.
    /// </summary>
    private static void AssertMatchesScalar(DenseMatrix x, int[] cols, double[] shift, int[] rows, double[] gram, double[] sums, string label)
    {
        int k = cols.Length;
        var expected = new double[k * k];
        var expectedSums = new double[k];
        GramKernel.ShiftedGramScalar(x, cols, shift, rows, expected, expectedSums);
        for (int a = 0; a < k; a++)
        {
            double scaleSum = Math.Sqrt(rows.Length * expected[a * k + a]);
            Assert.True(Math.Abs(sums[a] - expectedSums[a]) <= 1e-12 * scaleSum,
                $"{label}: sums[{a}] = {sums[a]}, scalar {expectedSums[a]}");
            for (int b = 0; b < k; b++)
            {
                double scale = Math.Sqrt(expected[a * k + a] * expected[b * k + b]);
                Assert.True(Math.Abs(gram[a * k + b] - expected[a * k + b]) <= 1e-12 * scale,
                    $"{label}: gram[{a},{b}] = {gram[a * k + b]}, scalar {expected[a * k + b]}");
                Assert.Equal(gram[a * k + b], gram[b * k + a]);
            }
        }
    }
}
