using System.Collections.Concurrent;

namespace RegService.Api.Jobs;

/// <summary>Wakes idle workers when a fit is queued (the store stays the source of truth).</summary>
public sealed class FitQueueSignal
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void Notify() => _signal.Release();

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

/// <summary>Cancellation sources of the fits running in this process.</summary>
public sealed class RunningFits
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();

    public void Add(string id, CancellationTokenSource source) => _running[id] = source;

    public void Remove(string id) => _running.TryRemove(id, out _);

    /// <summary>Asks a running fit to stop; true if it runs here.</summary>
    public bool Cancel(string id)
    {
        if (!_running.TryGetValue(id, out var source)) return false;
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return true;
    }
}
