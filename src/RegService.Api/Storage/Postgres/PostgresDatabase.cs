using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using RegService.Api.Infrastructure;

namespace RegService.Api.Storage.Postgres;

/// <summary>
/// The shared store: one PostgreSQL database that any number of replicas use at once for data set
/// metadata and matrices (chunked), jobs, results and API keys. Connections come from one pooled
/// <see cref="NpgsqlDataSource"/> with a short connect timeout, so a database that is down fails a
/// request in seconds (a 503 through <see cref="StoreFaults"/>) instead of hanging it.
/// The schema is created or migrated before first use, under an advisory lock so replicas that
/// start together migrate once; when the database is down at start, the migration waits for the
/// first connection that succeeds and the process starts anyway.
/// </summary>
public sealed class PostgresDatabase : IStoreHealth, IDisposable
{
    /// <summary>The advisory lock key held while migrating (any constant unique to this service).</summary>
    public const long MigrationLockKey = 0x5265_6753_7276_0001;   // "RegSrv" 1

    /// <summary>The advisory lock key enqueues hold so the queue capacity checks and the insert are one step.</summary>
    public const long EnqueueLockKey = 0x5265_6753_7276_0002;

    /// <summary>The schema version this build writes.</summary>
    public const int SchemaVersion = 3;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresDatabase> _logger;
    private readonly object _migrateGate = new();
    private volatile bool _migrated;

    public PostgresDatabase(IOptions<StorageOptions> options, ILogger<PostgresDatabase> logger)
    {
        _logger = logger;
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.ConnectionString))
            throw new Auth.ConfigurationException(
                "Storage:Provider is postgres but Storage:ConnectionString is empty: set it (e.g. Storage__ConnectionString=\"Host=db;Database=regservice;Username=regservice;Password=...\")");
        ConnectionString = WithDefaults(settings.ConnectionString);
        DataDirectory = Path.GetFullPath(settings.DataDirectory);
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        try
        {
            EnsureSchema();
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            // Not fatal: the replica starts, answers 503 and reports unready until the database answers.
            _logger.LogError(ex, "PostgreSQL is unreachable at start; the schema will be checked at the first connection that succeeds");
        }
    }

    /// <summary>The connection string with the defaults this service adds (connect and command timeouts).</summary>
    public string ConnectionString { get; }

    /// <summary>Where this replica keeps its local files (the data set cache).</summary>
    public string DataDirectory { get; }

    /// <summary>An open pooled connection, the schema migrated.</summary>
    public NpgsqlConnection Open()
    {
        if (!_migrated) EnsureSchema();
        return _dataSource.OpenConnection();
    }

    /// <summary>An open pooled connection, the schema migrated.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        if (!_migrated) EnsureSchema();
        return await _dataSource.OpenConnectionAsync(ct);
    }

    /// <summary>Connect timeout 5 s, command timeout 30 s and automatic preparation, unless the connection string says otherwise.</summary>
    public static string WithDefaults(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var keys = given.Keys.Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant()).ToHashSet();
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!keys.Overlaps(["timeout", "connecttimeout", "connectiontimeout"])) builder.Timeout = 5;
        if (!keys.Contains("commandtimeout")) builder.CommandTimeout = 30;
        if (!keys.Contains("applicationname")) builder.ApplicationName = "regservice";
        // The same few statements run for every fit: prepared on the server after their second use
        // (measured: about a third more fits per second with two replicas and 8 clients).
        if (!keys.Contains("maxautoprepare")) builder.MaxAutoPrepare = 64;
        if (!keys.Contains("autoprepareminusages")) builder.AutoPrepareMinUsages = 2;
        // Nothing here leaves session state on a pooled connection (advisory locks are transaction-scoped,
        // LISTEN has its own unpooled connection), so skip the reset Npgsql otherwise sends on every
        // return to the pool: with prepared statements it is seven statements per open (measured: 18
        // opens and 130 reset statements per fit with two replicas before this).
        if (!keys.Contains("noresetonclose")) builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    /// <summary>True for failures that mean the database cannot be reached or answered (not a bug here).</summary>
    public static bool IsUnavailable(Exception ex) => ex is DbException or TimeoutException or System.Net.Sockets.SocketException or IOException;

    /// <summary>
    /// Migrates once. While the database is unreachable, callers that queued behind a failed attempt
    /// fail at once with it (for a second) instead of each waiting out its own connect timeout.
    /// </summary>
    private void EnsureSchema()
    {
        lock (_migrateGate)
        {
            if (_migrated) return;
            if (_lastFailure is { } failure && DateTime.UtcNow - _lastFailureAt < TimeSpan.FromSeconds(1))
                throw new NpgsqlException($"PostgreSQL was unreachable a moment ago ({failure.Message})", failure);
            try
            {
                using var connection = _dataSource.OpenConnection();
                Migrate(connection);
                _migrated = true;
                _lastFailure = null;
            }
            catch (Exception ex) when (IsUnavailable(ex))
            {
                _lastFailure = ex;
                _lastFailureAt = DateTime.UtcNow;
                throw;
            }
        }
    }

    private Exception? _lastFailure;
    private DateTime _lastFailureAt;

    /// <summary>
    /// Creates or migrates the schema in one transaction that holds an advisory lock, so replicas
    /// starting at once migrate one after the other (the later ones find the work done).
    /// </summary>
    private void Migrate(NpgsqlConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        Exec(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey})");
        Exec(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)");
        int version;
        using (var command = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection, transaction))
            version = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new InvalidOperationException(
                $"the PostgreSQL database has schema version {version}, newer than this build's {SchemaVersion}; run a newer RegService");
        for (int v = version + 1; v <= SchemaVersion; v++)
        {
            Exec(connection, transaction, Migrations[v - 1]);
            Exec(connection, transaction, $"DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({v})");
            _logger.LogInformation("PostgreSQL schema migrated to version {Version}", v);
        }
        transaction.Commit();
    }

    private static readonly string[] Migrations =
    [
        // 1: data sets (metadata and ~1 MiB chunks of the float64 column-major matrix), fits with
        // leases, API keys, the health probe's row.
        """
        CREATE TABLE datasets (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            name text NOT NULL,
            rows integer NOT NULL,
            columns integer NOT NULL,
            size_bytes bigint NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            summary_json text NOT NULL
        );
        CREATE INDEX datasets_tenant ON datasets (tenant, created_at);
        CREATE TABLE dataset_chunks (
            dataset_id text NOT NULL,
            seq integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (dataset_id, seq)
        );
        -- Float64 data hardly compresses: store chunks out of line without trying.
        ALTER TABLE dataset_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE TABLE fits (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            tenant text NOT NULL,
            dataset_id text NOT NULL,
            status text NOT NULL,
            request_json text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            finished_at timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            progress double precision NOT NULL DEFAULT 0,
            stage text,
            cancel_requested boolean NOT NULL DEFAULT false,
            result_json text,
            error text,
            lease_token text,
            lease_owner text,
            lease_expires_at timestamptz
        );
        CREATE INDEX fits_status ON fits (status, seq);
        CREATE INDEX fits_dataset ON fits (dataset_id, status);
        CREATE INDEX fits_tenant ON fits (tenant, seq);
        CREATE INDEX fits_tenant_status ON fits (tenant, status, seq);
        CREATE TABLE api_keys (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            name text NOT NULL,
            secret_hash text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL,
            revoked_at timestamptz
        );
        CREATE TABLE health_probe (id integer PRIMARY KEY, at timestamptz NOT NULL);
        """,
        // 2: a submission as one statement (one round trip, the enqueue lock held only inside the
        // server): the data set share-locked (a delete waits or has happened), the queue capacities
        // counted under the enqueue lock, the insert, and the wake-up of every replica's workers.
        $$"""
        CREATE FUNCTION regservice_enqueue(p_id text, p_tenant text, p_dataset text, p_request text,
                                           p_capacity bigint, p_tenant_capacity bigint) RETURNS text
        LANGUAGE plpgsql AS $fn$
        DECLARE
            queued_all bigint;
            queued_mine bigint;
        BEGIN
            PERFORM 1 FROM datasets WHERE id = p_dataset AND tenant = p_tenant FOR SHARE;
            IF NOT FOUND THEN RETURN 'dataset_not_found'; END IF;
            PERFORM pg_advisory_xact_lock({{EnqueueLockKey}});
            SELECT count(*), count(*) FILTER (WHERE tenant = p_tenant) INTO queued_all, queued_mine
                FROM fits WHERE status = 'queued';
            IF queued_mine >= p_tenant_capacity THEN RETURN 'tenant_queue_full'; END IF;
            IF queued_all >= p_capacity THEN RETURN 'queue_full'; END IF;
            INSERT INTO fits (id, tenant, dataset_id, status, request_json, created_at)
                VALUES (p_id, p_tenant, p_dataset, 'queued', p_request, now());
            PERFORM pg_notify('{{PostgresListener.FitsChannel}}', '');
            RETURN 'queued';
        END
        $fn$;
        """,
        // 3: the progress detail of a running fit (lambda, fold, epoch, loss) as JSON, so any replica serves it; NULL for none.
        """
        ALTER TABLE fits ADD COLUMN progress_json text;
        """,
    ];

    /// <summary>Ready when the database takes a small write; throws while it is down.</summary>
    public void Probe()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(
            "INSERT INTO health_probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at", connection);
        command.CommandTimeout = 5;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _dataSource.Dispose();

    private static void Exec(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        command.ExecuteNonQuery();
    }
}
