using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using Path = RegService.Numerics.Kernels.KernelPath;

namespace RegService.Numerics.Tests.Kernels;

public class GramKernelTests
{
    // Column counts: every k up to twice the widest tile (3 panels of 8 columns) + 1, so that every tile shape occurs:
    // 1-3 A panels against a last B panel of 1-8 real columns, and diagonal groups of each size.
    public static TheoryData<int> ColumnCounts()
    {
        var data = new TheoryData<int>();
        for (int k = 1; k <= 2 * 3 * GramKernel.PanelWidth + 1; k++)
            data.Add(k);
        return data;
    }

    // Row counts: empty, tiny, around the default row block, a few thousand.
    private static readonly int[] RowCounts =
    [
        0, 1, 7, GramKernel.DefaultBlockRows - 1, GramKernel.DefaultBlockRows, GramKernel.DefaultBlockRows + 1, 3001,
    ];

    [Theory]
    [MemberData(nameof(ColumnCounts))]
    public void PublicEntryMatchesScalarTwin(int k)
    {
        var rng = new Random(1000 + k);
        foreach (int n in RowCounts)
        {
            var (x, cols, shift) = RandomProblem(rng, n, k);
            foreach (int[]? rows in new[] { null, RandomSubset(rng, n, shuffled: false), RandomSubset(rng, n, shuffled: true) })
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    var (gram, sums) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, rows, g, s, threads), k);
                    AssertMatchesScalar(x, cols, shift, rows, gram, sums, $"k={k} n={n} rows={(rows is null ? "all" : rows.Length.ToString())} threads={threads}");
                }
            }
        }
    }

    /// <summary>Every instruction-set path, exactly 1 or 2 threads, default and tiny row blocks (many blocks, ragged ends).</summary>
    [Theory]
    [MemberData(nameof(ColumnCounts))]
    public void EveryPathMatchesScalarTwin(int k)
    {
        var rng = new Random(2000 + k);
        foreach (Path path in new[] { Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
        {
            foreach (int n in new[] { 1, 7, GramKernel.DefaultBlockRows + 1, 3001 })
            {
                var (x, cols, shift) = RandomProblem(rng, n, k);
                foreach (int[]? rows in new[] { null, RandomSubset(rng, n, shuffled: true) })
                {
                    foreach (int threads in new[] { 1, 2 })
                    {
                        foreach (int blockRows in new[] { 0, 8, 40 })
                        {
                            var (gram, sums) = Run((g, s) => GramKernel.ShiftedGramCore(x, cols, shift, rows, g, s, threads, default, path, blockRows, forceThreads: true), k);
                            AssertMatchesScalar(x, cols, shift, rows, gram, sums, $"path={path} k={k} n={n} rows={(rows is null ? "all" : rows.Length.ToString())} threads={threads} block={blockRows}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void TinyCaseIsExact()
    {
        // col0 = [1, 2, 3], col1 = [4, 0, 2], shift 1 -> [0, 1, 2] and [3, -1, 1].
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        foreach (Path path in new[] { Path.Auto, Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
        {
            var (gram, sums) = Run((g, s) => GramKernel.ShiftedGramCore(x, [0, 1], [1.0, 1.0], null, g, s, 2, default, path, 0, forceThreads: true), 2);
            Assert.Equal([5.0, 1.0, 1.0, 11.0], gram);
            Assert.Equal([3.0, 3.0], sums);

            // Rows 2, 0, 2 (a repeat, not ascending): [2, 0, 2] and [1, 3, 1]; columns (1, 0, 1) with a repeat.
            (gram, sums) = Run((g, s) => GramKernel.ShiftedGramCore(x, [1, 0, 1], [1.0, 1.0, 1.0], [2, 0, 2], g, s, 1, default, path, 0, forceThreads: false), 3);
            Assert.Equal([11.0, 4.0, 11.0, 4.0, 8.0, 4.0, 11.0, 4.0, 11.0], gram);
            Assert.Equal([5.0, 4.0, 5.0], sums);
        }

        var (gs, ss) = Run((g, s) => GramKernel.ShiftedGramScalar(x, [0, 1], [1.0, 1.0], null, g, s), 2);
        Assert.Equal([5.0, 1.0, 1.0, 11.0], gs);
        Assert.Equal([3.0, 3.0], ss);
    }

    [Fact]
    public void ExactMeansGiveCenteredGram()
    {
        var rng = new Random(7);
        var (x, cols, _) = RandomProblem(rng, 1000, 5);
        double[] means = cols.Select(c => x.Column(c).ToArray().Average()).ToArray();
        var (gram, sums) = Run((g, s) => GramKernel.ShiftedGram(x, cols, means, null, g, s), 5);
        for (int a = 0; a < 5; a++)
        {
            Assert.True(Math.Abs(sums[a]) < 1e-9, $"sum {a} = {sums[a]}");
            double[] ca = x.Column(cols[a]).ToArray();
            double variance = ca.Sum(v => (v - means[a]) * (v - means[a]));
            Assert.Equal(variance, gram[a * 5 + a], variance * 1e-12);
        }
    }

    [Fact]
    public void RowOrderDoesNotChangeTheResult()
    {
        var rng = new Random(11);
        var (x, cols, shift) = RandomProblem(rng, 5000, 19);
        int[] sorted = RandomSubset(rng, 5000, shuffled: false);
        int[] shuffled = (int[])sorted.Clone();
        rng.Shuffle(shuffled);
        int[] shuffledCopy = (int[])shuffled.Clone();
        var (g1, s1) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, sorted, g, s, 2), 19);
        var (g2, s2) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, shuffled, g, s, 2), 19);
        Assert.Equal(g1, g2);
        Assert.Equal(s1, s2);
        Assert.Equal(shuffledCopy, shuffled); // the caller's array is not reordered
    }

    /// <summary>
    /// On the Vector256 tier a last panel half with one real column runs the 24 x 1 kernel against it; its values are the same
    /// chains of multiply-adds as the 12 x 4 kernel's, so the Gram of the first k columns is bit for bit the leading block of the
    /// Gram of k + 3 columns (whose last half is full), at k = 25 and 29 (the half at column 24 and 28), one or more blocks.
    /// </summary>
    [Fact]
    public void OneColumnHalfGivesTheBitsOfAFullHalf()
    {
        var rng = new Random(31);
        foreach (int k in new[] { 25, 29 })
        {
            foreach (int blockRows in new[] { 0, 40 })
            {
                const int n = 3001;
                int wide = k + 3;
                var x = new DenseMatrix(n, wide);
                for (int i = 0; i < x.Data.Length; i++) x.Data[i] = 4 * rng.NextDouble() - 1;
                int[] narrowCols = [.. Enumerable.Range(0, k)], wideCols = [.. Enumerable.Range(0, wide)];
                double[] shift = [.. wideCols.Select(c => 0.25 * (c % 5))];
                var (gNarrow, sNarrow) = Run((g, s) => GramKernel.ShiftedGramCore(x, narrowCols, shift.AsSpan(0, k), null, g, s, 1, default,
                                                                                 Path.Vector256, blockRows, forceThreads: true), k);
                var (gWide, sWide) = Run((g, s) => GramKernel.ShiftedGramCore(x, wideCols, shift, null, g, s, 1, default,
                                                                             Path.Vector256, blockRows, forceThreads: true), wide);
                for (int a = 0; a < k; a++)
                {
                    Assert.Equal(sWide[a], sNarrow[a]);
                    for (int b = 0; b < k; b++)
                        Assert.True(gWide[a * wide + b] == gNarrow[a * k + b], $"k={k} block={blockRows} G[{a},{b}]: {gNarrow[a * k + b]:R} against {gWide[a * wide + b]:R}");
                }
            }
        }
    }

    [Fact]
    public void RepeatedCallsAreBitwiseIdentical()
    {
        var rng = new Random(12);
        var (x, cols, shift) = RandomProblem(rng, 20_000, 40);
        var (g1, s1) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, null, g, s, 2), 40);
        var (g2, s2) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, null, g, s, 2), 40);
        Assert.Equal(g1, g2);
        Assert.Equal(s1, s2);
    }

    [Theory]
    [InlineData("Vector512")]
    [InlineData("Vector256")]
    [InlineData("Scalar")]
    public void ThreadCountDoesNotChangeTheResult(string pathName)
    {
        var path = Enum.Parse<Path>(pathName);
        var rng = new Random(13);
        var (x, cols, shift) = RandomProblem(rng, 9000, 27);
        int[] subset = RandomSubset(rng, 9000, shuffled: false);
        foreach (int[]? rows in new[] { null, subset })
        {
            // Row blocks of 40 give dozens of blocks and the maximum number of segments.
            var (g1, s1) = Run((g, s) => GramKernel.ShiftedGramCore(x, cols, shift, rows, g, s, 1, default, path, 40, forceThreads: true), 27);
            foreach (int threads in new[] { 2, 3, 5 })
            {
                var (g2, s2) = Run((g, s) => GramKernel.ShiftedGramCore(x, cols, shift, rows, g, s, threads, default, path, 40, forceThreads: true), 27);
                Assert.Equal(g1, g2);
                Assert.Equal(s1, s2);
            }
        }
    }

    /// <summary>
    /// A call takes the native blocks an earlier call left (<see cref="GramKernel.NativeBlocks"/>) with whatever they hold: blocks of
    /// exactly this call's sizes, filled with NaN, must not reach the result (accumulators and sums are cleared, packed blocks
    /// overwritten), on every tier.
    /// </summary>
    [Fact]
    public unsafe void KeptBlocksWithOldValuesDoNotReachTheResult()
    {
        const int k = 13, kp = 16, blockRows = 40;
        var rng = new Random(17);
        var (x, cols, shift) = RandomProblem(rng, 3001, k);
        foreach (Path path in new[] { Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
        {
            foreach (nuint doubles in new nuint[] { kp * kp, kp, blockRows * kp, blockRows })
            {
                var held = new List<nint>();
                for (int i = 0; i < 6; i++)
                {
                    nint p = GramKernel.NativeBlocks.Rent(doubles * sizeof(double));
                    new Span<double>((void*)p, (int)doubles).Fill(double.NaN);
                    held.Add(p);
                }
                foreach (nint p in held) GramKernel.NativeBlocks.Return(p, doubles * sizeof(double));
            }
            var (gram, sums) = Run((g, s) => GramKernel.ShiftedGramCore(x, cols, shift, null, g, s, 2, default, path, blockRows, forceThreads: true), k);
            AssertMatchesScalar(x, cols, shift, null, gram, sums, $"kept blocks, {path}");
        }
    }

    /// <summary>
    /// The fused diagonal pair (Vector512) gives, bit for bit, the two tiles it replaces: 1 x 8 (panel P against itself) and
    /// 2 x 8 (P and P + 1 against P + 1), added to an accumulator that already holds values, at row counts with and without a
    /// multiple of 8. On a machine without AVX-512 there is nothing to run (the tier is never chosen there).
    /// </summary>
    [Fact]
    public unsafe void FusedDiagonalPairIsTheTwoDiagonalTiles()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var rng = new Random(29);
        foreach (int m in new[] { 1, 7, 40, 256 })
        {
            const int kp = 24;
            int ps = m * GramKernel.PanelWidth;
            double[] packed = [.. Enumerable.Range(0, 3 * ps).Select(_ => 2 * rng.NextDouble() - 1)];
            double[] start = [.. Enumerable.Range(0, kp * kp).Select(_ => rng.NextDouble())];
            // The kernels load and store aligned: 64-byte aligned native copies. Panel P = 1 (the second of three), so the tiles
            // sit away from the accumulator's edges.
            var p = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)packed.Length * sizeof(double), 64);
            var s = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(kp * kp * sizeof(double), 64);
            var f = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(kp * kp * sizeof(double), 64);
            double[] separate, fused;
            try
            {
                packed.CopyTo(new Span<double>(p, packed.Length));
                start.CopyTo(new Span<double>(s, kp * kp));
                start.CopyTo(new Span<double>(f, kp * kp));
                double* a = p + ps;
                byte* idle = (byte*)p;
                double* c = s + 8 * kp + 8;
                GramKernel.Kernel512(1, 8, a, ps, a, m, c, kp, idle, 0, idle, 0);
                GramKernel.Kernel512(2, 8, a, ps, a + ps, m, c + 8 * kp, kp, idle, 0, idle, 0);
                GramKernel.DiagonalPair512(a, ps, m, f + 8 * kp + 8, kp, idle, 0, idle, 0);
                separate = new Span<double>(s, kp * kp).ToArray();
                fused = new Span<double>(f, kp * kp).ToArray();
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.AlignedFree(p);
                System.Runtime.InteropServices.NativeMemory.AlignedFree(s);
                System.Runtime.InteropServices.NativeMemory.AlignedFree(f);
            }
            Assert.Equal(separate, fused);
            Assert.NotEqual(start, fused);
        }
    }

    [Fact]
    public void KeptBlocksStayWithinTheirBudget()
    {
        nuint large = (nuint)GramKernel.NativeBlocks.MaxCachedBlockBytes + 64;
        nint big = GramKernel.NativeBlocks.Rent(large);
        GramKernel.NativeBlocks.Return(big, large);   // too large to keep: freed
        nuint block = (nuint)GramKernel.NativeBlocks.MaxCachedBlockBytes;
        int count = (int)(GramKernel.NativeBlocks.CacheBytes / GramKernel.NativeBlocks.MaxCachedBlockBytes) + 2;
        var held = Enumerable.Range(0, count).Select(_ => GramKernel.NativeBlocks.Rent(block)).ToList();
        foreach (nint p in held) GramKernel.NativeBlocks.Return(p, block);
        Assert.InRange(GramKernel.NativeBlocks.KeptBytes, 0, GramKernel.NativeBlocks.CacheBytes);
    }

    [Fact]
    public void OnlyTheFirstKSquaredValuesAreWritten()
    {
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        var gram = Enumerable.Repeat(-7.0, 6).ToArray();
        var sums = Enumerable.Repeat(-7.0, 3).ToArray();
        GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], null, gram, sums);
        Assert.Equal([5.0, 1.0, 1.0, 11.0, -7.0, -7.0], gram);
        Assert.Equal([3.0, 3.0, -7.0], sums);
    }

    [Fact]
    public void EmptyRowSetGivesZeros()
    {
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        var gram = Enumerable.Repeat(-7.0, 4).ToArray();
        var sums = Enumerable.Repeat(-7.0, 2).ToArray();
        GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], [], gram, sums);
        Assert.All(gram, v => Assert.Equal(0.0, v));
        Assert.All(sums, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void PreCanceledTokenThrows()
    {
        var rng = new Random(3);
        var (x, cols, shift) = RandomProblem(rng, 1000, 10);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var gram = new double[100];
        var sums = new double[10];
        Assert.ThrowsAny<OperationCanceledException>(() => GramKernel.ShiftedGram(x, cols, shift, null, gram, sums, 2, cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => GramKernel.ShiftedGram(x, cols, shift, [1, 2, 3], gram, sums, 1, cts.Token));
    }

    [Fact]
    public void CancellationDuringTheRunThrows()
    {
        // The scalar path on 200000 x 64 takes far longer than the 20 ms before cancellation. The token is
        // canceled from a dedicated thread: a timer callback could be delayed by a busy thread pool.
        var rng = new Random(4);
        var (x, cols, shift) = RandomProblem(rng, 200_000, 64);
        using var cts = new CancellationTokenSource();
        var gram = new double[64 * 64];
        var sums = new double[64];
        var task = Task.Run(() => GramKernel.ShiftedGramCore(x, cols, shift, null, gram, sums, 3, cts.Token, Path.Scalar, 64, forceThreads: true));
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
        var gram = new double[4];
        var sums = new double[2];
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, 1], [1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, 2], [1.0, 1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, -1], [1.0, 1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], [0, 3], gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], [-1], gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], null, new double[3], sums));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], null, gram, new double[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GramKernel.ShiftedGram(x, [0, 1], [1.0, 1.0], null, gram, sums, -1));
        Assert.Throws<ArgumentException>(() => GramKernel.ShiftedGramScalar(x, [0, 1], [1.0, 1.0], [3], gram, sums));
    }

    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Data with non-zero column means; columns are a shuffled selection with a repeat; the shift is the mean
    /// plus noise (as when the means come from a summary of a superset of the rows).
    /// </summary>
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

    private static int[] RandomSubset(Random rng, int n, bool shuffled)
    {
        int[] rows = Enumerable.Range(0, n).Where(_ => rng.NextDouble() < 0.8).ToArray();
        if (shuffled)
            rng.Shuffle(rows);
        return rows;
    }

    private delegate void GramCall(Span<double> gram, Span<double> sums);

    private static (double[] Gram, double[] Sums) Run(GramCall call, int k)
    {
        // Poison the outputs: everything must be overwritten.
        var gram = Enumerable.Repeat(double.NaN, k * k).ToArray();
        var sums = Enumerable.Repeat(double.NaN, k).ToArray();
        call(gram, sums);
        return (gram, sums);
    }

    /// <summary>
    /// Agreement with the scalar twin to 1e-12 relative to the natural scale of each entry: sqrt(G[a,a]·G[b,b])
    /// for G[a,b] (a bound on Σ|x_a·x_b|) and sqrt(|R|·G[a,a]) for sums[a] (a bound on Σ|x_a|).
    /// </summary>
    private static void AssertMatchesScalar(DenseMatrix x, int[] cols, double[] shift, int[]? rows, double[] gram, double[] sums, string label)
    {
        int k = cols.Length;
        int count = rows?.Length ?? x.Rows;
        var (expected, expectedSums) = Run((g, s) => GramKernel.ShiftedGramScalar(x, cols, shift, rows, g, s), k);
        for (int a = 0; a < k; a++)
        {
            double scaleSum = Math.Sqrt(count * expected[a * k + a]);
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

    [Fact]
    public void NativeBytesCountOneAccumulatorPerSegmentWhileTheyFitTheRunAheadBudget()
    {
        // 200,000 x 200 on two threads: 16 segments whose 200 x 200 accumulators (320 KB each) fit 16 MB, so a worker may run
        // ahead of a descheduled one up to the last segment; at k = 2000 (32 MB each) only threads + 3 are allowed.
        const long Small = (200L * 200 + 200) * sizeof(double), Large = (2000L * 2000 + 2000) * sizeof(double);
        long small = GramKernel.NativeBytes(200_000, 200, maxThreads: 2);
        Assert.InRange(small, 16 * Small, 16 * Small + 2L * 256 * 201 * sizeof(double));
        long large = GramKernel.NativeBytes(200_000, 2000, maxThreads: 2);
        Assert.InRange(large, 5 * Large, 5 * Large + 2L * 256 * 2001 * sizeof(double));
    }
}
