namespace RegService.Numerics.Training;

/// <summary>What to do after an epoch: whether its weights are the best so far (keep a copy), and whether to stop.</summary>
/// <param name="Best">This epoch's weights are the best so far: keep a copy of them.</param>
/// <param name="Stop">Stop training (<see cref="StopReason.EarlyStopped"/> or <see cref="StopReason.Diverged"/>); null: go on.</param>
internal readonly record struct EpochVerdict(bool Best, StopReason? Stop);

/// <summary>
/// Which epoch's weights a run keeps, and when it stops. With a rule (scikit-learn's): the epoch of least validation loss
/// (ties: the earlier) is the best, and training stops once the loss has not improved on the best by more than MinDelta
/// for Patience epochs in a row. Without one, every epoch is the best (the last is kept). Either way a loss that is not
/// finite stops training as diverged, with the best finite epoch kept (0: the initial weights).
/// </summary>
internal struct EarlyStopping(EarlyStoppingSpec? rule)
{
    private double _bestLoss = double.PositiveInfinity;
    private int _wait;

    /// <summary>The epoch whose weights are kept (0: the initial weights).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>
    /// The verdict on epoch <paramref name="epoch"/> with mean training loss <paramref name="train"/> and validation loss
    /// <paramref name="validation"/> (ignored without a rule).
    /// </summary>
    public EpochVerdict Observe(int epoch, double train, double validation)
    {
        if (!double.IsFinite(train) || (rule is not null && !double.IsFinite(validation))) return new(false, StopReason.Diverged);
        if (rule is null)
        {
            BestEpoch = epoch;
            return new(true, null);
        }
        if (validation < _bestLoss - rule.MinDelta) _wait = 0;
        else _wait++;
        bool best = validation < _bestLoss;
        if (best)
        {
            _bestLoss = validation;
            BestEpoch = epoch;
        }
        return new(best, _wait >= rule.Patience ? StopReason.EarlyStopped : null);
    }
}
