namespace RegService.Numerics.Training;

/// <summary>
/// A barrier for a few threads that meet every few tens of microseconds (once per mini-batch): waiters spin, then yield,
/// and only then block on a monitor (<see cref="Spinning"/>). <see cref="Abort"/> releases
/// every waiter with an exception, so a failing worker cannot leave the others waiting.
/// </summary>
internal sealed class SpinBarrier(int parties)
{
    private readonly object _lock = new();
    private readonly int _parties = parties;
    private int _remaining = parties;
    private int _phase;
    private int _sleepers;
    private volatile bool _aborted;

    /// <summary>Releases every waiter, now and later, with <see cref="OperationCanceledException"/>.</summary>
    public void Abort()
    {
        _aborted = true;
        lock (_lock) Monitor.PulseAll(_lock);
    }

    public void SignalAndWait()
    {
        if (_parties == 1) return;
        if (_aborted) throw new OperationCanceledException("training stopped");
        int phase = Volatile.Read(ref _phase);
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _remaining = _parties;
            Interlocked.Increment(ref _phase);   // a full fence: the reset above is visible before the release
            if (Volatile.Read(ref _sleepers) > 0)
                lock (_lock) Monitor.PulseAll(_lock);
            return;
        }
        for (int spins = 0; Volatile.Read(ref _phase) == phase; spins++)
        {
            if (_aborted) throw new OperationCanceledException("training stopped");
            if (Spinning.Wait(spins)) continue;
            lock (_lock)
            {
                Interlocked.Increment(ref _sleepers);   // a full fence before reading the phase (pairs with the releaser's)
                while (Volatile.Read(ref _phase) == phase && !_aborted) Monitor.Wait(_lock, 10);
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }
}
