using System.Diagnostics;
using System.Globalization;

namespace RegService.Numerics.Training;

/// <summary>Knobs of <see cref="NetworkTrainer"/> that only tests and benchmarks turn.</summary>
internal sealed record TrainerOptions
{
    /// <summary>Threads to use whatever the size of a step (0: decide from the work per step).</summary>
    public int Threads { get; init; }

    /// <summary>Largest row-major copy of the data, in bytes (smaller: rows are gathered from the columns).</summary>
    public long RowMajorBudgetBytes { get; init; } = TrainingData.RowMajorBudgetBytes;
}

/// <summary>
/// The stochastic solvers (<see cref="SolverKind.Sgd"/>, <see cref="SolverKind.Adam"/>, <see cref="SolverKind.AdamW"/>) for
/// the linear model and the MLP. The objective is the family's mean loss plus lambda P(w) at one lambda:
/// <code>
/// gaussian: (1/2n) sum_i (y_i - eta_i)^2,  binomial: (1/n) sum_i [log(1 + e^eta_i) - y_i eta_i]
/// P(w) = sum over weights of v [ (1 - alpha)/2 w^2 + alpha |w| ]
/// </code>
/// on standardized inputs. The linear model is one dense layer p -> 1 (its weights are the standardized coefficients);
/// the MLP has one or two ReLU hidden layers, the L2 part of P on every weight matrix (penalty factors v_j on input j's
/// first-layer weights, 1 elsewhere), the L1 part on the first layer only, biases unpenalized.
/// </summary>
/// <remarks>
/// <para>
/// Each epoch the training rows (each <c>Copies</c> times with noise augmentation) are shuffled under the seed and cut into
/// mini-batches of <c>BatchSize</c> rows (the last one may be smaller); each mini-batch makes one step on the gradient of
/// its mean loss plus the L2 part of lambda P. sgd: w -= lr (g + weightDecay w); adam: Adam (beta1 0.9, beta2 0.999,
/// eps 1e-8, bias-corrected) on g + weightDecay w; adamW: Adam on g, then w -= lr weightDecay w (decoupled). The L1 part is a
/// proximal soft-threshold after the step (threshold lr lambda alpha v_j for sgd, the per-coordinate step
/// lr / (sqrt(vhat) + eps) times lambda alpha v_j for adam and adamW). Weight decay applies to weights, not biases.
/// </para>
/// <para>
/// After each epoch every row is scored in evaluation mode (no dropout, no noise): the training loss and, with early
/// stopping, the validation loss (the family's mean loss without the penalty) form the learning curve. Early stopping
/// keeps the weights of the epoch of least validation loss and stops once the loss has not improved on the best by more
/// than MinDelta for Patience epochs. A non-finite loss stops training (<see cref="StopReason.Diverged"/>) with the
/// best finite weights kept and the fit reported as not converged. See docs/training.md.
/// </para>
/// </remarks>
public static class NetworkTrainer
{
    /// <summary>A step with fewer multiply-adds than this runs on one thread (the two barriers per step would cost more).</summary>
    internal const long MinParallelStepMultiplyAdds = 200_000;

    /// <summary>Fits <paramref name="spec"/> (a stochastic solver or the MLP) on <paramref name="x"/>. FitEngine validates the spec's columns first.</summary>
    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress, CancellationToken ct) =>
        Fit(x, spec, progress, ct, new TrainerOptions());

    internal static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress, CancellationToken ct, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(spec);
        var total = Stopwatch.StartNew();
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var s = TrainingSettings.From(spec, n);
        ct.ThrowIfCancellationRequested();
        progress?.Report(new FitProgress(0, "setup"));

        var (trainRows, validationRows) = Split(n, s);
        var layout = new NetworkLayout(p, s.Hidden);
        int threads = Threads(spec, s, layout, options);
        using var data = new TrainingData(x, spec.FeatureColumns, spec.TargetColumn, trainRows, validationRows,
            s.FitIntercept, s.Standardize, Math.Max(threads, spec.MaxThreads > 0 ? spec.MaxThreads : Environment.ProcessorCount), options.RowMajorBudgetBytes);
        var warnings = new List<string>();
        for (int j = 0; j < p; j++)
            if (data.Constant[j]) warnings.Add($"feature '{spec.FeatureNames[j]}' has zero variance on the rows trained on; it is not used");
        var initial = Initialize(layout, data, s);
        double setup = total.Elapsed.TotalSeconds;

        var watch = Stopwatch.StartNew();
        TrainingOutcome outcome;
        using (var run = new TrainingRun(layout, data, s, initial, threads))
            outcome = run.Run(progress, ct);
        double training = watch.Elapsed.TotalSeconds;

        watch.Restart();
        progress?.Report(new FitProgress(1, "metrics"));
        int m = trainRows.Length;
        var yTrain = data.Target.AsSpan(0, m);
        var yValidation = data.Target.AsSpan(m);
        IFitMetrics trainMetrics = Score(s.Family, yTrain, outcome.Eta.AsSpan(0, m));
        IFitMetrics? validationMetrics = validationRows.Length > 0 ? Score(s.Family, yValidation, outcome.Eta.AsSpan(m)) : null;

        var theta = outcome.Theta;
        double intercept;
        double[] coefficients, standardized;
        NetworkModel? network = null;
        int nonZero = 0;
        if (layout.Layers == 1)
        {
            standardized = theta.AsSpan(0, p).ToArray();
            coefficients = new double[p];
            intercept = theta[layout.BiasOffset[0]];
            for (int j = 0; j < p; j++)
            {
                coefficients[j] = standardized[j] / data.Scales[j];
                intercept -= coefficients[j] * data.Means[j];
                if (standardized[j] != 0) nonZero++;
            }
        }
        else
        {
            // Each input's first-layer weight norm; the network itself carries the model.
            int h = layout.Sizes[1];
            standardized = new double[p];
            coefficients = new double[p];
            for (int j = 0; j < p; j++)
            {
                double sum = 0;
                for (int o = 0; o < h; o++) sum += theta[j * h + o] * theta[j * h + o];
                standardized[j] = Math.Sqrt(sum);
                coefficients[j] = standardized[j] / data.Scales[j];
                if (standardized[j] != 0) nonZero++;
            }
            intercept = 0;
            network = new NetworkModel(layout.ToLayers(theta), (double[])data.Means.Clone(), (double[])data.Scales.Clone(), s.Family);
        }

        bool diverged = outcome.StopReason == StopReason.Diverged;
        if (diverged)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"training diverged: the loss was not finite after epoch {outcome.DivergedAt}; the weights of epoch {outcome.BestEpoch} (0: the initial ones) are kept. Lower the learning rate (it was {s.LearningRate:G6})"));
        var report = new TrainingReport(outcome.EpochsRun, outcome.BestEpoch, outcome.StopReason,
            new LearningCurve(outcome.TrainCurve, outcome.ValidationCurve), m, validationRows.Length)
        {
            LearningRate = s.LearningRate,
        };
        var point = new PathPoint(s.Lambda, intercept, coefficients, standardized, nonZero, validationMetrics)
        {
            DevianceRatio = trainMetrics.DevianceRatio,
            Converged = !diverged,
            Iterations = outcome.EpochsRun,
        };
        double metrics = watch.Elapsed.TotalSeconds;
        return new FitResult
        {
            Status = diverged ? FitStatus.NotConverged : FitStatus.Converged,
            Solver = s.SolverName,
            Lambda = s.Lambda,
            Intercept = intercept,
            Coefficients = coefficients,
            StandardizedCoefficients = standardized,
            FeatureNames = spec.FeatureNames,
            TrainMetrics = trainMetrics,
            ValidationMetrics = validationMetrics,
            Path = [point],
            TrainRows = m,
            ValidationRows = validationRows.Length,
            Iterations = outcome.EpochsRun,
            NullDeviance = NullDeviance(s.Family, yTrain, s.FitIntercept),
            Warnings = warnings,
            FeatureMeans = data.Means,
            FeatureScales = data.Scales,
            Training = report,
            Network = network,
            Timings = new Dictionary<string, double>
            {
                ["setup"] = setup,
                ["train"] = training,
                ["epoch"] = outcome.EpochsRun > 0 ? training / outcome.EpochsRun : 0,
                ["metrics"] = metrics,
                ["total"] = total.Elapsed.TotalSeconds,
            },
        };
    }

    /// <summary>
    /// The early-stopping split: a seeded shuffle of the rows, the first round(fraction n) of them (at least 1, and at most
    /// n - 2 so that 2 rows are left to train on) held out. Both sets ascending.
    /// </summary>
    internal static (int[] Train, int[] Validation) Split(int n, TrainingSettings s)
    {
        if (s.EarlyStopping is not { } early) return ([.. Enumerable.Range(0, n)], []);
        int held = Math.Clamp((int)Math.Round(early.ValidationFraction * n, MidpointRounding.AwayFromZero), 1, n - 2);
        var order = Enumerable.Range(0, n).ToArray();
        new SplitMix(TrainingRandom.Key(s.Seed, TrainingRandom.SplitStream, 0)).Shuffle(order);
        var validation = order[..held];
        var train = order[held..];
        Array.Sort(validation);
        Array.Sort(train);
        return (train, validation);
    }

    private static int Threads(FitSpec spec, TrainingSettings s, NetworkLayout layout, TrainerOptions options)
    {
        if (options.Threads > 0) return options.Threads;
        int available = spec.MaxThreads > 0 ? Math.Min(spec.MaxThreads, Environment.ProcessorCount) : Environment.ProcessorCount;
        long perStep = (long)s.BatchSize * layout.MultiplyAddsPerRow;
        return perStep >= MinParallelStepMultiplyAdds ? Math.Max(1, available) : 1;
    }

    /// <summary>
    /// Initial parameters: the linear model's weights 0; the MLP's weights He-initialized, N(0, 2 / inputs) from the seed
    /// (zero for zero-variance inputs), hidden biases 0. The output bias starts at the intercept-only model (the mean of y,
    /// or the log-odds of its mean), or 0 without an intercept.
    /// </summary>
    internal static double[] Initialize(NetworkLayout layout, TrainingData data, TrainingSettings s)
    {
        var theta = new double[layout.Parameters];
        if (layout.Layers > 1)
        {
            var rng = new SplitMix(TrainingRandom.Key(s.Seed, TrainingRandom.InitStream, 0));
            for (int l = 0; l < layout.Layers; l++)
            {
                int k = layout.Sizes[l], n = layout.Sizes[l + 1];
                double sd = Math.Sqrt(2.0 / k);
                for (int i = 0; i < k; i++)
                    for (int o = 0; o < n; o++)
                    {
                        double value = sd * rng.Normal();
                        theta[layout.WeightOffset[l] + i * n + o] = l == 0 && data.Constant[i] ? 0 : value;
                    }
            }
        }
        int m = data.TrainRows.Length;
        double mean = 0;
        for (int i = 0; i < m; i++) mean += data.Target[i];
        mean /= m;
        if (s.Family == Family.Binomial)
        {
            if (mean == 0 || mean == 1)
                throw new ArgumentException($"the binomial target has only one class ({mean}) on the {m} rows trained on");
            mean = Math.Log(mean / (1 - mean));
        }
        theta[layout.BiasOffset[^1]] = s.FitIntercept ? mean : 0;
        return theta;
    }

    private static IFitMetrics Score(Family family, ReadOnlySpan<double> y, ReadOnlySpan<double> eta) =>
        family == Family.Gaussian ? RegressionMetrics.FromPredictions(y, eta.ToArray()) : ClassificationMetrics.FromLinearPredictor(y, eta);

    /// <summary>Null deviance per row of the training rows, as <see cref="Paths.PathFit.NullDeviance"/>.</summary>
    private static double NullDeviance(Family family, ReadOnlySpan<double> y, bool intercept)
    {
        int m = y.Length;
        double mean = 0;
        foreach (var v in y) mean += v;
        mean /= m;
        if (family == Family.Gaussian)
        {
            double c = intercept ? mean : 0, s = 0;
            foreach (var v in y) s += (v - c) * (v - c);
            return s / m;
        }
        if (!intercept) return 2 * Math.Log(2);
        return -2 * (mean * Math.Log(mean) + (1 - mean) * Math.Log(1 - mean));
    }
}
