using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace RegService.Numerics.Training;

/// <summary>What a training run ended with.</summary>
internal sealed record TrainingOutcome(
    double[] Theta, int EpochsRun, int BestEpoch, StopReason StopReason, double[] TrainCurve, double[]? ValidationCurve,
    double[] Eta, int DivergedAt);

/// <summary>
/// The epoch loop of a stochastic fit, on one thread or several. Every epoch shuffles the training slots (each training
/// row <c>Copies</c> times), runs the mini-batches (<see cref="BatchStep"/>, one per worker), then scores every row in
/// evaluation mode (no dropout, no noise) for the learning curve and <see cref="EarlyStopping"/>.
/// </summary>
/// <remarks>
/// <para>
/// Workers split the first layer (<see cref="TrainingBuffers"/>) and meet at one <see cref="SpinBarrier"/> per mini-batch,
/// between their <see cref="BatchStep.FirstLayer"/> and the rest of the step, so the only data crossing cores per step is
/// the first layer's activations. Worker 0 also does the epoch's bookkeeping between barriers.
/// </para>
/// <para>
/// Nothing computed depends on the split (see <see cref="BatchStep"/>), and losses are summed per fixed chunk of
/// <see cref="EvalChunk"/> rows, then over chunks in order, so the same seed gives bit-identical results with any thread
/// count. Evaluation passes split the fixed chunks between the workers; rows are read in place from the row-major copy.
/// </para>
/// </remarks>
internal sealed unsafe class TrainingRun : IDisposable
{
    /// <summary>Rows per chunk of an evaluation pass.</summary>
    internal const int EvalChunk = 256;

    private readonly NetworkLayout _layout;
    private readonly TrainingData _data;
    private readonly TrainingSettings _s;
    private readonly TrainingBuffers _buffers;
    private readonly BatchStep[] _steps;
    private readonly BlockBuffers[] _eval;
    private readonly SpinBarrier _barrier;
    private readonly int[] _order;
    private readonly int _trainSlots;
    private readonly (int First, int Count)[] _chunks;
    private readonly int _trainChunks;
    private readonly double[] _chunkLoss;
    private readonly double[] _eta;
    private readonly double[] _best;

    // Written by worker 0 between barriers, read by all after them.
    private volatile bool _stop;
    private bool _reevaluate;
    private bool _canceled;
    private Exception? _failure;

    // Epoch bookkeeping (worker 0).
    private EarlyStopping _early;
    private readonly List<double> _trainCurve = [];
    private readonly List<double>? _validationCurve;
    private int _epochsRun;
    private int _divergedAt;
    private StopReason _reason = StopReason.EpochsExhausted;
    private IProgress<FitProgress>? _progress;

    public TrainingRun(NetworkLayout layout, TrainingData data, TrainingSettings settings, double[] initial, int threads)
    {
        _layout = layout;
        _data = data;
        _s = settings;
        _trainSlots = data.TrainRows.Length;
        _order = new int[checked(_trainSlots * settings.Copies)];
        _buffers = new TrainingBuffers(layout, TrainingBuffers.Penalty(layout, settings), initial, threads, Math.Min(settings.BatchSize, _order.Length));
        int workers = _buffers.Workers.Length;
        _steps = [.. Enumerable.Range(0, workers).Select(w => new BatchStep(data, settings, _buffers, w))];
        _eval = [.. Enumerable.Range(0, workers).Select(_ => new BlockBuffers(layout, EvalChunk, withInput: !data.InPlace))];
        _barrier = new SpinBarrier(workers);

        var chunks = new List<(int, int)>();
        for (int first = 0; first < _trainSlots; first += EvalChunk) chunks.Add((first, Math.Min(EvalChunk, _trainSlots - first)));
        _trainChunks = chunks.Count;
        for (int first = _trainSlots; first < data.Rows; first += EvalChunk) chunks.Add((first, Math.Min(EvalChunk, data.Rows - first)));
        _chunks = [.. chunks];
        _chunkLoss = new double[_chunks.Length];
        _eta = new double[data.Rows];
        _best = (double[])initial.Clone();
        _early = new EarlyStopping(settings.EarlyStopping);
        _validationCurve = settings.EarlyStopping is null ? null : [];
    }

    public TrainingOutcome Run(IProgress<FitProgress>? progress, CancellationToken ct)
    {
        _progress = progress;
        var threads = new Thread[_steps.Length - 1];
        for (int w = 1; w < _steps.Length; w++)
        {
            int id = w;
            threads[w - 1] = new Thread(() => Work(id, ct), maxStackSize: 1 << 20) { IsBackground = true, Name = $"RegService training {id}" };
            threads[w - 1].Start();
        }
        Work(0, ct);
        foreach (var t in threads) t.Join();
        if (_failure is not null) ExceptionDispatchInfo.Capture(_failure).Throw();
        if (_canceled) throw new OperationCanceledException(ct);

        return new TrainingOutcome(Theta.ToArray(), _epochsRun, _early.BestEpoch, _reason,
            [.. _trainCurve], _validationCurve?.ToArray(), (double[])_eta.Clone(), _divergedAt);
    }

    private Span<double> Theta => new(_buffers.Theta, _layout.Parameters);

    private void Work(int w, CancellationToken ct)
    {
        try
        {
            var batchStep = _steps[w];
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
                    batchStep.FirstLayer(new ReadOnlySpan<int>(_order, start, count), epoch, step, start);
                    _barrier.SignalAndWait();
                    if (_stop) return;
                    batchStep.Gradients(step, count);
                    batchStep.Update(step);
                    if (w == 0 && ct.IsCancellationRequested)
                    {
                        _canceled = true;
                        _stop = true;
                    }
                }
                _buffers.WriteBack(w);
                _barrier.SignalAndWait();
                if (_stop) return;
                Evaluate(w);
                _barrier.SignalAndWait();
                if (w == 0) EndEpoch(epoch);
                _barrier.SignalAndWait();
                if (_stop || epoch == _s.Epochs)
                {
                    // The linear predictor of the kept weights: the last pass's unless an earlier epoch's were restored.
                    if (_reevaluate) Evaluate(w);
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

    /// <summary>
    /// Evaluation mode over every slot: worker w takes its share of the fixed chunks, writes the linear predictor of their
    /// rows and each chunk's loss sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Evaluate(int w)
    {
        int workers = _steps.Length;
        int c0 = (int)((long)_chunks.Length * w / workers), c1 = (int)((long)_chunks.Length * (w + 1) / workers);
        var buffers = _eval[w];
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
            NetworkPasses.Forward(_layout, _buffers.Theta, input, p, buffers, count);
            double sum = 0;
            for (int i = 0; i < count; i++)
            {
                double eta = buffers.Eta[i];
                _eta[first + i] = eta;
                sum += TrainingLoss.Of(_s.Family, y[first + i], eta);
            }
            _chunkLoss[c] = sum;
        }
    }

    /// <summary>Worker 0 after an epoch's evaluation: the curve, progress, the verdict of early stopping.</summary>
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
        _progress?.Report(new FitProgress((double)epoch / _s.Epochs, $"epoch {epoch} of {_s.Epochs}")
        {
            Epoch = epoch,
            Epochs = _s.Epochs,
            Loss = train,
            ValidationLoss = _validationCurve is null ? null : validation,
        });

        var verdict = _early.Observe(epoch, train, validation);
        if (verdict.Best) Theta.CopyTo(_best);
        if (verdict.Stop is { } reason)
        {
            _reason = reason;
            if (reason == StopReason.Diverged) _divergedAt = epoch;
            _stop = true;
        }
        if (_stop || epoch == _s.Epochs)
        {
            // Keep the best epoch's weights; their linear predictor is then computed again unless they are the last pass's.
            _best.AsSpan().CopyTo(Theta);
            _reevaluate = _early.BestEpoch != epoch;
        }
    }

    public void Dispose()
    {
        foreach (var e in _eval) e.Dispose();
        _buffers.Dispose();
    }
}
