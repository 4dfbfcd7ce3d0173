using System.Collections.Concurrent;
using Npgsql;
using RegService.Api.Auth;
using RegService.Api.Jobs;

namespace RegService.Api.Storage.Postgres;

/// <summary>
/// This replica's one LISTEN connection (dedicated, unpooled), for two channels:
/// <list type="bullet">
/// <item><c>regservice_fits</c>: a fit was queued on some replica. The enqueue statement notifies in
/// its own transaction, so every replica (this one included) wakes one idle worker per queued fit.</item>
/// <item><c>regservice_keys</c>: a key was revoked on some replica: every replica drops its cached
/// key lookups (see <see cref="ApiKeyCache"/>).</item>
/// </list>
/// The listener starts with the first use, in the background, so a database that is down never blocks
/// startup; it reconnects with backoff (0.5 s doubling to 10 s) after the database restarts. While it
/// is not listening, workers poll every Jobs:PollMilliseconds and key lookups bypass the cache; on
/// reconnecting it wakes the workers and drops the cache once, since notifications sent meanwhile are lost.
/// </summary>
public sealed class PostgresListener : IFitQueueSignal, IKeyRevocations, IDisposable
{
    public const string FitsChannel = "regservice_fits";
    public const string KeysChannel = "regservice_keys";

    private readonly PostgresDatabase _store;
    private readonly ILogger<PostgresListener> _logger;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startGate = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _echoes = new();
    private Task? _listener;
    private volatile bool _listening;
    private int _disposed;

    public PostgresListener(PostgresDatabase store, ILogger<PostgresListener> logger)
    {
        _store = store;
        _logger = logger;
    }

    /// <summary>True while the listening connection is up.</summary>
    public bool Listening => _listening;

    /// <summary>Revocations reach this replica only while it listens.</summary>
    public bool Live
    {
        get
        {
            EnsureListening();
            return _listening;
        }
    }

    public event Action? Revoked;

    /// <summary>
    /// The enqueue statement has already notified every replica; this only wakes a local worker when
    /// the notification cannot arrive (not listening).
    /// </summary>
    public void Notify()
    {
        if (!_listening) Release();
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        EnsureListening();
        return _signal.WaitAsync(timeout, ct);
    }

    /// <summary>
    /// Tells every replica that a key was revoked, and waits (up to 2 s) for the notification to come back
    /// to this replica: PostgreSQL sends it to every listener at the same commit, so by then the others
    /// have it too (within their own processing time, milliseconds).
    /// </summary>
    public void Publish()
    {
        Revoked?.Invoke();
        var token = Guid.NewGuid().ToString("N");
        var echo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool wait = _listening && _echoes.TryAdd(token, echo);
        try
        {
            using var connection = _store.Open();
            using var command = new NpgsqlCommand("SELECT pg_notify(@channel, @token)", connection);
            command.Parameters.AddWithValue("channel", KeysChannel);
            command.Parameters.AddWithValue("token", token);
            command.ExecuteNonQuery();
            if (wait && !echo.Task.Wait(TimeSpan.FromSeconds(2)))
                _logger.LogWarning("A key revocation was not echoed within 2 s; other replicas may accept the key for a moment longer");
        }
        catch (Exception ex) when (PostgresDatabase.IsUnavailable(ex))
        {
            // The revocation is stored; replicas that missed it drop their caches when they reconnect.
            _logger.LogWarning(ex, "Could not notify other replicas of a revoked key");
        }
        finally
        {
            _echoes.TryRemove(token, out _);
        }
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

    private void OnNotification(object? sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Channel == FitsChannel)
        {
            Release();
            return;
        }
        Revoked?.Invoke();
        if (_echoes.TryGetValue(e.Payload, out var echo)) echo.TrySetResult();
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
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand($"LISTEN {FitsChannel}; LISTEN {KeysChannel}", connection))
                    await listen.ExecuteNonQueryAsync(ct);
                _listening = true;
                backoff = TimeSpan.FromMilliseconds(500);
                if (failedBefore) _logger.LogInformation("Listening for queued fits and revoked keys again");
                failedBefore = false;
                Release();          // fits queued while not listening
                Revoked?.Invoke();  // keys revoked while not listening
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
                _listening = false;
                if (!failedBefore) _logger.LogWarning(ex, "Not listening for queued fits and revoked keys (retrying; workers poll and keys are looked up meanwhile)");
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
        _listening = false;
    }

    /// <summary>Stops listening. Idempotent: the container disposes it once per interface it serves.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
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
