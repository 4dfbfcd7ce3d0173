using RegService.Numerics.Kernels;

namespace RegService.Numerics.Tests.Kernels;

/// <summary>
/// Every span kernel against its scalar twin, on every instruction-set tier this machine has (forced in-process with
/// <see cref="KernelIsa.Force"/>, so an AVX-512 machine also runs the Vector256 and Vector128 code), at every length from
/// 0 to twice the widest unrolled step plus one, from misaligned offsets.
/// </summary>
public class KernelTierTests
{
    /// <summary>Four Vector512 accumulators of 8 doubles: the widest unrolled step.</summary>
    private const int WidestStep = 4 * 8;
    private static readonly int[] Offsets = [0, 1, 3];

    public static TheoryData<string> Tiers()
    {
        var data = new TheoryData<string>();
        foreach (var path in KernelIsa.Available) data.Add(path.ToString());
        return data;
    }

    private static IEnumerable<(int N, int Offset)> Shapes()
    {
        for (int n = 0; n <= 2 * WidestStep + 1; n++)
            foreach (int o in Offsets) yield return (n, o);
    }

    private static double[] Random(Random rng, int n, double lo = -1, double hi = 1) =>
        [.. Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble())];

    private static void Close(double expected, double actual, double scale, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-13 * Math.Max(1.0, scale), $"{what}: {actual} against the twin's {expected}");

    private static void Close(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], Math.Abs(expected[i]), $"{what}[{i}]");
    }

    [Fact]
    public void ForcingATierLowersTheResolvedTierOnlyInsideTheScope()
    {
        var best = KernelIsa.Current;
        Assert.Equal(KernelPath.Scalar, KernelIsa.Available[^1]);
        Assert.Equal(best, KernelIsa.Available[0]);
        using (KernelIsa.Force(KernelPath.Scalar))
        {
            Assert.Equal(KernelPath.Scalar, KernelIsa.Current);
            Assert.Equal(KernelPath.Scalar, KernelIsa.Resolve(KernelPath.Auto));
            Assert.Equal("scalar", KernelIsa.Name(KernelPath.Auto));
        }
        Assert.Equal(best, KernelIsa.Current);
        // A request wider than the hardware is lowered to what it has.
        Assert.Equal(KernelIsa.Best, KernelIsa.Resolve(KernelPath.Vector512));
        Assert.Equal(KernelPath.Vector128 < KernelIsa.Best ? KernelIsa.Best : KernelPath.Vector128, KernelIsa.Resolve(KernelPath.Vector128));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ReductionsMatchTheirScalarTwins(string tier)
    {
        var rng = new Random(11);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        foreach (var (n, o) in Shapes())
        {
            var a = Random(rng, n + o).AsSpan(o);
            var b = Random(rng, n + o).AsSpan(o);
            var w = Random(rng, n + o, 0, 1).AsSpan(o);
            double m = 0.3, scale = n;
            string at = $"{tier} n={n} offset={o}";
            Close(Vec.SumSquaredDeviationsScalar(a, m), Vec.SumSquaredDeviations(a, m), scale, $"SumSquaredDeviations {at}");
            Close(Vec.DotScalar(a, b), Vec.Dot(a, b), scale, $"Dot {at}");
            Close(LogisticKernels.SumDifferenceScalar(a, b), LogisticKernels.SumDifference(a, b), scale, $"SumDifference {at}");
            Close(LogisticKernels.CenteredDistanceScalar(a, b, m), LogisticKernels.CenteredDistance(a, b, m), scale, $"CenteredDistance {at}");
            Close(LogisticKernels.AbsoluteDistanceScalar(a, b), LogisticKernels.AbsoluteDistance(a, b), scale, $"AbsoluteDistance {at}");
            Close(LogisticKernels.DotShiftedScalar(a, m, b), LogisticKernels.DotShifted(a, m, b), scale, $"DotShifted {at}");
            var (f1, s1) = LogisticKernels.WeightedMomentsScalar(a, m, w);
            var (f2, s2) = LogisticKernels.WeightedMoments(a, m, w);
            Close(f1, f2, scale, $"WeightedMoments.First {at}");
            Close(s1, s2, scale, $"WeightedMoments.Second {at}");
            var c = Random(rng, n + o).AsSpan(o);
            var (along1, step1, norm1) = LineKernels.ProjectScalar(a, b, c);
            var (along2, step2, norm2) = LineKernels.Project(a, b, c);
            Close(along1, along2, 4 * scale, $"LineKernels.Project.Along {at}");
            Close(step1, step2, 4 * scale, $"LineKernels.Project.Step {at}");
            Close(norm1, norm2, scale, $"LineKernels.Project.Norm {at}");
            Close(LineKernels.OffScalar(a, b, c, 1.25, -0.25), LineKernels.Off(a, b, c, 1.25, -0.25), 9 * scale, $"LineKernels.Off {at}");
            Close(Vec.SumScalar(a), Vec.Sum(a), scale, $"Sum {at}");
        }
    }

    /// <summary>
    /// Each term of <see cref="LineKernels.Off"/> is computed with its twin's operations (two products, two subtractions, no
    /// fused step), which the residual snapshots' rounding allowance relies on: with one nonzero entry the sum is that one
    /// term's square, so the two agree bit for bit at every position (a fused step differs in the last bit for most inputs).
    /// </summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void LineResidualTermsAreTheTwinsBitForBit(string tier)
    {
        var rng = new Random(13);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        for (int n = 1; n <= 2 * WidestStep + 1; n++)
            for (int k = 0; k < n; k++)
            {
                double[] r = new double[n], r1 = new double[n], r0 = new double[n];
                r[k] = rng.NextDouble() - 0.5;
                r1[k] = rng.NextDouble() - 0.5;
                r0[k] = rng.NextDouble() - 0.5;
                double c1 = 1 + (rng.NextDouble() - 0.5) / 3, c0 = 1 - c1;
                Assert.Equal(BitConverter.DoubleToInt64Bits(LineKernels.OffScalar(r, r1, r0, c1, c0)),
                             BitConverter.DoubleToInt64Bits(LineKernels.Off(r, r1, r0, c1, c0)));
            }
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void UpdatesMatchTheirScalarTwins(string tier)
    {
        var rng = new Random(12);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        foreach (var (n, o) in Shapes())
        {
            var x = Random(rng, n + o).AsSpan(o);
            var v = Random(rng, n + o, 0, 1).AsSpan(o);
            var z = Random(rng, n + o).AsSpan(o);
            var y = Random(rng, n + o);
            string at = $"{tier} n={n} offset={o}";

            var y1 = y.AsSpan(o).ToArray();
            var y2 = y.AsSpan(o).ToArray();
            Vec.AxpyScalar(-1.5, x, y1);
            Vec.Axpy(-1.5, x, y2);
            Close(y1, y2, $"Axpy {at}");

            y1 = y.AsSpan(o).ToArray();
            y2 = y.AsSpan(o).ToArray();
            double d1 = Vec.AxpyDotScalar(0.7, x, y1, z);
            double d2 = Vec.AxpyDot(0.7, x, y2, z);
            Close(y1, y2, $"AxpyDot (update) {at}");
            Close(d1, d2, n, $"AxpyDot (dot) {at}");

            y1 = y.AsSpan(o).ToArray();
            y2 = y.AsSpan(o).ToArray();
            LogisticKernels.SubtractWeightedShiftedScalar(0.7, v, x, 0.2, y1);
            LogisticKernels.SubtractWeightedShifted(0.7, v, x, 0.2, y2);
            Close(y1, y2, $"SubtractWeightedShifted {at}");

            y1 = y.AsSpan(o).ToArray();
            y2 = y.AsSpan(o).ToArray();
            Vec.ShiftScalar(x, 0.3, y1);
            Vec.Shift(x, 0.3, y2);
            Assert.Equal(y1, y2);   // one subtraction per element: the same bits
        }
    }

    /// <summary>A block of 0 to 9 columns (four per sweep, then the rest) times a vector, from misaligned column starts.</summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void ColumnBlockProductsMatchTheirScalarTwins(string tier)
    {
        var rng = new Random(15);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        foreach (var (n, o) in Shapes())
            foreach (int columns in new[] { 0, 1, 4, 5, 9 })
            {
                var data = Random(rng, columns * (n + 3) + o);
                long[] offsets = [.. Enumerable.Range(0, columns).Select(c => (long)c * (n + 3) + o)];
                var a = Random(rng, columns);
                var y = Random(rng, n);
                string at = $"{tier} n={n} offset={o} columns={columns}";

                var y1 = (double[])y.Clone();
                var y2 = (double[])y.Clone();
                ColumnKernels.AddScaledScalar(data, offsets, a, y1);
                ColumnKernels.AddScaled(data, offsets, a, y2);
                Close(y1, y2, $"AddScaled {at}");

                // With prefetch hints (ahead > 0, also past the end of the data): the same results.
                var y3 = (double[])y.Clone();
                ColumnKernels.AddScaled(data, offsets, a, y3, ahead: n + 64);
                Close(y1, y3, $"AddScaled (prefetching) {at}");

                // Two coefficient vectors in one sweep (one with zeros): each result as AddScaled's, bit for bit, and the twin's.
                var a2 = Random(rng, columns);
                if (columns > 1) a2[1] = 0;
                var z = Random(rng, n);
                var (f1, f2) = ((double[])y.Clone(), (double[])z.Clone());
                var (g1, g2) = ((double[])y.Clone(), (double[])z.Clone());
                var (h1, h2) = ((double[])y.Clone(), (double[])z.Clone());
                ColumnKernels.AddScaledPair(data, offsets, a, a2, f1, f2);
                ColumnKernels.AddScaled(data, offsets, a, g1);
                ColumnKernels.AddScaled(data, offsets, a2, g2);
                ColumnKernels.AddScaledPairScalar(data, offsets, a, a2, h1, h2);
                Assert.Equal(g1, f1);
                Assert.Equal(g2, f2);
                Close(h1, f1, $"AddScaledPair (first) {at}");
                Close(h2, f2, $"AddScaledPair (second) {at}");

                var d1 = Random(rng, columns);
                var d2 = (double[])d1.Clone();
                var d3 = (double[])d1.Clone();
                ColumnKernels.AddDotsScalar(data, offsets, y, d1);
                ColumnKernels.AddDots(data, offsets, y, d2);
                ColumnKernels.AddDots(data, offsets, y, d3, ahead: 256);
                Close(d1, d2, $"AddDots {at}");
                Close(d1, d3, $"AddDots (prefetching) {at}");

                // Shifted by a large mean: the twin centers each value before the product, as the kernel must.
                var shifts = Random(rng, columns, 1.5e3 - 0.5, 1.5e3 + 0.5);
                var shifted = data.Select(x => x + 1.5e3).ToArray();
                var s0 = Random(rng, columns);
                var s1 = (double[])s0.Clone();
                var s2 = (double[])s0.Clone();
                var s3 = (double[])s1.Clone();
                ColumnKernels.AddShiftedDotsScalar(shifted, offsets, shifts, y, s1);
                ColumnKernels.AddShiftedDots(shifted, offsets, shifts, y, s2);
                ColumnKernels.AddShiftedDots(shifted, offsets, shifts, y, s3, ahead: 8);
                Close(s1, s2, $"AddShiftedDots {at}");
                Close(s1, s3, $"AddShiftedDots (prefetching) {at}");
                // Against a second vector in the same sweep: each result as the one-vector kernel's, bit for bit, on every tier.
                var y2nd = Random(rng, n);
                var p1 = Random(rng, columns);
                var p2 = Random(rng, columns);
                var q1 = (double[])p1.Clone();
                var q2 = (double[])p2.Clone();
                var e1 = (double[])p1.Clone();
                var e2 = (double[])p2.Clone();
                var t1 = (double[])p1.Clone();
                var t2 = (double[])p2.Clone();
                ColumnKernels.AddShiftedDotsPair(shifted, offsets, shifts, y, y2nd, p1, p2);
                ColumnKernels.AddShiftedDotsPair(shifted, offsets, shifts, y, y2nd, q1, q2, ahead: 8);
                ColumnKernels.AddShiftedDots(shifted, offsets, shifts, y, e1);
                ColumnKernels.AddShiftedDots(shifted, offsets, shifts, y2nd, e2);
                ColumnKernels.AddShiftedDotsPairScalar(shifted, offsets, shifts, y, y2nd, t1, t2);
                Assert.Equal(e1, p1);
                Assert.Equal(e2, p2);
                Assert.Equal(e1, q1);
                Assert.Equal(e2, q2);
                Close(t1, p1, $"AddShiftedDotsPair (first) {at}");
                Close(t2, p2, $"AddShiftedDotsPair (second) {at}");
                // Against the plain dot of the centered column, to within the rounding of the centering.
                for (int c = 0; c < columns; c++)
                {
                    double dot = 0;
                    for (int i = 0; i < n; i++) dot += (shifted[offsets[c] + i] - shifts[c]) * y[i];
                    Assert.True(Math.Abs(s2[c] - s0[c] - dot) <= 1e-10 * (1 + n * 1e3), $"AddShiftedDots centered {at}: {s2[c] - s0[c]} against {dot}");
                }
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => ColumnKernels.AddDots(new double[10], [5L], new double[6], new double[1]));
        Assert.Throws<ArgumentException>(() => ColumnKernels.AddShiftedDots(new double[10], [0L], [], new double[6], new double[1]));
        Assert.Throws<ArgumentException>(() => ColumnKernels.AddScaledPair(new double[10], [0L], [1.0], [1.0], new double[6], new double[5]));
        Assert.Throws<ArgumentException>(() => ColumnKernels.AddShiftedDotsPair(new double[10], [0L], [0.0], new double[6], new double[5], new double[1], new double[1]));
    }

    /// <summary>The link over predictors from −800 to 800 (past the underflow of e^−|eta|) and around 0.</summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void LogisticLinkLossAndResidualMatchTheirScalarTwins(string tier)
    {
        var rng = new Random(13);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        foreach (var (n, o) in Shapes())
        {
            var eta = Random(rng, n + o, -40, 40);
            if (n > 2) { eta[o] = -800; eta[o + 1] = 800; eta[o + 2] = 0; }
            var e = eta.AsSpan(o);
            var y = Enumerable.Range(0, n + o).Select(_ => (double)rng.Next(2)).ToArray().AsSpan(o);
            string at = $"{tier} n={n} offset={o}";
            double[] p1 = new double[n], w1 = new double[n], r1 = new double[n], p2 = new double[n], w2 = new double[n], r2 = new double[n];
            double loss1 = LogisticKernels.LinkScalar(e, y, p1, w1, r1);
            double loss2 = LogisticKernels.Link(e, y, p2, w2, r2, default);
            Close(loss1, loss2, loss1, $"Link (loss) {at}");
            Close(p1, p2, $"Link (p) {at}");
            Close(w1, w2, $"Link (w) {at}");
            Close(r1, r2, $"Link (r) {at}");
            Close(LogisticKernels.LossScalar(e, y), LogisticKernels.Loss(e, y), loss1, $"Loss {at}");
            double sum1 = 0.5, sum2 = 0.5;
            double l1 = LogisticKernels.ResidualScalar(e, y, r1, ref sum1);
            double l2 = LogisticKernels.Residual(e, y, r2, ref sum2);
            Close(l1, l2, l1, $"Residual (loss) {at}");
            Close(sum1, sum2, n, $"Residual (sum) {at}");
            Close(r1, r2, $"Residual {at}");
        }
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void FoldRegroupMatchesItsScalarTwinAtEveryAlignment(string tier)
    {
        var rng = new Random(14);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        var source = Random(rng, 200);
        foreach (var (n, o) in Shapes())
        {
            var order = Enumerable.Range(0, n).Select(_ => rng.Next(source.Length)).ToArray();
            var expected = new double[n];
            FoldGrams.RegroupScalar(source, order, expected);
            foreach (bool nonTemporal in new[] { false, true })
            {
                var target = new double[n + o + 8];
                FoldGrams.Regroup(source, order, target.AsSpan(o, n), nonTemporal);
                Assert.True(expected.AsSpan().SequenceEqual(target.AsSpan(o, n)), $"{tier} n={n} offset={o} nonTemporal={nonTemporal}");
                Assert.All(target.AsSpan(0, o).ToArray(), t => Assert.Equal(0.0, t));
                Assert.All(target.AsSpan(o + n).ToArray(), t => Assert.Equal(0.0, t));
            }
        }
    }

    /// <summary>
    /// The loops that evaluate exp and log1p per row are compiled on their own, never into a caller: a tier-1 caller that
    /// took the poisson loop in ran out of inlining budget and called <c>SimdMath.Exp</c> and its vector helpers as
    /// separate tier-0 methods (one-core poisson fits 1.6x slower until they were promoted).
    /// </summary>
    [Theory]
    [InlineData("Poisson")]
    [InlineData("Link")]
    [InlineData("Loss")]
    [InlineData("Residual")]
    public void ExpAndLogLoopsAreNeverInlined(string name)
    {
        var bodies = typeof(LogisticKernels).GetMethods(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)
            .Where(m => m.Name == name && m.IsGenericMethodDefinition && m.GetGenericArguments().Length >= 2)
            .ToArray();
        Assert.NotEmpty(bodies);
        foreach (var m in bodies)
        {
            var flags = m.MethodImplementationFlags;
            Assert.True(flags.HasFlag(System.Reflection.MethodImplAttributes.NoInlining), $"{m} can be inlined");
            Assert.True(flags.HasFlag(System.Reflection.MethodImplAttributes.AggressiveOptimization), $"{m} is not compiled optimized at once");
        }
    }
}
