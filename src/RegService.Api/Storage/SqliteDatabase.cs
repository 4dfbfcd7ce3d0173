using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using RegService.Api.Infrastructure;

namespace RegService.Api.Storage;

/// <summary>
/// The embedded store: one SQLite database in WAL mode under the data directory for data set
/// metadata, jobs, results and API keys, and one binary file per data set (float64, column-major)
/// beside it. The process that opens it holds an OS lock on the directory: a second process on the
/// same directory refuses to start.
/// </summary>
public sealed class SqliteDatabase : IStoreHealth, IDisposable
{
    private readonly string _connectionString;
    private readonly DataDirectoryLock _lock;

    public SqliteDatabase(IOptions<StorageOptions> options)
    {
        DataDirectory = Path.GetFullPath(options.Value.DataDirectory);
        DatasetsDirectory = Path.Combine(DataDirectory, "datasets");
        Directory.CreateDirectory(DatasetsDirectory);
        _lock = DataDirectoryLock.Acquire(DataDirectory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(DataDirectory, "regservice.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        try
        {
            Migrate();
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
    }

    public string DataDirectory { get; }
    public string DatasetsDirectory { get; }

    /// <summary>
    /// Held around every write (the data set files are written before, outside it). This process
    /// owns the database, so writers queue here instead of meeting SQLITE_BUSY, whose handler sleeps
    /// in steps of milliseconds: under concurrent clients that sleep, not the work, set the pace.
    /// </summary>
    public object WriteLock { get; } = new();

    public string DatasetPath(string id) => Path.Combine(DatasetsDirectory, id + ".f64");

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // The settings live on the physical connection, which the pool reuses: set them once per connection.
        if (connection.Handle is { } handle && !Configured.TryGetValue(handle, out _))
        {
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
            pragma.ExecuteNonQuery();
            Configured.AddOrUpdate(handle, Marker);
        }
        return connection;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();
    private static readonly object Marker = new();

    /// <summary>The schema version this build writes.</summary>
    public const int SchemaVersion = 3;

    /// <summary>Creates or migrates the schema, one version at a time, each in a transaction.</summary>
    private void Migrate()
    {
        using var connection = Open();
        Exec(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
            """);
        int version = Convert.ToInt32(Scalar(connection, "SELECT coalesce(max(version), 0) FROM schema_version"), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new InvalidOperationException(
                $"the database in {DataDirectory} has schema version {version}, newer than this build's {SchemaVersion}; run a newer RegService");
        // Databases made before the version table existed hold the version 1 tables already.
        if (version == 0 && Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'fits'") is long n && n > 0) version = 1;
        for (int v = version + 1; v <= SchemaVersion; v++)
        {
            using var transaction = connection.BeginTransaction();
            Exec(connection, Migrations[v - 1], transaction);
            Exec(connection, $"DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({v});", transaction);
            transaction.Commit();
        }
        if (version == SchemaVersion && Scalar(connection, "SELECT count(*) FROM schema_version") is 0L)
            Exec(connection, $"INSERT INTO schema_version (version) VALUES ({SchemaVersion})");
    }

    private static readonly string[] Migrations =
    [
        // 1: data sets and fits.
        """
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
        """,
        // 2: tenants (earlier rows belong to 'local'), leases, API keys, the health probe's row.
        """
        ALTER TABLE datasets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'local';
        ALTER TABLE fits ADD COLUMN tenant TEXT NOT NULL DEFAULT 'local';
        ALTER TABLE fits ADD COLUMN lease_token TEXT;
        ALTER TABLE fits ADD COLUMN lease_owner TEXT;
        ALTER TABLE fits ADD COLUMN lease_expires_at INTEGER;
        CREATE INDEX IF NOT EXISTS datasets_tenant ON datasets(tenant, created_at);
        CREATE INDEX IF NOT EXISTS fits_tenant ON fits(tenant, seq);
        -- A tenant's queued count (checked on every submission) and its lists by status, without
        -- walking every fit the tenant ever ran.
        CREATE INDEX IF NOT EXISTS fits_tenant_status ON fits(tenant, status, seq);
        CREATE TABLE IF NOT EXISTS api_keys (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
        """,
        // 3: the progress detail of a running fit (lambda, fold, epoch, loss) as JSON; NULL for none.
        """
        ALTER TABLE fits ADD COLUMN progress_json TEXT;
        """,
    ];

    /// <summary>
    /// Ready when the database answers a write and the data directory takes a small file: a full
    /// disk or a read-only directory turns this unhealthy, and it recovers by itself once space is back.
    /// </summary>
    public void Probe()
    {
        using (var connection = Open())
            lock (WriteLock) Exec(connection, $"INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, '{DateTimeOffset.UtcNow:O}')");
        var probe = Path.Combine(DataDirectory, ".probe");
        using (var file = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough))
            file.Write(new byte[4096]);
        File.Delete(probe);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _lock.Dispose();
    }

    private static void Exec(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}

/// <summary>
/// An exclusive OS lock on <c>regservice.lock</c> in a data directory, held for the process's life
/// (.NET takes an advisory <c>flock</c> for <see cref="FileShare.None"/> on Unix, a share lock on
/// Windows). The owner's pid is written to <c>regservice.pid</c> so a refused process can name it.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static DataDirectoryLock Acquire(string directory)
    {
        var lockPath = Path.Combine(directory, "regservice.lock");
        var pidPath = Path.Combine(directory, "regservice.pid");
        FileStream file;
        try
        {
            file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            string owner = "another process";
            try
            {
                if (File.Exists(pidPath)) owner = $"process {File.ReadAllText(pidPath).Trim()}";
            }
            catch (IOException) { }
            throw new DataDirectoryInUseException(
                $"the data directory {directory} is in use by {owner} (it holds {lockPath}); stop it, or give this process " +
                "another Storage:DataDirectory (or run several replicas on one PostgreSQL database with Storage:Provider=postgres)", ex);
        }
        File.WriteAllText(pidPath, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return new DataDirectoryLock(file);
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>A second process on a data directory that another owns.</summary>
public sealed class DataDirectoryInUseException(string message, Exception inner) : Exception(message, inner);
