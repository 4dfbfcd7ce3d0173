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
/// from the store, run it, and store the result. A fit that fails never stops its loop; a fit
/// interrupted because the host is stopping goes back to the queue instead of failing.
/// </summary>
public sealed class FitWorker(
    FitStore fits,
    DatasetStore datasets,
    IFitRunner runner,
    FitQueueSignal signal,
    RunningFits running,
    JsonSerializerOptionsProvider json,
    IOptions<JobsOptions> options,
    ILogger<FitWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var failure = JsonSerializer.Serialize(new JobError("Too many attempts",
            $"the process stopped while this fit was running, {settings.MaxAttempts} times; it is not retried again"), json.Options);
        var (requeued, failed, canceled) = fits.RecoverInterrupted(settings.MaxAttempts, failure);
        if (requeued + failed + canceled > 0)
            logger.LogWarning("Recovered fits interrupted by a stop: {Requeued} requeued, {Failed} failed, {Canceled} canceled", requeued, failed, canceled);
        datasets.RemoveOrphans();

        int workers = settings.EffectiveWorkers;
        logger.LogInformation("Starting {Workers} fit workers", workers);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(i => Task.Run(() => LoopAsync(i, stoppingToken), CancellationToken.None)));
    }

    private async Task LoopAsync(int worker, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromMilliseconds(Math.Max(50, options.Value.PollMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var job = await fits.TryClaimNextAsync(stoppingToken);
                if (job is null)
                {
                    await signal.WaitAsync(poll, stoppingToken);
                    continue;
                }
                await RunAsync(job, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The store itself failed (disk full, locked): wait and try again rather than spin.
                logger.LogError(ex, "Fit worker {Worker} could not reach the store", worker);
                await Task.Delay(poll, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task RunAsync(FitRecord job, CancellationToken stoppingToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = job.Id });
        using var source = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        running.Add(job.Id, source);
        var watch = Stopwatch.StartNew();
        try
        {
            // A DELETE may have landed between the claim and the registration above.
            if (fits.Get(job.Id)?.CancelRequested == true) source.Cancel();
            logger.LogInformation("Fit started (attempt {Attempt})", job.Attempts);
            var request = JsonSerializer.Deserialize<FitRequest>(job.RequestJson, json.Options)!;
            var progress = new StoreProgress(fits, job.Id);
            var result = await runner.RunAsync(job, request, progress, source.Token);
            fits.Succeed(job.Id, JsonSerializer.Serialize(result, json.Options));
            logger.LogInformation("Fit succeeded in {Seconds:F3} s", watch.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            fits.ReturnToQueue(job.Id);
            logger.LogInformation("Fit returned to the queue: the host is stopping");
        }
        catch (OperationCanceledException) when (source.IsCancellationRequested)
        {
            fits.MarkCanceled(job.Id);
            logger.LogInformation("Fit canceled after {Seconds:F3} s", watch.Elapsed.TotalSeconds);
        }
        catch (FitFailedException ex)
        {
            Fail(job, ex.Title, ex.Message);
        }
        catch (NumericalBreakdownException ex)
        {
            Fail(job, "Numerical breakdown", ex.Message);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Fit failed unexpectedly");
            Fail(job, "Internal error", $"the fit failed unexpectedly ({ex.GetType().Name}); the server log has the details under job id {job.Id}");
        }
        finally
        {
            running.Remove(job.Id);
        }
    }

    private void Fail(FitRecord job, string title, string detail)
    {
        fits.Fail(job.Id, JsonSerializer.Serialize(new JobError(title, detail), json.Options));
        logger.LogWarning("Fit failed: {Title}: {Detail}", title, detail);
    }

    /// <summary>Writes progress to the store at most every 200 ms.</summary>
    private sealed class StoreProgress(FitStore fits, string id) : IProgress<FitProgress>
    {
        private long _last = -1;

        public void Report(FitProgress value)
        {
            long now = Environment.TickCount64;
            if (_last >= 0 && now - _last < 200) return;
            _last = now;
            fits.UpdateProgress(id, Math.Clamp(value.Fraction, 0, 1), value.Stage);
        }
    }
}
