using Npgsql;
using RegService.Api.Jobs;

namespace RegService.Api.Storage.Postgres;

/// <summary>
/// Wakes idle workers on every replica when a fit is queued anywhere: <see cref="Notify"/> sends
/// <c>NOTIFY regservice_fits</c>, and one dedicated (unpooled) connection per replica LISTENs and
/// releases the local waiters. The listener starts with the first wait, in the background, so a
/// database that is down never blocks startup; it reconnects with backoff (0.5 s doubling to 10 s)
/// after the database restarts and wakes the workers once on reconnecting, since notifications sent
/// meanwhile are lost. Workers still poll every Jobs:PollMilliseconds, so a lost wake-up only delays.
/// </summary>
public sealed class PostgresQueueSignal : IFitQueueSignal, IDisposable
{
    public const string Channel = "regservice_fits";

    private readonly PostgresDatabase _store;
    private readonly ILogger<PostgresQueueSignal> _logger;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startGate = new();
    private Task? _listener;

    public PostgresQueueSignal(PostgresDatabase store, ILogger<PostgresQueueSignal> logger)
    {
        _store = store;
        _logger = logger;
    }

    /// <summary>True while the listening connection is up (for tests and diagnostics).</summary>
    public bool Listening { get; private set; }

    public void Notify()
    {
        Release();   // this replica's workers at once
        try
        {
            using var connection = _store.Open();
            using var command = new NpgsqlCommand($"NOTIFY {Channel}", connection);
            command.ExecuteNonQuery();
        }
        catch (Exception ex) when (PostgresDatabase.IsUnavailable(ex))
        {
            // The fit is stored; other replicas find it by polling.
            _logger.LogWarning(ex, "Could not notify other replicas of a queued fit");
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        EnsureListening();
        return _signal.WaitAsync(timeout, ct);
    }

    /// <summary>Starts the background listener if it is not running.</summary>
    public void EnsureListening()
    {
        if (_listener is not null) return;
        lock (_startGate)
            _listener ??= Task.Run(() => ListenAsync(_stopping.Token));
    }

    private void Release()
    {
        // Keep at most a few pending wake-ups: they only make idle workers look at the store.
        if (_signal.CurrentCount < 64) _signal.Release();
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        bool failedBefore = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(_store.ConnectionString) { Pooling = false, KeepAlive = 10 };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(ct);
                connection.Notification += (_, _) => Release();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                    await listen.ExecuteNonQueryAsync(ct);
                Listening = true;
                backoff = TimeSpan.FromMilliseconds(500);
                if (failedBefore) _logger.LogInformation("Listening for queued fits again");
                failedBefore = false;
                Release();   // fits queued while not listening
                while (!ct.IsCancellationRequested)
                {
                    // A quiet minute: check the connection is still alive (WaitAsync throws once it breaks).
                    if (!await connection.WaitAsync(TimeSpan.FromSeconds(60), ct))
                    {
                        await using var ping = new NpgsqlCommand("SELECT 1", connection);
                        await ping.ExecuteNonQueryAsync(ct);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Listening = false;
                if (!failedBefore) _logger.LogWarning(ex, "Not listening for queued fits (retrying; workers poll meanwhile)");
                failedBefore = true;
                Release();
                try
                {
                    await Task.Delay(backoff, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
        Listening = false;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            _listener?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stopping.Dispose();
    }
}
