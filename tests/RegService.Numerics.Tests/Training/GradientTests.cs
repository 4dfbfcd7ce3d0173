using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Training;

namespace RegService.Numerics.Tests.Training;

/// <summary>
/// The batch step's gradient (forward, deltas, backpropagation, layer gradients) against central finite
/// differences of the batch objective: the mean loss of the batch (with the same dropout masks) plus the L2 part of
/// lambda P, for both families, the linear model and one or two hidden layers, with penalty factors.
/// </summary>
public unsafe class GradientTests
{
    public static TheoryData<Family, int[], double> Cases => new()
    {
        { Family.Gaussian, [], 0 },
        { Family.Binomial, [], 0 },
        { Family.Gaussian, [7], 0 },
        { Family.Binomial, [7], 0 },
        { Family.Gaussian, [6, 5], 0 },
        { Family.Binomial, [6, 5], 0 },
        { Family.Gaussian, [9, 4], 0.3 },
        { Family.Binomial, [9], 0.25 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BatchGradientMatchesFiniteDifferences(Family family, int[] hidden, double dropout)
    {
        const int n = 40, p = 5;
        var x = TrainingData(n, p, family, seed: 11 + hidden.Length);
        var spec = new FitSpec
        {
            FeatureColumns = [.. Enumerable.Range(0, p)],
            FeatureNames = [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
            TargetColumn = p,
            Family = family,
            Penalty = Penalty.ElasticNet,
            L1Ratio = 0.3,
            Lambdas = [0.2],
            PenaltyFactors = [1, 2, 0.5, 1, 0],
            Model = hidden.Length > 0 ? ModelKind.Mlp : ModelKind.Linear,
            Solver = SolverKind.Adam,
            Training = new TrainingSpec { HiddenUnits = hidden, Dropout = dropout > 0 ? [dropout] : [], Seed = 5, BatchSize = 16 },
        };
        var s = TrainingSettings.From(spec, n);
        var (train, validation) = NetworkTrainer.Split(n, s);
        using var data = new Numerics.Training.TrainingData(x, spec.FeatureColumns, p, train, validation, true, true, 1);
        var layout = new NetworkLayout(p, s.Hidden);
        var theta = NetworkTrainer.Initialize(layout, data, s);
        var rng = new Random(7);
        for (int i = 0; i < theta.Length; i++) theta[i] += 0.3 * (rng.NextDouble() - 0.5);   // biases and linear weights away from 0

        int[] slots = [3, 17, 0, 25, 9, 31, 12, 5, 38, 21, 14];
        const long step = 4;
        // One batch step's forward and backward pass (as step 4 of epoch 1 would draw dropout and noise), no update.
        var l2 = TrainingBuffers.Penalty(layout, s).L2;
        double[] gradient;
        using (var buffers = new TrainingBuffers(layout, TrainingBuffers.Penalty(layout, s), theta, workers: 1, batch: slots.Length))
        {
            var batchStep = new BatchStep(data, s, buffers, 0);
            batchStep.FirstLayer(slots, epoch: 1, step, start: 0);
            batchStep.Gradients(step, slots.Length);
            gradient = buffers.Gradient();
        }

        double Objective(double[] t)
        {
            double loss = Loss(layout, data, s, t, slots, step);
            for (int i = 0; i < t.Length; i++) loss += 0.5 * l2[i] * t[i] * t[i];
            return loss;
        }

        // The penalty coefficients follow P: lambda (1 - alpha) v_j on input j's first-layer weights, lambda (1 - alpha) on
        // later weights, 0 on biases.
        double ridge = 0.2 * 0.7;
        var v = spec.PenaltyFactors!.Select(f => f * p / spec.PenaltyFactors.Sum()).ToArray();
        Assert.Equal(ridge * v[1], l2[1 * layout.Sizes[1]], 1e-15);
        Assert.Equal(0, l2[layout.BiasOffset[0]]);
        if (layout.Layers > 1) Assert.Equal(ridge, l2[layout.WeightOffset[1]], 1e-15);

        double worst = 0;
        for (int i = 0; i < theta.Length; i++)
        {
            const double h = 1e-6;
            var plus = (double[])theta.Clone();
            var minus = (double[])theta.Clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (Objective(plus) - Objective(minus)) / (2 * h);
            double analytic = gradient[i] + l2[i] * theta[i];
            worst = Math.Max(worst, Math.Abs(numeric - analytic) / (Math.Abs(numeric) + 1e-4));
        }
        Assert.True(worst < 1e-5, $"largest relative difference {worst:G3}");
    }

    /// <summary>The mean loss of a batch under the forward pass with the training run's dropout masks for that step.</summary>
    private static double Loss(NetworkLayout layout, Numerics.Training.TrainingData data, TrainingSettings s, double[] theta, int[] slots, long step)
    {
        using var buffers = new BlockBuffers(layout, slots.Length);
        data.Gather(slots, buffers.Input);
        fixed (double* t = theta)
            NetworkPasses.Forward(layout, t, buffers.Input, layout.Inputs, buffers, slots.Length, s.Dropout, s.Seed, step);
        double sum = 0;
        for (int i = 0; i < slots.Length; i++) sum += TrainingLoss.Of(s.Family, data.Target[slots[i]], buffers.Eta[i]);
        return sum / slots.Length;
    }

    internal static DenseMatrix TrainingData(int n, int p, Family family, int seed)
    {
        var rng = new Random(seed);
        var x = new DenseMatrix(n, p + 1);
        for (int i = 0; i < n; i++)
        {
            double eta = 0.2;
            for (int j = 0; j < p; j++)
            {
                x[i, j] = 2 * j + (j + 1) * (rng.NextDouble() - 0.5);
                eta += (j % 2 == 0 ? 1 : -1) * (x[i, j] - 2 * j) / (j + 1);
            }
            x[i, p] = family == Family.Binomial ? (rng.NextDouble() < 1 / (1 + Math.Exp(-2 * eta)) ? 1 : 0) : eta + 0.3 * (rng.NextDouble() - 0.5);
        }
        return x;
    }
}
