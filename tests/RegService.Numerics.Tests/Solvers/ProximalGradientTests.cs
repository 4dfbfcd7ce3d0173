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
