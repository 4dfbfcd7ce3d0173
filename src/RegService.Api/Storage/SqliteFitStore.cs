using System.Globalization;
using Microsoft.Data.Sqlite;
using RegService.Api.Fits;

namespace RegService.Api.Storage;

/// <summary>Fit jobs in SQLite. Every state change is one statement guarded by the state it leaves (and the lease it needs).</summary>
public sealed class SqliteFitStore(SqliteDatabase store) : IFitStore
{
    private const string Columns =
        "id, tenant, dataset_id, status, request_json, created_at, started_at, finished_at, attempts, progress, stage, cancel_requested, result_json, error, lease_token, progress_json";

    /// <summary>The columns of <see cref="Columns"/> with the result left out (NULL in its place).</summary>
    private const string StateColumns =
        "id, tenant, dataset_id, status, request_json, created_at, started_at, finished_at, attempts, progress, stage, cancel_requested, NULL, error, lease_token, progress_json";

    public bool OwnsAllJobs => true;


    public EnqueueOutcome TryEnqueue(string id, string tenant, string datasetId, string requestJson, int capacity, int tenantCapacity) =>
        TryEnqueue(id, tenant, datasetId, requestJson, capacity, tenantCapacity, out _);

    public EnqueueOutcome TryEnqueue(string id, string tenant, string datasetId, string requestJson, int capacity, int tenantCapacity,
        out FitRecord? queued)
    {
        // One statement: SQLite's single writer makes the checks and the insert one transaction, so a data set delete
        // cannot slip between them; it answers with the row it inserted.
        queued = store.Write(session =>
        {
            var command = session.Command($"""
                INSERT INTO fits (id, tenant, dataset_id, status, request_json, created_at)
                SELECT $id, $tenant, $dataset, 'queued', $request, $created
                WHERE EXISTS (SELECT 1 FROM datasets WHERE id = $dataset AND tenant = $tenant)
                  AND (SELECT count(*) FROM fits WHERE status = 'queued') < $capacity
                  AND (SELECT count(*) FROM fits WHERE status = 'queued' AND tenant = $tenant) < $tenantCapacity
                RETURNING {Columns}
                """);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$tenant", tenant);
            command.Parameters.AddWithValue("$dataset", datasetId);
            command.Parameters.AddWithValue("$request", requestJson);
            command.Parameters.AddWithValue("$created", Now());
            command.Parameters.AddWithValue("$capacity", capacity);
            command.Parameters.AddWithValue("$tenantCapacity", tenantCapacity);
            using var reader = command.ExecuteReader();
            return reader.Read() ? Read(reader) : null;
        });
        if (queued is not null) return EnqueueOutcome.Queued;

        return store.Read(session =>
        {
            var why = session.Command("""
                SELECT EXISTS (SELECT 1 FROM datasets WHERE id = $dataset AND tenant = $tenant),
                       (SELECT count(*) FROM fits WHERE status = 'queued' AND tenant = $tenant)
                """);
            why.Parameters.AddWithValue("$dataset", datasetId);
            why.Parameters.AddWithValue("$tenant", tenant);
            using var reader = why.ExecuteReader();
            reader.Read();
            if (reader.GetInt64(0) == 0) return EnqueueOutcome.DatasetNotFound;
            return reader.GetInt64(1) >= tenantCapacity ? EnqueueOutcome.TenantQueueFull : EnqueueOutcome.QueueFull;
        });
    }

    public FitRecord? Get(string tenant, string id) => Select(SelectAll, tenant, id);

    public FitRecord? GetState(string tenant, string id) => Select(SelectState, tenant, id);

    private const string SelectAll = $"SELECT {Columns} FROM fits WHERE id = $id AND tenant = $tenant";
    private const string SelectState = $"SELECT {StateColumns} FROM fits WHERE id = $id AND tenant = $tenant";

    private FitRecord? Select(string sql, string tenant, string id) => store.Read(session =>
    {
        var command = session.Command(sql);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$tenant", tenant);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    });

    public (List<FitRecord> Items, int Total) List(string tenant, JobStatus? status, string? datasetId, int offset, int limit) => store.Read(session =>
    {
        var filter = "WHERE tenant = $tenant" + (status is null ? "" : " AND status = $status") + (datasetId is null ? "" : " AND dataset_id = $dataset");
        void Bind(SqliteCommand c)
        {
            c.Parameters.AddWithValue("$tenant", tenant);
            if (status is not null) c.Parameters.AddWithValue("$status", status.Value.Name());
            if (datasetId is not null) c.Parameters.AddWithValue("$dataset", datasetId);
        }
        var command = session.Command($"SELECT {Columns} FROM fits {filter} ORDER BY seq DESC LIMIT $limit OFFSET $offset");
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$offset", offset);
        Bind(command);
        var items = new List<FitRecord>();
        using (var reader = command.ExecuteReader())
            while (reader.Read()) items.Add(Read(reader));
        var count = session.Command($"SELECT count(*) FROM fits {filter}");
        Bind(count);
        return (items, Convert.ToInt32(count.ExecuteScalar(), CultureInfo.InvariantCulture));
    });

    public Task<FitRecord?> TryClaimNextAsync(string owner, TimeSpan lease, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        // One statement under the write lock: two workers never race for a row.
        return Task.FromResult(store.Write(session =>
        {
            var command = session.Command($"""
                UPDATE fits SET status = 'running', attempts = attempts + 1, started_at = $now, progress = 0, stage = 'starting', progress_json = NULL,
                    lease_token = $token, lease_owner = $owner, lease_expires_at = $expires
                WHERE seq = (SELECT seq FROM fits WHERE status = 'queued' ORDER BY seq LIMIT 1)
                RETURNING {Columns}
                """);
            command.Parameters.AddWithValue("$now", Now());
            command.Parameters.AddWithValue("$token", Guid.NewGuid().ToString("N"));
            command.Parameters.AddWithValue("$owner", owner);
            command.Parameters.AddWithValue("$expires", Expiry(lease));
            using var reader = command.ExecuteReader();
            return reader.Read() ? Read(reader) : null;
        }));
    }

    public LeaseState Renew(string id, string leaseToken, TimeSpan lease)
    {
        var value = store.Write(session =>
        {
            var command = session.Command("""
                UPDATE fits SET lease_expires_at = $expires WHERE id = $id AND status = 'running' AND lease_token = $token
                RETURNING cancel_requested
                """);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$token", leaseToken);
            command.Parameters.AddWithValue("$expires", Expiry(lease));
            return command.ExecuteScalar();
        });
        return value is null ? LeaseState.Lost : Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0 ? LeaseState.CancelRequested : LeaseState.Held;
    }

    public void UpdateProgress(string id, string leaseToken, double fraction, string stage, string? detailJson = null) =>
        Execute("UPDATE fits SET progress = $p, stage = $s, progress_json = $d WHERE id = $id AND status = 'running' AND lease_token = $token",
            ("$id", id), ("$token", leaseToken), ("$p", fraction), ("$s", stage), ("$d", (object?)detailJson ?? DBNull.Value));

    public bool Succeed(string id, string leaseToken, string resultJson) =>
        Execute("""
            UPDATE fits SET status = 'succeeded', progress = 1, stage = 'done', progress_json = NULL, result_json = $r, finished_at = $now, lease_token = NULL, lease_expires_at = NULL
            WHERE id = $id AND status = 'running' AND lease_token = $token
            """, ("$id", id), ("$token", leaseToken), ("$r", resultJson), ("$now", Now())) == 1;

    public bool Fail(string id, string? leaseToken, string errorJson) => leaseToken is null
        ? Execute("UPDATE fits SET status = 'failed', stage = 'failed', error = $e, finished_at = $now WHERE id = $id AND status = 'queued'",
            ("$id", id), ("$e", errorJson), ("$now", Now())) == 1
        : Execute("""
            UPDATE fits SET status = 'failed', stage = 'failed', error = $e, finished_at = $now, lease_token = NULL, lease_expires_at = NULL
            WHERE id = $id AND status = 'running' AND lease_token = $token
            """, ("$id", id), ("$token", leaseToken), ("$e", errorJson), ("$now", Now())) == 1;

    public bool MarkCanceled(string id, string leaseToken, string? resultJson = null) =>
        Execute("""
            UPDATE fits SET status = 'canceled', stage = 'canceled', result_json = $r, finished_at = $now, lease_token = NULL, lease_expires_at = NULL
            WHERE id = $id AND status = 'running' AND lease_token = $token
            """, ("$id", id), ("$token", leaseToken), ("$r", (object?)resultJson ?? DBNull.Value), ("$now", Now())) == 1;

    public bool ReturnToQueue(string id, string leaseToken) =>
        Execute("""
            UPDATE fits SET status = 'queued', attempts = max(attempts - 1, 0), started_at = NULL, progress = 0, stage = NULL, progress_json = NULL,
                lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $id AND status = 'running' AND lease_token = $token
            """, ("$id", id), ("$token", leaseToken)) == 1;

    public CancelOutcome Cancel(string tenant, string id)
    {
        if (Execute("""
                UPDATE fits SET status = 'canceled', stage = 'canceled', cancel_requested = 1, finished_at = $now
                WHERE id = $id AND tenant = $tenant AND status = 'queued'
                """, ("$id", id), ("$tenant", tenant), ("$now", Now())) == 1)
            return CancelOutcome.CanceledQueued;
        if (Execute("UPDATE fits SET cancel_requested = 1 WHERE id = $id AND tenant = $tenant AND status = 'running'",
                ("$id", id), ("$tenant", tenant)) == 1)
            return CancelOutcome.RequestedRunning;
        return Get(tenant, id) is null ? CancelOutcome.NotFound : CancelOutcome.AlreadyFinished;
    }

    public DeleteOutcome Delete(string tenant, string id)
    {
        if (Execute("DELETE FROM fits WHERE id = $id AND tenant = $tenant AND status IN ('succeeded', 'failed', 'canceled')",
                ("$id", id), ("$tenant", tenant)) == 1)
            return DeleteOutcome.Deleted;
        return Get(tenant, id) is null ? DeleteOutcome.NotFound : DeleteOutcome.Active;
    }

    public RescueCounts RescueExpired(int maxAttempts, string failureJson, bool all) => store.Write(session =>
    {
        using var transaction = session.Connection.BeginTransaction();
        var expired = all ? "status = 'running'" : "status = 'running' AND lease_expires_at < $nowMs";
        int Run(string sql, params (string Name, object Value)[] parameters)
        {
            var command = session.Command(sql);
            command.Transaction = transaction;
            command.Parameters.AddWithValue("$nowMs", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$now", Now());
            foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
            return command.ExecuteNonQuery();
        }
        const string Release = "lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL";
        int canceled = Run($"UPDATE fits SET status = 'canceled', stage = 'canceled', finished_at = $now, {Release} WHERE {expired} AND cancel_requested = 1");
        int failed = Run($"UPDATE fits SET status = 'failed', stage = 'failed', error = $e, finished_at = $now, {Release} WHERE {expired} AND attempts >= $max",
            ("$e", failureJson), ("$max", maxAttempts));
        int requeued = Run($"UPDATE fits SET status = 'queued', progress = 0, stage = NULL, progress_json = NULL, {Release} WHERE {expired}");
        transaction.Commit();
        return new RescueCounts(requeued, failed, canceled);
    });

    private int Execute(string sql, params (string Name, object Value)[] parameters) => store.Write(session =>
    {
        var command = session.Command(sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command.ExecuteNonQuery();
    });

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static long Expiry(TimeSpan lease) => DateTimeOffset.UtcNow.Add(lease).ToUnixTimeMilliseconds();

    private static DateTimeOffset? Time(SqliteDataReader reader, int i) =>
        reader.IsDBNull(i) ? null : DateTimeOffset.Parse(reader.GetString(i), CultureInfo.InvariantCulture);

    private static FitRecord Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), Enum.Parse<JobStatus>(r.GetString(3), ignoreCase: true), r.GetString(4),
        Time(r, 5)!.Value, Time(r, 6), Time(r, 7), r.GetInt32(8), r.GetDouble(9), r.IsDBNull(10) ? null : r.GetString(10),
        r.GetInt64(11) != 0, r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13),
        r.IsDBNull(14) ? null : r.GetString(14), r.IsDBNull(15) ? null : r.GetString(15));
}
