using System.Collections.Concurrent;

namespace RegService.Api.Jobs;

/// <summary>Wakes idle workers when a fit is queued (the store stays the source of truth; workers also poll).</summary>
public interface IFitQueueSignal
{
    void Notify();

    /// <summary>Waits for a notification or the timeout; true when notified.</summary>
    Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct);
}

/// <summary>The in-process signal: enough when one process owns the store.</summary>
public sealed class FitQueueSignal : IFitQueueSignal
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void Notify() => _signal.Release();

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

/// <summary>A fit running in this process: how to stop it and the lease it holds.</summary>
public sealed class RunningFit(CancellationTokenSource source, string leaseToken)
{
    public CancellationTokenSource Source { get; } = source;
    public string LeaseToken { get; } = leaseToken;

    /// <summary>Set by the heartbeat when the store says another attempt holds the job now.</summary>
    public volatile bool LeaseLost;

    /// <summary>Set when the run has ended here (its final state written or given up).</summary>
    public volatile bool Done;

    /// <summary>Cancels the run; false when it has already ended and its token source is gone.</summary>
    public bool TryCancel()
    {
        try
        {
            Source.Cancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }
}

/// <summary>The fits running in this process.</summary>
public sealed class RunningFits
{
    private readonly ConcurrentDictionary<string, RunningFit> _running = new();

    // Cancels that arrived between a claim and the fit's registration here, by arrival time.
    private readonly ConcurrentDictionary<string, long> _early = new();

    /// <summary>Registers a claimed fit; a cancel that arrived since the claim stops it at once.</summary>
    public RunningFit Add(string id, CancellationTokenSource source, string leaseToken)
    {
        var run = _running[id] = new RunningFit(source, leaseToken);
        if (_early.TryRemove(id, out _)) source.Cancel();
        return run;
    }

    public void Remove(string id) => _running.TryRemove(id, out _);

    public IEnumerable<KeyValuePair<string, RunningFit>> Snapshot() => _running.ToArray();

    /// <summary>
    /// Asks a running fit to stop; true if it runs here. A fit not registered yet (claimed a moment
    /// ago, here or on another replica) is remembered for a minute, so a registration that follows
    /// stops at once; on another replica the heartbeat sees the store's flag.
    /// </summary>
    public bool Cancel(string id)
    {
        if (!_running.TryGetValue(id, out var run))
        {
            long now = Environment.TickCount64;
            foreach (var (old, at) in _early)
                if (now - at > 60_000) _early.TryRemove(old, out _);
            _early[id] = now;
            if (_running.TryGetValue(id, out var registered) && _early.TryRemove(id, out _)) registered.Source.Cancel();
            return false;
        }
        try
        {
            run.Source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return true;
    }
}
