using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using RegService.Api.Infrastructure;

namespace RegService.Api.Storage;

/// <summary>
/// The embedded store: one SQLite database in WAL mode under the data directory for data set
/// metadata, jobs and results, and one binary file per data set (float64, column-major) beside it.
/// </summary>
public sealed class Store
{
    private readonly string _connectionString;

    public Store(IOptions<StorageOptions> options)
    {
        DataDirectory = Path.GetFullPath(options.Value.DataDirectory);
        DatasetsDirectory = Path.Combine(DataDirectory, "datasets");
        Directory.CreateDirectory(DatasetsDirectory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(DataDirectory, "regservice.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Initialize();
    }

    public string DataDirectory { get; }
    public string DatasetsDirectory { get; }

    public string DatasetPath(string id) => Path.Combine(DatasetsDirectory, id + ".f64");

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    private void Initialize()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS datasets (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                rows INTEGER NOT NULL,
                columns INTEGER NOT NULL,
                size_bytes INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                summary_json TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS fits (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                dataset_id TEXT NOT NULL,
                status TEXT NOT NULL,
                request_json TEXT NOT NULL,
                created_at TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                progress REAL NOT NULL DEFAULT 0,
                stage TEXT,
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                result_json TEXT,
                error TEXT
            );
            CREATE INDEX IF NOT EXISTS fits_status ON fits(status, seq);
            CREATE INDEX IF NOT EXISTS fits_dataset ON fits(dataset_id);
            """;
        command.ExecuteNonQuery();
    }

    /// <summary>True when the database answers a query (used by /health/ready).</summary>
    public bool Ping()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master";
        return command.ExecuteScalar() is long;
    }
}
