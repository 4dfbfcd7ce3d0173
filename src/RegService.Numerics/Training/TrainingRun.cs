using System.Runtime.CompilerServices;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;

namespace RegService.Numerics.Training;

/// <summary>What a training run ended with.</summary>
internal sealed record TrainingOutcome(
    double[] Theta, int EpochsRun, int BestEpoch, StopReason StopReason, double[] TrainCurve, double[]? ValidationCurve,
    double[] Eta, int DivergedAt);

/// <summary>
/// The epoch loop of a stochastic fit, on one thread or several. Every epoch shuffles the training slots (each training
/// row <c>Copies</c> times), runs the mini-batches, then scores every row in evaluation mode (no dropout, no noise) for the
/// learning curve and early stopping.
/// </summary>
/// <remarks>
/// <para>
/// Threads split the first layer's outputs (the hidden units of an MLP; a linear model runs on one thread): each owns a
/// block of hidden units, their first-layer weights and biases, kept in a private contiguous copy (with their gradient,
/// moments and penalty coefficients) that is written back into the shared parameters before each evaluation pass: so no
/// cache line that a thread writes is near one another thread writes (two threads writing the two halves of every weight
/// row made the small memory-bound loops several times slower, and erratically so). Per mini-batch
/// every thread gathers the whole batch into its own buffer (standardized, with noise), computes its units' activations
/// for every row into a shared buffer, and meets the others at one barrier. Then each computes the rest of the network on
/// its own replica of the later layers (small: hidden x hidden and hidden x 1), the deltas, its units' deltas and the
/// gradient of its block of the first layer (inputs' transposed times deltas, over the whole batch), and updates its
/// block and its replica of the later layers. The replicas see identical inputs and do identical arithmetic, so they
/// stay identical. So a thread writes only memory it owns, and the only data crossing cores per step is the hidden
/// activations (read after the barrier). The shared activations alternate between two buffers by step parity, so a
/// thread running ahead into the next step cannot overwrite activations another thread still reads.
/// </para>
/// <para>
/// Nothing computed depends on the split: every element of a product is one chain of FMAs in a fixed order
/// (<see cref="DenseKernels"/>), noise and dropout masks are counter-based, and losses are summed per fixed chunk of rows,
/// then over chunks in order. So the same seed gives bit-identical results with any thread count.
/// </para>
/// <para>
/// Evaluation passes split fixed chunks of rows between the threads; the rows are read in place from the row-major copy.
/// </para>
/// </remarks>
internal sealed unsafe class TrainingRun : IDisposable
{
    /// <summary>Rows per chunk of an evaluation pass.</summary>
    internal const int EvalChunk = 256;

    private readonly NetworkLayout _layout;
    private readonly TrainingData _data;
    private readonly TrainingSettings _s;
    private readonly int _threads;
    private readonly SpinBarrier _barrier;
    private readonly BlockBuffers _memory = new();
    private readonly double* _theta, _grad, _m, _v, _l2, _l1, _decay, _zeros;
    private readonly Worker[] _workers;
    private readonly double*[] _hidden = new double*[2];   // layer 0's activations (batch x Sizes[1]), by step parity
    private readonly int[] _order;
    private readonly int _trainSlots;
    private readonly (int First, int Count)[] _chunks;
    private readonly int _trainChunks;
    private readonly double[] _chunkLoss;
    private readonly double[] _eta;
    private readonly double[] _best;

    // Written by worker 0 between barriers, read by all after them.
    private volatile bool _stop;
    private bool _gradientOnly;
    private bool _reevaluate;
    private bool _canceled;
    private Exception? _failure;

    // Epoch bookkeeping (worker 0).
    private readonly List<double> _trainCurve = [];
    private readonly List<double>? _validationCurve;
    private double _bestValidation = double.PositiveInfinity;
    private int _bestEpoch;
    private int _wait;
    private int _epochsRun;
    private int _divergedAt;
    private StopReason _reason = StopReason.EpochsExhausted;
    private IProgress<FitProgress>? _progress;

    /// <summary>
    /// A thread's buffers and parameters: its block of the first layer (a private contiguous copy: inputs x its units,
    /// with gradient, moments and penalty coefficients) and its replica of the later layers.
    /// </summary>
    private sealed class Worker
    {
        public int First, Last;              // its block [First, Last) of the first layer's outputs
        public int Units => Last - First;
        public double* W0, B0, G0, GB0, M0, MB0, V0, VB0, L2, L1, Decay;   // the first-layer block (inputs x Units), row-major
        public double* Delta0;               // the block's deltas (batch x Units)
        public double* Input, Target, Eta;   // the batch (batch x p), its targets, the linear predictor
        public double*[] Act = [];           // output of hidden layer l >= 1 (batch x Sizes[l + 1]); [0] unused
        public double*[] Delta = [];         // delta of layer l >= 1 (batch x Sizes[l + 1]); [0] unused
        public double*[] Transposed = [];    // W_l' of hidden-to-hidden layers l >= 1
        public double*[] W = [], B = [], GW = [], GB = [], MW = [], MB = [], VW = [], VB = [];   // per layer
        public BlockBuffers Eval = null!;
    }

    public TrainingRun(NetworkLayout layout, TrainingData data, TrainingSettings settings, double[] initial, int threads)
    {
        _layout = layout;
        _data = data;
        _s = settings;
        int layers = layout.Layers;
        _threads = layers == 1 ? 1 : Math.Clamp(threads, 1, Math.Max(1, layout.Sizes[1] / 8));
        _barrier = new SpinBarrier(_threads);
        int parameters = layout.Parameters;
        _theta = _memory.Allocate(parameters);
        _grad = _memory.Allocate(parameters);
        _m = _memory.Allocate(parameters);
        _v = _memory.Allocate(parameters);
        _l2 = _memory.Allocate(parameters);
        _l1 = _memory.Allocate(parameters);
        _decay = _memory.Allocate(parameters);
        _zeros = _memory.Allocate(layout.Sizes[1]);
        initial.AsSpan().CopyTo(new Span<double>(_theta, parameters));
        PenaltyCoefficients();

        _trainSlots = data.TrainRows.Length;
        _order = new int[checked(_trainSlots * settings.Copies)];
        int batch = Math.Min(settings.BatchSize, _order.Length);
        int p = layout.Inputs;
        if (layers > 1)
        {
            _hidden[0] = _memory.Allocate((long)batch * layout.Sizes[1]);
            _hidden[1] = _memory.Allocate((long)batch * layout.Sizes[1]);
        }

        // The later layers' parameters: worker 0 works on the shared vector, the others on replicas.
        int tail = layers > 1 ? layout.WeightOffset[1] : parameters;
        _workers = new Worker[_threads];
        for (int w = 0; w < _threads; w++)
        {
            var worker = _workers[w] = new Worker();
            int units = layout.Sizes[1];
            // Blocks of whole 8-unit groups (one cache line of a weight row), so no two threads write the same line.
            int groups = (units + 7) / 8;
            worker.First = Math.Min(units, (int)((long)groups * w / _threads) * 8);
            worker.Last = Math.Min(units, (int)((long)groups * (w + 1) / _threads) * 8);
            worker.Input = _memory.Allocate((long)batch * p);
            worker.Target = _memory.Allocate(batch);
            worker.Eta = _memory.Allocate(batch);
            worker.Act = new double*[layers];
            worker.Delta = new double*[layers];
            worker.Transposed = new double*[layers];
            for (int l = 1; l < layers; l++)
            {
                if (l < layers - 1) worker.Act[l] = _memory.Allocate((long)batch * layout.Sizes[l + 1]);
                worker.Delta[l] = l == layers - 1 ? _memory.Allocate(batch) : _memory.Allocate((long)batch * layout.Sizes[l + 1]);
                if (l < layers - 1) worker.Transposed[l] = _memory.Allocate((long)layout.Sizes[l] * layout.Sizes[l + 1]);
            }
            double* theta = _theta, grad = _grad, m = _m, v = _v;
            if (w > 0 && tail < parameters)
            {
                long count = parameters - tail;
                theta = _memory.Allocate(count) - tail;
                grad = _memory.Allocate(count) - tail;
                m = _memory.Allocate(count) - tail;
                v = _memory.Allocate(count) - tail;
                initial.AsSpan(tail).CopyTo(new Span<double>(theta + tail, (int)count));
            }
            worker.W = new double*[layers];
            worker.B = new double*[layers];
            worker.GW = new double*[layers];
            worker.GB = new double*[layers];
            worker.MW = new double*[layers];
            worker.MB = new double*[layers];
            worker.VW = new double*[layers];
            worker.VB = new double*[layers];
            for (int l = 0; l < layers; l++)
            {
                // Layer 0 always in the shared vectors; later layers in this worker's (replica) vectors.
                double* t = l == 0 ? _theta : theta, g = l == 0 ? _grad : grad, mm = l == 0 ? _m : m, vv = l == 0 ? _v : v;
                worker.W[l] = t + layout.WeightOffset[l];
                worker.B[l] = t + layout.BiasOffset[l];
                worker.GW[l] = g + layout.WeightOffset[l];
                worker.GB[l] = g + layout.BiasOffset[l];
                worker.MW[l] = mm + layout.WeightOffset[l];
                worker.MB[l] = mm + layout.BiasOffset[l];
                worker.VW[l] = vv + layout.WeightOffset[l];
                worker.VB[l] = vv + layout.BiasOffset[l];
            }
            worker.Eval = new BlockBuffers(layout, EvalChunk, withInput: !data.InPlace);

            // The private first-layer block, copied from the initial parameters and the coefficients.
            int block = worker.Units, stride = layout.Sizes[1];
            long size = (long)p * block;
            worker.W0 = _memory.Allocate(size);
            worker.G0 = _memory.Allocate(size);
            worker.M0 = _memory.Allocate(size);
            worker.V0 = _memory.Allocate(size);
            worker.L2 = _memory.Allocate(size);
            worker.L1 = _memory.Allocate(size);
            worker.Decay = _memory.Allocate(size);
            worker.B0 = _memory.Allocate(block);
            worker.GB0 = _memory.Allocate(block);
            worker.MB0 = _memory.Allocate(block);
            worker.VB0 = _memory.Allocate(block);
            worker.Delta0 = _memory.Allocate((long)batch * block);
            for (int j = 0; j < p; j++)
                for (int u = 0; u < block; u++)
                {
                    int at = j * stride + worker.First + u;
                    worker.W0[j * block + u] = _theta[at];
                    worker.L2[j * block + u] = _l2[at];
                    worker.L1[j * block + u] = _l1[at];
                    worker.Decay[j * block + u] = _decay[at];
                }
            for (int u = 0; u < block; u++) worker.B0[u] = _theta[layout.BiasOffset[0] + worker.First + u];
        }

        var chunks = new List<(int, int)>();
        for (int first = 0; first < _trainSlots; first += EvalChunk) chunks.Add((first, Math.Min(EvalChunk, _trainSlots - first)));
        _trainChunks = chunks.Count;
        for (int first = _trainSlots; first < data.Rows; first += EvalChunk) chunks.Add((first, Math.Min(EvalChunk, data.Rows - first)));
        _chunks = [.. chunks];
        _chunkLoss = new double[_chunks.Length];
        _eta = new double[data.Rows];
        _best = (double[])initial.Clone();
        _validationCurve = settings.EarlyStopping is null ? null : [];
    }

    /// <summary>
    /// For tests, on one thread: the gradient of the mean loss of one batch (the training slots <paramref name="slots"/>,
    /// with dropout and noise as step <paramref name="step"/> of epoch 1 would draw them) at the current parameters, without
    /// the penalty, and the L2 coefficients of the penalty per parameter (its gradient is l2 * w). Nothing is updated.
    /// </summary>
    internal (double[] Gradient, double[] L2) BatchGradient(int[] slots, long step)
    {
        if (_threads != 1) throw new InvalidOperationException("one thread only");
        slots.CopyTo(_order, 0);
        _gradientOnly = true;
        FirstLayer(0, 1, step, 0, slots.Length);
        Rest(0, step, slots.Length);
        _gradientOnly = false;
        int count = _layout.Parameters, units = _layout.Sizes[1];
        var grad = new Span<double>(_grad, count).ToArray();
        var worker = _workers[0];
        new ReadOnlySpan<double>(worker.G0, _layout.Inputs * units).CopyTo(grad.AsSpan(_layout.WeightOffset[0]));
        new ReadOnlySpan<double>(worker.GB0, units).CopyTo(grad.AsSpan(_layout.BiasOffset[0]));
        return (grad, new Span<double>(_l2, count).ToArray());
    }

    /// <summary>Threads the run uses (at most one per 8 hidden units; one for the linear model).</summary>
    public int Threads => _threads;

    /// <summary>
    /// lambda P on the parameters: the L2 part lambda (1 - alpha) v_j on every weight (v_j, input j's penalty factor, on the
    /// first layer; 1 on the others), the L1 part lambda alpha v_j on the first layer's weights only, none on biases; the
    /// optimizer's weight decay on weights only.
    /// </summary>
    private void PenaltyCoefficients()
    {
        double ridge = _s.Lambda * (1 - _s.Alpha), lasso = _s.Lambda * _s.Alpha;
        for (int l = 0; l < _layout.Layers; l++)
        {
            int k = _layout.Sizes[l], n = _layout.Sizes[l + 1];
            for (int i = 0; i < k; i++)
            {
                double v = l == 0 ? _s.PenaltyFactors[i] : 1;
                for (int o = 0; o < n; o++)
                {
                    int at = _layout.WeightOffset[l] + i * n + o;
                    _l2[at] = ridge * v;
                    _l1[at] = l == 0 ? lasso * v : 0;
                    _decay[at] = 1;
                }
            }
        }
    }

    public TrainingOutcome Run(IProgress<FitProgress>? progress, CancellationToken ct)
    {
        _progress = progress;
        var threads = new Thread[_threads - 1];
        for (int w = 1; w < _threads; w++)
        {
            int id = w;
            threads[w - 1] = new Thread(() => Work(id, ct), maxStackSize: 1 << 20) { IsBackground = true, Name = $"RegService training {id}" };
            threads[w - 1].Start();
        }
        Work(0, ct);
        foreach (var t in threads) t.Join();
        if (_failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_failure).Throw();
        if (_canceled) throw new OperationCanceledException(ct);

        return new TrainingOutcome(new Span<double>(_theta, _layout.Parameters).ToArray(), _epochsRun, _bestEpoch, _reason,
            [.. _trainCurve], _validationCurve?.ToArray(), (double[])_eta.Clone(), _divergedAt);
    }

    private void Work(int w, CancellationToken ct)
    {
        try
        {
            long step = 0;
            int batch = _s.BatchSize, slots = _order.Length;
            int steps = (slots + batch - 1) / batch;
            for (int epoch = 1; epoch <= _s.Epochs; epoch++)
            {
                if (w == 0) Shuffle(epoch);
                _barrier.SignalAndWait();
                for (int s = 0; s < steps; s++)
                {
                    step++;
                    int start = s * batch, count = Math.Min(batch, slots - start);
                    FirstLayer(w, epoch, step, start, count);
                    _barrier.SignalAndWait();
                    if (_stop) return;
                    Rest(w, step, count);
                    if (w == 0 && ct.IsCancellationRequested)
                    {
                        _canceled = true;
                        _stop = true;
                    }
                }
                WriteBack(w);
                _barrier.SignalAndWait();
                if (_stop) return;
                Evaluate(w, _threads);
                _barrier.SignalAndWait();
                if (w == 0) EndEpoch(epoch);
                _barrier.SignalAndWait();
                if (_stop || epoch == _s.Epochs)
                {
                    // The linear predictor of the kept weights: the last pass's unless an earlier epoch's were restored.
                    if (_reevaluate) Evaluate(w, _threads);
                    return;
                }
            }
        }
        catch (Exception e)
        {
            if (e is not OperationCanceledException || _failure is null) Interlocked.CompareExchange(ref _failure, e, null);
            _stop = true;
            _barrier.Abort();
        }
    }

    /// <summary>The epoch's order of training slots: 0..m-1 repeated Copies times, shuffled under (seed, epoch).</summary>
    private void Shuffle(int epoch)
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i % _trainSlots;
        new SplitMix(TrainingRandom.Key(_s.Seed, TrainingRandom.ShuffleStream, epoch)).Shuffle(_order);
    }

    /// <summary>Copies a worker's first-layer block into the shared parameters (which the evaluation reads).</summary>
    private void WriteBack(int w)
    {
        var worker = _workers[w];
        int p = _layout.Inputs, block = worker.Units, stride = _layout.Sizes[1];
        for (int j = 0; j < p; j++)
            new ReadOnlySpan<double>(worker.W0 + (nint)j * block, block).CopyTo(new Span<double>(_theta + (nint)j * stride + worker.First, block));
        new ReadOnlySpan<double>(worker.B0, block).CopyTo(new Span<double>(_theta + _layout.BiasOffset[0] + worker.First, block));
    }

    /// <summary>
    /// Before the barrier: the whole batch gathered (with noise) into this worker's buffer, and this worker's block of the
    /// first layer's outputs for every row (ReLU and dropout for an MLP; the linear predictor itself for the linear model).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FirstLayer(int w, int epoch, long step, int start, int count)
    {
        var worker = _workers[w];
        int p = _layout.Inputs;
        double* input = worker.Input;
        var slots = new ReadOnlySpan<int>(_order, start, count);
        _data.Gather(slots, input);
        for (int i = 0; i < count; i++) worker.Target[i] = _data.Target[slots[i]];
        if (_s.NoiseSigma > 0)
        {
            for (int i = 0; i < count; i++)
                TrainingRandom.AddNoise(input + (nint)i * p, p, _s.NoiseSigma, TrainingRandom.Key(_s.Seed, TrainingRandom.NoiseStream, epoch, start + i));
            var constant = _data.Constant;
            for (int j = 0; j < p; j++)
                if (constant[j])
                    for (int i = 0; i < count; i++) input[(nint)i * p + j] = 0;
        }
        int first = worker.First, units = worker.Units, n = _layout.Sizes[1];
        if (_layout.Layers == 1)
        {
            DenseKernels.Multiply(input, p, 1, worker.W0, 1, worker.Eta, 1, count, 1, p, worker.B0, false, false);
            return;
        }
        if (units <= 0) return;
        double* hidden = _hidden[step & 1];
        DenseKernels.Multiply(input, p, 1, worker.W0, units, hidden + first, n, count, units, p, worker.B0, false, relu: true);
        if (_s.Dropout is { } dropout && dropout[0] > 0)
            for (int i = 0; i < count; i++)
                TrainingRandom.Dropout(hidden + (nint)i * n + first, units, dropout[0],
                    TrainingRandom.Key(_s.Seed, TrainingRandom.DropoutStream, step, (long)i * _layout.Layers), first);
    }

    /// <summary>
    /// After the barrier: the later layers on this worker's replica, the output deltas, backpropagation to this worker's
    /// block of hidden units, the gradients of its block and its replica, and their updates.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rest(int w, long step, int count)
    {
        var worker = _workers[w];
        var sizes = _layout.Sizes;
        int layers = _layout.Layers, p = sizes[0];
        double* hidden = _hidden[step & 1];
        double*[] act = worker.Act, delta = worker.Delta;
        // Activation feeding layer l (l >= 1), and the delta of layer 0 (shared, this worker's columns).
        double* Input(int l) => l == 1 ? hidden : act[l - 1];

        // Forward through the later layers (every row, every unit: the replica's own copy).
        for (int l = 1; l < layers; l++)
        {
            int k = sizes[l], n = sizes[l + 1];
            bool last = l == layers - 1;
            double* dst = last ? worker.Eta : act[l];
            DenseKernels.Multiply(Input(l), k, 1, worker.W[l], n, dst, n, count, n, k, worker.B[l], false, relu: !last);
            if (!last && _s.Dropout is { } dropout && dropout[l] > 0)
                for (int i = 0; i < count; i++)
                    TrainingRandom.Dropout(dst + (nint)i * n, n, dropout[l], TrainingRandom.Key(_s.Seed, TrainingRandom.DropoutStream, step, (long)i * layers + l));
        }

        // Output deltas: the derivative of the batch's mean loss.
        double* outDelta = layers == 1 ? worker.Eta : delta[layers - 1];
        double scale = 1.0 / count;
        for (int i = 0; i < count; i++)
        {
            double eta = worker.Eta[i], y = worker.Target[i];
            outDelta[i] = (_s.Family == Family.Gaussian ? eta - y : Metrics.Prediction.Logistic(eta) - y) * scale;
        }

        // Backward: full deltas of the replica's hidden layers, then this worker's block of layer 0's.
        int first = worker.First, units = worker.Units;
        for (int l = layers - 1; l >= 1; l--)
        {
            int k = sizes[l], n = sizes[l + 1];
            double* wt = l == layers - 1 ? worker.W[l] : Transpose(worker, l);
            double keep = _s.Dropout is { } dropout && dropout[l - 1] > 0 ? 1 / (1 - dropout[l - 1]) : 1;
            if (l >= 2)
            {
                DenseKernels.Multiply(delta[l], n, 1, wt, k, delta[l - 1], k, count, k, n, null, false, false);
                DenseKernels.MaskPositive(delta[l - 1], act[l - 1], (long)count * k, keep);
            }
            else if (units > 0)
            {
                DenseKernels.Multiply(delta[1], n, 1, wt + first, k, worker.Delta0, units, count, units, n, null, false, false);
                DenseKernels.MaskPositive(worker.Delta0, units, hidden + first, k, count, units, keep);
            }
        }

        // Gradients and updates: this worker's block of layer 0, then its replica of the later layers.
        var k0 = StepConstants.At(step, _s.LearningRate, _s.WeightDecay);
        double* delta0 = layers == 1 ? worker.Eta : worker.Delta0;
        if (units > 0)
        {
            DenseKernels.Multiply(worker.Input, 1, p, delta0, units, worker.G0, units, p, units, count, null, false, false);
            DenseKernels.SumRows(delta0, units, count, units, worker.GB0);
            if (layers == 1 && !_s.FitIntercept) worker.GB0[0] = 0;
            if (!_gradientOnly)
            {
                Step(worker.W0, worker.G0, worker.M0, worker.V0, worker.L2, worker.L1, worker.Decay, p * units, k0);
                Step(worker.B0, worker.GB0, worker.MB0, worker.VB0, _zeros, _zeros, _zeros, units, k0);
            }
        }
        for (int l = 1; l < layers; l++)
        {
            int k = sizes[l], n = sizes[l + 1];
            double* d = delta[l];
            DenseKernels.Multiply(Input(l), 1, k, d, n, worker.GW[l], n, k, n, count, null, false, false);
            DenseKernels.SumRows(d, n, count, n, worker.GB[l]);
            if (l == layers - 1 && !_s.FitIntercept) worker.GB[l][0] = 0;
            if (_gradientOnly) continue;
            int wo = _layout.WeightOffset[l], bo = _layout.BiasOffset[l];
            Step(worker.W[l], worker.GW[l], worker.MW[l], worker.VW[l], _l2 + wo, _l1 + wo, _decay + wo, k * n, k0);
            Step(worker.B[l], worker.GB[l], worker.MB[l], worker.VB[l], _l2 + bo, _l1 + bo, _decay + bo, n, k0);
        }
    }

    private double* Transpose(Worker worker, int l)
    {
        int k = _layout.Sizes[l], n = _layout.Sizes[l + 1];
        double* w = worker.W[l], t = worker.Transposed[l];
        for (int i = 0; i < k; i++)
            for (int o = 0; o < n; o++) t[o * k + i] = w[i * n + o];
        return t;
    }

    private void Step(double* w, double* g, double* m, double* v, double* l2, double* l1, double* decay, int count, in StepConstants k)
    {
        if (count <= 0) return;
        if (_s.Solver == SolverKind.Sgd)
            OptimizerKernels.Sgd(w, g, l2, l1, decay, count, k);
        else
            OptimizerKernels.Adam(w, g, m, v, l2, l1, decay, count, k, decoupled: _s.Solver == SolverKind.AdamW);
    }

    /// <summary>
    /// Evaluation mode over every slot: worker w of <paramref name="threads"/> takes its share of the fixed chunks, writes
    /// the linear predictor of their rows and each chunk's loss sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Evaluate(int w, int threads)
    {
        int c0 = (int)((long)_chunks.Length * w / threads), c1 = (int)((long)_chunks.Length * (w + 1) / threads);
        var buffers = _workers[w].Eval;
        int p = _layout.Inputs;
        var y = _data.Target;
        for (int c = c0; c < c1; c++)
        {
            var (first, count) = _chunks[c];
            double* input;
            if (_data.InPlace)
                input = _data.Row(first);
            else
            {
                _data.GatherRange(first, count, buffers.Input);
                input = buffers.Input;
            }
            NetworkPasses.Forward(_layout, _theta, input, p, buffers, count);
            double sum = 0;
            for (int i = 0; i < count; i++)
            {
                double eta = buffers.Eta[i];
                _eta[first + i] = eta;
                sum += Loss(_s.Family, y[first + i], eta);
            }
            _chunkLoss[c] = sum;
        }
    }

    /// <summary>The family's loss of one row: (y - eta)^2 / 2, or the log-loss log(1 + e^eta) - y eta.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double Loss(Family family, double y, double eta) =>
        family == Family.Gaussian
            ? 0.5 * (y - eta) * (y - eta)
            : Math.Max(eta, 0) + Math.Log(1 + Math.Exp(-Math.Abs(eta))) - y * eta;

    /// <summary>Worker 0 after an epoch's evaluation: the curve, early stopping, divergence, progress.</summary>
    private void EndEpoch(int epoch)
    {
        _epochsRun = epoch;
        double train = 0;
        for (int c = 0; c < _trainChunks; c++) train += _chunkLoss[c];
        train /= _trainSlots;
        _trainCurve.Add(train);
        double validation = double.NaN;
        if (_validationCurve is not null)
        {
            validation = 0;
            for (int c = _trainChunks; c < _chunks.Length; c++) validation += _chunkLoss[c];
            validation /= _data.ValidationRows.Length;
            _validationCurve.Add(validation);
        }
        _progress?.Report(new FitProgress((double)epoch / _s.Epochs, $"epoch {epoch} of {_s.Epochs}"));

        bool finite = double.IsFinite(train) && (_validationCurve is null || double.IsFinite(validation));
        if (!finite)
        {
            _reason = StopReason.Diverged;
            _divergedAt = epoch;
            Restore();
            _stop = true;
            return;
        }
        var theta = new Span<double>(_theta, _layout.Parameters);
        if (_validationCurve is null)
        {
            _bestEpoch = epoch;
            theta.CopyTo(_best);
        }
        else
        {
            var early = _s.EarlyStopping!;
            if (validation < _bestValidation - early.MinDelta) _wait = 0;
            else _wait++;
            if (validation < _bestValidation)
            {
                _bestValidation = validation;
                _bestEpoch = epoch;
                theta.CopyTo(_best);
            }
            if (_wait >= early.Patience)
            {
                _reason = StopReason.EarlyStopped;
                Restore();
                _stop = true;
                return;
            }
        }
        if (epoch == _s.Epochs) Restore();
    }

    private void Restore()
    {
        _best.AsSpan().CopyTo(new Span<double>(_theta, _layout.Parameters));
        _reevaluate = _bestEpoch != _epochsRun;
    }

    public void Dispose()
    {
        foreach (var w in _workers) w.Eval.Dispose();
        _memory.Dispose();
    }
}
