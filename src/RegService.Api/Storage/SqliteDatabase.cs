using System.Collections.Concurrent;
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
            // Sessions (SqliteSession) keep connections open with their prepared statements; one dropped after a failed
            // statement goes back to Microsoft.Data.Sqlite's pool, still open, so the database is never left without an open
            // connection (closing the last one would checkpoint and delete the write-ahead log: on a full disk, freeing the
            // space the health probe should find missing).
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
    private readonly object _writeLock = new();

    public string DatasetPath(string id) => Path.Combine(DatasetsDirectory, id + ".f64");

    /// <summary>A new connection with this store's settings (the caller closes it); the stores' own work goes through <see cref="Read{T}"/> and <see cref="Write{T}"/>.</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Runs <paramref name="work"/> on a connection of the pool, with its prepared statements (<see cref="SqliteSession"/>).</summary>
    public T Read<T>(Func<SqliteSession, T> work)
    {
        var session = Rent();
        T result;
        try
        {
            result = work(session);
        }
        catch
        {
            // A statement that failed (disk full, a bug) may be left mid-step: its connection is not reused.
            session.Dispose();
            throw;
        }
        Return(session);
        return result;
    }

    /// <summary>As <see cref="Read{T}"/>, under the write lock: for work that writes.</summary>
    public T Write<T>(Func<SqliteSession, T> work)
    {
        var session = Rent();
        T result;
        try
        {
            lock (_writeLock) result = work(session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        Return(session);
        return result;
    }

    // Idle sessions, each an open connection with the statements it has prepared. One is taken per store call and
    // given back after it, so a process keeps about as many as it runs store calls at once (at most MaxIdle idle).
    private const int MaxIdle = 16;
    private readonly ConcurrentStack<SqliteSession> _idle = new();
    private int _idleCount;
    private volatile bool _disposed;

    private SqliteSession Rent()
    {
        if (_idle.TryPop(out var session))
        {
            Interlocked.Decrement(ref _idleCount);
            return session;
        }
        return new SqliteSession(Open());
    }

    private void Return(SqliteSession session)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            session.Dispose();
            return;
        }
        _idle.Push(session);
        // Disposed meanwhile: this one may have been pushed after the store emptied the stack.
        if (_disposed) CloseIdle();
    }

    private void CloseIdle()
    {
        while (_idle.TryPop(out var session))
        {
            Interlocked.Decrement(ref _idleCount);
            session.Dispose();
        }
    }

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
        Write(session =>
        {
            var command = session.Command("INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, $at)");
            command.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            return command.ExecuteNonQuery();
        });
        var probe = Path.Combine(DataDirectory, ".probe");
        using (var file = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough))
            file.Write(new byte[4096]);
        File.Delete(probe);
    }

    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
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
/// An open connection of <see cref="SqliteDatabase"/>'s pool and the commands it has run, kept by their text: SQLite
/// parses a statement once per connection (<see cref="Command"/> hands back the same prepared command, its parameters
/// cleared), where a new <see cref="SqliteCommand"/> would parse it again on every call. Every distinct text is kept for
/// the connection's life: build texts from constants and pass values as parameters, never in the text.
/// </summary>
public sealed class SqliteSession(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;

    /// <summary>How many distinct statements this connection has prepared.</summary>
    public int Prepared => _commands.Count;

    /// <summary>
    /// The command for <paramref name="sql"/>, prepared on its first use on this connection, with no parameters and no
    /// transaction: bind its parameters, run it, and dispose its reader before the next use (the session owns it).
    /// </summary>
    public SqliteCommand Command(string sql)
    {
        if (_commands.TryGetValue(sql, out var command))
        {
            command.Parameters.Clear();
            command.Transaction = null;
            return command;
        }
        command = Connection.CreateCommand();
        command.CommandText = sql;
        _commands.Add(sql, command);
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values) command.Dispose();
        _commands.Clear();
        Connection.Dispose();
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
