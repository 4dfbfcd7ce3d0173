using System.Runtime.ExceptionServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Helper threads of one fit's many short parallel loops (the proximal-Newton passes of <see cref="LogisticPass"/> and
/// <see cref="GradientBounds"/>' sweeps; the multinomial passes) that wait between loops spinning, not parked in the thread pool. A pass of poisson_path_50k_200 is 13 row segments and
/// 2-3 ms; from <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> the pool's second thread started so late
/// that the calling thread had run every segment alone in about half of the passes (docs/benchmarks.md, 2026-12-06, wave 9).
/// A helper waits as <see cref="Spinning"/> says after each loop (a pause for about 100 microseconds: the solver's steps
/// between passes are shorter; then yields; then blocks); after <see cref="IdleMilliseconds"/> with no loop it ends,
/// and the next loop starts another. The caller takes items too and waits only for items a helper has taken, so a helper
/// that is late costs nothing but its share. Which thread runs an item does not change what the item computes.
/// </summary>
internal sealed class FitTeam(int helpers)
{
    /// <summary>A helper blocked this long with no loop ends (a fit left without <see cref="Stop"/> leaves no thread behind).</summary>
    internal const int IdleMilliseconds = 250;

    private readonly object _lock = new();
    private volatile Job? _job;
    private int _sleepers;
    private int _running;           // helpers alive (under _lock)
    private volatile bool _stopped;
    private int _wakes;             // Wake calls (under _lock)

    /// <summary>One loop: its body, its item count, the next item to take and the items finished.</summary>
    private sealed class Job(int count, Action<int> body)
    {
        public readonly int Count = count;
        public readonly Action<int> Body = body;
        public int Next;
        public int Done;
        public Exception? Error;

        /// <summary>Takes and runs items until none is left.</summary>
        public void Work()
        {
            for (int i = Interlocked.Increment(ref Next) - 1; i < Count; i = Interlocked.Increment(ref Next) - 1)
            {
                try
                {
                    if (Volatile.Read(ref Error) is null) Body(i);   // after a failure the items left are only counted
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Error, e, null);
                }
                Interlocked.Increment(ref Done);
            }
        }
    }

    /// <summary>Runs <paramref name="body"/>(i) for i below <paramref name="count"/>, on this thread and the helpers.</summary>
    public void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (_stopped) throw new ObjectDisposedException(nameof(FitTeam));
        var job = new Job(count, body);
        _job = job;   // a volatile write: the job's fields are visible before it is
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _sleepers) > 0 || Volatile.Read(ref _running) < helpers)
        {
            lock (_lock)
            {
                while (_running < helpers)
                {
                    _running++;
                    new Thread(Loop) { IsBackground = true, Name = "RegService fit helper" }.Start();
                }
                Monitor.PulseAll(_lock);
            }
        }
        job.Work();
        // Only items a helper took are left: wait for those.
        for (int spins = 0; Volatile.Read(ref job.Done) < count; spins++)
        {
            if (!Spinning.Wait(spins)) Thread.Yield();
        }
        _job = null;
        if (job.Error is { } error) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>
    /// Wakes blocked helpers ahead of a loop the caller expects shortly (they wait for it spinning, as after a loop), so the
    /// loop does not pay their wake-up: a blocked helper took a few of the items of a short loop, or none.
    /// </summary>
    public void Wake()
    {
        if (_stopped || Volatile.Read(ref _sleepers) == 0) return;
        lock (_lock)
        {
            _wakes++;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>The helpers end (the fit is over); a later <see cref="For"/> is an error.</summary>
    public void Stop()
    {
        _stopped = true;
        lock (_lock) Monitor.PulseAll(_lock);
    }

    private void Loop()
    {
        Job? last = null;
        while (true)
        {
            Job? job;
            for (int spins = 0; ((job = _job) is null || job == last) && !_stopped; spins++)
            {
                if (Spinning.Wait(spins)) continue;
                lock (_lock)
                {
                    Interlocked.Increment(ref _sleepers);   // a full fence before reading the job (pairs with the caller's)
                    bool signaled = true;
                    int wakes = _wakes;
                    while (((job = _job) is null || job == last) && !_stopped && signaled && _wakes == wakes)
                        signaled = Monitor.Wait(_lock, IdleMilliseconds);
                    Interlocked.Decrement(ref _sleepers);
                    if (!signaled && ((job = _job) is null || job == last))
                    {
                        _running--;   // idle: this helper ends; the next loop starts another
                        return;
                    }
                }
                spins = 0;
            }
            if (_stopped)
            {
                lock (_lock) _running--;
                return;
            }
            last = job;
            job!.Work();
        }
    }
}
