namespace RegService.Api.Infrastructure;

/// <summary>What one tenant, and one fit, may use (configuration section <c>Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>Requests per second per tenant (a token bucket); 0 turns the limit off. Default 100.</summary>
    public int RequestsPerSecond { get; set; } = 100;

    /// <summary>Requests a tenant may send at once above the steady rate. Default 200.</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Queued fits per tenant; beyond it POST /v1/fits answers 429. Default 200.</summary>
    public int MaxQueuedFitsPerTenant { get; set; } = 200;

    /// <summary>Largest estimated peak memory of one fit, in bytes; default a quarter of the machine's memory.</summary>
    public long? MaxFitMemoryBytes { get; set; }

    /// <summary>Largest estimated work of one fit, in floating-point operations; default 1e14 (minutes on 2 cores).</summary>
    public double MaxFitWork { get; set; } = 1e14;

    /// <summary>
    /// Progress watchers held open at once by this process: event streams (GET /v1/fits/{id}/events) and long-polls
    /// (GET /v1/fits/{id}?waitSeconds=); beyond it they answer 429. Each reads its fit's row every 250 ms. Default 200.
    /// </summary>
    public int MaxProgressStreams { get; set; } = 200;

    /// <summary>Progress watchers one tenant may hold open at once on this process; beyond it they answer 429. Default 20.</summary>
    public int MaxProgressStreamsPerTenant { get; set; } = 20;

    /// <summary>
    /// Seconds any fit may run (at most 2592000); null (the default) for no server-wide limit. A request's timeLimitSeconds
    /// applies too, and the smaller wins: a path fit past it keeps its completed lambdas (result.partial), another fails.
    /// </summary>
    public double? MaxFitSeconds { get; set; }
}

/// <summary>The <c>type</c> URIs of the service's own problem kinds (RFC 9457).</summary>
public static class ProblemTypes
{
    public const string RateLimited = "urn:regservice:problem:rate-limited";
    public const string QueueFull = "urn:regservice:problem:queue-full";
    public const string TenantQueueFull = "urn:regservice:problem:tenant-queue-full";
    public const string FitTooLarge = "urn:regservice:problem:fit-too-large";
    public const string TooManyStreams = "urn:regservice:problem:too-many-streams";
    public const string StoreUnavailable = "urn:regservice:problem:store-unavailable";
    public const string InsufficientStorage = "urn:regservice:problem:insufficient-storage";
}
