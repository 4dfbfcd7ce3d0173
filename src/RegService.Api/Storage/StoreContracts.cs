using RegService.Api.Datasets;
using RegService.Api.Fits;
using RegService.Numerics.Data;

namespace RegService.Api.Storage;

/// <summary>
/// A fit job as stored. <see cref="LeaseToken"/> is set while a worker holds the job; <see cref="ProgressJson"/> holds the
/// latest progress detail (lambda, fold, epoch, loss: <see cref="ProgressDetail"/>) while it runs and after it fails or
/// is canceled.
/// </summary>
public sealed record FitRecord(
    string Id, string Tenant, string DatasetId, JobStatus Status, string RequestJson, DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, int Attempts, double Progress, string? Stage,
    bool CancelRequested, string? ResultJson, string? ErrorJson, string? LeaseToken = null, string? ProgressJson = null);

/// <summary>What became of a submission.</summary>
public enum EnqueueOutcome { Queued, QueueFull, TenantQueueFull, DatasetNotFound }

/// <summary>What became of a cancel request.</summary>
public enum CancelOutcome { NotFound, CanceledQueued, RequestedRunning, AlreadyFinished }

/// <summary>What became of a delete request (fits and data sets).</summary>
public enum DeleteOutcome { NotFound, Deleted, Active }

/// <summary>
/// A data set's matrix was read after the data set was deleted (a request that found its record raced with its delete).
/// Answered 404 as an unknown data set is: the client's view is that it no longer exists.
/// </summary>
public sealed class DatasetGoneException(string datasetId, Exception? inner = null)
    : Exception($"data set {datasetId} was deleted while it was being read", inner)
{
    public string DatasetId { get; } = datasetId;
}

/// <summary>Jobs moved by a rescue of expired (or, at an owning start, all) leases.</summary>
public readonly record struct RescueCounts(int Requeued, int Failed, int Canceled)
{
    public int Total => Requeued + Failed + Canceled;
}

/// <summary>A running job's lease as its holder sees it after a heartbeat.</summary>
public enum LeaseState { Held, CancelRequested, Lost }

/// <summary>
/// Fit jobs. Every read and change a client makes is scoped by tenant: another tenant's id behaves
/// exactly as an unknown one. Workers hold a claimed job by a lease token: progress, the result and
/// the final state are written only while the token is the job's current one, so a worker that lost
/// its lease (expired, rescued by another) cannot overwrite a newer attempt.
/// </summary>
public interface IFitStore
{
    /// <summary>True when one process owns the store (SQLite): at its start every running job was left by a process that died.</summary>
    bool OwnsAllJobs { get; }

    /// <summary>
    /// Inserts a queued job, in one transaction with the checks that the data set still exists for the
    /// tenant and that neither the whole queue (<paramref name="capacity"/>) nor the tenant's share
    /// (<paramref name="tenantCapacity"/>) is full.
    /// </summary>
    /// <remarks><paramref name="queued"/> is the job as inserted (status queued) when the outcome is <see cref="EnqueueOutcome.Queued"/>, else null.</remarks>
    EnqueueOutcome TryEnqueue(string id, string tenant, string datasetId, string requestJson, int capacity, int tenantCapacity, out FitRecord? queued);

    /// <inheritdoc cref="TryEnqueue(string, string, string, string, int, int, out FitRecord?)"/>
    EnqueueOutcome TryEnqueue(string id, string tenant, string datasetId, string requestJson, int capacity, int tenantCapacity) =>
        TryEnqueue(id, tenant, datasetId, requestJson, capacity, tenantCapacity, out _);

    FitRecord? Get(string tenant, string id);

    /// <summary>The job without its result (<see cref="FitRecord.ResultJson"/> null): what a watcher of its progress reads, often.</summary>
    FitRecord? GetState(string tenant, string id);

    /// <summary>The tenant's jobs, newest first, optionally of one status and of one data set.</summary>
    (List<FitRecord> Items, int Total) List(string tenant, JobStatus? status, string? datasetId, int offset, int limit);

    /// <summary>Moves the oldest queued job to running under a new lease held by <paramref name="owner"/>, counting the attempt.</summary>
    Task<FitRecord?> TryClaimNextAsync(string owner, TimeSpan lease, CancellationToken ct);

    /// <summary>Extends a held lease; says whether it is still held and whether a cancel was asked.</summary>
    LeaseState Renew(string id, string leaseToken, TimeSpan lease);

    /// <summary>Stores the fraction, the stage and the progress detail (JSON, null for none) while the lease is held.</summary>
    void UpdateProgress(string id, string leaseToken, double fraction, string stage, string? detailJson = null);

    /// <summary>Stores the result if the lease is still held. False when it is not (the result is dropped).</summary>
    bool Succeed(string id, string leaseToken, string resultJson);

    /// <summary>Fails a job held under <paramref name="leaseToken"/> (or a queued one, when the token is null).</summary>
    bool Fail(string id, string? leaseToken, string errorJson);

    /// <summary>Cancels a job held under <paramref name="leaseToken"/>, storing what it finished (a partial result) when there is one.</summary>
    bool MarkCanceled(string id, string leaseToken, string? resultJson = null);

    /// <summary>Back to the queue because the host is stopping: the attempt does not count.</summary>
    bool ReturnToQueue(string id, string leaseToken);

    /// <summary>Cancels a queued job at once, or flags a running one for its holder.</summary>
    CancelOutcome Cancel(string tenant, string id);

    /// <summary>Deletes a finished job (succeeded, failed or canceled); an active one is <see cref="DeleteOutcome.Active"/>.</summary>
    DeleteOutcome Delete(string tenant, string id);

    /// <summary>
    /// Jobs whose lease has expired (every running job when <paramref name="all"/>, as at the start of a
    /// process that owns the store alone) go back to the queue, or fail once they have had
    /// <paramref name="maxAttempts"/> attempts, or end canceled when a cancel was asked.
    /// </summary>
    RescueCounts RescueExpired(int maxAttempts, string failureJson, bool all);
}

/// <summary>
/// Data sets: metadata and the immutable float64 column-major matrix. Client reads and deletes are
/// scoped by tenant; workers read a job's data set through the job's tenant.
/// </summary>
public interface IDatasetStore
{
    /// <summary>Stores a parsed table; a failure at any step leaves nothing half-stored.</summary>
    Task<Dataset> AddAsync(string tenant, string name, ColumnTable table, CancellationToken ct);

    /// <summary>
    /// The data set's record; without <paramref name="withColumns"/> its <see cref="Dataset.Columns"/> is empty and the
    /// column summaries (one per column: 50,000 on a wide data set) are neither read nor parsed.
    /// </summary>
    Dataset? Get(string tenant, string id, bool withColumns = true);

    DatasetPage List(string tenant, int offset, int limit);

    /// <summary>Deletes a data set unless a queued or running fit reads it (one transaction with fit submission).</summary>
    DeleteOutcome Delete(string tenant, string id);

    /// <summary>Reads a stored matrix into memory.</summary>
    DenseMatrix LoadMatrix(Dataset dataset);

    /// <summary>Reads one column without loading the others.</summary>
    double[] ReadColumn(Dataset dataset, int column);

    /// <summary>Removes matrix files or chunks that no data set names (left by a crash between steps).</summary>
    int RemoveOrphans();
}

/// <summary>An API key as listed: never its secret.</summary>
public sealed record ApiKeyRecord(string Id, string Tenant, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>API keys, stored only as SHA-256 hashes of the secret.</summary>
public interface IApiKeyStore
{
    void Add(ApiKeyRecord key, string secretHash);

    /// <summary>The key with this hash (revoked ones included, so the caller can tell revoked from unknown).</summary>
    ApiKeyRecord? FindByHash(string secretHash);

    IReadOnlyList<ApiKeyRecord> List();

    /// <summary>Revokes at once; false for an unknown id. Revoking twice keeps the first time.</summary>
    bool Revoke(string id);
}

/// <summary>The store's own health: whether it answers reads and takes writes.</summary>
public interface IStoreHealth
{
    /// <summary>Throws when the store cannot be read or written (a small write is part of the probe).</summary>
    void Probe();
}

public static class JobStatusNames
{
    /// <summary>The status as stored and as the wire spells it: queued, running, succeeded, failed, canceled.</summary>
    public static string Name(this JobStatus status) => status.ToString().ToLowerInvariant();
}
