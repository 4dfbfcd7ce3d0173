// RegService benchmark runner: times the engine on the anchor workloads (tests/RegService.Benchmarks/anchors/gen.py, a copy of ../shared/anchors/gen.py)
// and the upload of a CSV through HTTP, and prints one JSON object of medians.
//
//   dotnet run -c Release --project tests/RegService.Benchmarks -- --data /tmp/anchors [--reps 3]
//       [--skip-upload] [--only key1,key2] [--objectives anchor_objectives.json [--tolerance T]]
//
// Keys: engine seconds per workload (the keys of ../shared/anchors/README.md), data loading excluded
// as the anchor scripts report, plus upload seconds, the server's peak resident memory, and X'X alone.
// Beside every workload KEY: KEY_lambdas, KEY_solver, KEY_iterations (passes over the all-rows path),
// KEY_converged, KEY_isa (the kernels' instruction-set tier: Vector512, Vector256, Vector128 or scalar),
// KEY_timings (FitResult.Timings of the last run), and for cross-validation
// KEY_lambda_min / KEY_lambda_1se. A workload the engine cannot fit yet (an ArgumentException, for
// example no binomial solver) gets KEY: {"error": ...} and the run goes on.
// Measured once per run (MachineBounds.cs): isa, fma_peak_gflops (all cores, a timed FMA loop on that tier) and
// read_gb_per_s (all cores summing 128 MB each); gram_200k_200 and gradient_pass_50k_200 report their GFLOP/s and
// their time over the bound's (KEY_ratio_to_fma_bound, KEY_ratio_to_memory_bound; gram_200k_200_ratio_to_fma_bound_min
// is the fastest call's against the fastest probe's: the probe is the best of five). To run a lower tier on an AVX-512
// machine: DOTNET_EnableAVX512=0 (Vector256), DOTNET_EnableAVX2=0 (Vector128), DOTNET_EnableHWIntrinsic=0 (scalar).
//
//   --only      run only these keys (upload_ridge_200k_200, gram_200k_200, ridge_200k_200,
//               ridge_path_200k_200, lasso_path_50k_500, wlasso_path_50k_500, lasso_path_500_10k, lasso_cv10_20k_200, lasso_path_1k_50k,
//               logit_enet_path_50k_200, poisson_path_50k_200, multinom_path_20k_100, mlp_epoch_50k_200_64); only the CSVs they need are read.
//               mlp_epoch_50k_200_64 (MlpBench.cs) is one training epoch of a binomial MLP with 64 hidden units
//               (adamW, batch 200, and beside it batch 64) and its GFLOP/s; mlp_sklearn.py times scikit-learn's twin.
//               gradient_pass_50k_200 and fista_logit_enet_50k_200 (GradientBench.cs): one fused binomial gradient
//               pass against the memory bound, and the binomial elastic-net path by proximal gradient.
//   --reps 0    no timing (with --objectives: the objective check alone).
//   --objectives FILE
//               the objective check: FILE is written by
//                   Rscript tests/RegService.Benchmarks/anchor_objectives.R /tmp/anchors /tmp/anchor_objectives.json
//               (glmnet's default path and its objective at each lambda for lasso_path_50k_500,
//               wlasso_path_50k_500 (weighted: the loss and the scales s_j weighted as glmnet's),
//               lasso_path_500_10k, logit_enet_path_50k_200, poisson_path_50k_200, multinom_path_20k_100 and lasso_path_1k_50k; an optional third argument THRESH,
//               e.g. 1e-12, fits glmnet tighter for a near-exact reference, and a fourth, KEYS, runs only
//               those workloads). The engine is fitted, untimed, at
//               glmnet's lambdas with the default tolerance (--tolerance T: with T instead, to see how much of a
//               difference is our stopping error), glmnet's objective is evaluated on its
//               coefficients, and KEY_objective_rel_diff is the max over lambdas of
//               (ours - glmnet) / |glmnet| (negative: ours is lower). Ridge is left out: for alpha < 1
//               glmnet scales y to unit variance, so its lambda is not ours (docs/benchmarks.md).
using System.Globalization;
using System.Text.Json;
using RegService.Benchmarks;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;

if (args.Length > 0 && args[0] == "--service")
{
    // The service end to end: ServiceBench.cs.
    //   --service [--seconds 5] [--dll path/to/RegService.Api.dll] [--postgres CONNECTION] [--queue 10000]
    //             [--skip-claims] [--set Section__Key=value ...]   (settings for the servers)
    double seconds = 5;
    string? dll = null, postgres = null;
    int queue = 10_000;
    bool skipClaims = false;
    var extra = new Dictionary<string, string>();
    for (int i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
            case "--dll": dll = Path.GetFullPath(args[++i]); break;
            case "--postgres": postgres = args[++i]; break;
            case "--queue": queue = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            case "--skip-claims": skipClaims = true; break;
            case "--set":
                var pair = args[++i].Split('=', 2);
                extra[pair[0]] = pair[1];
                break;
            default: throw new ArgumentException($"unknown argument {args[i]}; use --service [--seconds S] [--dll FILE] [--postgres CONNECTION] [--queue N]");
        }
    }
    var service = new SortedDictionary<string, object?>(StringComparer.Ordinal)
    {
        ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}",
    };
    await ServiceBench.RunAsync(service, new ServiceBench.Options(seconds, dll, postgres, queue, extra, skipClaims));
    Console.WriteLine(JsonSerializer.Serialize(service, new JsonSerializerOptions { WriteIndented = true }));
    return;
}

if (args.Length > 0 && args[0] == "--result")
{
    // A wide lasso path through the service: end to end against the engine, and the sizes of the result (ResultBench.cs).
    //   --result [--data /tmp/anchors] [--reps 3] [--dll path/to/RegService.Api.dll]
    string data = "/tmp/anchors", resultDll = Path.Combine(AppContext.BaseDirectory, "RegService.Api.dll");
    int reps = 3;
    for (int i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--data": data = args[++i]; break;
            case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            case "--dll": resultDll = Path.GetFullPath(args[++i]); break;
            default: throw new ArgumentException($"unknown argument {args[i]}; use --result [--data DIR] [--reps N] [--dll FILE]");
        }
    }
    var csv = Path.Combine(data, ResultBench.Workload + ".csv");
    if (!File.Exists(csv)) throw new FileNotFoundException($"{csv} not found: run /usr/bin/python3 tests/RegService.Benchmarks/anchors/gen.py {data}");
    var result = new SortedDictionary<string, object?>(StringComparer.Ordinal)
    {
        ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}",
        ["cpu"] = MachineBounds.CpuName(),
        ["reps"] = reps,
    };
    await ResultBench.RunAsync(result, csv, reps, resultDll);
    Console.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
    return;
}

var options = BenchOptions.Parse(args);
var report = new SortedDictionary<string, object?>(StringComparer.Ordinal)
{
    ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, " +
                  $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}",
    ["reps"] = options.Reps,
    ["cpu"] = MachineBounds.CpuName(),
};
var anchors = options.Objectives is { } objectivesFile ? ObjectiveCheck.Read(objectivesFile) : null;
bool timed = options.Reps > 0;
// The bounds kernels are compared with, measured here (isa, fma_peak_gflops, read_gb_per_s): MachineBounds.cs.
var bounds = timed ? MachineBounds.Measure() : null;
bounds?.Report(report);

string Csv(string name) => Path.Combine(options.Data, name + ".csv");
bool Missing(string name, params string[] keys)
{
    if (File.Exists(Csv(name))) return false;
    foreach (var key in keys)
        report[key] = new Dictionary<string, string> { ["error"] = $"{Csv(name)} not found: run /usr/bin/python3 tests/RegService.Benchmarks/anchors/gen.py {options.Data}" };
    return true;
}

// ridge_200k_200.csv: the upload, X'X alone, ridge at one lambda and glmnet's alpha = 0 path.
string[] ridgeKeys = [.. new[] { "upload_ridge_200k_200", "gram_200k_200", "ridge_200k_200", "ridge_path_200k_200" }.Where(options.Wants)];
if (timed && ridgeKeys.Length > 0 && !Missing("ridge_200k_200", ridgeKeys))
{
    if (!options.SkipUpload && options.Wants("upload_ridge_200k_200"))
    {
        var upload = await UploadBench.RunAsync(Csv("ridge_200k_200"), options.Reps);
        foreach (var (key, value) in upload) report[key] = value;
    }

    if (ridgeKeys.Any(k => k != "upload_ridge_200k_200"))
    {
        var w = await Workload.LoadAsync(options.Data, "ridge_200k_200");
        var x = w.X;
        report["matrix_mb"] = Math.Round(x.Data.LongLength * 8 / 1e6, 1);

        if (options.Wants("gram_200k_200"))
        {
            // X'X alone: the kernel against the machine's FLOP bound (n k (k+1) flops using symmetry).
            var cols = Enumerable.Range(0, x.Columns).ToArray();
            var gram = new double[cols.Length * cols.Length];
            var sums = new double[cols.Length];
            Bench.Report(report, "gram_200k_200", options.Reps, () => GramKernel.ShiftedGram(x, cols, w.Means, null, gram, sums));
            double flop = (double)x.Rows * cols.Length * (cols.Length + 1);
            double gflops = flop / (double)report["gram_200k_200"]! / 1e9;
            report["gram_200k_200_gflops"] = Math.Round(gflops, 1);
            report["gram_200k_200_isa"] = bounds!.Isa;
            // The time over the time at the FMA peak (1.0 is the bound; the count uses symmetry, so no kernel reaches it):
            // the median call, and the fastest call against the fastest probe (both the least disturbed by the VM's
            // neighbours, so the two sides of the ratio are measured alike).
            report["gram_200k_200_ratio_to_fma_bound"] = Math.Round(bounds.FmaPeakGflops / gflops, 2);
            report["gram_200k_200_ratio_to_fma_bound_min"] = Math.Round(bounds.FmaPeakGflops / (flop / (double)report["gram_200k_200_min"]! / 1e9), 2);
        }

        var spec = w.BaseSpec() with { Penalty = Penalty.Ridge, Lambdas = [1.0] };
        if (options.Wants("ridge_200k_200"))
        {
            FitResult? one = null;
            Bench.Report(report, "ridge_200k_200", options.Reps, () => one = FitEngine.Fit(x, spec));
            // Gram + Cholesky: the ridge runs through the path fitter, whose solve is timed as "path".
            report["ridge_200k_200_solve_seconds"] = Math.Round(one!.Timings["gram"] + one.Timings["path"], 4);
            report["ridge_200k_200_objective"] = Objective.Gaussian(x, spec, one);
            Describe.Fit(report, "ridge_200k_200", one);
        }

        if (options.Wants("ridge_path_200k_200"))
        {
            // glmnet(X, y, alpha = 0): the generated path, 100 lambdas from max_j |x_j'y|/n / 1e-3 down by 1e-4.
            var path = spec with { Lambdas = null, Path = new LambdaPathSpec() };
            FitResult? fit = null;
            Bench.Report(report, "ridge_path_200k_200", options.Reps, () => fit = FitEngine.Fit(x, path));
            Describe.Fit(report, "ridge_path_200k_200", fit!);
        }
    }
}

// The lasso, cross-validation and binomial paths, one CSV at a time.
foreach (var workload in PathWorkload.All)
{
    var anchor = workload.ObjectiveCheck && anchors is not null && anchors.TryGetValue(workload.Key, out var a) ? a : null;
    if (!options.Wants(workload.Key) || (!timed && anchor is null) || Missing(workload.Data, workload.Key)
        || (workload.Weights is { } weightsFile && Missing(weightsFile, workload.Key))) continue;
    var w = await Workload.LoadAsync(options.Data, workload.Data);
    var spec = workload.Shape(w.BaseSpec());
    if (workload.Weights is { } weightsName) spec = spec with { Weights = await Workload.ColumnAsync(options.Data, weightsName) };
    if (timed)
    {
        Console.Error.WriteLine($"{workload.Key}: {workload.AnchorCall}, {options.Reps} reps after a warm-up ...");
        FitResult? fit = null;
        try
        {
            Bench.Report(report, workload.Key, options.Reps, () => fit = FitEngine.Fit(w.X, spec));
            Describe.Fit(report, workload.Key, fit!);
        }
        catch (ArgumentException e)
        {
            report[workload.Key] = Describe.Error(e);
        }
    }
    if (anchor is not null) ObjectiveCheck.Run(report, workload.Key, w, options.Tolerance is { } t ? spec with { Tolerance = t } : spec, anchor, workload.Weights);
}
// The full-batch gradient engine: one fused gradient pass against the memory bound, and the FISTA binomial path.
bool wantsPass = options.Wants(GradientBench.PassKey), wantsFista = options.Wants(GradientBench.FistaKey);
if (timed && (wantsPass || wantsFista) && !Missing("logit_50k_200", GradientBench.PassKey, GradientBench.FistaKey))
    await GradientBench.RunAsync(report, options.Data, options.Reps, wantsPass, wantsFista, bounds!);

// The MLP: one training epoch (MlpBench.cs; the twin is mlp_sklearn.py).
if (timed && options.Wants(MlpBench.Key) && !Missing("logit_50k_200", MlpBench.Key))
    await MlpBench.RunAsync(report, options.Data, options.Reps);

if (anchors is not null)
    foreach (var key in anchors.Keys.Where(k => !PathWorkload.All.Any(p => p.Key == k && p.ObjectiveCheck)))
        report[key + "_objective_rel_diff"] = new Dictionary<string, string> { ["error"] = "not a workload of the objective check" };

Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));

namespace RegService.Benchmarks
{
    internal sealed record BenchOptions(string Data, int Reps, bool SkipUpload, HashSet<string>? Only, string? Objectives, double? Tolerance = null)
    {
        public static readonly string[] Keys =
        [
            "upload_ridge_200k_200", "gram_200k_200", "ridge_200k_200", "ridge_path_200k_200",
            .. PathWorkload.All.Select(w => w.Key),
            MlpBench.Key,
            GradientBench.PassKey,
            GradientBench.FistaKey,
        ];

        public bool Wants(string key) => Only is null || Only.Contains(key);

        public static BenchOptions Parse(string[] args)
        {
            const string usage = "use --data DIR [--reps N] [--skip-upload] [--only key1,key2] [--objectives FILE [--tolerance T]]";
            string data = "/tmp/anchors";
            int reps = 3;
            bool skipUpload = false;
            HashSet<string>? only = null;
            string? objectives = null;
            double? tolerance = null;
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--data": data = args[++i]; break;
                    case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--skip-upload": skipUpload = true; break;
                    case "--only":
                        only = new HashSet<string>(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
                        foreach (var key in only)
                            if (!Keys.Contains(key)) throw new ArgumentException($"unknown workload {key}; the keys are {string.Join(", ", Keys)}");
                        break;
                    case "--objectives": objectives = args[++i]; break;
                    case "--tolerance": tolerance = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    default: throw new ArgumentException($"unknown argument {args[i]}; {usage}");
                }
            }
            if (reps < 0) throw new ArgumentException($"--reps {reps}: use 0 (no timing) or more");
            if (tolerance is not null && objectives is null) throw new ArgumentException("--tolerance applies to the objective check: give --objectives FILE too");
            return new BenchOptions(data, reps, skipUpload, only, objectives, tolerance);
        }
    }

    internal static class Bench
    {
        /// <summary>Median wall seconds of <paramref name="reps"/> runs after one warm-up.</summary>
        public static double Median(int reps, Action action) => Times(reps, action).Median;

        /// <summary>
        /// Times <paramref name="action"/> as <see cref="Median"/> does and reports <paramref name="key"/> (the median) and
        /// KEY_min (the fastest run: on a shared VM, the run least disturbed by its neighbours).
        /// </summary>
        public static void Report(IDictionary<string, object?> report, string key, int reps, Action action)
        {
            var (median, min) = Times(reps, action);
            report[key] = median;
            report[key + "_min"] = min;
        }

        private static (double Median, double Min) Times(int reps, Action action)
        {
            action();
            var times = new double[reps];
            for (int r = 0; r < reps; r++)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                action();
                times[r] = watch.Elapsed.TotalSeconds;
            }
            Array.Sort(times);
            return (Math.Round(times[reps / 2], 4), Math.Round(times[0], 4));
        }
    }

    internal static class Objective
    {
        /// <summary>(1/2n) ||y - b0 - Xb||^2 + lambda/2 ||beta_std||^2, the value glmnet's objective takes.</summary>
        public static double Gaussian(RegService.Numerics.Data.DenseMatrix x, FitSpec spec, FitResult result)
        {
            var prediction = new double[x.Rows];
            RegService.Numerics.Metrics.RegressionMetrics.Predict(x, spec.FeatureColumns, result.Intercept, result.Coefficients, null, prediction);
            var y = x.Column(spec.TargetColumn);
            double sse = 0;
            for (int i = 0; i < x.Rows; i++) sse += (y[i] - prediction[i]) * (y[i] - prediction[i]);
            double penalty = result.StandardizedCoefficients.Sum(b => b * b) / 2;
            return sse / (2 * x.Rows) + result.Lambda * penalty;
        }
    }
}
