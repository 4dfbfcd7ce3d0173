using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// The single-precision screen of the proximal-Newton path's outside gradients: the blocked single-precision dot on every
/// tier against its scalar twin and within its error bound, and the bounds it leaves in <see cref="GradientBounds"/> holding
/// the exact gradients.
/// </summary>
public class GradientScreenTests
{
    /// <summary>Every length up to twice the widest vector plus one, and lengths around the block of 256 rows.</summary>
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 2 * 16 + 2), 63, 255, 256, 257, 511, 600, 1001, 5000];

    [Fact]
    public void SingleDotIsWithinItsBoundOfTheExactDotOnEveryTier()
    {
        var rng = new Random(5);
        foreach (int n in Lengths)
        {
            // Values over several orders of magnitude with mixed signs, so that cancellation is real.
            var x = new double[n];
            var r = new double[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4));
                r[i] = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-2, 3));
            }
            var xs = x.Select(v => (float)v).ToArray();
            var rs = r.Select(v => (float)v).ToArray();
            double exact = 0, xx = 0, rr = 0, xxs = 0, rrs = 0;
            for (int i = 0; i < n; i++)
            {
                exact += x[i] * r[i];
                xx += x[i] * x[i];
                rr += r[i] * r[i];
                xxs += (double)xs[i] * xs[i];
                rrs += (double)rs[i] * rs[i];
            }
            double bound = LogisticKernels.SingleDotErrorFactor * Math.Sqrt(Math.Max(xx, xxs)) * Math.Sqrt(Math.Max(rr, rrs));
            double twin = LogisticKernels.SingleDotScalar(xs, rs);
            Assert.True(Math.Abs(twin - exact) <= bound, $"twin, n {n}: error {Math.Abs(twin - exact):G3} exceeds {bound:G3}");
            foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
            {
                double value = LogisticKernels.SingleDot(xs, rs);
                Assert.True(Math.Abs(value - exact) <= bound, $"{path}, n {n}: error {Math.Abs(value - exact):G3} exceeds {bound:G3}");
                Assert.True(Math.Abs(value - twin) <= 2 * bound, $"{path}, n {n}: {value:R} against the twin's {twin:R}");
            }
        }
    }

    /// <summary>Four columns in one sweep: each within the single dot's bound of its exact dot, and of the twin's value.</summary>
    [Fact]
    public void FourSingleDotsInOneSweepAreEachWithinTheBound()
    {
        var rng = new Random(8);
        foreach (int n in Lengths)
        {
            var r = Enumerable.Range(0, n).Select(_ => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-2, 3))).ToArray();
            var x = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4))).ToArray()).ToArray();
            var rs = r.Select(v => (float)v).ToArray();
            var xs = x.Select(c => c.Select(v => (float)v).ToArray()).ToArray();
            foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
            {
                var result = new double[4];
                LogisticKernels.SingleDot4(xs[0], xs[1], xs[2], xs[3], rs, result);
                for (int c = 0; c < 4; c++)
                {
                    double exact = 0, xx = 0, rr = 0;
                    for (int i = 0; i < n; i++)
                    {
                        exact += x[c][i] * r[i];
                        xx += Math.Max(x[c][i] * x[c][i], (double)xs[c][i] * xs[c][i]);
                        rr += Math.Max(r[i] * r[i], (double)rs[i] * rs[i]);
                    }
                    double bound = LogisticKernels.SingleDotErrorFactor * Math.Sqrt(xx) * Math.Sqrt(rr);
                    Assert.True(Math.Abs(result[c] - exact) <= bound, $"{path}, n {n}, column {c}: error {Math.Abs(result[c] - exact):G3} exceeds {bound:G3}");
                    double twin = LogisticKernels.SingleDotScalar(xs[c], rs);
                    Assert.True(Math.Abs(result[c] - twin) <= 2 * bound, $"{path}, n {n}, column {c}: {result[c]:R} against the twin's {twin:R}");
                }
            }
        }
        Assert.Throws<ArgumentException>(() => LogisticKernels.SingleDot4(new float[3], new float[3], new float[2], new float[3], new float[3], new double[4]));
    }

    [Fact]
    public void SingleCopiesMatchTheirScalarTwinElementForElement()
    {
        var rng = new Random(6);
        foreach (int n in Lengths)
        {
            var x = Enumerable.Range(0, n).Select(_ => 1e3 + (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4))).ToArray();
            var twin = new float[n];
            LogisticKernels.ToSingleShiftedScalar(x, 1e3 + 0.25, 1 / 3.7, twin);
            foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
            {
                var z = new float[n];
                LogisticKernels.ToSingleShifted(x, 1e3 + 0.25, 1 / 3.7, z);
                Assert.Equal(twin, z);
            }
        }
    }

    /// <summary>
    /// The rounded residual is fl32(r) element for element on every tier, and its norm bound is at least both ||r|| and
    /// ||fl32(r)|| (each summed exactly enough here in decimal), single precision's subnormals and rounding up to the
    /// smallest of them included.
    /// </summary>
    [Fact]
    public void RoundedResidualsAndTheirNormBoundHoldOnEveryTier()
    {
        var rng = new Random(8);
        foreach (int n in Lengths.Where(n => n > 0))
        {
            var mixed = Enumerable.Range(0, n).Select(i => (i % 5) switch
            {
                0 => 8e-46,                                   // rounds up to float's smallest subnormal, 1.4e-45
                1 => (rng.NextDouble() - 0.5) * 1e-40,        // float subnormals
                _ => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-8, 9)),
            }).ToArray();
            var tiny = Enumerable.Repeat(8e-46, n).ToArray();   // ||fl32(r)|| = 1.75 ||r||: only the subnormal term covers it
            // Each entry rounds up by almost 2^-24 of itself: ||fl32(r)|| / ||r|| = 1 + 5.96e-8, which a factor of 1 + 1e-9 misses.
            var up = Enumerable.Repeat(1 + Math.Pow(2, -24) + Math.Pow(2, -40), n).ToArray();
            foreach (var r in new[] { mixed, tiny, up })
            foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
            {
                var rounded = new float[n];
                double bound = LogisticKernels.ToSingleNormBound(r, rounded);
                Assert.Equal(r.Select(v => (float)v).ToArray(), rounded);
                // Both norms scaled by 2^100 (exact) so the subnormals' squares do not underflow; 1e-10 leaves room for
                // this sum's own rounding and nothing more.
                Assert.True(bound >= ScaledNorm(r) * (1 - 1e-10), $"{path}, n {n}: {bound:R} below ||r||");
                Assert.True(bound >= ScaledNorm([.. rounded.Select(v => (double)v)]) * (1 - 1e-10), $"{path}, n {n}: {bound:R} below ||fl32(r)||");
            }
        }
    }

    [Fact]
    public void RoundedResidualNormBoundIsInfiniteWhereSinglePrecisionOverflows()
    {
        foreach (var path in KernelIsa.Available)
        using (KernelIsa.Force(path))
        {
            var r = new double[] { 0.5, 4e38, -1 };   // 4e38 rounds to single precision's infinity
            var rounded = new float[3];
            Assert.Equal(double.PositiveInfinity, LogisticKernels.ToSingleNormBound(r, rounded));
            Assert.True(float.IsPositiveInfinity(rounded[1]));
            Assert.Equal(double.PositiveInfinity, LogisticKernels.ToSingleNormBound([0.5, double.NaN], new float[2]));
        }
    }

    private static double ScaledNorm(double[] values)
    {
        double scale = Math.Pow(2, 100), sum = 0;
        foreach (double v in values) sum += v * scale * (v * scale);
        return Math.Sqrt(sum) / scale;
    }

    /// <summary>The vector poisson link (e^eta by a polynomial) against its Math.Exp twin, with and without weights, clamped.</summary>
    [Fact]
    public void PoissonLinkMatchesItsScalarTwinOnEveryTier()
    {
        var rng = new Random(7);
        const double clamp = 30;
        foreach (int n in Lengths)
        {
            var eta = Enumerable.Range(0, n).Select(i => i % 11 == 3 ? 40.0 * (i % 2 == 0 ? 1 : -1) : (rng.NextDouble() - 0.5) * 20).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => (double)rng.Next(0, 30)).ToArray();
            var v = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2).ToArray();
            foreach (var weights in new[] { Array.Empty<double>(), v })
            {
                double[] mu2 = new double[n], w2 = new double[n], r2 = new double[n];
                double loss2 = LogisticKernels.PoissonLinkScalar(eta, y, weights, mu2, w2, r2, clamp);
                Assert.Equal(loss2, LogisticKernels.PoissonLossScalar(eta, y, weights, clamp));
                foreach (var path in KernelIsa.Available)
                using (KernelIsa.Force(path))
                {
                    double[] mu1 = new double[n], w1 = new double[n], r1 = new double[n];
                    double loss1 = LogisticKernels.PoissonLink(eta, y, weights, mu1, w1, r1, clamp);
                    double scale = 0;
                    for (int i = 0; i < n; i++)
                    {
                        Assert.True(Math.Abs(mu1[i] - mu2[i]) <= 1e-14 * mu2[i], $"{path}, n {n}, row {i}: v mu {mu1[i]:R} against {mu2[i]:R}");
                        Assert.Equal(mu1[i], w1[i]);
                        Assert.True(Math.Abs(r1[i] - r2[i]) <= 1e-14 * (mu2[i] + y[i]), $"{path}, n {n}, row {i}: residual {r1[i]:R} against {r2[i]:R}");
                        scale += (weights.Length == 0 ? 1 : weights[i]) * (mu2[i] + Math.Abs(y[i] * eta[i]));
                    }
                    Assert.True(Math.Abs(loss1 - loss2) <= 1e-14 * scale, $"{path}, n {n}: loss {loss1:R} against {loss2:R}");
                    Assert.True(Math.Abs(LogisticKernels.PoissonLoss(eta, y, weights, clamp) - loss2) <= 1e-14 * scale);
                }
            }
        }
    }

    [Fact]
    public void TheBoundDoesNotGrowWithTheRows()
    {
        // Blocks of 256 rows: the relative bound is about 256 u, where a plain single-precision sum over n rows needs n u.
        Assert.InRange(LogisticKernels.SingleDotErrorFactor, 1.5e-5, 1.6e-5);
        Assert.Throws<ArgumentException>(() => LogisticKernels.SingleDot(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => LogisticKernels.SingleDotScalar(new float[3], new float[4]));
    }

    /// <summary>
    /// After a screen at a point, each feature's bound holds its exact gradient there and exceeds it by at most twice the
    /// screen's error, and its lower bound (0 before the screen) stays below it by at most as much; settling makes the
    /// reference the exact gradient (poisson and binomial, with and without weights).
    /// </summary>
    [Theory]
    [InlineData(Family.Poisson, false)]
    [InlineData(Family.Poisson, true)]
    [InlineData(Family.Binomial, false)]
    [InlineData(Family.Binomial, true)]
    public void ScreenedBoundsHoldTheExactGradients(Family kind, bool weighted)
    {
        const int n = 3000, p = 12;
        var rng = new Random(kind == Family.Poisson ? 11 : 12);
        var x = new DenseMatrix(n, p + 1);
        for (int j = 0; j < p; j++)
        for (int i = 0; i < n; i++)
            x[i, j] = 10 + (j + 1) * (rng.NextDouble() - 0.3);   // large means: the columns are centered in the screen too
        for (int i = 0; i < n; i++)
        {
            double eta = 0.3 * (x[i, 0] - 10) - 0.2 * (x[i, 1] - 10);
            x[i, p] = kind == Family.Poisson ? Poisson(rng, Math.Exp(1 + eta)) : rng.NextDouble() < 1 / (1 + Math.Exp(-eta)) ? 1 : 0;
        }
        double[]? weights = weighted ? [.. Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble())] : null;
        var settings = new PathSettings { Alpha = 1, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)] };
        var family = GlmFamily.For(kind);
        var data = LogisticData.Create(x, [.. Enumerable.Range(0, p)], p, null, [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
            settings, family, weights, null);
        var pass = new LogisticPass(data, intercept: true, threads: 2, CancellationToken.None);
        var bounds = new GradientBounds(data, pass, new bool[p], intercept: true, threads: 2, CancellationToken.None);
        var all = Enumerable.Range(0, p).ToList();
        var grad = new double[p];

        // Two points: the second screen refers to a fresh snapshot.
        foreach (var coef in new[] { new[] { 0.1, -0.05 }, new[] { 0.25, -0.15 } })
        {
            double offset = Math.Log(x.Column(p).ToArray().Average()) - coef[0] * data.Means[0] - coef[1] * data.Means[1];
            pass.Run([.. all], new Predictor([0, 1], coef, offset), null, grad, null, null);
            bounds.Moved();
            for (int j = 0; j < p; j++) Assert.Equal(0.0, bounds.LowerBound(j));   // no reference at this point yet
            bounds.Screen(all);
            double largest = 0;
            for (int j = 0; j < p; j++) largest = Math.Max(largest, Math.Abs(grad[j]));
            for (int j = 0; j < p; j++)
            {
                double bound = bounds.Bound(j);
                Assert.True(bound >= Math.Abs(grad[j]), $"feature {j}: bound {bound:G6} below |g| = {Math.Abs(grad[j]):G6}");
                Assert.True(bound - Math.Abs(grad[j]) <= 1e-3 * largest, $"feature {j}: bound {bound:G6} far above |g| = {Math.Abs(grad[j]):G6}");
                double lower = bounds.LowerBound(j);
                Assert.True(lower <= Math.Abs(grad[j]), $"feature {j}: lower bound {lower:G6} above |g| = {Math.Abs(grad[j]):G6}");
                Assert.True(Math.Abs(grad[j]) - lower <= 1e-3 * largest, $"feature {j}: lower bound {lower:G6} far below |g| = {Math.Abs(grad[j]):G6}");
            }
            bounds.Settle(all);
            for (int j = 0; j < p; j++)
            {
                Assert.Equal(grad[j], bounds.Reference(j), 1e-12 * (largest + 1));
                Assert.Equal(Math.Abs(bounds.Reference(j)), bounds.Bound(j));
                Assert.Equal(Math.Abs(bounds.Reference(j)), bounds.LowerBound(j));
            }
        }
    }

    /// <summary>
    /// References for every feature at two points (<see cref="GradientBounds.ScreenAll"/>) bound the gradients at later points
    /// from the line through the two residuals: the bounds hold the exact gradients, at a point along the line they are
    /// tighter than those of a single reference, and off the line they still hold (poisson and binomial, screened and exact,
    /// with and without weights).
    /// </summary>
    [Theory]
    [InlineData(Family.Poisson, false, true)]
    [InlineData(Family.Poisson, true, true)]
    [InlineData(Family.Binomial, false, false)]
    [InlineData(Family.Binomial, true, false)]
    [InlineData(Family.Binomial, false, true)]
    public void BoundsFromTwoFullSnapshotsHoldTheExactGradients(Family kind, bool weighted, bool screens)
    {
        const int n = 3000, p = 12;
        var rng = new Random(kind == Family.Poisson ? 13 : 14);
        var x = new DenseMatrix(n, p + 1);
        for (int j = 0; j < p; j++)
        for (int i = 0; i < n; i++)
            x[i, j] = 10 + (j + 1) * (rng.NextDouble() - 0.3) + 0.5 * (j > 0 ? x[i, j - 1] - 10 : 0);   // correlated neighbours
        for (int i = 0; i < n; i++)
        {
            double eta = 0.3 * (x[i, 0] - 10) - 0.2 * (x[i, 1] - 10);
            x[i, p] = kind == Family.Poisson ? Poisson(rng, Math.Exp(1 + eta)) : rng.NextDouble() < 1 / (1 + Math.Exp(-eta)) ? 1 : 0;
        }
        double[]? weights = weighted ? [.. Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble())] : null;
        var settings = new PathSettings { Alpha = 1, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)] };
        var data = LogisticData.Create(x, [.. Enumerable.Range(0, p)], p, null, [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
            settings, GlmFamily.For(kind), weights, null);
        var pass = new LogisticPass(data, intercept: true, threads: 2, CancellationToken.None);
        var inSet = new bool[p];
        inSet[0] = inSet[1] = true;   // the working set: features 0 and 1, the others outside
        var lines = new GradientBounds(data, pass, inSet, intercept: true, threads: 2, CancellationToken.None);
        var single = new GradientBounds(data, pass, inSet, intercept: true, threads: 2, CancellationToken.None);
        var outer = Enumerable.Range(2, p - 2).ToList();
        var grad = new double[p];
        double mean = x.Column(p).ToArray().Average();
        double link = kind == Family.Poisson ? Math.Log(mean) : Math.Log(mean / (1 - mean));

        void MoveTo(double[] coef)
        {
            double offset = link - coef[0] * data.Means[0] - coef[1] * data.Means[1];
            pass.Run([.. Enumerable.Range(0, p)], new Predictor([0, 1], coef, offset), null, grad, null, null);
            lines.Moved();
            single.Moved();
        }

        // Two points along a line in the coefficients, every outside feature referred at each.
        foreach (double t in new[] { 1.0, 2.0 })
        {
            MoveTo([0.05 * t, -0.03 * t]);
            lines.ScreenAll(outer, screens);
            if (screens) single.Screen(outer);
            else single.Settle(outer);
        }
        // Further along the line: the line's bound is tighter; off it, it still holds.
        int tighter = 0;
        foreach (var (coef, along) in new[] { (new[] { 0.15, -0.09 }, true), (new[] { 0.2, 0.1 }, false) })
        {
            MoveTo(coef);
            double largest = outer.Max(j => Math.Abs(grad[j]));
            foreach (int j in outer)
            {
                double bound = lines.Bound(j), plain = single.Bound(j);
                Assert.True(bound >= Math.Abs(grad[j]), $"feature {j}: bound {bound:G6} below |g| = {Math.Abs(grad[j]):G6}");
                Assert.True(bound <= plain, $"feature {j}: bound {bound:G6} above the single reference's {plain:G6}");
                if (along && bound - Math.Abs(grad[j]) < 0.5 * (plain - Math.Abs(grad[j]))) tighter++;
            }
            Assert.True(largest > 0);
        }
        Assert.True(tighter >= outer.Count / 2, $"the line's bound halved the slack of only {tighter} of {outer.Count} features");
    }

    /// <summary>
    /// A fit's single-precision copy goes back for the next fit's (<see cref="GradientBounds.Release"/>): screened gradients
    /// on one data set are the same before and after another data set of the same shape screened and released its copy.
    /// </summary>
    [Fact]
    public void AReleasedCopyLeavesNoValuesInTheNextScreen()
    {
        const int n = 2000, p = 9;
        double[] Screened(int seed)
        {
            var rng = new Random(seed);
            var x = new DenseMatrix(n, p + 1);
            for (int j = 0; j < p; j++)
            for (int i = 0; i < n; i++)
                x[i, j] = seed + (j + 1) * (rng.NextDouble() - 0.4);
            for (int i = 0; i < n; i++) x[i, p] = Poisson(rng, Math.Exp(0.5 + 0.3 * (x[i, 0] - seed)));
            var settings = new PathSettings { Alpha = 1, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)] };
            var data = LogisticData.Create(x, [.. Enumerable.Range(0, p)], p, null, [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
                settings, GlmFamily.Poisson, null, null);
            var pass = new LogisticPass(data, intercept: true, threads: 1, CancellationToken.None);
            var bounds = new GradientBounds(data, pass, new bool[p], intercept: true, threads: 1, CancellationToken.None);
            pass.Run([], new Predictor([0], [0.2], 0.1), null, new double[p], null, null);
            bounds.Moved();
            bounds.Screen([.. Enumerable.Range(0, p)]);
            var values = Enumerable.Range(0, p).Select(bounds.Reference).ToArray();
            bounds.Release();
            return values;
        }
        var first = Screened(3);
        var other = Screened(40);
        Assert.NotEqual(first, other);
        Assert.Equal(first, Screened(3));
        Assert.Equal(other, Screened(40));
    }

    internal static double Poisson(Random rng, double mean)
    {
        double limit = Math.Exp(-mean), product = rng.NextDouble();
        int k = 0;
        while (product > limit)
        {
            product *= rng.NextDouble();
            k++;
        }
        return k;
    }
}
