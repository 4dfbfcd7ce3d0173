using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;

namespace RegService.Api.Jobs;

/// <summary>
/// Watchers of a fit's progress (event streams and long-polls). They read the store, not this process's workers, so a
/// fit running on any replica is watched the same way; each reads its fit's row (without the result) every
/// <see cref="PollInterval"/>, and their number is bounded in total and per tenant (Limits:MaxProgressStreams,
/// Limits:MaxProgressStreamsPerTenant), so their cost to the store is bounded too.
/// </summary>
public sealed class FitWatchers(IOptions<LimitsOptions> limits)
{
    /// <summary>How often a watcher reads its fit's row: about the rate at which a worker stores progress (every 200 ms at most).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly Dictionary<string, int> _perTenant = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Watchers open now in this process.</summary>
    public int Count
    {
        get
        {
            lock (_perTenant) return _total;
        }
    }

    /// <summary>A slot for one watcher of <paramref name="tenant"/>, released on dispose; null when either limit is reached.</summary>
    public IDisposable? TryEnter(string tenant)
    {
        var settings = limits.Value;
        lock (_perTenant)
        {
            int mine = _perTenant.GetValueOrDefault(tenant);
            if (_total >= settings.MaxProgressStreams || mine >= settings.MaxProgressStreamsPerTenant) return null;
            _perTenant[tenant] = mine + 1;
            _total++;
        }
        return new Slot(this, tenant);
    }

    /// <summary>The 429 for a watcher over either limit, naming the limit reached.</summary>
    public ProblemHttpResult TooMany(HttpContext http)
    {
        var settings = limits.Value;
        bool all = Count >= settings.MaxProgressStreams;
        return Problems.TooMany(http, ProblemTypes.TooManyStreams, "Too many progress streams",
            all
                ? $"this server already serves {settings.MaxProgressStreams} progress streams and long-polls (Limits:MaxProgressStreams); retry after 5 s"
                : $"this tenant already holds {settings.MaxProgressStreamsPerTenant} progress streams and long-polls open (Limits:MaxProgressStreamsPerTenant); close one or retry after 5 s",
            5, all ? "Limits:MaxProgressStreams" : "Limits:MaxProgressStreamsPerTenant");
    }

    private void Leave(string tenant)
    {
        lock (_perTenant)
        {
            _total--;
            if (--_perTenant[tenant] == 0) _perTenant.Remove(tenant);
        }
    }

    /// <summary>
    /// Reads the fit every <see cref="PollInterval"/> until what a watcher sees of it (<see cref="Changed"/>) differs from
    /// <paramref name="last"/>, or <paramref name="wait"/> has passed (then <paramref name="last"/> comes back), or it is
    /// gone (null). Cancellation throws.
    /// </summary>
    public static async Task<FitRecord?> NextChange(IFitStore fits, string tenant, FitRecord last, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return last;
            await Task.Delay(left < PollInterval ? left : PollInterval, ct);
            var now = fits.GetState(tenant, last.Id);
            if (now is null || Changed(last, now)) return now;
        }
    }

    /// <summary>True when the status, progress (fraction, stage, detail), attempt or cancel flag differ.</summary>
    public static bool Changed(FitRecord before, FitRecord after) =>
        before.Status != after.Status || before.Progress != after.Progress || before.Stage != after.Stage ||
        before.ProgressJson != after.ProgressJson || before.Attempts != after.Attempts || before.CancelRequested != after.CancelRequested;

    /// <summary>True for succeeded, failed and canceled.</summary>
    public static bool Finished(FitRecord record) => record.Status is not (JobStatus.Queued or JobStatus.Running);

    private sealed class Slot(FitWatchers owner, string tenant) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Leave(tenant);
        }
    }
}
