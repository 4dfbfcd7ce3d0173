using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;

namespace RegService.Api.Fits;

/// <summary>
/// Live progress of a fit: <c>GET /v1/fits/{id}/events</c> (server-sent events) and the long-poll of
/// <c>GET /v1/fits/{id}?waitSeconds=N</c>. Both read the fit's row in the store (<see cref="FitWatchers"/>), so they
/// follow a fit that runs on any replica, and both end when the host stops or the client goes away.
/// </summary>
public static class FitEventsApi
{
    /// <summary>The longest long-poll, in seconds.</summary>
    public const int MaxWaitSeconds = 60;

    /// <summary>A comment line goes out after this long without an event, so proxies keep the stream open.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static RouteGroupBuilder MapFitEvents(this RouteGroupBuilder group)
    {
        group.MapGet("/{id}/events", Stream)
            .WithName("StreamFitEvents")
            .WithSummary("Follow a fit's progress as server-sent events (text/event-stream) until it ends")
            .WithDescription($$"""
                Each event is "event: progress" (while queued or running: first the current state, then whenever the stored
                status or progress changes) or "event: end" (once, when the fit has succeeded, failed or been canceled; then
                the stream closes). Every "data:" line is the fit job as GET /v1/fits lists it (no result): id, status,
                progress {fraction, stage, lambda, lambdaIndex, lambdaCount, devianceRatio, fold, folds, foldsDone, epoch,
                epochs, loss, validationLoss, etaSeconds}, timings, error. A ": keep-alive" comment line comes every
                {{KeepAlive.TotalSeconds:0}} s without an event. Progress is read from the store every
                {{FitWatchers.PollInterval.TotalMilliseconds:0}} ms and a worker stores it at most every 200 ms, so events come
                at most about 4 a second. Browsers cannot set headers on EventSource: read the stream with fetch() and a
                reader, sending the Authorization header. 404 for an unknown fit (another tenant's included), 429 (with
                Retry-After) when Limits:MaxProgressStreams or Limits:MaxProgressStreamsPerTenant streams and long-polls
                are open already.
                """)
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .AllowQuery();
        return group;
    }

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> Stream(
        string id, HttpContext http, ClaimsPrincipal user, IFitStore fits, FitWatchers watchers, JsonSerializerOptionsProvider json,
        IOptions<JsonOptions> httpJson, IHostApplicationLifetime lifetime, ILoggerFactory loggers)
    {
        var tenant = user.Tenant();
        if (fits.GetState(tenant, id) is not { } current) return Problems.NotFound("Fit", id, "id");
        using var slot = watchers.TryEnter(tenant);
        if (slot is null) return watchers.TooMany(http);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";   // nginx: pass events on as they come
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await Send(http, current, json, httpJson.Value.SerializerOptions, stop.Token);
            while (!FitWatchers.Finished(current))
            {
                var next = await FitWatchers.NextChange(fits, tenant, current, KeepAlive, stop.Token);
                if (next is null) break;   // deleted (only a finished fit can be, so its end was sent)
                if (ReferenceEquals(next, current))
                {
                    await Write(http, ": keep-alive\n\n", stop.Token);
                    continue;
                }
                current = next;
                await Send(http, current, json, httpJson.Value.SerializerOptions, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away or the host is stopping: the stream just ends.
        }
        catch (Exception ex) when (http.Response.HasStarted)
        {
            // The store failed mid-stream: a problem document cannot follow events, so the stream ends and the
            // client reconnects (EventSource does so by itself).
            loggers.CreateLogger("Fits").LogWarning(ex, "The progress stream of fit {JobId} ended: the store failed", id);
        }
        return TypedResults.Empty;
    }

    /// <summary>
    /// The long-poll of GET /v1/fits/{id}?waitSeconds=N: waits until the fit's status or progress changes from what it is
    /// when the request arrives, or N seconds pass, or it has finished. Null when the caller should answer with the fit
    /// as it is now; otherwise the 400, 404 or 429 to answer.
    /// </summary>
    public static async Task<IResult?> Wait(string id, string waitSeconds, HttpContext http, string tenant, IFitStore fits,
        FitWatchers watchers, IHostApplicationLifetime lifetime)
    {
        if (!int.TryParse(waitSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds > MaxWaitSeconds)
            return Problems.Invalid("waitSeconds", $"must be a whole number of seconds from 0 to {MaxWaitSeconds}; got '{waitSeconds}'",
                QueryParameters.Title);
        if (fits.GetState(tenant, id) is not { } current) return Problems.NotFound("Fit", id, "id");
        if (seconds == 0 || FitWatchers.Finished(current)) return null;
        using var slot = watchers.TryEnter(tenant);
        if (slot is null) return watchers.TooMany(http);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            await FitWatchers.NextChange(fits, tenant, current, TimeSpan.FromSeconds(seconds), stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The host is stopping (answer with the fit as it is) or the client went away (nobody reads the answer).
        }
        return null;
    }

    /// <summary>One event: the job as the list gives it, written with the HTTP settings (plain numbers, nulls left out).</summary>
    private static Task Send(HttpContext http, FitRecord record, JsonSerializerOptionsProvider json, JsonSerializerOptions options, CancellationToken ct)
    {
        var data = JsonSerializer.Serialize(FitsApi.ToJob(record, json, includeResult: false), options);
        return Write(http, $"event: {(FitWatchers.Finished(record) ? "end" : "progress")}\ndata: {data}\n\n", ct);
    }

    private static async Task Write(HttpContext http, string text, CancellationToken ct)
    {
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
        await http.Response.Body.FlushAsync(ct);
    }
}
