using System.Data;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using RegService.Api.Datasets;
using RegService.Numerics.Data;

namespace RegService.Api.Storage.Postgres;

/// <summary>
/// Data sets in PostgreSQL: a metadata row and the float64 column-major matrix in ~1 MiB chunks
/// (<c>dataset_chunks</c>), streamed in and out, never held whole in one buffer on the way. Reads go
/// through this replica's <see cref="PostgresMatrixCache"/>, filled from the database on a miss.
/// </summary>
public sealed class PostgresDatasetStore(PostgresDatabase store, PostgresMatrixCache cache, ILogger<PostgresDatasetStore> logger) : IDatasetStore
{
    /// <summary>Bytes per stored chunk.</summary>
    public const int ChunkBytes = 1 << 20;

    private const string Columns = "id, name, rows, columns, size_bytes, created_at, summary_json";
    private readonly ColumnSummaryCache _summaries = new();
    private const string ShapeColumns = "id, name, rows, columns, size_bytes, created_at, '[]'::text";

    /// <summary>
    /// Writes the matrix to a temporary file, then, in one transaction, copies it in chunks into
    /// <c>dataset_chunks</c> (binary COPY) and inserts the metadata row last: a failure at any step
    /// rolls everything back. The file then becomes this replica's cached copy.
    /// </summary>
    public async Task<Dataset> AddAsync(string tenant, string name, ColumnTable table, CancellationToken ct)
    {
        var id = Guid.CreateVersion7().ToString("N");
        var temporary = cache.TemporaryPath(id);
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                table.WriteColumnMajor(file);
                await file.FlushAsync(ct);
            }
            var columns = table.Summaries.Select(s => new ColumnStats(s.Name, s.Mean, s.StdDev, s.Min, s.Max)).ToList();
            long size = (long)table.Rows * table.Names.Count * sizeof(double);

            await using var connection = await store.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using (var source = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            await using (var importer = await connection.BeginBinaryImportAsync(
                             "COPY dataset_chunks (dataset_id, seq, data) FROM STDIN (FORMAT BINARY)", ct))
            {
                var buffer = new byte[ChunkBytes];
                for (int seq = 0; ; seq++)
                {
                    int n = await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
                    if (n == 0) break;
                    await importer.StartRowAsync(ct);
                    await importer.WriteAsync(id, NpgsqlDbType.Text, ct);
                    await importer.WriteAsync(seq, NpgsqlDbType.Integer, ct);
                    await importer.WriteAsync(new ReadOnlyMemory<byte>(buffer, 0, n), NpgsqlDbType.Bytea, ct);
                    if (n < buffer.Length) break;
                }
                await importer.CompleteAsync(ct);
            }
            DateTimeOffset created;
            await using (var command = new NpgsqlCommand("""
                             INSERT INTO datasets (id, tenant, name, rows, columns, size_bytes, created_at, summary_json)
                             VALUES (@id, @tenant, @name, @rows, @columns, @size, now(), @summary)
                             RETURNING created_at
                             """, connection, transaction))
            {
                command.Parameters.AddWithValue("id", id);
                command.Parameters.AddWithValue("tenant", tenant);
                command.Parameters.AddWithValue("name", name);
                command.Parameters.AddWithValue("rows", table.Rows);
                command.Parameters.AddWithValue("columns", table.Names.Count);
                command.Parameters.AddWithValue("size", size);
                command.Parameters.AddWithValue("summary", JsonSerializer.Serialize(columns));
                await using var reader = await command.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                created = reader.GetFieldValue<DateTimeOffset>(0);
            }
            await transaction.CommitAsync(ct);
            try
            {
                cache.Admit(id, temporary);
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Could not cache data set {DatasetId} locally; it will be fetched when read", id);
            }
            return new Dataset(id, name, table.Rows, table.Names.Count, size, created, columns);
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    public Dataset? Get(string tenant, string id, bool withColumns = true)
    {
        // The row is read every time (it may have been deleted); its summaries, which never change, once (ColumnSummaryCache).
        var cached = withColumns ? _summaries.Get(id) : null;
        using var connection = store.Open();
        using var command = new NpgsqlCommand($"SELECT {(withColumns && cached is null ? Columns : ShapeColumns)} FROM datasets WHERE id = @id AND tenant = @tenant", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("tenant", tenant);
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        var dataset = Read(reader);
        if (!withColumns) return dataset;
        if (cached is not null) return dataset with { Columns = cached };
        _summaries.Add(id, dataset.Columns);
        return dataset;
    }

    public DatasetPage List(string tenant, int offset, int limit)
    {
        using var connection = store.Open();
        var items = new List<DatasetSummary>();
        using (var command = new NpgsqlCommand($"""
                   SELECT {ShapeColumns} FROM datasets WHERE tenant = @tenant
                   ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset
                   """, connection))
        {
            command.Parameters.AddWithValue("tenant", tenant);
            command.Parameters.AddWithValue("limit", (long)limit);
            command.Parameters.AddWithValue("offset", (long)offset);
            using var reader = command.ExecuteReader();
            while (reader.Read()) items.Add(DatasetSummary.Of(Read(reader)));
        }
        using var count = new NpgsqlCommand("SELECT count(*) FROM datasets WHERE tenant = @tenant", connection);
        count.Parameters.AddWithValue("tenant", tenant);
        return new DatasetPage(items, Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture), offset, limit);
    }

    /// <summary>
    /// One transaction: lock the row (<c>FOR UPDATE</c>, which waits for a submission holding it
    /// <c>FOR SHARE</c> and then sees that submission's fit), refuse while a queued or running fit
    /// reads it, else delete its chunks and the row.
    /// </summary>
    public DeleteOutcome Delete(string tenant, string id)
    {
        using (var connection = store.Open())
        using (var transaction = connection.BeginTransaction())
        {
            using (var row = new NpgsqlCommand("SELECT 1 FROM datasets WHERE id = @id AND tenant = @tenant FOR UPDATE", connection, transaction))
            {
                row.Parameters.AddWithValue("id", id);
                row.Parameters.AddWithValue("tenant", tenant);
                if (row.ExecuteScalar() is null) return DeleteOutcome.NotFound;
            }
            using (var active = new NpgsqlCommand(
                       "SELECT EXISTS (SELECT 1 FROM fits WHERE dataset_id = @id AND status IN ('queued', 'running'))", connection, transaction))
            {
                active.Parameters.AddWithValue("id", id);
                if (active.ExecuteScalar() is true) return DeleteOutcome.Active;
            }
            using (var delete = new NpgsqlCommand("DELETE FROM dataset_chunks WHERE dataset_id = @id; DELETE FROM datasets WHERE id = @id",
                       connection, transaction))
            {
                delete.Parameters.AddWithValue("id", id);
                delete.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        cache.Remove(id);
        _summaries.Remove(id);
        return DeleteOutcome.Deleted;
    }

    public DenseMatrix LoadMatrix(Dataset dataset) =>
        WithFile(dataset, path => MatrixFile.Read(path, dataset.Rows, dataset.ColumnCount));

    public double[] ReadColumn(Dataset dataset, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, dataset.ColumnCount);
        return WithFile(dataset, path => MatrixFile.ReadColumn(path, dataset.Rows, column));
    }

    /// <summary>
    /// Chunks that no data set row names (none are expected: chunks and rows commit together), and
    /// cached files of data sets deleted through other replicas.
    /// </summary>
    public int RemoveOrphans()
    {
        var known = new HashSet<string>();
        int removed;
        using (var connection = store.Open())
        {
            using (var command = new NpgsqlCommand(
                       "DELETE FROM dataset_chunks c WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.id = c.dataset_id)", connection))
                removed = command.ExecuteNonQuery();
            using var ids = new NpgsqlCommand("SELECT id FROM datasets", connection);
            using var reader = ids.ExecuteReader();
            while (reader.Read()) known.Add(reader.GetString(0));
        }
        int files = cache.RemoveUnknown(known);
        if (removed + files > 0)
            logger.LogInformation("Removed {Chunks} orphaned data set chunks and {Files} stale cached files", removed, files);
        return removed + files;
    }

    /// <summary>
    /// Runs <paramref name="read"/> on the data set's local file: the cached one, else one fetched from
    /// PostgreSQL into the cache (or, for a matrix larger than the whole cache, into a temporary file
    /// deleted afterwards). A cached file evicted just before it was opened is fetched again.
    /// </summary>
    private T WithFile<T>(Dataset dataset, Func<string, T> read)
    {
        for (int attempt = 1; ; attempt++)
        {
            var path = cache.TryGet(dataset.Id);
            if (path is not null)
            {
                try
                {
                    return read(path);
                }
                catch (FileNotFoundException) when (attempt < 3)
                {
                    continue;
                }
            }
            var temporary = Fetch(dataset);
            try
            {
                if (!cache.Admit(dataset.Id, temporary)) return read(temporary);
            }
            finally
            {
                TryDelete(temporary);
            }
            if (attempt >= 3) throw new IOException($"data set {dataset.Id} was evicted from the local cache as soon as it was fetched; raise Storage:CacheBytes");
        }
    }

    /// <summary>Streams a data set's chunks, in order, into a new temporary file; checks its length.</summary>
    private string Fetch(Dataset dataset)
    {
        var temporary = cache.TemporaryPath(dataset.Id);
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                using var connection = store.Open();
                using var command = new NpgsqlCommand("SELECT data FROM dataset_chunks WHERE dataset_id = @id ORDER BY seq", connection);
                command.Parameters.AddWithValue("id", dataset.Id);
                using var reader = command.ExecuteReader(CommandBehavior.SequentialAccess);
                while (reader.Read())
                {
                    using var chunk = reader.GetStream(0);
                    chunk.CopyTo(file);
                }
            }
            long length = new FileInfo(temporary).Length;
            // Chunks and their row are deleted together: none left means a delete came after the record was read.
            if (length == 0 && dataset.SizeBytes > 0 && !Exists(dataset.Id)) throw new DatasetGoneException(dataset.Id);
            if (length != dataset.SizeBytes)
                throw new InvalidDataException($"data set {dataset.Id} has {length} bytes stored but its {dataset.Rows} x {dataset.ColumnCount} matrix needs {dataset.SizeBytes}");
            return temporary;
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private bool Exists(string id)
    {
        using var connection = store.Open();
        using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM datasets WHERE id = @id)", connection);
        command.Parameters.AddWithValue("id", id);
        return (bool)command.ExecuteScalar()!;
    }

    private static Dataset Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt64(4),
        reader.GetFieldValue<DateTimeOffset>(5),
        JsonSerializer.Deserialize<List<ColumnStats>>(reader.GetString(6))!);

    private void TryDelete(string path) => StoreFiles.TryDelete(path, logger);
}
