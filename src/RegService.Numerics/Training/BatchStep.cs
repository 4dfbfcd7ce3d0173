using System.Runtime.CompilerServices;

namespace RegService.Numerics.Training;

/// <summary>
/// One mini-batch step of one worker (<see cref="WorkerBuffers"/>): the forward pass, the backward pass and the optimizer
/// update, with no thread or epoch state. On one thread a step is <see cref="FirstLayer"/>, <see cref="Gradients"/>,
/// <see cref="Update"/>; with several workers every worker's <see cref="FirstLayer"/> must be done before any worker's
/// <see cref="Gradients"/> (they read the first layer's activations of every unit).
/// </summary>
/// <remarks>
/// Every worker gathers the whole batch into its own buffer (standardized, with noise) and computes its block of the first
/// layer's outputs for every row into the shared activations. Then each computes the rest of the network on its own replica
/// of the later layers, the output deltas, its units' deltas and the gradient of its block (inputs transposed times
/// deltas, over the whole batch), and updates its block and its replica. The replicas see identical inputs and do
/// identical arithmetic, so they stay identical. Nothing computed depends on the split: every element of a product is one
/// chain of FMAs in a fixed order (<see cref="DenseKernels"/>), and noise and dropout masks are counter-based.
/// </remarks>
internal sealed unsafe class BatchStep(TrainingData data, TrainingSettings s, TrainingBuffers buffers, int worker)
{
    private readonly NetworkLayout _layout = buffers.Layout;
    private readonly WorkerBuffers _w = buffers.Workers[worker];

    /// <summary>
    /// The batch <paramref name="slots"/> (positions <paramref name="start"/>.. of epoch <paramref name="epoch"/>'s order)
    /// gathered with noise into this worker's buffer, and this worker's block of the first layer's outputs for every row
    /// (ReLU and dropout for an MLP; the linear predictor itself for the linear model).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FirstLayer(ReadOnlySpan<int> slots, int epoch, long step, int start)
    {
        var w = _w;
        int p = _layout.Inputs, count = slots.Length;
        double* input = w.Input;
        data.Gather(slots, input);
        for (int i = 0; i < count; i++) w.Target[i] = data.Target[slots[i]];
        if (s.NoiseSigma > 0)
        {
            for (int i = 0; i < count; i++)
                TrainingRandom.AddNoise(input + (nint)i * p, p, s.NoiseSigma, TrainingRandom.Key(s.Seed, TrainingRandom.NoiseStream, epoch, start + i));
            var constant = data.Constant;
            for (int j = 0; j < p; j++)
                if (constant[j])
                    for (int i = 0; i < count; i++) input[(nint)i * p + j] = 0;
        }
        int first = w.First, units = w.Units, n = _layout.Sizes[1];
        if (_layout.Layers == 1)
        {
            DenseKernels.Multiply(input, p, 1, w.W0, 1, w.Eta, 1, count, 1, p, w.B0, false, false);
            return;
        }
        if (units <= 0) return;
        double* hidden = buffers.Hidden(step);
        DenseKernels.Multiply(input, p, 1, w.W0, units, hidden + first, n, count, units, p, w.B0, false, relu: true);
        if (s.Dropout is { } dropout && dropout[0] > 0)
            for (int i = 0; i < count; i++)
                TrainingRandom.Dropout(hidden + (nint)i * n + first, units, dropout[0],
                    TrainingRandom.Key(s.Seed, TrainingRandom.DropoutStream, step, (long)i * _layout.Layers), first);
    }

    /// <summary>
    /// After every worker's <see cref="FirstLayer"/>: the later layers on this worker's replica, the output deltas (the
    /// derivative of the batch's mean loss), backpropagation to this worker's block of hidden units, and the gradients of
    /// its block and its replica (without the penalty, which <see cref="Update"/> adds).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gradients(long step, int count)
    {
        var w = _w;
        var sizes = _layout.Sizes;
        int layers = _layout.Layers, p = sizes[0];
        double* hidden = buffers.Hidden(step);
        double*[] act = w.Act, delta = w.Delta;
        // The activation feeding layer l >= 1.
        double* Input(int l) => l == 1 ? hidden : act[l - 1];

        // Forward through the later layers (every row, every unit: the replica's own copy).
        for (int l = 1; l < layers; l++)
        {
            int k = sizes[l], n = sizes[l + 1];
            bool last = l == layers - 1;
            double* dst = last ? w.Eta : act[l];
            DenseKernels.Multiply(Input(l), k, 1, w.W[l], n, dst, n, count, n, k, w.B[l], false, relu: !last);
            if (!last && s.Dropout is { } dropout && dropout[l] > 0)
                for (int i = 0; i < count; i++)
                    TrainingRandom.Dropout(dst + (nint)i * n, n, dropout[l], TrainingRandom.Key(s.Seed, TrainingRandom.DropoutStream, step, (long)i * layers + l));
        }

        // Output deltas: d(mean loss)/d eta = (eta - y) / count, or (logistic(eta) - y) / count.
        double* outDelta = layers == 1 ? w.Eta : delta[layers - 1];
        double scale = 1.0 / count;
        for (int i = 0; i < count; i++)
            outDelta[i] = TrainingLoss.Derivative(s.Family, w.Target[i], w.Eta[i]) * scale;

        // Backward: full deltas of the replica's hidden layers, then this worker's block of layer 0's.
        int first = w.First, units = w.Units;
        for (int l = layers - 1; l >= 1; l--)
        {
            int k = sizes[l], n = sizes[l + 1];
            double* wt = l == layers - 1 ? w.W[l] : Transpose(l);
            double keep = s.Dropout is { } dropout && dropout[l - 1] > 0 ? 1 / (1 - dropout[l - 1]) : 1;
            if (l >= 2)
            {
                DenseKernels.Multiply(delta[l], n, 1, wt, k, delta[l - 1], k, count, k, n, null, false, false);
                DenseKernels.MaskPositive(delta[l - 1], act[l - 1], (long)count * k, keep);
            }
            else if (units > 0)
            {
                DenseKernels.Multiply(delta[1], n, 1, wt + first, k, w.Delta0, units, count, units, n, null, false, false);
                DenseKernels.MaskPositive(w.Delta0, units, hidden + first, k, count, units, keep);
            }
        }

        // Gradients: this worker's block of layer 0 (inputs' transposed times deltas), then its replica of the later layers.
        double* delta0 = layers == 1 ? w.Eta : w.Delta0;
        if (units > 0)
        {
            DenseKernels.Multiply(w.Input, 1, p, delta0, units, w.G0, units, p, units, count, null, false, false);
            DenseKernels.SumRows(delta0, units, count, units, w.GB0);
            if (layers == 1 && !s.FitIntercept) w.GB0[0] = 0;
        }
        for (int l = 1; l < layers; l++)
        {
            int k = sizes[l], n = sizes[l + 1];
            DenseKernels.Multiply(Input(l), 1, k, delta[l], n, w.GW[l], n, k, n, count, null, false, false);
            DenseKernels.SumRows(delta[l], n, count, n, w.GB[l]);
            if (l == layers - 1 && !s.FitIntercept) w.GB[l][0] = 0;
        }
    }

    /// <summary>Step <paramref name="step"/> of the optimizer on every parameter of this worker, from the gradients.</summary>
    public void Update(long step)
    {
        var k = StepConstants.At(step, s.LearningRate, s.WeightDecay);
        if (s.Solver == SolverKind.Sgd) Update(new SgdStep(k));
        else Update(new AdamStep(k, decoupled: s.Solver == SolverKind.AdamW));
    }

    private void Update<TOp>(in TOp op) where TOp : struct, IOptimizerStep
    {
        foreach (var block in _w.Blocks)
            if (block.Count > 0) OptimizerKernels.Update(op, block);
    }

    /// <summary>W_l' of the replica's hidden-to-hidden layer l, for the backward product.</summary>
    private double* Transpose(int l)
    {
        int k = _layout.Sizes[l], n = _layout.Sizes[l + 1];
        double* w = _w.W[l], t = _w.Transposed[l];
        for (int i = 0; i < k; i++)
            for (int o = 0; o < n; o++) t[o * k + i] = w[i * n + o];
        return t;
    }
}

/// <summary>The loss of one row, as training and its learning curve use it.</summary>
internal static class TrainingLoss
{
    /// <summary>The family's loss: (y - eta)^2 / 2, or the log-loss log(1 + e^eta) - y eta.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Of(Family family, double y, double eta) =>
        family == Family.Gaussian
            ? 0.5 * (y - eta) * (y - eta)
            : Math.Max(eta, 0) + Math.Log(1 + Math.Exp(-Math.Abs(eta))) - y * eta;

    /// <summary>d loss / d eta: eta - y, or logistic(eta) - y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Derivative(Family family, double y, double eta) =>
        family == Family.Gaussian ? eta - y : Metrics.Prediction.Logistic(eta) - y;
}
