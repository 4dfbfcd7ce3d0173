using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Training;
using Xunit.Abstractions;

namespace RegService.Numerics.Tests.Training;

/// <summary>End-to-end behaviour of the stochastic solvers and the MLP through <see cref="FitEngine"/>.</summary>
public unsafe class TrainingTests(ITestOutputHelper output)
{
    private static TrainingSpec Mlp(int epochs = 30, int[]? hidden = null, double[]? dropout = null, int seed = 1, EarlyStoppingSpec? early = null) => new()
    {
        Epochs = epochs,
        BatchSize = 16,
        LearningRate = 0.01,
        HiddenUnits = hidden ?? [16],
        Dropout = dropout ?? [],
        Seed = seed,
        EarlyStopping = early,
    };

    [Fact]
    public void EarlyStoppingStopsBeforeTheLimitAndKeepsTheBestEpoch()
    {
        // Few noisy rows and a wide network: the validation loss turns up long before 400 epochs.
        var x = TrainingCases.Nonlinear(150, seed: 3, noise: 1.0);
        var spec = TrainingCases.Spec(5, model: ModelKind.Mlp, solver: SolverKind.AdamW,
            training: Mlp(epochs: 400, hidden: [64, 32], early: new EarlyStoppingSpec(Patience: 8, MinDelta: 0, ValidationFraction: 0.3)));
        var fit = FitEngine.Fit(x, spec);
        var report = fit.Training!;
        var curve = report.Curve.Validation!;
        output.WriteLine($"epochs {report.EpochsRun}, best {report.BestEpoch}, min {curve.Min():G6}");
        Assert.Equal(StopReason.EarlyStopped, report.StopReason);
        Assert.True(report.EpochsRun < 400);
        Assert.Equal(report.EpochsRun, curve.Length);
        Assert.Equal(report.EpochsRun, report.Curve.Train.Length);
        Assert.Equal(report.EpochsRun, fit.Iterations);
        Assert.Equal(report.BestEpoch + 8, report.EpochsRun);
        Assert.Equal(curve.Min(), curve[report.BestEpoch - 1]);
        Assert.Equal(45, report.ValidationRows);
        Assert.Equal(105, report.TrainRows);
        Assert.Equal(45, fit.ValidationRows);

        // The restored weights are the best epoch's: their validation loss (half the mse) is the curve's minimum,
        // from the metrics and from the returned network scored on the held-out rows.
        var validation = (RegressionMetrics)fit.ValidationMetrics!;
        Assert.Equal(45, validation.Rows);
        Assert.Equal(curve.Min(), validation.Mse / 2, 1e-12);
        var (_, held) = NetworkTrainer.Split(150, TrainingSettings.From(spec, 150));
        var eta = fit.Network!.Predict(x, spec.FeatureColumns);
        double loss = held.Sum(i => 0.5 * (eta[i] - x[i, 5]) * (eta[i] - x[i, 5])) / held.Length;
        Assert.Equal(curve.Min(), loss, 1e-9);
        Assert.Same(validation, fit.Path[0].Validation);
    }

    [Fact]
    public void WithoutEarlyStoppingTheLastEpochIsKept()
    {
        var x = TrainingCases.Linear(200, 4, seed: 8, binary: true);
        var fit = FitEngine.Fit(x, TrainingCases.Spec(4, Family.Binomial, solver: SolverKind.Sgd, training: new TrainingSpec { Epochs = 7, Seed = 2 }));
        Assert.Equal(StopReason.EpochsExhausted, fit.Training!.StopReason);
        Assert.Equal(7, fit.Training.BestEpoch);
        Assert.Null(fit.Training.Curve.Validation);
        Assert.Null(fit.ValidationMetrics);
        Assert.Equal(0, fit.Training.ValidationRows);
        Assert.Equal("sgd", fit.Solver);
        // The curve's last training loss is the kept model's mean log-loss.
        Assert.Equal(((ClassificationMetrics)fit.TrainMetrics).LogLoss, fit.Training.Curve.Train[^1], 1e-12);
        var point = Assert.Single(fit.Path);
        Assert.Equal(fit.Coefficients, point.Coefficients);
        Assert.Equal(7, point.Iterations);
    }

    [Fact]
    public void DropoutIsOffAtPrediction()
    {
        var x = TrainingCases.Nonlinear(200, seed: 4);
        var spec = TrainingCases.Spec(5, model: ModelKind.Mlp, solver: SolverKind.AdamW, training: Mlp(epochs: 10, hidden: [16, 8], dropout: [0.5]));
        var fit = FitEngine.Fit(x, spec);
        var network = fit.Network!;
        var first = network.Predict(x, spec.FeatureColumns);
        var second = network.Predict(x, spec.FeatureColumns);
        Assert.Equal(first, second);
        // The training metrics were computed in evaluation mode, with the weights as stored.
        Assert.Equal(((RegressionMetrics)fit.TrainMetrics).Mse, TrainingCases.Mse(first, x, 5), 1e-12);

        // A forward pass with the training dropout masks gives other values.
        var (layout, theta) = NetworkLayout.FromLayers(network.Layers);
        using var buffers = new BlockBuffers(layout, x.Rows);
        for (int i = 0; i < x.Rows; i++)
            for (int j = 0; j < 5; j++) buffers.Input[i * 5 + j] = (x[i, j] - network.Means[j]) / network.Scales[j];
        fixed (double* t = theta)
        {
            NetworkPasses.Forward(layout, t, buffers.Input, 5, buffers, x.Rows);
            var plain = new ReadOnlySpan<double>(buffers.Eta, x.Rows).ToArray();
            for (int i = 0; i < x.Rows; i++) Assert.Equal(first[i], plain[i], 1e-12);
            NetworkPasses.Forward(layout, t, buffers.Input, 5, buffers, x.Rows, [0.5, 0.5], seed: 1, step: 3);
            var masked = new ReadOnlySpan<double>(buffers.Eta, x.Rows).ToArray();
            Assert.True(Enumerable.Range(0, x.Rows).Count(i => Math.Abs(masked[i] - first[i]) > 1e-6) > x.Rows / 2);
        }
    }

    [Fact]
    public void MlpWithDropoutBeatsTheLinearModelOnANonlinearProblem()
    {
        var all = TrainingCases.Nonlinear(1200, seed: 5);
        var train = TrainingCases.Rows(all, 0, 800);
        var test = TrainingCases.Rows(all, 800, 1200);
        var linear = FitEngine.Fit(train, TrainingCases.Spec(5, solver: SolverKind.Auto));
        var mlp = FitEngine.Fit(train, TrainingCases.Spec(5, model: ModelKind.Mlp, solver: SolverKind.AdamW,
            training: Mlp(epochs: 60, hidden: [32], dropout: [0.1]) with { BatchSize = 32 }));
        double linearMse = TrainingCases.Mse(Prediction.Predict(test, [0, 1, 2, 3, 4], linear.Intercept, linear.Coefficients, Family.Gaussian), test, 5);
        double mlpMse = TrainingCases.Mse(mlp.Network!.Predict(test, [0, 1, 2, 3, 4]), test, 5);
        output.WriteLine($"held-out mse: linear {linearMse:G4}, mlp {mlpMse:G4}");
        Assert.True(mlpMse < 0.5 * linearMse);
        // Coefficients of an MLP: each input's first-layer weight norm, original scale = norm / scale.
        Assert.Equal(0, mlp.Intercept);
        for (int j = 0; j < 5; j++)
        {
            var layer = mlp.Network.Layers[0];
            double norm = Math.Sqrt(Enumerable.Range(0, layer.Outputs).Sum(o => layer.Weights[o * 5 + j] * layer.Weights[o * 5 + j]));
            Assert.Equal(norm, mlp.StandardizedCoefficients[j], 1e-12);
            Assert.Equal(norm / mlp.FeatureScales[j], mlp.Coefficients[j], 1e-12);
        }
    }

    /// <summary>
    /// The L1 part on the first layer, a proximal step after each update, sets weights to exactly 0: most first-layer
    /// weights of the two inputs without signal are 0 at the end and the rest tiny (a stochastic step can leave a few just
    /// outside the threshold), while the inputs with signal keep theirs.
    /// </summary>
    [Fact]
    public void LassoOnTheFirstLayerZeroesTheWeightsOfUselessInputs()
    {
        var x = TrainingCases.Nonlinear(400, seed: 6);
        var fit = FitEngine.Fit(x, TrainingCases.Spec(5, penalty: Penalty.Lasso, lambda: 0.05, model: ModelKind.Mlp, solver: SolverKind.Adam,
            training: Mlp(epochs: 60, hidden: [8]) with { BatchSize = 32 }));
        output.WriteLine(string.Join(", ", fit.StandardizedCoefficients.Select(c => c.ToString("G4"))));
        var first = fit.Network!.Layers[0];
        int zeros = Enumerable.Range(0, 8).Sum(o => (first.Weights[o * 5 + 3] == 0 ? 1 : 0) + (first.Weights[o * 5 + 4] == 0 ? 1 : 0));
        Assert.True(zeros >= 12, $"{zeros} of 16 weights of x4 and x5 are 0");
        Assert.True(fit.StandardizedCoefficients[3] < 0.02 && fit.StandardizedCoefficients[4] < 0.02);
        Assert.True(fit.StandardizedCoefficients[0] > 0.1 && fit.StandardizedCoefficients[1] > 0.1 && fit.StandardizedCoefficients[2] > 0.1);

        // Without the penalty none of them is 0.
        var free = FitEngine.Fit(x, TrainingCases.Spec(5, model: ModelKind.Mlp, solver: SolverKind.Adam, training: Mlp(epochs: 60, hidden: [8]) with { BatchSize = 32 }));
        Assert.DoesNotContain(0.0, free.Network!.Layers[0].Weights);
    }

    public static TheoryData<string, ModelKind, SolverKind> Models => new()
    {
        { "linear adam", ModelKind.Linear, SolverKind.Adam },
        { "mlp adamW", ModelKind.Mlp, SolverKind.AdamW },
        { "mlp sgd", ModelKind.Mlp, SolverKind.Sgd },
    };

    /// <summary>Same seed: bitwise the same fit, with one thread or two, from the row-major copy or gathered from the columns. Another seed: another fit.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void SameSeedGivesIdenticalResultsWhateverTheThreads(string name, ModelKind model, SolverKind solver)
    {
        _ = name;
        var x = TrainingCases.Nonlinear(300, seed: 7);
        var spec = TrainingCases.Spec(5, penalty: Penalty.ElasticNet, lambda: 0.01, model: model, solver: solver,
            training: Mlp(epochs: 6, hidden: model == ModelKind.Mlp ? [24, 16] : [], dropout: model == ModelKind.Mlp ? [0.2] : [],
                early: new EarlyStoppingSpec(3, 0, 0.2)) with { Augmentation = new AugmentationSpec(0.3, 2), WeightDecay = 0.01 });
        var one = NetworkTrainer.Fit(x, spec, null, default, new TrainerOptions { Threads = 1 });
        var again = NetworkTrainer.Fit(x, spec, null, default, new TrainerOptions { Threads = 1 });
        var two = NetworkTrainer.Fit(x, spec, null, default, new TrainerOptions { Threads = 2 });
        var gathered = NetworkTrainer.Fit(x, spec, null, default, new TrainerOptions { Threads = 2, RowMajorBudgetBytes = 0 });
        var other = NetworkTrainer.Fit(x, spec with { Training = spec.Training! with { Seed = 99 } }, null, default, new TrainerOptions { Threads = 1 });
        foreach (var fit in new[] { again, two, gathered })
        {
            Assert.Equal(one.StandardizedCoefficients, fit.StandardizedCoefficients);
            Assert.Equal(one.Intercept, fit.Intercept);
            Assert.Equal(one.Training!.Curve.Train, fit.Training!.Curve.Train);
            Assert.Equal(one.Training.Curve.Validation, fit.Training.Curve.Validation);
            if (model == ModelKind.Mlp)
                for (int l = 0; l < one.Network!.Layers.Length; l++)
                {
                    Assert.Equal(one.Network.Layers[l].Weights, fit.Network!.Layers[l].Weights);
                    Assert.Equal(one.Network.Layers[l].Biases, fit.Network.Layers[l].Biases);
                }
        }
        Assert.NotEqual(one.Training!.Curve.Train, other.Training!.Curve.Train);
        Assert.NotEqual(one.StandardizedCoefficients, other.StandardizedCoefficients);
    }

    [Fact]
    public void TwoThreadsGiveTheSameFitOnALargerNetwork()
    {
        // Wide enough that a step is split between threads without being forced to.
        var x = TrainingCases.Nonlinear(600, seed: 9);
        var spec = TrainingCases.Spec(5, Family.Gaussian, model: ModelKind.Mlp, solver: SolverKind.Adam,
            training: Mlp(epochs: 3, hidden: [200]) with { BatchSize = 256 }) with { MaxThreads = 2 };
        var auto = FitEngine.Fit(x, spec);
        var single = NetworkTrainer.Fit(x, spec, null, default, new TrainerOptions { Threads = 1 });
        Assert.Equal(single.StandardizedCoefficients, auto.StandardizedCoefficients);
        Assert.Equal(single.Training!.Curve.Train, auto.Training!.Curve.Train);
    }

    [Fact]
    public void LinearModelReportsOriginalScaleCoefficients()
    {
        var x = TrainingCases.Linear(300, 4, seed: 10);
        var fit = FitEngine.Fit(x, TrainingCases.Spec(4, solver: SolverKind.Adam, training: new TrainingSpec { Epochs = 20, LearningRate = 0.01 }));
        Assert.Null(fit.Network);
        // The predictions from original-scale coefficients are the trained model's: training mse agrees.
        var prediction = Prediction.Predict(x, [0, 1, 2, 3], fit.Intercept, fit.Coefficients, Family.Gaussian);
        Assert.Equal(((RegressionMetrics)fit.TrainMetrics).Mse, TrainingCases.Mse(prediction, x, 4), 1e-10);
        for (int j = 0; j < 4; j++) Assert.Equal(fit.StandardizedCoefficients[j] / fit.FeatureScales[j], fit.Coefficients[j], 1e-15);

        var noIntercept = FitEngine.Fit(x, TrainingCases.Spec(4, solver: SolverKind.Adam, training: new TrainingSpec { Epochs = 3 }) with { FitIntercept = false });
        Assert.Equal(0, noIntercept.Intercept);
        Assert.All(noIntercept.FeatureMeans, m => Assert.Equal(0, m));
    }

    [Fact]
    public void ConstantFeaturesAreNotUsed()
    {
        var x = TrainingCases.Linear(100, 3, seed: 11);
        for (int i = 0; i < 100; i++) x[i, 1] = 4.5;
        var fit = FitEngine.Fit(x, TrainingCases.Spec(3, model: ModelKind.Mlp, solver: SolverKind.AdamW, training: Mlp(epochs: 5) with { Augmentation = new AugmentationSpec(0.5) }));
        Assert.Equal(0, fit.StandardizedCoefficients[1]);
        Assert.Contains(fit.Warnings, w => w.Contains("'x2'") && w.Contains("zero variance"));
    }

    [Fact]
    public void DivergenceStopsWithTheBestFiniteWeights()
    {
        var x = TrainingCases.Linear(200, 4, seed: 12);
        var fit = FitEngine.Fit(x, TrainingCases.Spec(4, solver: SolverKind.Sgd, training: new TrainingSpec { Epochs = 50, LearningRate = 1e3 }));
        Assert.Equal(StopReason.Diverged, fit.Training!.StopReason);
        Assert.Equal(FitStatus.NotConverged, fit.Status);
        Assert.False(fit.Path[0].Converged);
        Assert.True(fit.Training.EpochsRun < 50);
        Assert.Equal(fit.Training.EpochsRun - 1, fit.Training.BestEpoch);
        Assert.Contains(fit.Warnings, w => w.Contains("learning rate") && w.Contains("1000"));
        Assert.All(fit.Coefficients, c => Assert.True(double.IsFinite(c)));
        Assert.True(double.IsFinite(((RegressionMetrics)fit.TrainMetrics).Mse));
    }

    [Fact]
    public void ProgressCountsEpochsAndCancellationStopsTraining()
    {
        var x = TrainingCases.Linear(200, 4, seed: 13);
        var spec = TrainingCases.Spec(4, model: ModelKind.Mlp, solver: SolverKind.AdamW, training: Mlp(epochs: 5));
        var stages = new List<FitProgress>();
        FitEngine.Fit(x, spec, new SynchronousProgress(stages.Add));
        var epochs = stages.Where(s => s.Stage.StartsWith("epoch")).ToList();
        Assert.Equal(["epoch 1 of 5", "epoch 2 of 5", "epoch 3 of 5", "epoch 4 of 5", "epoch 5 of 5"], epochs.Select(s => s.Stage));
        Assert.Equal([0.2, 0.4, 0.6, 0.8, 1.0], epochs.Select(s => Math.Round(s.Fraction, 12)));
        Assert.Equal([1, 2, 3, 4, 5], epochs.Select(s => s.Epoch!.Value));
        Assert.All(epochs, s => Assert.Equal(5, s.Epochs));
        Assert.All(epochs, s => Assert.True(s.Loss > 0 && double.IsFinite(s.Loss!.Value)));

        using var cts = new CancellationTokenSource();
        var seen = new List<FitProgress>();
        var progress = new SynchronousProgress(p =>
        {
            seen.Add(p);
            if (p.Stage == "epoch 2 of 500") cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            FitEngine.Fit(x, spec with { Training = spec.Training! with { Epochs = 500 } }, progress, cts.Token));
        Assert.DoesNotContain(seen, p => p.Stage == "epoch 3 of 500");
    }

    public static TheoryData<string, Func<FitSpec, FitSpec>> BadSpecs => new()
    {
        { "training.epochs", s => s with { Training = new TrainingSpec { Epochs = 0 } } },
        { "training.batchSize", s => s with { Training = new TrainingSpec { BatchSize = 0 } } },
        { "training.learningRate", s => s with { Training = new TrainingSpec { LearningRate = -1 } } },
        { "training.learningRate", s => s with { Training = new TrainingSpec { LearningRate = double.NaN } } },
        { "training.weightDecay", s => s with { Training = new TrainingSpec { WeightDecay = -0.1 } } },
        { "training.hiddenUnits", s => s with { Model = ModelKind.Mlp, Training = new TrainingSpec { HiddenUnits = [] } } },
        { "training.hiddenUnits", s => s with { Model = ModelKind.Mlp, Training = new TrainingSpec { HiddenUnits = [4, 4, 4] } } },
        { "training.hiddenUnits", s => s with { Model = ModelKind.Mlp, Training = new TrainingSpec { HiddenUnits = [0] } } },
        { "training.hiddenUnits", s => s with { Training = new TrainingSpec { HiddenUnits = [4] } } },
        { "training.dropout", s => s with { Model = ModelKind.Mlp, Training = new TrainingSpec { HiddenUnits = [4], Dropout = [1.0] } } },
        { "training.dropout", s => s with { Model = ModelKind.Mlp, Training = new TrainingSpec { HiddenUnits = [4], Dropout = [0.1, 0.1, 0.1] } } },
        { "training.dropout", s => s with { Training = new TrainingSpec { Dropout = [0.1] } } },
        { "training.earlyStopping.patience", s => s with { Training = new TrainingSpec { EarlyStopping = new EarlyStoppingSpec(0) } } },
        { "training.earlyStopping.minDelta", s => s with { Training = new TrainingSpec { EarlyStopping = new EarlyStoppingSpec(MinDelta: -1) } } },
        { "training.earlyStopping.validationFraction", s => s with { Training = new TrainingSpec { EarlyStopping = new EarlyStoppingSpec(ValidationFraction: 1) } } },
        { "training.augmentation.gaussianNoise", s => s with { Training = new TrainingSpec { Augmentation = new AugmentationSpec(-1) } } },
        { "training.augmentation.copies", s => s with { Training = new TrainingSpec { Augmentation = new AugmentationSpec(0.1, 0) } } },
        { "one lambda", s => s with { Penalty = Penalty.Ridge, Lambdas = [0.1, 0.2] } },
        { "not a path", s => s with { Penalty = Penalty.Ridge, Lambdas = null, Path = new LambdaPathSpec() } },
        { "earlyStopping", s => s with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(3) } },
        { "cannot fit an MLP", s => s with { Model = ModelKind.Mlp, Solver = SolverKind.CoordinateDescent, Training = new TrainingSpec { HiddenUnits = [4] } } },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void BadSettingsAreRejectedByName(string setting, Func<FitSpec, FitSpec> change)
    {
        var x = TrainingCases.Linear(50, 3, seed: 14);
        var spec = change(TrainingCases.Spec(3, solver: SolverKind.Adam));
        var e = Assert.ThrowsAny<ArgumentException>(() => FitEngine.Fit(x, spec));
        Assert.Contains(setting, e.Message);
    }

    [Fact]
    public void EarlyStoppingNeedsThreeRows()
    {
        var x = TrainingCases.Linear(2, 1, seed: 15);
        var e = Assert.ThrowsAny<ArgumentException>(() => FitEngine.Fit(x, TrainingCases.Spec(1, training: new TrainingSpec { EarlyStopping = new EarlyStoppingSpec() })));
        Assert.Contains("at least 3 rows", e.Message);
        // With 3 rows: one validates, two train, whatever the fraction.
        var three = TrainingCases.Linear(3, 1, seed: 15);
        var fit = FitEngine.Fit(three, TrainingCases.Spec(1, training: new TrainingSpec { Epochs = 2, EarlyStopping = new EarlyStoppingSpec(ValidationFraction: 0.01) }));
        Assert.Equal(1, fit.ValidationRows);
        Assert.Equal(2, fit.TrainRows);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<FitProgress> report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report(value);
    }
}
