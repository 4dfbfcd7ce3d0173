using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>The fused loss-and-gradient kernel and full-batch proximal gradient (FISTA).</summary>
public class ProximalGradientTests
{
    public static TheoryData<int, int, bool, int> KernelShapes()
    {
        var data = new TheoryData<int, int, bool, int>();
        foreach (int n in new[] { 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 40, 200, 1500 })
            foreach (int p in new[] { 1, 2, 3, 5, 7 })
                foreach (bool binomial in new[] { false, true })
                    data.Add(n, p, binomial, n % 2 == 0 ? 2 : 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelShapes))]
    public void FusedPassMatchesScalarTwin(int n, int p, bool binomial, int threads)
    {
        var x = SyntheticData.Gaussian(n, p + 2, seed: n * 31 + p, binary: binomial);
        int[] cols = [.. Enumerable.Range(1, p)];   // not starting at column 0
        var y = x.Column(p + 2).ToArray();
        var rng = new Random(n + 7 * p);
        var w = Enumerable.Range(0, p).Select(_ => rng.NextDouble() - 0.5).ToArray();
        w[0] = 0;   // a zero weight is skipped by the fused pass
        double c = 0.3;
        var kernel = new GradientKernels(x, cols, threads);
        var g = new double[p];
        var gScalar = new double[p];
        double loss = kernel.Evaluate(w, c, y, binomial, g, out double sumR);
        double lossScalar = GradientKernels.EvaluateScalar(x, cols, w, c, y, binomial, gScalar, out double sumRScalar);
        Assert.Equal(lossScalar, loss, 1e-11 * Math.Max(1, Math.Abs(lossScalar)));
        Assert.Equal(sumRScalar, sumR, 1e-10 * Math.Max(1, n));
        for (int j = 0; j < p; j++) Assert.Equal(gScalar[j], g[j], 1e-10 * Math.Max(1, Math.Abs(gScalar[j])) * n);
        // The loss alone, without the gradient, is the same number.
        Assert.Equal(loss, kernel.Evaluate(w, c, y, binomial, default, out _), 1e-15 * Math.Max(1, Math.Abs(loss)));
    }

    /// <summary>
    /// The accelerated step's pass: the loss and predictor at a, and the loss, residual sum and gradient (on a subset of
    /// columns) at b = a + m (a - prev), from the extrapolated predictor, equal the scalar twin evaluated at a and at b.
    /// </summary>
    [Theory]
    [MemberData(nameof(KernelShapes))]
    public void StepPassMatchesScalarTwinAtBothPoints(int n, int p, bool binomial, int threads)
    {
        var x = SyntheticData.Gaussian(n, p + 2, seed: n * 17 + p, binary: binomial);
        int[] cols = [.. Enumerable.Range(1, p)];
        var y = x.Column(p + 2).ToArray();
        var rng = new Random(n + 11 * p);
        var wa = Enumerable.Range(0, p).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var wPrev = Enumerable.Range(0, p).Select(_ => rng.NextDouble() - 0.5).ToArray();
        wa[p - 1] = 0;
        double ca = 0.2, cPrev = -0.1, m = 0.7;
        var etaPrev = new double[n];
        for (int i = 0; i < n; i++)
        {
            etaPrev[i] = cPrev;
            for (int j = 0; j < p; j++) etaPrev[i] += x[i, cols[j]] * wPrev[j];
        }
        var wb = wa.Select((v, j) => v + m * (v - wPrev[j])).ToArray();
        double cb = ca + m * (ca - cPrev);
        int[] subset = [.. Enumerable.Range(0, p).Where(j => j % 2 == 0)];

        var kernel = new GradientKernels(x, cols, threads);
        var etaOut = new double[n];
        var g = Enumerable.Repeat(double.NaN, p).ToArray();
        double lossA = kernel.Step(wa, ca, y, binomial, etaOut, etaPrev, m, g, subset, out double sumR, out double lossB);

        var gScalar = new double[p];
        double lossAScalar = GradientKernels.EvaluateScalar(x, cols, wa, ca, y, binomial, default, out _);
        double lossBScalar = GradientKernels.EvaluateScalar(x, cols, wb, cb, y, binomial, gScalar, out double sumRScalar);
        Assert.Equal(lossAScalar, lossA, 1e-11 * Math.Max(1, Math.Abs(lossAScalar)));
        Assert.Equal(lossBScalar, lossB, 1e-11 * Math.Max(1, Math.Abs(lossBScalar)));
        Assert.Equal(sumRScalar, sumR, 1e-10 * Math.Max(1, n));
        for (int i = 0; i < n; i++)
        {
            double eta = ca;
            for (int j = 0; j < p; j++) eta += x[i, cols[j]] * wa[j];
            Assert.Equal(eta, etaOut[i], 1e-12 * Math.Max(1, Math.Abs(eta)));
        }
        for (int j = 0; j < p; j++)
            if (j % 2 == 0) Assert.Equal(gScalar[j], g[j], 1e-10 * Math.Max(1, Math.Abs(gScalar[j])) * n);
            else Assert.Equal(0.0, g[j]);
    }

    public static TheoryData<string> Tiers()
    {
        var data = new TheoryData<string>();
        foreach (var path in KernelIsa.Available) data.Add(path.ToString());
        return data;
    }

    /// <summary>
    /// On every tier this machine has (forced in-process), at every row count from 1 to twice the widest group of rows
    /// (four Vector512 strips, 32 rows) plus one: whole groups, strips left over, and a last strip of fewer than 8 rows,
    /// on one thread and on two, both passes against the scalar twin.
    /// </summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void PassesMatchTheScalarTwinOnEveryTierAndRowCount(string tier)
    {
        using var forced = KernelIsa.Force(Enum.Parse<KernelPath>(tier));
        foreach (int p in new[] { 1, 3, 6 })
        {
            var x = SyntheticData.Gaussian(2 * 32 + 1, p + 2, seed: 5 + p, binary: true);
            for (int n = 1; n <= 2 * 32 + 1; n++)
            {
                var rows = new DenseMatrix(n, p + 2);
                for (int j = 0; j < p + 2; j++)
                    for (int i = 0; i < n; i++) rows[i, j] = x[i, j];
                int[] cols = [.. Enumerable.Range(1, p)];
                var y = rows.Column(p + 1).ToArray();
                var dense = Enumerable.Range(0, p).Select(j => j == 1 ? 0 : 0.3 - 0.2 * j).ToArray();
                // Sparse: one weight and one gradient column of six, which the kernel reads from the column-major data.
                var sparse = Enumerable.Range(0, p).Select(j => j == 0 ? 0.3 : 0).ToArray();
                var etaPrev = Enumerable.Range(0, n).Select(i => 0.1 * (i % 5) - 0.2).ToArray();
                foreach (bool binomial in new[] { false, true })
                    foreach (int threads in new[] { 1, 2 })
                    foreach (var w in p == 6 ? new[] { dense, sparse } : [dense])
                    {
                        int[]? subset = w == sparse ? [0] : null;
                        var kernel = new GradientKernels(rows, cols, threads);
                        var g = new double[p];
                        var gScalar = new double[p];
                        double loss = kernel.Evaluate(w, 0.2, y, binomial, g, out double sumR);
                        double lossScalar = GradientKernels.EvaluateScalar(rows, cols, w, 0.2, y, binomial, gScalar, out double sumRScalar);
                        string what = $"{tier} n {n} p {p} binomial {binomial} threads {threads} sparse {subset is not null}";
                        Assert.True(Math.Abs(loss - lossScalar) <= 1e-12 * Math.Max(1, Math.Abs(lossScalar)), $"{what}: loss {loss} against {lossScalar}");
                        Assert.True(Math.Abs(sumR - sumRScalar) <= 1e-12 * n, $"{what}: sum of residuals {sumR} against {sumRScalar}");
                        for (int j = 0; j < p; j++)
                            Assert.True(Math.Abs(g[j] - gScalar[j]) <= 1e-12 * n * Math.Max(1, Math.Abs(gScalar[j])), $"{what}: gradient {j} {g[j]} against {gScalar[j]}");

                        // The step's pass: eta at a stored, the loss and gradient at b = a + 0.6 (a - prev) from it.
                        var etaOut = new double[n];
                        var gb = new double[p];
                        double lossA = kernel.Step(w, 0.2, y, binomial, etaOut, etaPrev, 0.6, gb, subset, out double sumRB, out double lossB);
                        Assert.True(Math.Abs(lossA - lossScalar) <= 1e-12 * Math.Max(1, Math.Abs(lossScalar)), $"{what}: step loss {lossA} against {lossScalar}");
                        var etaB = new double[n];
                        double lossBTwin = 0, sumRBTwin = 0;
                        var gbTwin = new double[p];
                        for (int i = 0; i < n; i++)
                        {
                            double eta = 0.2;
                            for (int j = 0; j < p; j++) eta += rows[i, cols[j]] * w[j];
                            Assert.True(Math.Abs(etaOut[i] - eta) <= 1e-13 * Math.Max(1, Math.Abs(eta)), $"{what}: eta {i}");
                            double e = eta + 0.6 * (eta - etaPrev[i]);
                            double mu = binomial ? 1 / (1 + Math.Exp(-e)) : e;
                            lossBTwin += binomial ? Math.Max(e, 0) - y[i] * e + Math.Log(1 + Math.Exp(-Math.Abs(e))) : 0.5 * (e - y[i]) * (e - y[i]);
                            sumRBTwin += mu - y[i];
                            for (int j = 0; j < p; j++) gbTwin[j] += rows[i, cols[j]] * (mu - y[i]);
                        }
                        Assert.True(Math.Abs(lossB - lossBTwin) <= 1e-12 * Math.Max(1, Math.Abs(lossBTwin)), $"{what}: loss at b {lossB} against {lossBTwin}");
                        Assert.True(Math.Abs(sumRB - sumRBTwin) <= 1e-12 * n, $"{what}: residual sum at b");
                        for (int j = 0; j < p; j++)
                            Assert.True(Math.Abs(gb[j] - (subset is null || j == 0 ? gbTwin[j] : 0)) <= 1e-12 * n * Math.Max(1, Math.Abs(gbTwin[j])), $"{what}: gradient at b {j}");
                    }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GradientMatchesFiniteDifferences(bool binomial)
    {
        int n = 57, p = 4;
        var x = SyntheticData.Gaussian(n, p, seed: 3, binary: binomial);
        int[] cols = [.. Enumerable.Range(0, p)];
        var y = x.Column(p).ToArray();
        var w = new[] { 0.2, -0.1, 0.05, 0.3 };
        var kernel = new GradientKernels(x, cols, 1);
        var g = new double[p];
        kernel.Evaluate(w, 0.1, y, binomial, g, out double sumR);
        const double h = 1e-6;
        for (int j = 0; j < p; j++)
        {
            var up = (double[])w.Clone();
            var down = (double[])w.Clone();
            up[j] += h;
            down[j] -= h;
            double numeric = (kernel.Evaluate(up, 0.1, y, binomial, default, out _) - kernel.Evaluate(down, 0.1, y, binomial, default, out _)) / (2 * h);
            Assert.Equal(numeric, g[j], 1e-5 * Math.Max(1, Math.Abs(numeric)));
        }
        double dc = (kernel.Evaluate(w, 0.1 + h, y, binomial, default, out _) - kernel.Evaluate(w, 0.1 - h, y, binomial, default, out _)) / (2 * h);
        Assert.Equal(dc, sumR, 1e-5 * Math.Max(1, Math.Abs(dc)));
    }

    public static TheoryData<bool, Penalty, double, bool, bool> SolverCases() => new()
    {
        { false, Penalty.Lasso, 1, true, false },
        { false, Penalty.ElasticNet, 0.3, true, true },
        { false, Penalty.Ridge, 0, true, false },
        { true, Penalty.ElasticNet, 0.5, true, false },
        { true, Penalty.Lasso, 1, true, true },
    };

    /// <summary>FISTA at a tight tolerance reaches coordinate descent's (or proximal Newton's) solution of the same spec.</summary>
    [Theory]
    [MemberData(nameof(SolverCases))]
    public void ReachesTheCoordinateDescentSolution(bool binomial, Penalty penalty, double l1Ratio, bool standardize, bool factors)
    {
        int n = 300, p = 12;
        var x = SyntheticData.Gaussian(n, p, seed: 11, rho: 0.2, binary: binomial);
        var spec = SyntheticData.Spec(p, penalty, l1Ratio) with
        {
            Family = binomial ? Family.Binomial : Family.Gaussian,
            Path = new LambdaPathSpec(Count: 20, MinRatio: 0.01),
            Standardize = standardize,
            PenaltyFactors = factors ? [.. Enumerable.Range(0, p).Select(j => j == 0 ? 0.0 : 1 + j % 3)] : null,
            Tolerance = 1e-16,
        };
        var reference = FitEngine.Fit(x, spec);
        var fista = FitEngine.Fit(x, spec with { Solver = SolverKind.ProximalGradient, Lambdas = reference.Path.Select(pt => pt.Lambda).ToArray(), Path = null });
        Assert.Equal("proximalGradient", fista.Solver);
        Assert.Equal(reference.Path.Length, fista.Path.Length);
        for (int l = 0; l < reference.Path.Length; l++)
        {
            var a = reference.Path[l];
            var b = fista.Path[l];
            Assert.True(b.Converged, $"lambda {l} did not converge");
            double scale = Math.Max(1, a.StandardizedCoefficients.Max(Math.Abs));
            for (int j = 0; j < p; j++)
                Assert.True(Math.Abs(a.StandardizedCoefficients[j] - b.StandardizedCoefficients[j]) <= 1e-6 * scale,
                    $"lambda {l}, feature {j}: {b.StandardizedCoefficients[j]:G10} against {a.StandardizedCoefficients[j]:G10}");
            Assert.True(Math.Abs(a.Intercept - b.Intercept) <= 1e-6 * Math.Max(1, Math.Abs(a.Intercept)));
            Assert.Equal(a.DevianceRatio, b.DevianceRatio, 1e-6);
        }
    }

    /// <summary>
    /// Lambdas out of order on strongly correlated features: the strong rule leaves out features that the solution then
    /// needs (from a cold start the working set is the features violating KKT at zero), and the KKT check must bring them
    /// in. The result is the coordinate-descent solution at every lambda.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkingSetReachesTheSolutionWhateverTheLambdaOrder(bool binomial)
    {
        int p = 30;
        var x = SyntheticData.Gaussian(400, p, seed: 21, signal: 8, rho: 0.85, binary: binomial);
        double[] lambdas = binomial ? [0.002, 0.05, 0.01, 0.2, 0.004] : [0.005, 0.1, 0.02, 0.5, 0.01];
        var spec = SyntheticData.Spec(p, Penalty.ElasticNet, 0.7, lambdas) with
        {
            Family = binomial ? Family.Binomial : Family.Gaussian,
            Tolerance = 1e-16,
        };
        var reference = FitEngine.Fit(x, spec);
        var fista = FitEngine.Fit(x, spec with { Solver = SolverKind.ProximalGradient });
        for (int l = 0; l < lambdas.Length; l++)
        {
            Assert.True(fista.Path[l].Converged);
            var a = reference.Path[l].StandardizedCoefficients;
            var b = fista.Path[l].StandardizedCoefficients;
            double scale = Math.Max(1, a.Max(Math.Abs));
            for (int j = 0; j < p; j++)
                Assert.True(Math.Abs(a[j] - b[j]) <= 1e-6 * scale, $"lambda {lambdas[l]}, feature {j}: {b[j]:G10} against {a[j]:G10}");
            Assert.Equal(reference.Path[l].NonZero, fista.Path[l].NonZero);
        }
    }

    [Fact]
    public void IterationLimitIsReportedAsNotConverged()
    {
        var x = SyntheticData.Gaussian(200, 10, seed: 5);
        var spec = SyntheticData.Spec(10, Penalty.Lasso, lambdas: [0.05, 0.01]) with { Solver = SolverKind.ProximalGradient, MaxIterations = 3 };
        var result = FitEngine.Fit(x, spec);
        Assert.Equal(FitStatus.NotConverged, result.Status);
        Assert.False(result.Path[0].Converged);
        Assert.Contains(result.Warnings, w => w.Contains("did not converge", StringComparison.Ordinal));
    }

    [Fact]
    public void KFoldValidationPicksTheSameLambdaAsCoordinateDescent()
    {
        var x = SyntheticData.Gaussian(240, 8, seed: 9);
        var spec = SyntheticData.Spec(8, Penalty.Lasso) with
        {
            Path = new LambdaPathSpec(Count: 15, MinRatio: 0.01),
            Validation = ValidationMethod.KFold,
            KFold = new KFoldSpec(5, 3),
            Tolerance = 1e-14,
        };
        var reference = FitEngine.Fit(x, spec);
        var fista = FitEngine.Fit(x, spec with { Solver = SolverKind.ProximalGradient });
        // The generated lambdas agree to rounding (lambda_max is computed by each solver's own sums).
        Assert.Equal(reference.LambdaMin!.Value, fista.LambdaMin!.Value, 1e-12 * reference.LambdaMin.Value);
        Assert.Equal(reference.Lambda1se!.Value, fista.Lambda1se!.Value, 1e-12 * reference.Lambda1se.Value);
        for (int l = 0; l < reference.Curve!.Mean.Length; l++)
            Assert.Equal(reference.Curve.Mean[l], fista.Curve!.Mean[l], 1e-6 * reference.Curve.Mean[l]);
    }
}
