using System.Globalization;
using Microsoft.Data.Sqlite;
using RegService.Api.Fits;

namespace RegService.Api.Storage;

/// <summary>A fit job as stored.</summary>
public sealed record FitRecord(
    string Id, string DatasetId, JobStatus Status, string RequestJson, DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, int Attempts, double Progress, string? Stage,
    bool CancelRequested, string? ResultJson, string? ErrorJson);

/// <summary>Fit jobs in SQLite. Every state change is one statement guarded by the state it leaves.</summary>
public sealed class FitStore(Store store)
{
    private const string Columns =
        "id, dataset_id, status, request_json, created_at, started_at, finished_at, attempts, progress, stage, cancel_requested, result_json, error";

    // SQLite has one writer; claims go through this gate so two workers never race for a row.
    private readonly SemaphoreSlim _claimGate = new(1, 1);

    /// <summary>Inserts a queued job unless the queue already holds <paramref name="capacity"/> jobs.</summary>
    public bool TryEnqueue(string id, string datasetId, string requestJson, int capacity)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO fits (id, dataset_id, status, request_json, created_at)
            SELECT $id, $dataset, 'queued', $request, $created
            WHERE (SELECT count(*) FROM fits WHERE status = 'queued') < $capacity
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$dataset", datasetId);
        command.Parameters.AddWithValue("$request", requestJson);
        command.Parameters.AddWithValue("$created", Now());
        command.Parameters.AddWithValue("$capacity", capacity);
        return command.ExecuteNonQuery() == 1;
    }

    public FitRecord? Get(string id)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM fits WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    public (List<FitRecord> Items, int Total) List(JobStatus? status, int offset, int limit)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        var filter = status is null ? "" : "WHERE status = $status";
        command.CommandText = $"SELECT {Columns} FROM fits {filter} ORDER BY seq DESC LIMIT $limit OFFSET $offset";
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$offset", offset);
        if (status is not null) command.Parameters.AddWithValue("$status", Name(status.Value));
        var items = new List<FitRecord>();
        using (var reader = command.ExecuteReader())
            while (reader.Read()) items.Add(Read(reader));
        using var count = connection.CreateCommand();
        count.CommandText = $"SELECT count(*) FROM fits {filter}";
        if (status is not null) count.Parameters.AddWithValue("$status", Name(status.Value));
        return (items, Convert.ToInt32(count.ExecuteScalar(), CultureInfo.InvariantCulture));
    }

    /// <summary>Moves the oldest queued job to running and counts the attempt.</summary>
    public async Task<FitRecord?> TryClaimNextAsync(CancellationToken ct)
    {
        await _claimGate.WaitAsync(ct);
        try
        {
            using var connection = store.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                UPDATE fits SET status = 'running', attempts = attempts + 1, started_at = $now, progress = 0, stage = 'starting'
                WHERE seq = (SELECT seq FROM fits WHERE status = 'queued' ORDER BY seq LIMIT 1)
                RETURNING {Columns}
                """;
            command.Parameters.AddWithValue("$now", Now());
            using var reader = command.ExecuteReader();
            return reader.Read() ? Read(reader) : null;
        }
        finally
        {
            _claimGate.Release();
        }
    }

    public void UpdateProgress(string id, double fraction, string stage) =>
        Execute("UPDATE fits SET progress = $p, stage = $s WHERE id = $id AND status = 'running'",
            ("$id", id), ("$p", fraction), ("$s", stage));

    public void Succeed(string id, string resultJson) =>
        Execute("UPDATE fits SET status = 'succeeded', progress = 1, stage = 'done', result_json = $r, finished_at = $now WHERE id = $id AND status = 'running'",
            ("$id", id), ("$r", resultJson), ("$now", Now()));

    public void Fail(string id, string errorJson) =>
        Execute("UPDATE fits SET status = 'failed', stage = 'failed', error = $e, finished_at = $now WHERE id = $id AND status IN ('running', 'queued')",
            ("$id", id), ("$e", errorJson), ("$now", Now()));

    public void MarkCanceled(string id) =>
        Execute("UPDATE fits SET status = 'canceled', stage = 'canceled', finished_at = $now WHERE id = $id AND status IN ('running', 'queued')",
            ("$id", id), ("$now", Now()));

    /// <summary>Back to the queue because the host is stopping: the attempt does not count.</summary>
    public void ReturnToQueue(string id) =>
        Execute("UPDATE fits SET status = 'queued', attempts = max(attempts - 1, 0), started_at = NULL, progress = 0, stage = NULL WHERE id = $id AND status = 'running'",
            ("$id", id));

    /// <summary>Cancels a queued job at once. True if it was queued.</summary>
    public bool CancelQueued(string id) =>
        Execute("UPDATE fits SET status = 'canceled', stage = 'canceled', cancel_requested = 1, finished_at = $now WHERE id = $id AND status = 'queued'",
            ("$id", id), ("$now", Now())) == 1;

    /// <summary>Flags a running job for cancellation. True if it was running.</summary>
    public bool RequestCancel(string id) =>
        Execute("UPDATE fits SET cancel_requested = 1 WHERE id = $id AND status = 'running'", ("$id", id)) == 1;

    /// <summary>
    /// After a restart: jobs left running by a dead process go back to the queue, or fail once they
    /// have had <paramref name="maxAttempts"/> attempts; those whose cancellation was asked are canceled.
    /// </summary>
    public (int Requeued, int Failed, int Canceled) RecoverInterrupted(int maxAttempts, string failureJson)
    {
        int canceled = Execute("UPDATE fits SET status = 'canceled', stage = 'canceled', finished_at = $now WHERE status = 'running' AND cancel_requested = 1",
            ("$now", Now()));
        int failed = Execute("UPDATE fits SET status = 'failed', stage = 'failed', error = $e, finished_at = $now WHERE status = 'running' AND attempts >= $max",
            ("$e", failureJson), ("$now", Now()), ("$max", maxAttempts));
        int requeued = Execute("UPDATE fits SET status = 'queued', progress = 0, stage = NULL WHERE status = 'running'");
        return (requeued, failed, canceled);
    }

    /// <summary>Queued or running fits that read a data set.</summary>
    public int CountActiveFor(string datasetId)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM fits WHERE dataset_id = $d AND status IN ('queued', 'running')";
        command.Parameters.AddWithValue("$d", datasetId);
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public int CountQueued()
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM fits WHERE status = 'queued'";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private int Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command.ExecuteNonQuery();
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(SqliteDataReader reader, int i) =>
        reader.IsDBNull(i) ? null : DateTimeOffset.Parse(reader.GetString(i), CultureInfo.InvariantCulture);

    public static string Name(JobStatus status) => status.ToString().ToLowerInvariant();

    private static FitRecord Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), Enum.Parse<JobStatus>(r.GetString(2), ignoreCase: true), r.GetString(3),
        Time(r, 4)!.Value, Time(r, 5), Time(r, 6), r.GetInt32(7), r.GetDouble(8), r.IsDBNull(9) ? null : r.GetString(9),
        r.GetInt64(10) != 0, r.IsDBNull(11) ? null : r.GetString(11), r.IsDBNull(12) ? null : r.GetString(12));
}
