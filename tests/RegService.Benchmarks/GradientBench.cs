using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;

namespace RegService.Benchmarks;

/// <summary>
/// The full-batch gradient engine on logit_50k_200.csv: one fused loss-and-gradient pass (the binomial loss and X'r over
/// all rows, all cores) against the memory bound of reading the matrix once (8 n p bytes at the read bandwidth measured
/// by <see cref="MachineBounds"/>), its GFLOP/s (4 n p: eta = X w and X'r), and the
/// elastic-net (l1Ratio 0.5) binomial path of logit_enet_path_50k_200 fitted by proximal gradient (FISTA) instead of
/// proximal Newton, with its objective's relative difference from proximal Newton's at the same lambdas.
/// </summary>
internal static class GradientBench
{
    public const string PassKey = "gradient_pass_50k_200";
    public const string FistaKey = "fista_logit_enet_50k_200";

    public static async Task RunAsync(IDictionary<string, object?> report, string dataDir, int reps, bool pass, bool fista, MachineBounds bounds)
    {
        var w = await Workload.LoadAsync(dataDir, "logit_50k_200");
        int n = w.X.Rows, p = w.Features;
        if (pass)
        {
            var kernel = new GradientKernels(w.X, [.. Enumerable.Range(0, p)], Environment.ProcessorCount);
            var y = w.X.Column(p).ToArray();
            var weights = Enumerable.Range(0, p).Select(j => 0.01 * ((j % 7) - 3)).ToArray();
            var g = new double[p];
            for (int warm = 0; warm < 5; warm++) kernel.Evaluate(weights, 0.1, y, true, g, out _);
            // Ten passes per timing: the median is rounded to 0.1 ms, 5% of a 2 ms pass, 0.5% of ten.
            double seconds = Bench.Median(Math.Max(reps, 1) * 20, () =>
            {
                for (int i = 0; i < 10; i++) kernel.Evaluate(weights, 0.1, y, true, g, out _);
            }) / 10;
            double bound = 8.0 * n * p / bounds.ReadBytesPerSecond;
            report[PassKey] = Math.Round(seconds, 5);
            report[PassKey + "_isa"] = bounds.Isa;
            report[PassKey + "_gflops"] = Math.Round(4.0 * n * p / seconds / 1e9, 1);
            report[PassKey + "_memory_bound"] = Math.Round(bound, 5);
            report[PassKey + "_ratio_to_memory_bound"] = Math.Round(seconds / bound, 2);
        }
        if (fista)
        {
            var spec = w.BaseSpec() with { Family = Family.Binomial, Penalty = Penalty.ElasticNet, L1Ratio = 0.5, Path = new LambdaPathSpec() };
            var newton = FitEngine.Fit(w.X, spec);
            var fistaSpec = spec with { Solver = SolverKind.ProximalGradient, Lambdas = [.. newton.Path.Select(pt => pt.Lambda)], Path = null };
            FitResult? fit = null;
            Console.Error.WriteLine($"{FistaKey}: {reps} reps after a warm-up ...");
            report[FistaKey] = Bench.Median(reps, () => fit = FitEngine.Fit(w.X, fistaSpec));
            Describe.Fit(report, FistaKey, fit!);
            double worst = double.NegativeInfinity;
            var scales = ObjectiveCheck.Scales(w.X, p);
            for (int l = 0; l < newton.Path.Length; l++)
            {
                double a = Objective(w, scales, newton.Path[l]), b = Objective(w, scales, fit!.Path[l]);
                worst = Math.Max(worst, (b - a) / Math.Abs(a));
            }
            report[FistaKey + "_objective_rel_diff_vs_newton"] = worst;
        }
    }

    private static double Objective(Workload w, double[] scales, PathPoint point) =>
        ObjectiveCheck.Value(w.X, w.Features, Family.Binomial, 0.5, point.Lambda, point.Intercept, point.Coefficients, scales);
}
