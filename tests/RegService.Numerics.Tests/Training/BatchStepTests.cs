using RegService.Numerics.Fitting;
using RegService.Numerics.Training;

namespace RegService.Numerics.Tests.Training;

/// <summary>The batch step on its own, without threads or epochs; and the early-stopping rule as a value.</summary>
public unsafe class BatchStepTests
{
    private static (FitSpec Spec, TrainingSettings Settings, Numerics.Training.TrainingData Data, NetworkLayout Layout, double[] Theta) Setup(
        int[] hidden, SolverKind solver, double dropout = 0, double noise = 0)
    {
        const int n = 60, p = 5;
        var x = GradientTests.TrainingData(n, p, Family.Gaussian, seed: 3);
        var spec = TrainingCases.Spec(p, Family.Gaussian, Penalty.ElasticNet, 0.05, solver,
            new TrainingSpec
            {
                HiddenUnits = hidden, Dropout = dropout > 0 ? [dropout] : [], Seed = 9, LearningRate = 0.05, WeightDecay = 0.1,
                Augmentation = noise > 0 ? new AugmentationSpec(noise) : null,
            },
            hidden.Length > 0 ? ModelKind.Mlp : ModelKind.Linear);
        var s = TrainingSettings.From(spec, n);
        var data = new Numerics.Training.TrainingData(x, spec.FeatureColumns, p, [.. Enumerable.Range(0, n)], [], true, true, 1);
        var layout = new NetworkLayout(p, s.Hidden);
        return (spec, s, data, layout, NetworkTrainer.Initialize(layout, data, s));
    }

    private static double[] Theta(TrainingBuffers buffers) => new ReadOnlySpan<double>(buffers.Theta, buffers.Layout.Parameters).ToArray();

    /// <summary>
    /// Three steps split between two workers (first layers of both, then the rest of both, as the barrier orders them on
    /// two threads) give bitwise the parameters of one worker doing the whole network.
    /// </summary>
    [Theory]
    [InlineData(SolverKind.AdamW)]
    [InlineData(SolverKind.Sgd)]
    public void TwoWorkersGiveTheParametersOfOne(SolverKind solver)
    {
        var (_, s, data, layout, theta) = Setup([24, 8], solver, dropout: 0.2, noise: 0.3);
        using (data)
        {
            int[][] batches = [[4, 11, 0, 37, 52, 9, 23, 41], [5, 6, 7, 58, 30, 2, 19, 44], [12, 13, 59, 1, 27]];
            double[] Train(int workers)
            {
                using var buffers = new TrainingBuffers(layout, TrainingBuffers.Penalty(layout, s), theta, workers, batch: 8);
                Assert.Equal(workers, buffers.Workers.Length);
                var steps = Enumerable.Range(0, workers).Select(w => new BatchStep(data, s, buffers, w)).ToArray();
                for (int t = 0; t < batches.Length; t++)
                {
                    foreach (var step in steps) step.FirstLayer(batches[t], epoch: 1, t + 1, start: 8 * t);
                    foreach (var step in steps)
                    {
                        step.Gradients(t + 1, batches[t].Length);
                        step.Update(t + 1);
                    }
                }
                for (int w = 0; w < workers; w++) buffers.WriteBack(w);
                // Every replica of the later layers stayed equal to worker 0's (the shared parameters).
                for (int w = 1; w < workers; w++)
                    for (int l = 1; l < layout.Layers; l++)
                        Assert.True(new ReadOnlySpan<double>(buffers.Workers[w].W[l], layout.Sizes[l] * layout.Sizes[l + 1])
                            .SequenceEqual(new ReadOnlySpan<double>(buffers.Workers[0].W[l], layout.Sizes[l] * layout.Sizes[l + 1])));
                return Theta(buffers);
            }

            var one = Train(1);
            var two = Train(2);
            Assert.NotEqual(theta, one);
            Assert.Equal(one, two);
        }
    }

    /// <summary>One sgd step of the linear model without penalty is w - lr g, with g the batch step's own gradient.</summary>
    [Fact]
    public void SgdStepMovesAgainstTheGradient()
    {
        var (_, s, data, layout, theta) = Setup([], SolverKind.Sgd);
        s = s with { Lambda = 0, WeightDecay = 0 };
        using (data)
        using (var buffers = new TrainingBuffers(layout, TrainingBuffers.Penalty(layout, s), theta, 1, batch: 6))
        {
            int[] batch = [3, 14, 15, 9, 26, 53];
            var step = new BatchStep(data, s, buffers, 0);
            step.FirstLayer(batch, epoch: 1, step: 1, start: 0);
            step.Gradients(1, batch.Length);
            var gradient = buffers.Gradient();
            step.Update(1);
            buffers.WriteBack(0);
            var after = Theta(buffers);
            Assert.Contains(gradient, g => Math.Abs(g) > 1e-3);
            for (int i = 0; i < theta.Length; i++) Assert.Equal(theta[i] - s.LearningRate * gradient[i], after[i], 1e-15);
        }
    }

    [Fact]
    public void EarlyStoppingKeepsTheLeastLossAndStopsAfterPatience()
    {
        var early = new EarlyStopping(new EarlyStoppingSpec(Patience: 2, MinDelta: 0.1, ValidationFraction: 0.2));
        // 1.0 best; 0.95 best but not by minDelta (wait 1); 0.5 best (wait 0); 0.5 tie, not best (wait 1); 0.45 best, within minDelta (wait 2): stop.
        Assert.Equal(new EpochVerdict(true, null), early.Observe(1, 9, 1.0));
        Assert.Equal(new EpochVerdict(true, null), early.Observe(2, 9, 0.95));
        Assert.Equal(new EpochVerdict(true, null), early.Observe(3, 9, 0.5));
        Assert.Equal(new EpochVerdict(false, null), early.Observe(4, 9, 0.5));
        Assert.Equal(3, early.BestEpoch);
        Assert.Equal(new EpochVerdict(true, StopReason.EarlyStopped), early.Observe(5, 9, 0.45));
        Assert.Equal(5, early.BestEpoch);
    }

    [Fact]
    public void WithoutARuleEveryFiniteEpochIsTheBestAndANonFiniteLossDiverges()
    {
        var early = new EarlyStopping(null);
        Assert.Equal(0, early.BestEpoch);
        Assert.Equal(new EpochVerdict(true, null), early.Observe(1, 3, double.NaN));
        Assert.Equal(new EpochVerdict(true, null), early.Observe(2, 5, double.NaN));
        Assert.Equal(new EpochVerdict(false, StopReason.Diverged), early.Observe(3, double.PositiveInfinity, double.NaN));
        Assert.Equal(2, early.BestEpoch);

        var ruled = new EarlyStopping(new EarlyStoppingSpec(Patience: 5));
        Assert.Equal(new EpochVerdict(false, StopReason.Diverged), ruled.Observe(1, 0.3, double.NaN));
        Assert.Equal(0, ruled.BestEpoch);
    }
}
