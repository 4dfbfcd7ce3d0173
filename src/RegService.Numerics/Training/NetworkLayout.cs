namespace RegService.Numerics.Training;

/// <summary>
/// The shape of a network and where its parameters live in one flat vector: layer l maps Sizes[l] inputs to
/// Sizes[l + 1] outputs; its weights are stored inputs x outputs, row-major (row k holds input k's weights to every
/// output), followed by its biases. The linear model is one layer p -> 1; the MLP has one or two ReLU hidden layers.
/// </summary>
internal sealed class NetworkLayout
{
    public NetworkLayout(int inputs, int[] hidden)
    {
        Sizes = [inputs, .. hidden, 1];
        WeightOffset = new int[Layers];
        BiasOffset = new int[Layers];
        long offset = 0;
        for (int l = 0; l < Layers; l++)
        {
            WeightOffset[l] = (int)Math.Min(offset, int.MaxValue);
            offset += (long)Sizes[l] * Sizes[l + 1];
            BiasOffset[l] = (int)Math.Min(offset, int.MaxValue);
            offset += Sizes[l + 1];
        }
        if (offset > Array.MaxLength)
            throw new ArgumentException($"the network has {offset:N0} parameters, more than one array holds ({Array.MaxLength:N0}); use fewer inputs or units");
        Parameters = (int)offset;
    }

    /// <summary>Units per layer: inputs, hidden layers, 1 output.</summary>
    public int[] Sizes { get; }
    public int Layers => Sizes.Length - 1;
    public int Inputs => Sizes[0];
    public int Parameters { get; }
    public int[] WeightOffset { get; }
    public int[] BiasOffset { get; }

    /// <summary>Multiply-adds of one row's forward pass: sum of inputs x outputs over the layers.</summary>
    public long MultiplyAddsPerRow
    {
        get
        {
            long s = 0;
            for (int l = 0; l < Layers; l++) s += (long)Sizes[l] * Sizes[l + 1];
            return s;
        }
    }

    /// <summary>
    /// The fitted network as the contract's <see cref="DenseLayer"/>s (weights outputs x inputs, row-major), from the flat
    /// parameters.
    /// </summary>
    public DenseLayer[] ToLayers(ReadOnlySpan<double> theta)
    {
        var layers = new DenseLayer[Layers];
        for (int l = 0; l < Layers; l++)
        {
            int k = Sizes[l], n = Sizes[l + 1];
            var weights = new double[k * n];
            var w = theta.Slice(WeightOffset[l], k * n);
            for (int i = 0; i < k; i++)
                for (int o = 0; o < n; o++) weights[o * k + i] = w[i * n + o];
            layers[l] = new DenseLayer(k, n, weights, theta.Slice(BiasOffset[l], n).ToArray());
        }
        return layers;
    }

    /// <summary>The flat parameters of <paramref name="layers"/> (the inverse of <see cref="ToLayers"/>).</summary>
    public static (NetworkLayout Layout, double[] Theta) FromLayers(IReadOnlyList<DenseLayer> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("a network needs at least one layer");
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            if (layer.Weights.Length != layer.Inputs * layer.Outputs || layer.Biases.Length != layer.Outputs)
                throw new ArgumentException($"layer {l + 1}: {layer.Weights.Length} weights and {layer.Biases.Length} biases for {layer.Inputs} inputs and {layer.Outputs} outputs");
            if (l > 0 && layer.Inputs != layers[l - 1].Outputs)
                throw new ArgumentException($"layer {l + 1} takes {layer.Inputs} inputs but layer {l} has {layers[l - 1].Outputs} outputs");
        }
        if (layers[^1].Outputs != 1) throw new ArgumentException("the last layer must have one output");
        var layout = new NetworkLayout(layers[0].Inputs, [.. layers.Take(layers.Count - 1).Select(l => l.Outputs)]);
        var theta = new double[layout.Parameters];
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            int k = layer.Inputs, n = layer.Outputs;
            for (int i = 0; i < k; i++)
                for (int o = 0; o < n; o++) theta[layout.WeightOffset[l] + i * n + o] = layer.Weights[o * k + i];
            layer.Biases.CopyTo(theta, layout.BiasOffset[l]);
        }
        return (layout, theta);
    }
}

/// <summary>
/// Activations of a block of up to <c>capacity</c> rows for a forward pass, row-major, in 64-byte aligned native
/// memory (freed on dispose): the standardized inputs (unless they are read in place), every hidden layer's activations and
/// the linear predictor. Also an owner of other aligned allocations (<see cref="Allocate"/>).
/// </summary>
internal sealed unsafe class BlockBuffers : IDisposable
{
    private readonly List<nint> _allocations = [];

    /// <summary>No block: an owner of aligned allocations only.</summary>
    public BlockBuffers() => Activations = [];

    public BlockBuffers(NetworkLayout layout, int capacity, bool withInput = true)
    {
        Input = withInput ? Allocate((long)capacity * layout.Inputs) : null;
        Activations = new double*[layout.Layers - 1];
        for (int l = 0; l < layout.Layers - 1; l++) Activations[l] = Allocate((long)capacity * layout.Sizes[l + 1]);
        Eta = Allocate(capacity);
    }

    /// <summary>Standardized inputs (rows x p); null when the inputs are read in place.</summary>
    public double* Input { get; }

    /// <summary>Output of hidden layer l (rows x Sizes[l + 1]), after ReLU (and dropout while training).</summary>
    public double*[] Activations { get; }

    /// <summary>The linear predictor per row.</summary>
    public double* Eta { get; }

    /// <summary>Zeroed, 64-byte aligned native memory for <paramref name="count"/> doubles, freed with the buffers.</summary>
    public double* Allocate(long count)
    {
        long length = Math.Max(count, 8);
        var p = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(length * sizeof(double)), 64);
        _allocations.Add((nint)p);
        System.Runtime.InteropServices.NativeMemory.Clear(p, (nuint)(length * sizeof(double)));
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _allocations) System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)p);
        _allocations.Clear();
    }
}

/// <summary>The forward pass of a network over a block of rows (see <see cref="DenseKernels"/>).</summary>
internal static unsafe class NetworkPasses
{
    /// <summary>
    /// The forward pass of <paramref name="rows"/> rows: inputs from <paramref name="input"/> (row i at
    /// input + i * inputStride), activations into the buffers' first rows, the linear predictor into Eta. With dropout
    /// rates (training) hidden layer l's activations of row i are masked under the key
    /// <c>Key(seed, DropoutStream, step, i * layers + l)</c>, as the training run masks row i of a batch.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Forward(NetworkLayout layout, double* theta, double* input, nint inputStride, BlockBuffers buffers, int rows,
        double[]? dropout = null, int seed = 0, long step = 0)
    {
        int layers = layout.Layers;
        double* src = input;
        nint srcStride = inputStride;
        for (int l = 0; l < layers; l++)
        {
            int k = layout.Sizes[l], n = layout.Sizes[l + 1];
            bool hidden = l < layers - 1;
            double* dst = hidden ? buffers.Activations[l] : buffers.Eta;
            DenseKernels.Multiply(src, srcStride, 1, theta + layout.WeightOffset[l], n, dst, n, rows, n, k,
                theta + layout.BiasOffset[l], accumulate: false, relu: hidden);
            if (hidden && dropout is not null && dropout[l] > 0)
                for (int i = 0; i < rows; i++)
                    TrainingRandom.Dropout(dst + (nint)i * n, n, dropout[l], TrainingRandom.Key(seed, TrainingRandom.DropoutStream, step, (long)i * layers + l));
            src = dst;
            srcStride = n;
        }
    }

    /// <summary>
    /// The linear predictor of every row of <paramref name="x"/> (features <paramref name="columns"/>, standardized by
    /// <paramref name="means"/> and <paramref name="scales"/>) under the parameters <paramref name="theta"/>.
    /// </summary>
    public static double[] Predict(NetworkLayout layout, double[] theta, DenseMatrix x, int[] columns, double[] means, double[] scales)
    {
        const int Block = 256;
        int n = x.Rows, p = layout.Inputs;
        var eta = new double[n];
        int blocks = (n + Block - 1) / Block;
        long work = (long)n * (layout.MultiplyAddsPerRow + p);
        int parts = work >= 4_000_000 ? Math.Min(Environment.ProcessorCount, blocks) : 1;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            using var buffers = new BlockBuffers(layout, Block);
            double* input = buffers.Input;
            fixed (double* data = x.Data)
            fixed (double* t = theta)
            {
                for (int b = (int)((long)blocks * part / parts); b < (int)((long)blocks * (part + 1) / parts); b++)
                {
                    int r0 = b * Block, rows = Math.Min(Block, n - r0);
                    for (int j = 0; j < p; j++)
                    {
                        double* col = data + (nint)columns[j] * n + r0;
                        double mean = means[j], scale = scales[j];
                        for (int i = 0; i < rows; i++) input[(nint)i * p + j] = (col[i] - mean) / scale;
                    }
                    Forward(layout, t, input, p, buffers, rows);
                    new ReadOnlySpan<double>(buffers.Eta, rows).CopyTo(eta.AsSpan(r0, rows));
                }
            }
        });
        return eta;
    }
}
