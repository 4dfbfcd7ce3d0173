using RegService.Numerics.Kernels;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// The snapshot bound of the naive coordinate descent's KKT check (<see cref="ResidualSnapshots"/>): never below the exact
/// |g_j(r)|, and much tighter than the one-reference Cauchy–Schwarz bound when the residual drifts along a line.
/// </summary>
public class ResidualSnapshotsTests
{
    private const int N = 120, Q = 400;

    private static (float[] Shadow, double[] Z, double[] Norms, double[] ShadowNorms) Columns(int seed)
    {
        var rng = new Random(seed);
        var z = new double[N * Q];
        for (int i = 0; i < z.Length; i++) z[i] = rng.NextDouble() * 2 - 1 + (rng.Next(10) == 0 ? 3 : 0);
        var shadow = z.Select(v => (float)v).ToArray();
        var norms = new double[Q];
        var shadowNorms = new double[Q];
        for (int j = 0; j < Q; j++)
        {
            double ss = 0, sh = 0;
            for (int i = 0; i < N; i++)
            {
                ss += z[j * N + i] * z[j * N + i];
                sh += (double)shadow[j * N + i] * shadow[j * N + i];
            }
            norms[j] = Math.Sqrt(ss / N);
            shadowNorms[j] = Math.Max(Math.Sqrt(sh), Math.Sqrt(ss)) * (1 + 1e-9);
        }
        return (shadow, z, norms, shadowNorms);
    }

    /// <summary>Takes a snapshot at <paramref name="r"/> as the KKT check does: single-precision dots and their error bound.</summary>
    private static void Take(ResidualSnapshots snapshots, float[] shadow, double[] r)
    {
        var rs = r.Select(v => (float)v).ToArray();
        var dots = new double[Q];
        for (int j = 0; j < Q; j++)
        {
            float t = 0;   // summed in single precision, in order
            for (int i = 0; i < N; i++) t += shadow[j * N + i] * rs[i];
            dots[j] = t;
        }
        double rr = Math.Max(r.Sum(v => v * v), rs.Sum(v => (double)v * v));
        snapshots.Take(dots, r, NaiveCd.ShadowErrorFactor(N) * Math.Sqrt(rr) * (1 + 1e-9) / N);
    }

    private static double Gradient(double[] z, double[] r, int j)
    {
        double s = 0;
        for (int i = 0; i < N; i++) s += z[j * N + i] * r[i];
        return s / N;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-3)]
    [InlineData(0.3)]
    public void TheBoundIsNeverBelowTheExactGradientAndTightOnALine(double offLine)
    {
        var (shadow, z, norms, shadowNorms) = Columns(3);
        var rng = new Random(4);
        var r0 = Enumerable.Range(0, N).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var step = Enumerable.Range(0, N).Select(_ => 0.1 * (rng.NextDouble() - 0.5)).ToArray();
        var r1 = r0.Select((v, i) => v + step[i]).ToArray();
        var snapshots = new ResidualSnapshots(Q, N);
        Assert.Null(snapshots.Extrapolate(r1));
        Take(snapshots, shadow, r0);
        Take(snapshots, shadow, r1);
        Assert.Equal(2, snapshots.Count);

        // Two more steps along the line, and a little (or a lot) off it.
        var r = r1.Select((v, i) => v + 2 * step[i] + offLine * 0.1 * (rng.NextDouble() - 0.5)).ToArray();
        var line = snapshots.Extrapolate(r)!.Value;
        double distance = Math.Sqrt(r.Select((v, i) => (v - r1[i]) * (v - r1[i])).Sum() / N);
        int tighter = 0;
        for (int j = 0; j < Q; j++)
        {
            double exact = Math.Abs(Gradient(z, r, j));
            double bound = line.Bound(j, norms[j], shadowNorms[j]);
            Assert.True(bound >= exact, $"feature {j}: bound {bound:R} below |g| {exact:R}");
            // The one-reference bound: |g_j(r1)| + sqrt(z_j'z_j/n) ||r - r1|| / sqrt(n).
            double single = Math.Abs(Gradient(z, r1, j)) + norms[j] * distance;
            if (bound < single) tighter++;
            if (offLine == 0) Assert.True(bound - exact <= 1e-4 * norms[j] * distance + 1e-5, $"feature {j}: {bound} against {exact}");
        }
        if (offLine <= 1e-3) Assert.Equal(Q, tighter);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public void WithTheNaiveFormsSixteenBitShadowTheBoundIsNeverBelowTheExactGradient(double offLine)
    {
        // The shadow as NaiveCd keeps it: 16-bit entries with a step per column, the screen's sum in single precision,
        // and the weights that add the quantization error to the rounding bound.
        var (_, z, norms, _) = Columns(5);
        var entries = new short[N * Q];
        var steps = new double[Q];
        var weights = new double[Q];
        double factor = NaiveCd.ShadowErrorFactor(N);
        for (int j = 0; j < Q; j++)
        {
            var column = SingleDots.Quantize(z.AsSpan(j * N, N), 0, 1, entries.AsSpan(j * N, N));
            steps[j] = column.Step;
            weights[j] = NaiveCd.ShadowWeight(column, norms[j] * Math.Sqrt(N), factor);
        }
        var all = Enumerable.Range(0, Q).ToArray();
        void Take16(ResidualSnapshots snapshots, double[] r)
        {
            var rs = r.Select(v => (float)v).ToArray();
            var dots = new double[Q];
            SingleDots.Dots(entries, N, all, rs, dots);
            for (int j = 0; j < Q; j++) dots[j] *= steps[j];
            double rr = Math.Max(r.Sum(v => v * v), rs.Sum(v => (double)v * v));
            snapshots.Take(dots, r, factor * Math.Sqrt(rr) * (1 + 1e-9) / N);
        }
        var rng = new Random(6);
        var r0 = Enumerable.Range(0, N).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var step = Enumerable.Range(0, N).Select(_ => 0.1 * (rng.NextDouble() - 0.5)).ToArray();
        var r1 = r0.Select((v, i) => v + step[i]).ToArray();
        var snapshots = new ResidualSnapshots(Q, N);
        Take16(snapshots, r0);
        Take16(snapshots, r1);
        var r = r1.Select((v, i) => v + 2 * step[i] + offLine * 0.1 * (rng.NextDouble() - 0.5)).ToArray();
        var line = snapshots.Extrapolate(r)!.Value;
        double distance = Math.Sqrt(r.Select((v, i) => (v - r1[i]) * (v - r1[i])).Sum() / N);
        for (int j = 0; j < Q; j++)
        {
            double exact = Math.Abs(Gradient(z, r, j));
            double bound = line.Bound(j, norms[j], weights[j]);
            Assert.True(bound >= exact, $"feature {j}: bound {bound:R} below |g| {exact:R}");
            // On the line the bound is the exact gradient plus the screens' allowances (quantization ~1e-5 here).
            if (offLine == 0) Assert.True(bound - exact <= 1e-3 * norms[j] * distance + 2e-4, $"feature {j}: {bound} against {exact}");
        }
    }

    [Fact]
    public void OneSnapshotGivesTheOneReferenceBound()
    {
        var (shadow, z, norms, shadowNorms) = Columns(8);
        var rng = new Random(9);
        var r1 = Enumerable.Range(0, N).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var r = r1.Select(v => v + 0.05 * (rng.NextDouble() - 0.5)).ToArray();
        var snapshots = new ResidualSnapshots(Q, N);
        Take(snapshots, shadow, r1);
        var line = snapshots.Extrapolate(r)!.Value;
        double distance = Math.Sqrt(r.Select((v, i) => (v - r1[i]) * (v - r1[i])).Sum() / N);
        for (int j = 0; j < Q; j++)
        {
            double exact = Math.Abs(Gradient(z, r, j));
            double bound = line.Bound(j, norms[j], shadowNorms[j]);
            Assert.True(bound >= exact);
            // The same up to the single-precision gradient's rounding allowance (about 2e-6 here).
            double single = Math.Abs(Gradient(z, r1, j)) + norms[j] * distance;
            Assert.True(Math.Abs(bound - single) <= 1e-5 * single + 1e-5, $"feature {j}: {bound} against {single}");
        }
    }

    /// <summary>
    /// The KKT check's bound loop, vectorized: the snapshot bound (<see cref="ResidualSnapshots.Line.Tighten"/>) and the
    /// reference bounds (<see cref="NaiveCd.ReferenceBounds"/>) against their scalar twins bit for bit at every length up to
    /// twice the widest vector plus one, infinite previous bounds included, and Tighten against <see cref="ResidualSnapshots.Line.Bound"/>.
    /// </summary>
    [Fact]
    public void TheVectorizedBoundsMatchTheirScalarTwins()
    {
        var (shadow, _, norms, shadowNorms) = Columns(11);
        var rng = new Random(12);
        var r0 = Enumerable.Range(0, N).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var r1 = r0.Select(v => v + 0.05 * (rng.NextDouble() - 0.5)).ToArray();
        var r = r1.Select(v => v + 0.07 * (rng.NextDouble() - 0.5)).ToArray();
        var snapshots = new ResidualSnapshots(Q, N);
        Take(snapshots, shadow, r0);
        Take(snapshots, shadow, r1);
        var line = snapshots.Extrapolate(r)!.Value;
        for (int length = 0; length <= 2 * System.Runtime.Intrinsics.Vector512<double>.Count + 1; length++)
        {
            var gRef = Enumerable.Range(0, length).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var previous = Enumerable.Range(0, length).Select(_ => rng.Next(3) == 0 ? double.PositiveInfinity : rng.NextDouble()).ToArray();
            var vector = new double[length];
            var scalar = new double[length];
            NaiveCd.ReferenceBounds(gRef, previous, norms, 0.03, 0.01, vector);
            NaiveCd.ReferenceBoundsScalar(gRef, previous, norms, 0.03, 0.01, scalar);
            Assert.Equal(scalar, vector);
            for (int j = 0; j < length; j++)
                Assert.Equal(Math.Min(Math.Abs(gRef[j]) + norms[j] * 0.03, previous[j] + norms[j] * 0.01), vector[j]);

            line.Tighten(norms, shadowNorms, vector);
            line.TightenScalar(norms, shadowNorms, scalar);
            Assert.Equal(scalar, vector);
            for (int j = 0; j < length; j++)
            {
                double start = Math.Min(Math.Abs(gRef[j]) + norms[j] * 0.03, previous[j] + norms[j] * 0.01);
                Assert.Equal(Math.Min(start, line.Bound(j, norms[j], shadowNorms[j])), vector[j]);
            }
        }
    }
}
