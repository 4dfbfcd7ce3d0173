using RegService.Numerics.Kernels;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>The span kernels of the binomial solver against their scalar twins, at lengths around the vector widths.</summary>
public class BinomialKernelsTests
{
    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 257];

    [Fact]
    public void DotsMomentsAndUpdatesMatchScalarTwins()
    {
        var rng = new Random(31);
        foreach (int n in Lengths)
        {
            double[] x = Random(rng, n, 1e3, 5), r = Random(rng, n, 0, 1), w = Random(rng, n, 0.125, 0.12);
            double m = 1e3 + 0.3;
            double scale = x.Zip(r, (a, b) => Math.Abs((a - m) * b)).Sum() + 1e-300;
            Assert.True(Math.Abs(LogisticKernels.DotShifted(x, m, r) - LogisticKernels.DotShiftedScalar(x, m, r)) <= 1e-14 * scale, $"dot n={n}");

            var (f, s) = LogisticKernels.WeightedMoments(x, m, w);
            var (fs, ss) = LogisticKernels.WeightedMomentsScalar(x, m, w);
            double fScale = x.Zip(w, (a, b) => Math.Abs((a - m) * b)).Sum() + 1e-300;
            Assert.True(Math.Abs(f - fs) <= 1e-14 * fScale, $"first moment n={n}");
            Assert.True(Math.Abs(s - ss) <= 1e-14 * (ss + 1e-300), $"second moment n={n}");

            double[] a1 = (double[])r.Clone(), a2 = (double[])r.Clone();
            LogisticKernels.SubtractWeightedShifted(0.7, w, x, m, a1);
            LogisticKernels.SubtractWeightedShiftedScalar(0.7, w, x, m, a2);
            for (int i = 0; i < n; i++) Assert.Equal(a2[i], a1[i], 1e-14 * (Math.Abs(a2[i]) + 1));

            double[] y1 = (double[])r.Clone(), y2 = (double[])r.Clone();
            Vec.Axpy(-1.5, x, y1);
            Vec.AxpyScalar(-1.5, x, y2);
            for (int i = 0; i < n; i++) Assert.Equal(y2[i], y1[i], 1e-13 * (Math.Abs(y2[i]) + 1));

            double sum = 0, centered = 0, absolute = 0;
            for (int i = 0; i < n; i++) sum += r[i] - w[i];
            for (int i = 0; i < n; i++) centered += (r[i] - w[i] - 0.2) * (r[i] - w[i] - 0.2);
            for (int i = 0; i < n; i++) absolute += Math.Abs(r[i] - w[i]);
            Assert.Equal(sum, LogisticKernels.SumDifference(r, w), 1e-13);
            Assert.Equal(centered, LogisticKernels.CenteredDistance(r, w, 0.2), 1e-13);
            Assert.Equal(absolute, LogisticKernels.AbsoluteDistance(r, w), 1e-13);
        }
    }

    /// <summary>The vectorized link (exp and log1p by polynomials) agrees with Math.Exp/Math.Log to ~1e-15 relative, whatever eta.</summary>
    [Fact]
    public void LinkMatchesScalarTwinOverTheWholeRange()
    {
        var rng = new Random(32);
        var etas = new List<double> { 0, -0.0, 1e-300, -1e-300, 1e-20, -1e-20, 0.5, -0.5, 36, -36, 700, -700, 708.5, -708.5, 745, -745, 800, -800, 1e10, -1e10 };
        for (int i = 0; i < 2000; i++) etas.Add((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.NextDouble() * 4 - 2));
        foreach (int n in Lengths.Append(etas.Count))
        {
            double[] eta = etas.Take(n).ToArray();
            double[] y = eta.Select((_, i) => (double)(i % 3 == 0 ? 1 : 0)).ToArray();
            double[] p1 = new double[n], w1 = new double[n], r1 = new double[n], p2 = new double[n], w2 = new double[n], r2 = new double[n];
            double loss1 = LogisticKernels.Link(eta, y, p1, w1, r1, new double[n]);
            double loss2 = LogisticKernels.LinkScalar(eta, y, p2, w2, r2);
            double loss3 = LogisticKernels.Loss(eta, y);
            Assert.Equal(loss2, loss1, 1e-13 * Math.Max(1, Math.Abs(loss2)));
            Assert.Equal(loss1, loss3, 1e-13 * Math.Max(1, Math.Abs(loss1)));
            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(p1[i] - p2[i]) <= 1e-15 * Math.Max(p2[i], 1e-300) + 1e-300, $"p at eta {eta[i]}: {p1[i]} vs {p2[i]}");
                Assert.True(Math.Abs(w1[i] - w2[i]) <= 1e-14 * w2[i] + 1e-300, $"w at eta {eta[i]}: {w1[i]} vs {w2[i]}");
                Assert.Equal(y[i] - p1[i], r1[i]);
                Assert.InRange(p1[i], 0.0, 1.0);
            }
        }
    }

    private static double[] Random(Random rng, int n, double center, double spread)
        => Enumerable.Range(0, n).Select(_ => center + spread * (2 * rng.NextDouble() - 1)).ToArray();
}
