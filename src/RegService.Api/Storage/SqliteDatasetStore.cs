using System.Text.Json;
using Microsoft.Data.Sqlite;
using RegService.Api.Datasets;
using RegService.Numerics.Data;

namespace RegService.Api.Storage;

/// <summary>Data sets: metadata rows in SQLite, matrices as files named by id.</summary>
public sealed class SqliteDatasetStore(SqliteDatabase store, ILogger<SqliteDatasetStore> logger) : IDatasetStore
{
    private const string Columns = "id, name, rows, columns, size_bytes, created_at, summary_json";
    private readonly ColumnSummaryCache _summaries = new();
    private const string ShapeColumns = "id, name, rows, columns, size_bytes, created_at, '[]'";

    /// <summary>
    /// Stores a parsed table: the matrix goes to a temporary file first, then is renamed into place,
    /// then the metadata row is inserted, so a failure at any step leaves nothing half-stored.
    /// </summary>
    public async Task<Dataset> AddAsync(string tenant, string name, ColumnTable table, CancellationToken ct)
    {
        var id = Guid.CreateVersion7().ToString("N");
        var path = store.DatasetPath(id);
        var temporary = path + ".tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                table.WriteColumnMajor(file);
                await file.FlushAsync(ct);
            }
            File.Move(temporary, path);
            var columns = table.Summaries.Select(s => new ColumnStats(s.Name, s.Mean, s.StdDev, s.Min, s.Max)).ToList();
            var dataset = new Dataset(id, name, table.Rows, table.Names.Count, (long)table.Rows * table.Names.Count * sizeof(double),
                DateTimeOffset.UtcNow, columns);
            store.Write(session =>
            {
                var command = session.Command("""
                    INSERT INTO datasets (id, tenant, name, rows, columns, size_bytes, created_at, summary_json)
                    VALUES ($id, $tenant, $name, $rows, $columns, $size, $created, $summary)
                    """);
                command.Parameters.AddWithValue("$tenant", tenant);
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$name", name);
                command.Parameters.AddWithValue("$rows", dataset.Rows);
                command.Parameters.AddWithValue("$columns", dataset.ColumnCount);
                command.Parameters.AddWithValue("$size", dataset.SizeBytes);
                command.Parameters.AddWithValue("$created", dataset.CreatedAt.ToString("O"));
                command.Parameters.AddWithValue("$summary", JsonSerializer.Serialize(columns));
                return command.ExecuteNonQuery();
            });
            return dataset;
        }
        catch
        {
            TryDelete(temporary);
            TryDelete(path);
            throw;
        }
    }

    public Dataset? Get(string tenant, string id, bool withColumns = true)
    {
        // The row is read every time (it may have been deleted); its summaries, which never change, once (ColumnSummaryCache).
        var cached = withColumns ? _summaries.Get(id) : null;
        var dataset = store.Read(session =>
        {
            var command = session.Command(withColumns && cached is null ? SelectAll : SelectShape);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$tenant", tenant);
            using var reader = command.ExecuteReader();
            return reader.Read() ? Read(reader) : null;
        });
        if (dataset is null || !withColumns) return dataset;
        if (cached is not null) return dataset with { Columns = cached };
        _summaries.Add(id, dataset.Columns);
        return dataset;
    }

    private const string SelectAll = $"SELECT {Columns} FROM datasets WHERE id = $id AND tenant = $tenant";
    private const string SelectShape = $"SELECT {ShapeColumns} FROM datasets WHERE id = $id AND tenant = $tenant";

    public DatasetPage List(string tenant, int offset, int limit) => store.Read(session =>
    {
        var command = session.Command($"""
            SELECT {ShapeColumns} FROM datasets WHERE tenant = $tenant
            ORDER BY created_at DESC, id DESC LIMIT $limit OFFSET $offset;
            """);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$offset", offset);
        var items = new List<DatasetSummary>();
        using (var reader = command.ExecuteReader())
            while (reader.Read()) items.Add(DatasetSummary.Of(Read(reader)));
        var count = session.Command("SELECT count(*) FROM datasets WHERE tenant = $tenant");
        count.Parameters.AddWithValue("$tenant", tenant);
        return new DatasetPage(items, Convert.ToInt32(count.ExecuteScalar()), offset, limit);
    });

    /// <summary>
    /// Deletes the metadata row, then the file, in one statement with the check that no queued or
    /// running fit reads it (SQLite's single writer orders it against a submission's insert).
    /// </summary>
    public DeleteOutcome Delete(string tenant, string id)
    {
        int deleted = store.Write(session =>
        {
            var command = session.Command("""
                DELETE FROM datasets WHERE id = $id AND tenant = $tenant
                  AND NOT EXISTS (SELECT 1 FROM fits WHERE dataset_id = $id AND status IN ('queued', 'running'))
                """);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$tenant", tenant);
            return command.ExecuteNonQuery();
        });
        if (deleted == 0) return Get(tenant, id) is null ? DeleteOutcome.NotFound : DeleteOutcome.Active;
        TryDelete(store.DatasetPath(id));
        _summaries.Remove(id);
        return DeleteOutcome.Deleted;
    }

    /// <summary>Reads a stored matrix into memory.</summary>
    public DenseMatrix LoadMatrix(Dataset dataset) => Reading(dataset, path => MatrixFile.Read(path, dataset.Rows, dataset.ColumnCount));

    /// <summary>
    /// Reads one column of a stored matrix (8 bytes per row, one contiguous read of the column-major file),
    /// without loading the others.
    /// </summary>
    public double[] ReadColumn(Dataset dataset, int column)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, dataset.ColumnCount);
        return Reading(dataset, path => MatrixFile.ReadColumn(path, dataset.Rows, column));
    }

    /// <summary>Reads the data set's file; a file a delete removed after the record was read is <see cref="DatasetGoneException"/>.</summary>
    private T Reading<T>(Dataset dataset, Func<string, T> read)
    {
        try
        {
            return read(store.DatasetPath(dataset.Id));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetGoneException(dataset.Id, ex);
        }
    }

    /// <summary>Removes files that no metadata row names (left by a crash between the two steps).</summary>
    public int RemoveOrphans()
    {
        var known = store.Read(session =>
        {
            var ids = new HashSet<string>();
            using var reader = session.Command("SELECT id FROM datasets").ExecuteReader();
            while (reader.Read()) ids.Add(reader.GetString(0));
            return ids;
        });
        int removed = 0;
        foreach (var file in Directory.EnumerateFiles(store.DatasetsDirectory))
        {
            var name = Path.GetFileName(file);
            var id = name.EndsWith(".f64", StringComparison.Ordinal) ? name[..^4] : null;
            if (id is null || !known.Contains(id))
            {
                TryDelete(file);
                removed++;
            }
        }
        if (removed > 0) logger.LogInformation("Removed {Count} orphaned data set files", removed);
        return removed;
    }

    private static Dataset Read(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt64(4),
        DateTimeOffset.Parse(reader.GetString(5), System.Globalization.CultureInfo.InvariantCulture),
        JsonSerializer.Deserialize<List<ColumnStats>>(reader.GetString(6))!);

    private void TryDelete(string path) => StoreFiles.TryDelete(path, logger);
}
