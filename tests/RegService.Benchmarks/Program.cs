// RegService benchmark runner: times the engine on the anchor workloads (../shared/anchors/gen.py)
// and the upload of a CSV through HTTP, and prints one JSON object of medians.
//
//   dotnet run -c Release --project tests/RegService.Benchmarks -- --data /tmp/anchors [--reps 3] [--skip-upload]
//
// Keys: engine seconds per workload, data loading excluded (as the anchor scripts report),
// plus upload seconds, the server's peak resident memory, and the fit's objective value.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RegService.Benchmarks;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;

var options = BenchOptions.Parse(args);
var report = new SortedDictionary<string, object>(StringComparer.Ordinal)
{
    ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, " +
                  $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}",
    ["reps"] = options.Reps,
};

var ridgeCsv = Path.Combine(options.Data, "ridge_200k_200.csv");
if (File.Exists(ridgeCsv))
{
    if (!options.SkipUpload)
    {
        var upload = await UploadBench.RunAsync(ridgeCsv, options.Reps);
        foreach (var (key, value) in upload) report[key] = value;
    }

    Console.Error.WriteLine("reading ridge_200k_200.csv for the engine benchmarks ...");
    ColumnTable table;
    await using (var file = File.OpenRead(ridgeCsv)) table = await CsvTableReader.ReadAsync(file);
    var x = table.ToMatrix();
    var means = table.Summaries.Select(s => s.Mean).ToArray();
    int p = x.Columns - 1;
    report["matrix_mb"] = Math.Round(x.Data.LongLength * 8 / 1e6, 1);

    // X'X alone: the kernel against the machine's FLOP bound (n k (k+1) flops using symmetry).
    var cols = Enumerable.Range(0, x.Columns).ToArray();
    var gram = new double[cols.Length * cols.Length];
    var sums = new double[cols.Length];
    double gramSeconds = Bench.Median(options.Reps, () => GramKernel.ShiftedGram(x, cols, means, null, gram, sums));
    report["gram_200k_200"] = gramSeconds;
    report["gram_200k_200_gflops"] = Math.Round((double)x.Rows * cols.Length * (cols.Length + 1) / gramSeconds / 1e9, 1);

    var spec = new FitSpec
    {
        FeatureColumns = Enumerable.Range(0, p).ToArray(),
        FeatureNames = table.Names.Take(p).ToArray(),
        TargetColumn = p,
        Penalty = Penalty.Ridge,
        Lambdas = [1.0],
        ColumnShift = means,
    };
    FitResult? one = null;
    report["ridge_200k_200"] = Bench.Median(options.Reps, () => one = FitEngine.Fit(x, spec));
    report["ridge_200k_200_solve_seconds"] = one!.Timings["gram"] + one.Timings["solve"];
    report["ridge_200k_200_objective"] = Objective.Gaussian(x, spec, one);

    // glmnet's alpha = 0 path: 100 lambdas, log-spaced over 4 decades.
    var path = spec with { Lambdas = Enumerable.Range(0, 100).Select(i => 100.0 * Math.Pow(1e-4, i / 99.0)).ToArray() };
    report["ridge_path_200k_200"] = Bench.Median(options.Reps, () => FitEngine.Fit(x, path));
}
else
{
    report["error"] = $"{ridgeCsv} not found: run /usr/bin/python3 ../shared/anchors/gen.py {options.Data}";
}

Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));

namespace RegService.Benchmarks
{
    internal sealed record BenchOptions(string Data, int Reps, bool SkipUpload)
    {
        public static BenchOptions Parse(string[] args)
        {
            string data = "/tmp/anchors";
            int reps = 3;
            bool skipUpload = false;
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--data": data = args[++i]; break;
                    case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--skip-upload": skipUpload = true; break;
                    default: throw new ArgumentException($"unknown argument {args[i]}; use --data DIR [--reps N] [--skip-upload]");
                }
            }
            return new BenchOptions(data, reps, skipUpload);
        }
    }

    internal static class Bench
    {
        /// <summary>Median wall seconds of <paramref name="reps"/> runs after one warm-up.</summary>
        public static double Median(int reps, Action action)
        {
            action();
            var times = new double[reps];
            for (int r = 0; r < reps; r++)
            {
                var watch = Stopwatch.StartNew();
                action();
                times[r] = watch.Elapsed.TotalSeconds;
            }
            Array.Sort(times);
            return Math.Round(times[reps / 2], 4);
        }
    }

    internal static class Objective
    {
        /// <summary>(1/2n) ||y - b0 - Xb||^2 + lambda/2 ||beta_std||^2, the value glmnet's objective takes.</summary>
        public static double Gaussian(DenseMatrix x, FitSpec spec, FitResult result)
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
