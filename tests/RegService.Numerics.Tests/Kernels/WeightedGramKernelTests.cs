using System.Runtime.Intrinsics;
using RegService.Numerics.Data;
using RegService.Numerics.Kernels;
using Path = RegService.Numerics.Kernels.KernelPath;

namespace RegService.Numerics.Tests.Kernels;

public class WeightedGramKernelTests
{
    public static TheoryData<int> ColumnCounts()
    {
        var data = new TheoryData<int>();
        for (int k = 1; k <= 2 * Vector512<double>.Count + 1; k++)
            data.Add(k);
        foreach (int k in new[] { 23, 24, 25, 29, 30, 31, 33, 49 })
            data.Add(k);
        return data;
    }

    private static readonly int[] RowCounts =
    [
        0, 1, 7, GramKernel.DefaultBlockRows - 1, GramKernel.DefaultBlockRows, GramKernel.DefaultBlockRows + 1, 3001,
    ];

    [Theory]
    [MemberData(nameof(ColumnCounts))]
    public void PublicEntryMatchesScalarTwin(int k)
    {
        var rng = new Random(3000 + k);
        foreach (int n in RowCounts)
        {
            var (x, cols, shift) = RandomProblem(rng, n, k);
            foreach (int[]? rows in new[] { null, RandomSubset(rng, n, shuffled: false), RandomSubset(rng, n, shuffled: true) })
            {
                double[] w = RandomWeights(rng, rows?.Length ?? n);
                foreach (int threads in new[] { 1, 2 })
                {
                    var (gram, sums) = Run((g, s) => GramKernel.WeightedShiftedGram(x, cols, shift, w, rows, g, s, threads), k);
                    AssertMatchesScalar(x, cols, shift, w, rows, gram, sums, $"k={k} n={n} rows={(rows is null ? "all" : rows.Length.ToString())} threads={threads}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ColumnCounts))]
    public void EveryPathMatchesScalarTwin(int k)
    {
        var rng = new Random(4000 + k);
        foreach (Path path in new[] { Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
        {
            foreach (int n in new[] { 1, 7, GramKernel.DefaultBlockRows + 1, 3001 })
            {
                var (x, cols, shift) = RandomProblem(rng, n, k);
                foreach (int[]? rows in new[] { null, RandomSubset(rng, n, shuffled: true) })
                {
                    double[] w = RandomWeights(rng, rows?.Length ?? n);
                    foreach (int threads in new[] { 1, 2 })
                    {
                        foreach (int blockRows in new[] { 0, 8, 40 })
                        {
                            var (gram, sums) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, cols, shift, w, rows, g, s, threads, default, path, blockRows, forceThreads: true), k);
                            AssertMatchesScalar(x, cols, shift, w, rows, gram, sums, $"path={path} k={k} n={n} rows={(rows is null ? "all" : rows.Length.ToString())} threads={threads} block={blockRows}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// A Gram matrix grown by columns: the entries of the columns from <c>fromColumn</c> on and the sums are bit for bit those of
    /// the full call on every path (the same tiles run, the others are skipped), wherever the first computed column falls in a
    /// panel, with row subsets, threads and block sizes.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(49)]
    public void GrownColumnsAreBitwiseThoseOfTheFullMatrix(int k)
    {
        var rng = new Random(5000 + k);
        foreach (Path path in new[] { Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
        {
            foreach (int n in new[] { 7, GramKernel.DefaultBlockRows + 1, 3001 })
            {
                var (x, cols, shift) = RandomProblem(rng, n, k);
                foreach (int[]? rows in new[] { null, RandomSubset(rng, n, shuffled: true) })
                {
                    double[] w = RandomWeights(rng, rows?.Length ?? n);
                    foreach (int threads in new[] { 1, 2 })
                    {
                        foreach (int blockRows in new[] { 0, 40 })
                        {
                            var (full, fullSums) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, cols, shift, w, rows, g, s, threads, default, path, blockRows, forceThreads: true), k);
                            foreach (int from in new[] { 0, 1, k / 2, Math.Max(0, k - 8), k - 1, k }.Distinct())
                            {
                                var (grown, sums) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, cols, shift, w, rows, g, s, threads, default, path, blockRows, forceThreads: true, from), k);
                                string at = $"path={path} k={k} n={n} rows={(rows is null ? "all" : rows.Length.ToString())} threads={threads} block={blockRows} from={from}";
                                Assert.True(fullSums.AsSpan().SequenceEqual(sums), at + ": sums");
                                for (int a = 0; a < k; a++)
                                {
                                    for (int b = Math.Max(a, from); b < k; b++)
                                    {
                                        Assert.True(full[a * k + b].Equals(grown[a * k + b]), $"{at}: [{a}, {b}] {grown[a * k + b]:R} against {full[a * k + b]:R}");
                                        Assert.True(full[b * k + a].Equals(grown[b * k + a]), $"{at}: [{b}, {a}]");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void GrownColumnsOutsideTheMatrixAreRefused()
    {
        var rng = new Random(77);
        var (x, cols, shift) = RandomProblem(rng, 50, 5);
        double[] w = RandomWeights(rng, 50);
        Assert.Throws<ArgumentOutOfRangeException>(() => GramKernel.WeightedShiftedGramFrom(x, cols, shift, w, null, 6, new double[25], new double[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GramKernel.WeightedShiftedGramFrom(x, cols, shift, w, null, -1, new double[25], new double[5]));
    }

    [Fact]
    public void TinyCaseIsExact()
    {
        // col0 = [1, 2, 3], col1 = [4, 0, 2], shift 1 -> [0, 1, 2] and [3, -1, 1]; weights [4, 1, 0.25]
        // (square roots exact): G = [[0+1+1, 0-1+0.5], [., 36+1+0.25]], sums = [0+1+0.5, 12-1+0.25].
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        double[] w = [4, 1, 0.25];
        foreach (Path path in new[] { Path.Auto, Path.Vector512, Path.Vector256, Path.Vector128, Path.Scalar })
        {
            var (gram, sums) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, [0, 1], [1.0, 1.0], w, null, g, s, 2, default, path, 0, forceThreads: true), 2);
            Assert.Equal([2.0, -0.5, -0.5, 37.25], gram);
            Assert.Equal([1.5, 11.25], sums);

            // Rows 2, 0 (not ascending) with weights by position: row 2 weight 4, row 0 weight 1.
            (gram, sums) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, [0, 1], [1.0, 1.0], [4.0, 1.0], [2, 0], g, s, 1, default, path, 0, forceThreads: false), 2);
            Assert.Equal([16.0, 8.0, 8.0, 13.0], gram);
            Assert.Equal([8.0, 7.0], sums);
        }
        var (gs, ss) = Run((g, s) => GramKernel.WeightedShiftedGramScalar(x, [0, 1], [1.0, 1.0], w, null, g, s), 2);
        Assert.Equal([2.0, -0.5, -0.5, 37.25], gs);
        Assert.Equal([1.5, 11.25], ss);
    }

    [Fact]
    public void UnitWeightsGiveTheUnweightedGram()
    {
        var rng = new Random(21);
        var (x, cols, shift) = RandomProblem(rng, 2000, 13);
        var ones = Enumerable.Repeat(1.0, 2000).ToArray();
        var (g1, s1) = Run((g, s) => GramKernel.WeightedShiftedGram(x, cols, shift, ones, null, g, s, 2), 13);
        var (g2, s2) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, null, g, s, 2), 13);
        for (int i = 0; i < g1.Length; i++)
            Assert.Equal(g2[i], g1[i], Math.Abs(g2[i]) * 1e-13 + 1e-9);
        for (int i = 0; i < s1.Length; i++)
            Assert.Equal(s2[i], s1[i], 1e-9);
    }

    [Fact]
    public void ZeroWeightsDropRows()
    {
        var rng = new Random(22);
        var (x, cols, shift) = RandomProblem(rng, 1000, 9);
        var w = new double[1000];
        var kept = new List<int>();
        for (int i = 0; i < 1000; i++)
        {
            if (i % 3 == 0) continue;
            w[i] = 1;
            kept.Add(i);
        }
        var (g1, s1) = Run((g, s) => GramKernel.WeightedShiftedGram(x, cols, shift, w, null, g, s), 9);
        var (g2, s2) = Run((g, s) => GramKernel.ShiftedGram(x, cols, shift, [.. kept], g, s), 9);
        for (int i = 0; i < g1.Length; i++)
            Assert.Equal(g2[i], g1[i], Math.Abs(g2[i]) * 1e-13 + 1e-9);
        for (int i = 0; i < s1.Length; i++)
            Assert.Equal(s2[i], s1[i], 1e-9);
    }

    [Fact]
    public void RowOrderAndThreadCountDoNotChangeTheResult()
    {
        var rng = new Random(23);
        var (x, cols, shift) = RandomProblem(rng, 9000, 27);
        int[] sorted = RandomSubset(rng, 9000, shuffled: false);
        double[] w = RandomWeights(rng, sorted.Length);
        var order = Enumerable.Range(0, sorted.Length).ToArray();
        rng.Shuffle(order);
        int[] shuffled = order.Select(i => sorted[i]).ToArray();
        double[] shuffledW = order.Select(i => w[i]).ToArray();
        int[] shuffledCopy = (int[])shuffled.Clone();
        double[] shuffledWCopy = (double[])shuffledW.Clone();
        var (g1, s1) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, cols, shift, w, sorted, g, s, 1, default, Path.Auto, 40, forceThreads: true), 27);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var (g2, s2) = Run((g, s) => GramKernel.WeightedShiftedGramCore(x, cols, shift, shuffledW, shuffled, g, s, threads, default, Path.Auto, 40, forceThreads: true), 27);
            Assert.Equal(g1, g2);
            Assert.Equal(s1, s2);
        }
        Assert.Equal(shuffledCopy, shuffled);
        Assert.Equal(shuffledWCopy, shuffledW);
    }

    [Fact]
    public void InvalidWeightsAreRejected()
    {
        var x = new DenseMatrix(3, 2, [1, 2, 3, 4, 0, 2]);
        var gram = new double[4];
        var sums = new double[2];
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGram(x, [0, 1], [1.0, 1.0], [1.0, 1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGram(x, [0, 1], [1.0, 1.0], [1.0, -1.0, 1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGram(x, [0, 1], [1.0, 1.0], [1.0, double.NaN, 1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGram(x, [0, 1], [1.0, 1.0], [1.0, double.PositiveInfinity, 1.0], null, gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGram(x, [0, 1], [1.0, 1.0], [1.0], [0, 1], gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGram(x, [0, 1], [1.0, 1.0], [1.0], [3], gram, sums));
        Assert.Throws<ArgumentException>(() => GramKernel.WeightedShiftedGramScalar(x, [0, 1], [1.0, 1.0], [1.0], null, gram, sums));
    }

    // ------------------------------------------------------------------------------------------

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

    /// <summary>Weights like those of a logistic Newton step: p(1-p) in (0, 0.25], some exactly 0.</summary>
    private static double[] RandomWeights(Random rng, int count)
    {
        var w = new double[count];
        for (int i = 0; i < count; i++)
        {
            double p = rng.NextDouble();
            w[i] = rng.NextDouble() < 0.05 ? 0.0 : p * (1 - p);
        }
        return w;
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
        var gram = Enumerable.Repeat(double.NaN, k * k).ToArray();
        var sums = Enumerable.Repeat(double.NaN, k).ToArray();
        call(gram, sums);
        return (gram, sums);
    }

    /// <summary>
    /// Agreement with the scalar twin to 1e-12 relative to the natural scale of each entry: sqrt(G[a,a]·G[b,b]) for
    /// G[a,b], and sqrt(Σw·G[a,a]) for sums[a] (a bound on Σ w|x_a − s_a|).
    /// </summary>
    private static void AssertMatchesScalar(DenseMatrix x, int[] cols, double[] shift, double[] w, int[]? rows, double[] gram, double[] sums, string label)
    {
        int k = cols.Length;
        double totalWeight = w.Sum();
        var (expected, expectedSums) = Run((g, s) => GramKernel.WeightedShiftedGramScalar(x, cols, shift, w, rows, g, s), k);
        for (int a = 0; a < k; a++)
        {
            double scaleSum = Math.Sqrt(totalWeight * expected[a * k + a]);
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
