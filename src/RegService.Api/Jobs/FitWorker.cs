using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;
using RegService.Numerics;
using RegService.Numerics.Fitting;

namespace RegService.Api.Jobs;

/// <summary>
/// Runs queued fits: <see cref="JobsOptions.EffectiveWorkers"/> loops each claim the oldest queued fit
/// under a lease, run it, and store the result while the lease is still theirs. A heartbeat renews the
/// leases of the fits running here, stops a fit whose cancel was asked (through any replica) or whose
/// lease was lost, and rescues fits whose lease expired on a replica that died. A fit interrupted
/// because the host is stopping goes back to the queue without counting the attempt. A result that
/// cannot be written (store down, disk full) is kept and written again until the store answers.
/// A fit's time limit (its timeLimitSeconds, the server's Limits:MaxFitSeconds; the smaller) cancels the same token the
/// engine watches; the worker tells it from a cancel: a path fit past it with lambdas completed succeeds with a partial
/// result (reason timeLimit), one canceled with lambdas completed is canceled with its partial result stored, and a fit
/// with nothing to keep fails ("Time limit exceeded") or is canceled as before.
/// </summary>
public sealed class FitWorker(
    IFitStore fits,
    IDatasetStore datasets,
    IFitRunner runner,
    IFitQueueSignal signal,
    RunningFits running,
    IStoreHealth store,
    JsonSerializerOptionsProvider json,
    IOptions<JobsOptions> options,
    IOptions<LimitsOptions> limits,
    ILogger<FitWorker> logger) : BackgroundService
{
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}"[..^24];

    private TimeSpan Lease => TimeSpan.FromSeconds(Math.Max(1, options.Value.LeaseSeconds));

    /// <summary>
    /// Since when the store has answered this replica without a failure (a <see cref="Stopwatch"/>
    /// timestamp), or 0 while it fails. Expired leases are rescued only once the store has answered
    /// for a whole lease: after an outage every lease has expired by the database's clock, and the
    /// replicas that hold them (alive, some with a finished result waiting to be written) need a
    /// third of a lease to renew them. Rescuing at once would drop those results and count attempts
    /// that no crash caused (and repeated outages would fail fits with "Too many attempts").
    /// </summary>
    private long _answeringSince = Stopwatch.GetTimestamp();

    private void StoreAnswered() => Interlocked.CompareExchange(ref _answeringSince, Stopwatch.GetTimestamp(), 0);

    private void StoreFailed() => Interlocked.Exchange(ref _answeringSince, 0);

    private bool StoreAnsweredForALease()
    {
        long since = Interlocked.Read(ref _answeringSince);
        return since != 0 && Stopwatch.GetElapsedTime(since) >= Lease;
    }

    private string Failure => JsonSerializer.Serialize(new JobError("Too many attempts",
        $"the process running this fit stopped or lost it {options.Value.MaxAttempts} times; it is not retried again"), json.Options);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        // A store this process owns alone (SQLite): every running fit was left by a process that died.
        await Retry(() => Rescue(all: fits.OwnsAllJobs), "rescue interrupted fits", stoppingToken);
        await Retry(() => datasets.RemoveOrphans(), "remove orphaned data set files", stoppingToken);

        int workers = settings.EffectiveWorkers;
        logger.LogInformation("Starting {Workers} fit workers ({Owner})", workers, _owner);
        var loops = Enumerable.Range(0, workers).Select(i => Task.Run(() => LoopAsync(i, stoppingToken), CancellationToken.None)).ToList();
        loops.Add(Task.Run(() => HeartbeatAsync(stoppingToken), CancellationToken.None));
        await Task.WhenAll(loops);
    }

    private void Rescue(bool all)
    {
        var counts = fits.RescueExpired(options.Value.MaxAttempts, Failure, all);
        if (counts.Total > 0)
            logger.LogWarning("Rescued fits whose runner stopped: {Requeued} requeued, {Failed} failed, {Canceled} canceled",
                counts.Requeued, counts.Failed, counts.Canceled);
    }

    private async Task LoopAsync(int worker, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromMilliseconds(Math.Max(50, options.Value.PollMilliseconds));
        var backoff = poll;
        int failures = 0;
        // Claim until the queue is empty: at start (fits left by an earlier process), and after a wait that timed out.
        bool drain = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            FitRecord? job;
            try
            {
                job = await fits.TryClaimNextAsync(_owner, Lease, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The store itself failed (disk full, unreachable): wait and try again rather than spin,
                // backing off from the poll interval to 5 s, and log the first failure of a run only
                // (an outage would otherwise log a stack trace per worker every poll).
                StoreFailed();
                if (failures++ == 0) logger.LogError(ex, "Fit worker {Worker} could not reach the store; retrying with backoff", worker);
                else logger.LogDebug(ex, "Fit worker {Worker} still cannot reach the store ({Failures} failures)", worker, failures);
                await Delay(backoff, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, Math.Max(poll.Ticks, TimeSpan.FromSeconds(5).Ticks)));
                continue;
            }
            if (failures > 0) logger.LogInformation("Fit worker {Worker} reached the store again after {Failures} failures", worker, failures);
            failures = 0;
            backoff = poll;
            StoreAnswered();
            try
            {
                if (job is null)
                {
                    drain = !await signal.WaitAsync(poll, stoppingToken);
                    continue;
                }
                await RunAsync(job, stoppingToken);
                // A store this process owns alone (SQLite) has a signal for every fit queued: a worker woken by one waits
                // for the next rather than claim from a queue that is most likely empty (a write statement that finds nothing).
                if (!drain && fits.OwnsAllJobs) drain = !await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // RunAsync handles the fit's own failures; this is a bug or a store failure outside them.
                logger.LogError(ex, "Fit worker {Worker} failed", worker);
                await Delay(poll, stoppingToken);
            }
        }
    }

    /// <summary>Renews leases every third of a lease, stops fits canceled elsewhere or lost, rescues expired ones.</summary>
    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        var period = Lease / 3;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Delay(period, stoppingToken);
            if (stoppingToken.IsCancellationRequested) break;
            foreach (var (id, run) in running.Snapshot())
            {
                LeaseState state;
                try
                {
                    state = fits.Renew(id, run.LeaseToken, Lease);
                    StoreAnswered();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    StoreFailed();
                    logger.LogWarning(ex, "Could not renew the lease of fit {JobId}", id);
                    continue;
                }
                // A fit that ended here since the snapshot released its lease itself (Lost) and may have
                // disposed its token source: there is nothing to stop and nothing to report.
                if (run.Done) continue;
                switch (state)
                {
                    case LeaseState.CancelRequested:
                        run.TryCancel();
                        break;
                    case LeaseState.Lost:
                        run.LeaseLost = true;
                        if (run.TryCancel() && !run.Done)
                            logger.LogWarning("Fit {JobId} lost its lease (rescued elsewhere or removed); stopping it here", id);
                        break;
                }
            }
            if (!fits.OwnsAllJobs)
            {
                try
                {
                    // Until the store has answered for a whole lease (at start, or after an outage),
                    // only probe it: the replicas holding the expired leases renew them meanwhile.
                    if (StoreAnsweredForALease()) Rescue(all: false);
                    else store.Probe();
                    StoreAnswered();
                }
                catch (Exception ex)
                {
                    StoreFailed();
                    logger.LogWarning(ex, "Could not look for expired leases");
                }
            }
        }
    }

    private async Task RunAsync(FitRecord job, CancellationToken stoppingToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = job.Id });
        using var source = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        // The time limit cancels the token the fit runs with, not the run's own source: a fit past it is told from a canceled one.
        using var timeLimit = new CancellationTokenSource();
        using var fitSource = CancellationTokenSource.CreateLinkedTokenSource(source.Token, timeLimit.Token);
        var token = job.LeaseToken ?? throw new InvalidOperationException($"fit {job.Id} was claimed without a lease");
        var run = running.Add(job.Id, source, token);
        var watch = Stopwatch.StartNew();
        double? seconds = null;
        try
        {
            // A cancel asked before the claim; one asked since reaches RunningFits.Add (this process) or the heartbeat.
            if (job.CancelRequested) source.Cancel();
            logger.LogInformation("Fit started (attempt {Attempt})", job.Attempts);
            var submission = StoredSubmission.Read(job.RequestJson, json.Options);
            seconds = TimeLimit(submission.Request.TimeLimitSeconds, limits.Value.MaxFitSeconds);
            if (seconds is { } limit) timeLimit.CancelAfter(TimeSpan.FromSeconds(limit));
            StoredResult result;
            using (var progress = new StoreProgress(fits, job.Id, token, json.Options, logger))
                result = await RunThroughStoreFaults(job, submission, progress, run, fitSource.Token);
            if (result.PartialReason == ResultMapper.CanceledReason)
            {
                // The engine kept the lambdas it finished before the token fired: whose cancellation was it? A lost lease
                // and a stopping host end the run as they do any other (below); a cancel stores the partial result.
                if (run.LeaseLost || stoppingToken.IsCancellationRequested) throw new OperationCanceledException(source.Token);
                if (source.IsCancellationRequested)
                {
                    var kept = JsonSerializer.Serialize(result, json.Options);
                    if (await Write(() => fits.MarkCanceled(job.Id, token, kept), run, "cancellation", stoppingToken))
                        logger.LogInformation("Fit canceled after {Seconds:F3} s, keeping the {Lambdas} lambdas it completed",
                            watch.Elapsed.TotalSeconds, result.Model.Path.Lambdas.Length);
                    return;
                }
                result = result with { PartialReason = ResultMapper.TimeLimitReason };
            }
            var document = JsonSerializer.Serialize(result, json.Options);
            if (await Write(() => fits.Succeed(job.Id, token, document), run, "result", stoppingToken))
                logger.LogInformation("Fit succeeded in {Seconds:F3} s{Partial}", watch.Elapsed.TotalSeconds,
                    result.PartialReason is { } reason ? $" with a partial result ({reason})" : "");
        }
        catch (OperationCanceledException) when (run.LeaseLost)
        {
            logger.LogInformation("Fit stopped: its lease is held elsewhere now");
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await Write(() => fits.ReturnToQueue(job.Id, token), run, "return to the queue", CancellationToken.None, attempts: 3);
            logger.LogInformation("Fit returned to the queue: the host is stopping");
        }
        catch (OperationCanceledException) when (source.IsCancellationRequested)
        {
            await Write(() => fits.MarkCanceled(job.Id, token), run, "cancellation", stoppingToken);
            logger.LogInformation("Fit canceled after {Seconds:F3} s", watch.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (timeLimit.IsCancellationRequested)
        {
            await Fail(job, token, run, "Time limit exceeded",
                $"the fit ran for its time limit of {seconds:G6} s (the smaller of timeLimitSeconds and the server's Limits:MaxFitSeconds) "
                + "without completing a lambda it could keep (bayesianRidge, sgd, adam, adamW and mlp fits keep none)", stoppingToken);
        }
        catch (FitFailedException ex)
        {
            await Fail(job, token, run, ex.Title, ex.Message, stoppingToken);
        }
        catch (Exception ex) when (StoreFaults.Classify(ex) is { } fault)
        {
            logger.LogError(ex, "The store failed {Tries} times while the fit read its data", StoreTries);
            await Fail(job, token, run, fault.Title,
                $"the store failed {StoreTries} times while the fit read its data set ({ex.GetType().Name}: {ex.Message.Split('\n')[0].Trim()}); "
                + "submit the fit again once the store answers", stoppingToken);
        }
        catch (NumericalBreakdownException ex)
        {
            await Fail(job, token, run, "Numerical breakdown", ex.Message, stoppingToken);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Fit failed unexpectedly");
            await Fail(job, token, run, "Internal error",
                $"the fit failed unexpectedly ({ex.GetType().Name}); the server log has the details under job id {job.Id}", stoppingToken);
        }
        finally
        {
            run.Done = true;
            running.Remove(job.Id);
        }
    }

    /// <summary>Tries of a run whose reads of its data set fail on the store (<see cref="RunThroughStoreFaults"/>).</summary>
    public const int StoreTries = 8;

    /// <summary>
    /// Runs the fit; when the store fails under it (unreachable, locked: <see cref="StoreFaults.Classify"/>), which can only be
    /// while the run reads its data set (the engine does not touch the store, and a failed progress write is skipped), runs it
    /// again after a pause that doubles from 100 ms to 5 s, up to <see cref="StoreTries"/> tries in all. A database restarted
    /// under a running fit is the store's outage, not the fit's failure; the lease is renewed meanwhile by the heartbeat.
    /// </summary>
    private async Task<StoredResult> RunThroughStoreFaults(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress,
        RunningFit run, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await runner.RunAsync(job, submission, progress, ct);
            }
            catch (Exception ex) when (attempt < StoreTries && !ct.IsCancellationRequested && !run.LeaseLost
                                       && StoreFaults.Classify(ex) is not null)
            {
                logger.LogWarning(ex, "The store failed while the fit read its data; trying again in {Delay} ms (try {Try} of {Tries})",
                    (int)delay.TotalMilliseconds, attempt + 1, StoreTries);
                await Delay(delay, ct);
                ct.ThrowIfCancellationRequested();
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>The time limit of a fit: the smaller of the request's and the server's; null when neither is set.</summary>
    internal static double? TimeLimit(double? requested, double? server) => (requested, server) switch
    {
        ({ } r, { } s) => Math.Min(r, s),
        ({ } r, null) => r,
        (null, var s) => s,
    };

    private async Task Fail(FitRecord job, string token, RunningFit run, string title, string detail, CancellationToken stoppingToken)
    {
        var error = JsonSerializer.Serialize(new JobError(title, detail), json.Options);
        if (await Write(() => fits.Fail(job.Id, token, error), run, "failure", stoppingToken))
            logger.LogWarning("Fit failed: {Title}: {Detail}", title, detail);
    }

    /// <summary>
    /// Writes a final state, again and again while the store refuses (backing off to 10 s), until it
    /// is written, the lease is lost, or the host stops. False when it was not written.
    /// </summary>
    private async Task<bool> Write(Func<bool> write, RunningFit run, string what, CancellationToken stoppingToken, int attempts = int.MaxValue)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                if (write()) return true;
                logger.LogWarning("The {What} was not written: the lease is held elsewhere now", what);
                return false;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (run.LeaseLost || stoppingToken.IsCancellationRequested || attempt >= attempts)
                {
                    logger.LogError(ex, "Could not write the {What}; the lease will expire and the fit will be rescued", what);
                    return false;
                }
                logger.LogWarning(ex, "Could not write the {What}; retrying in {Delay} ms", what, (int)delay.TotalMilliseconds);
                await Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private async Task Retry(Action action, string what, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                action();
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Could not {What}; retrying", what);
                await Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    private static Task Delay(TimeSpan delay, CancellationToken ct) =>
        Task.Delay(delay, ct).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    /// <summary>
    /// Writes progress to the store at most every 200 ms, starting 200 ms after the claim (which stored
    /// stage <c>starting</c>), so a fit that ends sooner costs no progress write. A report that comes too
    /// soon is kept and written when its 200 ms are up, unless a newer one replaced it, so the stage a fit
    /// is in shows within 200 ms even when it then computes for minutes without reporting. A failed write
    /// is skipped, not fatal; after <see cref="Dispose"/> nothing more is written. Each write stores the report's detail
    /// (lambda, fold, epoch, loss: <see cref="ProgressDetail"/>) as JSON beside the fraction and stage, in the same statement.
    /// </summary>
    private sealed class StoreProgress(IFitStore fits, string id, string token, JsonSerializerOptions json, ILogger logger)
        : IProgress<FitProgress>, IDisposable
    {
        private const long IntervalMs = 200;
        private readonly object _gate = new();
        private long _last = Environment.TickCount64;
        private FitProgress? _pending;
        private Timer? _timer;
        private bool _disposed;

        public void Report(FitProgress value)
        {
            lock (_gate)
            {
                if (_disposed) return;
                long wait = IntervalMs - (Environment.TickCount64 - _last);
                if (wait > 0)
                {
                    _pending = value;
                    _timer ??= new Timer(_ => Flush(), null, Timeout.Infinite, Timeout.Infinite);
                    _timer.Change(wait, Timeout.Infinite);
                    return;
                }
                _pending = null;
                _last = Environment.TickCount64;
            }
            Write(value);
        }

        private void Flush()
        {
            FitProgress value;
            lock (_gate)
            {
                if (_disposed || _pending is not { } pending) return;
                value = pending;
                _pending = null;
                _last = Environment.TickCount64;
            }
            Write(value);
        }

        private void Write(FitProgress value)
        {
            try
            {
                var detail = JsonSerializer.Serialize(ProgressDetail.Of(value), json);
                fits.UpdateProgress(id, token, Math.Clamp(value.Fraction, 0, 1), value.Stage, detail == "{}" ? null : detail);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not store the progress of fit {JobId}", id);
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _timer?.Dispose();
            }
        }
    }
}
