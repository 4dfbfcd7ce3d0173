using RegService.Numerics.Data;

namespace RegService.Api.Infrastructure;

/// <summary>Where the embedded store keeps its files (configuration section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Directory holding <c>regservice.db</c> (SQLite, WAL) and <c>datasets/</c>. Default <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary><c>sqlite</c> (the embedded default) or <c>postgres</c> (shared by replicas; needs <see cref="ConnectionString"/>).</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>PostgreSQL: an Npgsql connection string, e.g. <c>Host=db;Database=regservice;Username=regservice;Password=...</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>PostgreSQL: bytes of data set matrices each replica keeps in its local file cache (under DataDirectory). Default 4 GiB.</summary>
    public long CacheBytes { get; set; } = 4L << 30;
}

/// <summary>The fit queue and its workers (configuration section <c>Jobs</c>).</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Concurrent fits in this process; default the processor count. 0 accepts fits but runs none.</summary>
    public int? Workers { get; set; }

    /// <summary>Most fits waiting in the queue; beyond it POST /v1/fits answers 429.</summary>
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>Attempts a fit gets when the process dies under it before it is marked failed.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Seconds given in Retry-After when the queue is full.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>How often an idle worker looks at the store even without a signal, in milliseconds.</summary>
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>Threads a single fit's kernels may use; 0 means all processors.</summary>
    public int ThreadsPerFit { get; set; }

    /// <summary>Seconds a claimed fit's lease lasts; the runner renews it every third of that. Default 30.</summary>
    public int LeaseSeconds { get; set; } = 30;

    public int EffectiveWorkers => Workers ?? Environment.ProcessorCount;
}

/// <summary>Data set uploads (configuration section <c>Datasets</c>).</summary>
public sealed class DatasetOptions
{
    public const string Section = "Datasets";

    /// <summary>Largest upload body in bytes; larger ones answer 413. Default 1 GiB.</summary>
    public long MaxUploadBytes { get; set; } = 1L << 30;

    /// <summary>Most columns in an upload or a prediction's rows; a header with more answers 400. Default 100,000.</summary>
    public int MaxColumns { get; set; } = 100_000;

    /// <summary>Longest column or data set name, in characters; a longer one answers 400. Default 256.</summary>
    public int MaxNameLength { get; set; } = 256;

    /// <summary>The readers' limits from these settings.</summary>
    public TableLimits TableLimits => new(MaxColumns, MaxNameLength);
}

/// <summary>Fit requests (configuration section <c>Fits</c>).</summary>
public sealed class FitsOptions
{
    public const string Section = "Fits";

    /// <summary>
    /// Largest fit request body in bytes; larger ones answer 413 before they are parsed. Default 64 MiB:
    /// validation.foldIds holds one integer per data set row, so a request for millions of rows is tens of MB.
    /// </summary>
    public long MaxRequestBytes { get; set; } = 64L << 20;
}
