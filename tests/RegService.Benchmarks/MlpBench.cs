using RegService.Numerics.Fitting;

namespace RegService.Benchmarks;

/// <summary>
/// One training epoch of a binomial MLP on logit_50k_200.csv: 200 standardized inputs, one hidden layer of 64 ReLU units,
/// adamW (lr 0.001, weightDecay 1e-4), no penalty, batch size 200 (scikit-learn's default, min(200, n)); beside it the
/// same at batch size 64. The twin is mlp_sklearn.py (MLPClassifier, hidden_layer_sizes=(64,), solver="adam",
/// the same batch size, max_iter=1).
/// </summary>
/// <remarks>
/// The epoch time is FitResult.Timings["train"] of a one-epoch fit: the 250 mini-batch steps (gather, forward, backward,
/// update) and the evaluation pass over every row that the learning curve needs. Setup (standardization and the
/// row-major copy) and the final metrics are reported apart, and the whole fit too (what scikit-learn's fit times).
/// FLOPs per epoch, n rows, p inputs, h units: training forward 2nph + 2nh, backward (dW1) 2nph plus 6nh for the small
/// layers, the evaluation forward 2nph + 2nh: 6nph + 10nh in all.
/// </remarks>
internal static class MlpBench
{
    public const string Key = "mlp_epoch_50k_200_64";
    public const int Hidden = 64;
    public const int BatchSize = 200;

    public static async Task RunAsync(IDictionary<string, object?> report, string dataDir, int reps)
    {
        var w = await Workload.LoadAsync(dataDir, "logit_50k_200");
        var spec = Spec(w, BatchSize);
        var (epoch, fit, last) = Time(w, spec, reps);
        long n = w.X.Rows, p = w.Features, h = Hidden;
        double flops = 6.0 * n * p * h + 10.0 * n * h;
        report[Key] = Math.Round(epoch, 4);
        report[Key + "_gflops"] = Math.Round(flops / epoch / 1e9, 1);
        report[Key + "_flops_per_epoch"] = flops;
        report[Key + "_batch_size"] = BatchSize;
        report[Key + "_fit_seconds"] = Math.Round(fit, 4);
        report[Key + "_timings"] = new SortedDictionary<string, double>(last.Timings.ToDictionary(t => t.Key, t => Math.Round(t.Value, 4)), StringComparer.Ordinal);
        report[Key + "_train_log_loss"] = Math.Round(last.Training!.Curve.Train[0], 6);
        report[Key + "_solver"] = last.Solver;

        var (epoch64, fit64, last64) = Time(w, Spec(w, 64), reps);
        report[Key + "_batch64"] = Math.Round(epoch64, 4);
        report[Key + "_batch64_gflops"] = Math.Round(flops / epoch64 / 1e9, 1);
        report[Key + "_batch64_fit_seconds"] = Math.Round(fit64, 4);
        report[Key + "_batch64_train_log_loss"] = Math.Round(last64.Training!.Curve.Train[0], 6);
    }

    private static FitSpec Spec(Workload w, int batch) => w.BaseSpec() with
    {
        Family = Family.Binomial,
        Penalty = Penalty.None,
        Model = ModelKind.Mlp,
        Solver = SolverKind.AdamW,
        Training = new TrainingSpec { Epochs = 1, BatchSize = batch, HiddenUnits = [Hidden], LearningRate = 0.001, WeightDecay = 1e-4 },
    };

    /// <summary>Medians of the epoch time and the whole fit over <paramref name="reps"/> fits after one warm-up.</summary>
    private static (double Epoch, double Fit, FitResult Last) Time(Workload w, FitSpec spec, int reps)
    {
        Console.Error.WriteLine($"{Key}: batch {spec.Training!.BatchSize}, {reps} reps after a warm-up ...");
        var last = FitEngine.Fit(w.X, spec);
        var epochs = new double[reps];
        var fits = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            last = FitEngine.Fit(w.X, spec);
            fits[r] = watch.Elapsed.TotalSeconds;
            epochs[r] = last.Timings["train"];
        }
        Array.Sort(epochs);
        Array.Sort(fits);
        return (epochs[reps / 2], fits[reps / 2], last);
    }
}
