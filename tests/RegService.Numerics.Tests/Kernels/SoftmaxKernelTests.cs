using RegService.Numerics.Kernels;

namespace RegService.Numerics.Tests.Kernels;

/// <summary>
/// <see cref="SoftmaxKernels.ShiftClass"/> (the multinomial class step's one-class softmax update with the next class's
/// weights and residual) on every tier this machine has against its scalar twin, and the twin against the softmax
/// recomputed from the linear predictors.
/// </summary>
public class SoftmaxKernelTests
{
    public static TheoryData<string> Tiers()
    {
        var data = new TheoryData<string>();
        foreach (var path in KernelIsa.Available) data.Add(path.ToString());
        return data;
    }

    /// <summary>A random problem: K classes' linear predictors on i0 + n rows, their softmax, labels, weights (a quarter 0), a step.</summary>
    private sealed record Problem(double[][] Eta, double[][] Prob, double[] Label, double[] Weights, double[] Step, double[] Reference);

    private static Problem Make(Random rng, int classes, int i0, int n)
    {
        int rows = i0 + n;
        var eta = new double[classes][];
        for (int l = 0; l < classes; l++) eta[l] = [.. Enumerable.Range(0, rows).Select(_ => 4 * rng.NextDouble() - 2)];
        var prob = Softmax(eta);
        var label = Enumerable.Range(0, n).Select(_ => (double)rng.Next(classes)).ToArray();
        var weights = Enumerable.Range(0, n).Select(_ => rng.Next(4) == 0 ? 0 : 2 * rng.NextDouble()).ToArray();
        var step = Enumerable.Range(0, n).Select(_ => 6 * rng.NextDouble() - 3).ToArray();
        var reference = Enumerable.Range(0, n).Select(_ => 0.25 * rng.NextDouble()).ToArray();
        return new Problem(eta, prob, label, weights, step, reference);
    }

    private static double[][] Softmax(double[][] eta)
    {
        int classes = eta.Length, rows = eta[0].Length;
        var prob = new double[classes][];
        for (int l = 0; l < classes; l++) prob[l] = new double[rows];
        for (int i = 0; i < rows; i++)
        {
            double max = eta.Max(e => e[i]), sum = 0;
            for (int l = 0; l < classes; l++) sum += prob[l][i] = Math.Exp(eta[l][i] - max);
            for (int l = 0; l < classes; l++) prob[l][i] /= sum;
        }
        return prob;
    }

    private static double LogSumExp(double[][] eta, int i)
    {
        double max = eta.Max(e => e[i]), sum = 0;
        foreach (var e in eta) sum += Math.Exp(e[i] - max);
        return max + Math.Log(sum);
    }

    private static double[][] Copy(double[][] a) => [.. a.Select(r => (double[])r.Clone())];

    private static void Close(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: {actual:R} against {expected:R}");

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ShiftClassMatchesItsScalarTwin(string tier)
    {
        var rng = new Random(21);
        using var _ = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        foreach (int classes in new[] { 2, 3, 5 })
            foreach (int i0 in new[] { 0, 3 })
                for (int n = 0; n <= 2 * 8 * 4 + 1; n += n < 20 ? 1 : 5)
                    foreach (bool weighted in new[] { false, true })
                        foreach (int next in new[] { -1, 0, classes - 1 })
                        {
                            var pr = Make(rng, classes, i0, n);
                            int k = rng.Next(classes);
                            var weights = weighted ? pr.Weights : null;
                            var reference = next >= 0 && rng.Next(2) == 0 ? pr.Reference : null;
                            string at = $"{tier} K={classes} i0={i0} n={n} k={k} next={next} weighted={weighted}";
                            var p1 = Copy(pr.Prob);
                            var p2 = Copy(pr.Prob);
                            var e1 = pr.Eta[k].AsSpan(i0, n).ToArray();
                            var e2 = pr.Eta[k].AsSpan(i0, n).ToArray();
                            var (w1, r1, w2, r2) = (new double[n], new double[n], new double[n], new double[n]);
                            var a = SoftmaxKernels.ShiftClassScalar(p1, i0, k, pr.Step, e1, pr.Label, weights, next, next >= 0 ? w1 : [], next >= 0 ? r1 : [], reference);
                            var b = SoftmaxKernels.ShiftClass(p2, i0, k, pr.Step, e2, pr.Label, weights, next, next >= 0 ? w2 : [], next >= 0 ? r2 : [], reference);
                            for (int l = 0; l < classes; l++)
                                for (int i = 0; i < i0 + n; i++) Close(p1[l][i], p2[l][i], 1e-14 * p1[l][i], $"p[{l}][{i}] {at}");
                            for (int i = 0; i < n; i++)
                            {
                                Assert.Equal(e1[i], e2[i]);
                                Close(w1[i], w2[i], 1e-12 * w1[i], $"w[{i}] {at}");
                                Close(r1[i], r2[i], 1e-14, $"r[{i}] {at}");
                            }
                            double scale = 1e-13 * Math.Max(1, n);
                            Close(a.LossChange, b.LossChange, 10 * scale, $"loss change {at}");
                            Close(a.Worst, b.Worst, 1e-15, $"worst {at}");
                            Close(a.WeightSum, b.WeightSum, scale, $"sum w {at}");
                            Close(a.ResidualSum, b.ResidualSum, scale, $"sum r {at}");
                            Close(a.Drift, b.Drift, scale, $"drift {at}");
                        }
    }

    /// <summary>The twin against the definitions: the softmax of the moved linear predictors, the change of the weighted
    /// negative log-likelihood, the smallest observed probability over rows of positive weight, and the next class's
    /// w = v max(p (1 - p), 1e-5), r = v (y - p) with their sums and distance from the reference.</summary>
    [Fact]
    public void ScalarTwinIsTheSoftmaxOfTheMovedLinearPredictors()
    {
        var rng = new Random(22);
        foreach (int classes in new[] { 2, 5 })
            foreach (bool weighted in new[] { false, true })
            {
                int i0 = 2, n = 40, k = 1, next = classes - 1;
                var pr = Make(rng, classes, i0, n);
                var eta = Copy(pr.Eta);
                var prob = Copy(pr.Prob);
                var w = new double[n];
                var r = new double[n];
                var weights = weighted ? pr.Weights : null;
                var shift = SoftmaxKernels.ShiftClassScalar(prob, i0, k, pr.Step, eta[k].AsSpan(i0, n), pr.Label, weights, next, w, r, pr.Reference);

                var moved = Copy(pr.Eta);
                for (int i = 0; i < n; i++) moved[k][i0 + i] += pr.Step[i];
                var expected = Softmax(moved);
                double loss = 0, worst = 1, wsum = 0, rsum = 0, drift = 0;
                for (int i = 0; i < n; i++)
                {
                    int row = i0 + i, y = (int)pr.Label[i];
                    double v = weights?[i] ?? 1;
                    Assert.Equal(moved[k][row], eta[k][row]);
                    for (int l = 0; l < classes; l++) Close(expected[l][row], prob[l][row], 1e-13, $"p[{l}][{row}] K={classes}");
                    // -log p_y after minus before: log sum e^eta' - log sum e^eta - (y == k) s.
                    loss += v * (LogSumExp(moved, row) - LogSumExp(pr.Eta, row) - (y == k ? pr.Step[i] : 0));
                    if (v > 0) worst = Math.Min(worst, expected[y][row]);
                    double pm = expected[next][row];
                    double wi = v * Math.Max(pm * (1 - pm), 1e-5), ri = v * ((y == next ? 1 : 0) - pm);
                    Close(wi, w[i], 1e-13, $"w[{i}]");
                    Close(ri, r[i], 1e-13, $"r[{i}]");
                    wsum += wi;
                    rsum += ri;
                    drift += Math.Abs(wi - pr.Reference[i]);
                }
                for (int i = 0; i < i0; i++)
                    for (int l = 0; l < classes; l++) Assert.Equal(pr.Prob[l][i], prob[l][i]);   // rows before the block untouched
                Close(loss, shift.LossChange, 1e-11, $"loss change K={classes} weighted={weighted}");
                Close(worst, shift.Worst, 1e-13, "worst");
                Close(wsum, shift.WeightSum, 1e-12, "sum w");
                Close(rsum, shift.ResidualSum, 1e-12, "sum r");
                Close(drift, shift.Drift, 1e-12, "drift");
            }
    }

    [Fact]
    public void MismatchedLengthsAreRefused()
    {
        var prob = new[] { new double[4], new double[4] };
        var s = new double[4];
        Assert.Throws<ArgumentException>(() => SoftmaxKernels.ShiftClass(prob, 1, 0, s, [], new double[4], [], -1, [], [], []));
        Assert.Throws<ArgumentException>(() => SoftmaxKernels.ShiftClass(prob, 0, 0, s, [], new double[3], [], -1, [], [], []));
        Assert.Throws<ArgumentException>(() => SoftmaxKernels.ShiftClass(prob, 0, 0, s, [], new double[4], [], 1, new double[4], new double[3], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxKernels.ShiftClass(prob, 0, 2, s, [], new double[4], [], -1, [], [], []));
    }
}
