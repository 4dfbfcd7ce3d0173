using Npgsql;
using NpgsqlTypes;
using RegService.Api.Fits;

namespace RegService.Api.Storage.Postgres;

/// <summary>
/// Fit jobs in PostgreSQL, shared by replicas. Every state change is one statement guarded by the
/// state it leaves and, for a worker, by its lease token (the SQLite store's semantics). Leases
/// expire by the database's clock (<c>now()</c>), so the replicas' clocks do not matter. Claims take
/// the oldest queued job with <c>FOR UPDATE SKIP LOCKED</c>, so replicas never wait on each other.
/// </summary>
public sealed class PostgresFitStore(PostgresDatabase store) : IFitStore
{
    private const string Columns =
        "id, tenant, dataset_id, status, request_json, created_at, started_at, finished_at, attempts, progress, stage, cancel_requested, result_json, error, lease_token, progress_json";

    private const string Release = "lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL";

    /// <summary>Replicas share the jobs: a running job may be another replica's, so only expired leases are rescued.</summary>
    /// <summary>The columns of <see cref="Columns"/> with the result left out (NULL in its place).</summary>
    private const string StateColumns =
        "id, tenant, dataset_id, status, request_json, created_at, started_at, finished_at, attempts, progress, stage, cancel_requested, NULL, error, lease_token, progress_json";

    public bool OwnsAllJobs => false;

    /// <summary>
    /// One statement, <c>regservice_enqueue</c> (schema version 2): a share lock on the data set row (a
    /// concurrent delete, which takes it <c>FOR UPDATE</c>, either ran first and the row is gone, or
    /// waits and then sees this fit), then a transaction-scoped advisory lock that serializes enqueues
    /// across replicas, so the two capacity counts and the insert are one step and the queue never
    /// exceeds its capacity; the commit wakes every replica's workers (<c>pg_notify</c>). One round
    /// trip, so the lock is held only inside the server.
    /// </summary>
    public EnqueueOutcome TryEnqueue(string id, string tenant, string datasetId, string requestJson, int capacity, int tenantCapacity,
        out FitRecord? queued)
    {
        var outcome = Enqueue(id, tenant, datasetId, requestJson, capacity, tenantCapacity);
        // The row as stored (its created_at is the database's now()), read back.
        queued = outcome == EnqueueOutcome.Queued ? Get(tenant, id) : null;
        return outcome;
    }

    private EnqueueOutcome Enqueue(string id, string tenant, string datasetId, string requestJson, int capacity, int tenantCapacity)
    {
        using var connection = store.Open();
        using var command = Command(connection, "SELECT regservice_enqueue(@id, @tenant, @dataset, @request, @capacity, @tenantCapacity)");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("tenant", tenant);
        command.Parameters.AddWithValue("dataset", datasetId);
        command.Parameters.AddWithValue("request", requestJson);
        command.Parameters.AddWithValue("capacity", (long)capacity);
        command.Parameters.AddWithValue("tenantCapacity", (long)tenantCapacity);
        return command.ExecuteScalar() switch
        {
            "queued" => EnqueueOutcome.Queued,
            "dataset_not_found" => EnqueueOutcome.DatasetNotFound,
            "tenant_queue_full" => EnqueueOutcome.TenantQueueFull,
            "queue_full" => EnqueueOutcome.QueueFull,
            var other => throw new InvalidOperationException($"regservice_enqueue answered '{other}'"),
        };
    }

    public FitRecord? Get(string tenant, string id) => Select(Columns, tenant, id);

    public FitRecord? GetState(string tenant, string id) => Select(StateColumns, tenant, id);

    private FitRecord? Select(string columns, string tenant, string id)
    {
        using var connection = store.Open();
        using var command = Command(connection, $"SELECT {columns} FROM fits WHERE id = @id AND tenant = @tenant");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("tenant", tenant);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    public (List<FitRecord> Items, int Total) List(string tenant, JobStatus? status, string? datasetId, int offset, int limit)
    {
        using var connection = store.Open();
        var filter = "WHERE tenant = @tenant" + (status is null ? "" : " AND status = @status") + (datasetId is null ? "" : " AND dataset_id = @dataset");
        void Bind(NpgsqlCommand c)
        {
            c.Parameters.AddWithValue("tenant", tenant);
            if (status is not null) c.Parameters.AddWithValue("status", status.Value.Name());
            if (datasetId is not null) c.Parameters.AddWithValue("dataset", datasetId);
        }
        using var command = Command(connection, $"SELECT {Columns} FROM fits {filter} ORDER BY seq DESC LIMIT @limit OFFSET @offset");
        command.Parameters.AddWithValue("limit", (long)limit);
        command.Parameters.AddWithValue("offset", (long)offset);
        Bind(command);
        var items = new List<FitRecord>();
        using (var reader = command.ExecuteReader())
            while (reader.Read()) items.Add(Read(reader));
        using var count = Command(connection, $"SELECT count(*) FROM fits {filter}");
        Bind(count);
        return (items, Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<FitRecord?> TryClaimNextAsync(string owner, TimeSpan lease, CancellationToken ct)
    {
        await using var connection = await store.OpenAsync(ct);
        await using var command = Command(connection, $"""
            UPDATE fits SET status = 'running', attempts = attempts + 1, started_at = now(), progress = 0, stage = 'starting', progress_json = NULL,
                lease_token = @token, lease_owner = @owner, lease_expires_at = now() + @lease
            WHERE seq = (SELECT seq FROM fits WHERE status = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
              AND status = 'queued'
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("token", Guid.NewGuid().ToString("N"));
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("lease", NpgsqlDbType.Interval, lease);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public LeaseState Renew(string id, string leaseToken, TimeSpan lease)
    {
        using var connection = store.Open();
        using var command = Command(connection, """
            UPDATE fits SET lease_expires_at = now() + @lease WHERE id = @id AND status = 'running' AND lease_token = @token
            RETURNING cancel_requested
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("token", leaseToken);
        command.Parameters.AddWithValue("lease", NpgsqlDbType.Interval, lease);
        return command.ExecuteScalar() switch
        {
            null => LeaseState.Lost,
            true => LeaseState.CancelRequested,
            _ => LeaseState.Held,
        };
    }

    public void UpdateProgress(string id, string leaseToken, double fraction, string stage, string? detailJson = null) =>
        Execute("UPDATE fits SET progress = @p, stage = @s, progress_json = @d WHERE id = @id AND status = 'running' AND lease_token = @token",
            ("id", id), ("token", leaseToken), ("p", fraction), ("s", stage), ("d", (object?)detailJson ?? DBNull.Value));

    public bool Succeed(string id, string leaseToken, string resultJson) =>
        Execute($"""
            UPDATE fits SET status = 'succeeded', progress = 1, stage = 'done', progress_json = NULL, result_json = @r, finished_at = now(), lease_token = NULL, lease_expires_at = NULL
            WHERE id = @id AND status = 'running' AND lease_token = @token
            """, ("id", id), ("token", leaseToken), ("r", resultJson)) == 1;

    public bool Fail(string id, string? leaseToken, string errorJson) => leaseToken is null
        ? Execute("UPDATE fits SET status = 'failed', stage = 'failed', error = @e, finished_at = now() WHERE id = @id AND status = 'queued'",
            ("id", id), ("e", errorJson)) == 1
        : Execute("""
            UPDATE fits SET status = 'failed', stage = 'failed', error = @e, finished_at = now(), lease_token = NULL, lease_expires_at = NULL
            WHERE id = @id AND status = 'running' AND lease_token = @token
            """, ("id", id), ("token", leaseToken), ("e", errorJson)) == 1;

    public bool MarkCanceled(string id, string leaseToken, string? resultJson = null) =>
        Execute("""
            UPDATE fits SET status = 'canceled', stage = 'canceled', result_json = @r, finished_at = now(), lease_token = NULL, lease_expires_at = NULL
            WHERE id = @id AND status = 'running' AND lease_token = @token
            """, ("id", id), ("token", leaseToken), ("r", (object?)resultJson ?? DBNull.Value)) == 1;

    public bool ReturnToQueue(string id, string leaseToken) =>
        Execute($"""
            UPDATE fits SET status = 'queued', attempts = greatest(attempts - 1, 0), started_at = NULL, progress = 0, stage = NULL, progress_json = NULL, {Release}
            WHERE id = @id AND status = 'running' AND lease_token = @token
            """, ("id", id), ("token", leaseToken)) == 1;

    public CancelOutcome Cancel(string tenant, string id)
    {
        if (Execute("""
                UPDATE fits SET status = 'canceled', stage = 'canceled', cancel_requested = true, finished_at = now()
                WHERE id = @id AND tenant = @tenant AND status = 'queued'
                """, ("id", id), ("tenant", tenant)) == 1)
            return CancelOutcome.CanceledQueued;
        if (Execute("UPDATE fits SET cancel_requested = true WHERE id = @id AND tenant = @tenant AND status = 'running'",
                ("id", id), ("tenant", tenant)) == 1)
            return CancelOutcome.RequestedRunning;
        return Get(tenant, id) is null ? CancelOutcome.NotFound : CancelOutcome.AlreadyFinished;
    }

    public DeleteOutcome Delete(string tenant, string id)
    {
        if (Execute("DELETE FROM fits WHERE id = @id AND tenant = @tenant AND status IN ('succeeded', 'failed', 'canceled')",
                ("id", id), ("tenant", tenant)) == 1)
            return DeleteOutcome.Deleted;
        return Get(tenant, id) is null ? DeleteOutcome.NotFound : DeleteOutcome.Active;
    }

    /// <summary>
    /// One transaction of three guarded updates (canceled, failed, requeued, in that order). Two
    /// replicas rescuing at once do not double-count: each update re-checks its row after the other's commit.
    /// </summary>
    public RescueCounts RescueExpired(int maxAttempts, string failureJson, bool all)
    {
        using var connection = store.Open();
        using var transaction = connection.BeginTransaction();
        var expired = all ? "status = 'running'" : "status = 'running' AND lease_expires_at < now()";
        int Run(string sql, params (string Name, object Value)[] parameters)
        {
            using var command = Command(connection, sql, transaction);
            foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
            return command.ExecuteNonQuery();
        }
        int canceled = Run($"UPDATE fits SET status = 'canceled', stage = 'canceled', finished_at = now(), {Release} WHERE {expired} AND cancel_requested");
        int failed = Run($"UPDATE fits SET status = 'failed', stage = 'failed', error = @e, finished_at = now(), {Release} WHERE {expired} AND attempts >= @max",
            ("e", failureJson), ("max", maxAttempts));
        int requeued = Run($"UPDATE fits SET status = 'queued', progress = 0, stage = NULL, progress_json = NULL, {Release} WHERE {expired}");
        transaction.Commit();
        return new RescueCounts(requeued, failed, canceled);
    }

    private int Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = store.Open();
        using var command = Command(connection, sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command.ExecuteNonQuery();
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null) =>
        new(sql, connection, transaction);

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int i) =>
        reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);

    private static FitRecord Read(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), Enum.Parse<JobStatus>(r.GetString(3), ignoreCase: true), r.GetString(4),
        Time(r, 5)!.Value, Time(r, 6), Time(r, 7), r.GetInt32(8), r.GetDouble(9), r.IsDBNull(10) ? null : r.GetString(10),
        r.GetBoolean(11), r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13),
        r.IsDBNull(14) ? null : r.GetString(14), r.IsDBNull(15) ? null : r.GetString(15));
}
