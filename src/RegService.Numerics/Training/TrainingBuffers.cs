namespace RegService.Numerics.Training;

/// <summary>
/// Where a training run's numbers live, in 64-byte aligned native memory: the shared parameters and penalty coefficients,
/// the first layer's activations of a batch, and one <see cref="WorkerBuffers"/> per thread.
/// </summary>
/// <remarks>
/// Threads split the first layer's outputs (the hidden units of an MLP; a linear model runs on one thread) in blocks of
/// whole 8-unit groups (one cache line of a weight row). Each worker keeps its block of first-layer weights and biases in
/// a private contiguous copy (with gradient, moments and penalty coefficients) that <see cref="WriteBack"/> copies into
/// the shared parameters before each evaluation pass, so no cache line that a thread writes is near one another thread
/// writes (two threads writing the two halves of every weight row made the small memory-bound loops several times slower,
/// and erratically so). The later layers (small: hidden x hidden and hidden x 1) are replicated per worker: worker 0's
/// replica is the shared parameters themselves. The first layer's activations alternate between two shared buffers by
/// step parity, so a thread running ahead into the next step cannot overwrite activations another thread still reads.
/// </remarks>
internal sealed unsafe class TrainingBuffers : IDisposable
{
    private readonly BlockBuffers _memory = new();
    private readonly double*[] _hidden = new double*[2];

    /// <param name="layout">The network.</param>
    /// <param name="penalty">Per parameter, the penalty coefficients (see <see cref="Penalty"/>).</param>
    /// <param name="initial">The initial parameters.</param>
    /// <param name="workers">Threads to split the first layer between (at most one per 8 units; one for the linear model).</param>
    /// <param name="batch">Rows of the largest batch.</param>
    public TrainingBuffers(NetworkLayout layout, (double[] L2, double[] L1, double[] Decay) penalty, double[] initial, int workers, int batch)
    {
        Layout = layout;
        int layers = layout.Layers, parameters = layout.Parameters, units = layout.Sizes[1], p = layout.Inputs;
        Theta = Copy(initial);
        L2 = Copy(penalty.L2);
        L1 = Copy(penalty.L1);
        Decay = Copy(penalty.Decay);
        if (layers > 1)
        {
            _hidden[0] = _memory.Allocate((long)batch * units);
            _hidden[1] = _memory.Allocate((long)batch * units);
        }

        int count = Math.Clamp(workers, 1, layers == 1 ? 1 : Math.Max(1, units / 8));
        int groups = (units + 7) / 8;
        Workers = new WorkerBuffers[count];
        for (int w = 0; w < count; w++)
        {
            int first = Math.Min(units, (int)((long)groups * w / count) * 8);
            int last = Math.Min(units, (int)((long)groups * (w + 1) / count) * 8);
            Workers[w] = new WorkerBuffers(this, first, last, batch, replica: w > 0);
        }
    }

    public NetworkLayout Layout { get; }

    /// <summary>The shared parameters (the layout's flat vector): what an evaluation pass reads.</summary>
    public double* Theta { get; }

    /// <summary>Penalty coefficients per parameter: lambda (1 - alpha) v, lambda alpha v (first layer only), weight decay 1 or 0.</summary>
    public double* L2 { get; }
    public double* L1 { get; }
    public double* Decay { get; }

    public WorkerBuffers[] Workers { get; }

    /// <summary>The first layer's activations of a batch (batch x Sizes[1], row-major) at step <paramref name="step"/>.</summary>
    public double* Hidden(long step) => _hidden[step & 1];

    /// <summary>Copies worker <paramref name="w"/>'s first-layer block into the shared parameters.</summary>
    public void WriteBack(int w) => Workers[w].CopyOut(Workers[w].W0, Workers[w].B0, Theta);

    /// <summary>The gradient of the last <see cref="BatchStep.Gradients"/> as one flat vector (worker 0's replica for the later layers).</summary>
    internal double[] Gradient()
    {
        var flat = new double[Layout.Parameters];
        fixed (double* g = flat)
        {
            foreach (var worker in Workers) worker.CopyOut(worker.G0, worker.GB0, g);
            var blocks = Workers[0].Blocks;
            for (int b = 2; b < blocks.Length; b++)
                new ReadOnlySpan<double>(blocks[b].Grad, blocks[b].Count).CopyTo(flat.AsSpan((int)(blocks[b].W - Theta)));
        }
        return flat;
    }

    /// <summary>
    /// lambda P on the parameters: the L2 part lambda (1 - alpha) v_j on every weight (v_j, input j's penalty factor, on the
    /// first layer; 1 on the others), the L1 part lambda alpha v_j on the first layer's weights only, none on biases; the
    /// optimizer's weight decay on weights only.
    /// </summary>
    public static (double[] L2, double[] L1, double[] Decay) Penalty(NetworkLayout layout, TrainingSettings s)
    {
        var (l2, l1, decay) = (new double[layout.Parameters], new double[layout.Parameters], new double[layout.Parameters]);
        double ridge = s.Lambda * (1 - s.Alpha), lasso = s.Lambda * s.Alpha;
        for (int l = 0; l < layout.Layers; l++)
        {
            int k = layout.Sizes[l], n = layout.Sizes[l + 1];
            for (int i = 0; i < k; i++)
            {
                double v = l == 0 ? s.PenaltyFactors[i] : 1;
                for (int o = 0; o < n; o++)
                {
                    int at = layout.WeightOffset[l] + i * n + o;
                    l2[at] = ridge * v;
                    l1[at] = l == 0 ? lasso * v : 0;
                    decay[at] = 1;
                }
            }
        }
        return (l2, l1, decay);
    }

    /// <summary>Zeroed aligned memory for <paramref name="count"/> doubles, freed with the buffers.</summary>
    internal double* Allocate(long count) => _memory.Allocate(count);

    private double* Copy(double[] values)
    {
        double* p = _memory.Allocate(values.Length);
        values.AsSpan().CopyTo(new Span<double>(p, values.Length));
        return p;
    }

    public void Dispose() => _memory.Dispose();
}

/// <summary>
/// One thread's buffers and parameters: its block [First, Last) of the first layer's outputs (inputs x Units weights,
/// row-major, and Units biases, with gradients, moments and penalty coefficients), its replica of the later layers, and
/// the batch it works on.
/// </summary>
internal sealed unsafe class WorkerBuffers
{
    private readonly NetworkLayout _layout;

    public WorkerBuffers(TrainingBuffers shared, int first, int last, int batch, bool replica)
    {
        var layout = _layout = shared.Layout;
        int layers = layout.Layers, p = layout.Inputs, parameters = layout.Parameters;
        First = first;
        Last = last;
        Input = shared.Allocate((long)batch * p);
        Target = shared.Allocate(batch);
        Eta = shared.Allocate(batch);
        Act = new double*[layers];
        Delta = new double*[layers];
        Transposed = new double*[layers];
        for (int l = 1; l < layers; l++)
        {
            int n = layout.Sizes[l + 1];
            if (l < layers - 1) Act[l] = shared.Allocate((long)batch * n);
            Delta[l] = shared.Allocate((long)batch * n);
            if (l < layers - 1) Transposed[l] = shared.Allocate((long)layout.Sizes[l] * n);
        }

        // The first-layer block: a private contiguous copy of the shared parameters and coefficients.
        int units = Units;
        long size = (long)p * units;
        W0 = shared.Allocate(size);
        B0 = shared.Allocate(units);
        double* l2 = shared.Allocate(size), l1 = shared.Allocate(size), decay = shared.Allocate(size);
        CopyIn(shared.Theta, W0, B0);
        CopyIn(shared.L2, l2, null);
        CopyIn(shared.L1, l1, null);
        CopyIn(shared.Decay, decay, null);
        Delta0 = shared.Allocate((long)batch * units);
        var blocks = new List<ParameterBlock>
        {
            Block(W0, l2, l1, decay, p * units),
            // Biases: unpenalized and not decayed, so their coefficients are the shared zeros of the bias slots.
            Block(B0, shared.L2 + layout.BiasOffset[0] + first, shared.L1 + layout.BiasOffset[0] + first, shared.Decay + layout.BiasOffset[0] + first, units),
        };

        // The later layers: the shared parameters (worker 0) or a replica, with this worker's own gradient and moments.
        int tail = layers > 1 ? layout.WeightOffset[1] : parameters;
        double* theta = shared.Theta;
        if (replica && tail < parameters)
        {
            theta = shared.Allocate(parameters - tail) - tail;
            new ReadOnlySpan<double>(shared.Theta + tail, parameters - tail).CopyTo(new Span<double>(theta + tail, parameters - tail));
        }
        W = new double*[layers];
        B = new double*[layers];
        GW = new double*[layers];
        GB = new double*[layers];
        for (int l = 1; l < layers; l++)
        {
            int k = layout.Sizes[l], n = layout.Sizes[l + 1], wo = layout.WeightOffset[l], bo = layout.BiasOffset[l];
            W[l] = theta + wo;
            B[l] = theta + bo;
            blocks.Add(Block(W[l], shared.L2 + wo, shared.L1 + wo, shared.Decay + wo, k * n));
            blocks.Add(Block(B[l], shared.L2 + bo, shared.L1 + bo, shared.Decay + bo, n));
            GW[l] = blocks[^2].Grad;
            GB[l] = blocks[^1].Grad;
        }
        G0 = blocks[0].Grad;
        GB0 = blocks[1].Grad;
        Blocks = [.. blocks];

        ParameterBlock Block(double* w, double* blockL2, double* blockL1, double* blockDecay, int count) =>
            new(w, shared.Allocate(count), shared.Allocate(count), shared.Allocate(count), blockL2, blockL1, blockDecay, count);
    }

    /// <summary>This worker's block [First, Last) of the first layer's outputs.</summary>
    public int First { get; }
    public int Last { get; }
    public int Units => Last - First;

    /// <summary>The first-layer block: weights (inputs x Units, row-major), biases, their gradients, the block's deltas (batch x Units).</summary>
    public double* W0 { get; }
    public double* B0 { get; }
    public double* G0 { get; }
    public double* GB0 { get; }
    public double* Delta0 { get; }

    /// <summary>The batch: inputs (batch x p, row-major), targets, the linear predictor.</summary>
    public double* Input { get; }
    public double* Target { get; }
    public double* Eta { get; }

    /// <summary>Per layer l >= 1 ([0] unused): output of hidden layer l (batch x Sizes[l + 1]), its delta, W_l' of hidden-to-hidden layers.</summary>
    public double*[] Act { get; }
    public double*[] Delta { get; }
    public double*[] Transposed { get; }

    /// <summary>Per layer l >= 1 ([0] unused): weights, biases and their gradients (the replica's).</summary>
    public double*[] W { get; }
    public double*[] B { get; }
    public double*[] GW { get; }
    public double*[] GB { get; }

    /// <summary>Every parameter this worker updates, as the optimizer sees them: its first-layer block, then its replica's layers.</summary>
    public ParameterBlock[] Blocks { get; }

    /// <summary>The block's part of a flat (layout-shaped) vector into block-shaped <paramref name="weights"/> and <paramref name="biases"/>.</summary>
    private void CopyIn(double* flat, double* weights, double* biases)
    {
        int p = _layout.Inputs, units = Units, stride = _layout.Sizes[1];
        for (int j = 0; j < p; j++)
            new ReadOnlySpan<double>(flat + (nint)j * stride + First, units).CopyTo(new Span<double>(weights + (nint)j * units, units));
        if (biases != null) new ReadOnlySpan<double>(flat + _layout.BiasOffset[0] + First, units).CopyTo(new Span<double>(biases, units));
    }

    /// <summary>The inverse of <see cref="CopyIn"/>: block-shaped weights and biases into their place in a flat vector.</summary>
    public void CopyOut(double* weights, double* biases, double* flat)
    {
        int p = _layout.Inputs, units = Units, stride = _layout.Sizes[1];
        for (int j = 0; j < p; j++)
            new ReadOnlySpan<double>(weights + (nint)j * units, units).CopyTo(new Span<double>(flat + (nint)j * stride + First, units));
        new ReadOnlySpan<double>(biases, units).CopyTo(new Span<double>(flat + _layout.BiasOffset[0] + First, units));
    }
}
