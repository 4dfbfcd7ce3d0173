using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using RegService.Api.Datasets;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;
using RegService.Api.Storage.Postgres;

namespace RegService.Api.Tests.Postgres;

/// <summary>
/// The store contract against PostgreSQL (a new database per test on the class's throwaway
/// cluster), and what only the shared store does: concurrent migrations, the bounded local cache,
/// LISTEN/NOTIFY across replicas, and riding out a database restart.
/// </summary>
[RequiresPostgres]
public sealed class PostgresStoreTests : StoreContractTests, IClassFixture<PostgresServer>
{
    private readonly PostgresServer _server;
    private readonly List<IDisposable> _owned = [];
    private readonly string _connectionString = "";
    private readonly string _directory = ApiFactory.NewDirectory();
    private readonly PostgresMatrixCache? _cache;

    public PostgresStoreTests(PostgresServer server)
    {
        _server = server;
        if (PostgresServer.SkipReason is not null) return;
        _connectionString = server.CreateDatabase();
        var database = Database();
        _cache = new PostgresMatrixCache(Settings(), NullLogger<PostgresMatrixCache>.Instance);
        Fits = new PostgresFitStore(database);
        Datasets = new PostgresDatasetStore(database, _cache, NullLogger<PostgresDatasetStore>.Instance);
        Keys = new PostgresApiKeyStore(database);
    }

    protected override IFitStore Fits { get; } = null!;
    protected override IDatasetStore Datasets { get; } = null!;
    protected override IApiKeyStore Keys { get; } = null!;

    protected override void ForgetLocalCopies()
    {
        foreach (var file in Directory.EnumerateFiles(_cache!.Directory)) File.Delete(file);
    }

    private IOptions<StorageOptions> Settings(long cacheBytes = 1L << 30, string? directory = null) => Options.Create(new StorageOptions
    {
        Provider = "postgres", ConnectionString = _connectionString, DataDirectory = directory ?? _directory, CacheBytes = cacheBytes,
    });

    private PostgresDatabase Database()
    {
        var database = new PostgresDatabase(Settings(), NullLogger<PostgresDatabase>.Instance);
        _owned.Add(database);
        return database;
    }

    public override void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [PostgresFact]
    public async Task ReplicasStartingTogetherMigrateOnce()
    {
        var fresh = _server.CreateDatabase();
        var options = Options.Create(new StorageOptions { Provider = "postgres", ConnectionString = fresh, DataDirectory = _directory });
        var databases = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => new PostgresDatabase(options, NullLogger<PostgresDatabase>.Instance))));
        foreach (var d in databases)
        {
            d.Probe();
            d.Dispose();
        }
        await using var connection = new NpgsqlConnection(fresh);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*), max(version) FROM schema_version", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((1L, PostgresDatabase.SchemaVersion), (reader.GetInt64(0), reader.GetInt32(1)));
    }

    [PostgresFact]
    public async Task ADatabaseOfSchemaVersion2UpgradesAndKeepsItsFits()
    {
        var dataset = await AddDataset("a");
        var id = NewId();
        Assert.Equal(EnqueueOutcome.Queued, Fits.TryEnqueue(id, "a", dataset, "{}", 10, 10));
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            // Back to the version 2 schema, as an earlier build left it.
            await using var command = new NpgsqlCommand("ALTER TABLE fits DROP COLUMN progress_json; UPDATE schema_version SET version = 2", connection);
            await command.ExecuteNonQueryAsync();
        }
        NpgsqlConnection.ClearAllPools();
        var fits = new PostgresFitStore(Database());   // a replica of the new build starts: it migrates
        Assert.Null(fits.Get("a", id)!.ProgressJson);
        var claimed = (await fits.TryClaimNextAsync("test", TimeSpan.FromSeconds(30), CancellationToken.None))!;
        fits.UpdateProgress(id, claimed.LeaseToken!, 0.5, "fitting", """{"fold":2}""");
        Assert.Equal("""{"fold":2}""", fits.GetState("a", id)!.ProgressJson);
        await using var check = new NpgsqlConnection(_connectionString);
        await check.OpenAsync();
        await using var version = new NpgsqlCommand("SELECT version FROM schema_version", check);
        Assert.Equal(PostgresDatabase.SchemaVersion, (int)(await version.ExecuteScalarAsync())!);
    }

    [PostgresFact]
    public async Task TheLocalCacheStaysWithinItsBudget()
    {
        var database = Database();
        var cache = new PostgresMatrixCache(Settings(cacheBytes: 2_000_000, directory: ApiFactory.NewDirectory()), NullLogger<PostgresMatrixCache>.Instance);
        var store = new PostgresDatasetStore(database, cache, NullLogger<PostgresDatasetStore>.Instance);
        var tables = new List<(Dataset Dataset, Numerics.Data.DenseMatrix Expected)>();
        for (int i = 0; i < 3; i++)
        {
            var table = await Table(30_000, columns: 3, seed: i);   // 720 kB each
            tables.Add((await store.AddAsync("a", $"t{i}", table, CancellationToken.None), table.ToMatrix()));
        }
        // A matrix larger than the whole cache is read through a temporary file.
        var huge = await Table(100_000, columns: 3, seed: 9);     // 2.4 MB
        tables.Add((await store.AddAsync("a", "huge", huge, CancellationToken.None), huge.ToMatrix()));
        for (int round = 0; round < 2; round++)
            foreach (var (dataset, expected) in tables)
            {
                Assert.True(expected.Data.AsSpan().SequenceEqual(store.LoadMatrix(dataset).Data));
                long cached = Directory.EnumerateFiles(cache.Directory).Sum(f => new FileInfo(f).Length);
                Assert.InRange(cached, 0, 2_000_000);
            }
        Assert.Empty(Directory.EnumerateFiles(cache.Directory, "*.tmp"));
        Assert.False(File.Exists(cache.PathOf(tables[^1].Dataset.Id)));
    }

    [PostgresFact]
    public async Task AFitQueuedOnOneReplicaWakesOneWorkerOnEveryReplica()
    {
        using var mine = Listener(Database());
        using var other = Listener(Database());
        await Listening(mine, other);
        var dataset = await AddDataset("a");
        Assert.Equal(EnqueueOutcome.Queued, Fits.TryEnqueue(NewId(), "a", dataset, "{}", 10, 10));
        mine.Notify();   // what the API does after an enqueue: nothing more while listening
        foreach (var listener in new[] { mine, other })
        {
            Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
            Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None));   // one worker, not two
        }
        // A refused enqueue wakes nobody.
        Assert.Equal(EnqueueOutcome.DatasetNotFound, Fits.TryEnqueue(NewId(), "a", "missing", "{}", 10, 10));
        Assert.False(await other.WaitAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None));
    }

    [PostgresFact]
    public async Task ARevocationOnOneReplicaClearsEveryReplicasCachedKeysBeforeItReturns()
    {
        var auth = Options.Create(new Auth.AuthOptions { KeyCacheSeconds = 3600 });
        using var oneListener = Listener(Database());
        using var twoListener = Listener(Database());
        await Listening(oneListener, twoListener);
        var one = new Auth.ApiKeyCache(new PostgresApiKeyStore(Database()), oneListener, auth);
        var two = new Auth.ApiKeyCache(new PostgresApiKeyStore(Database()), twoListener, auth);
        one.Add(new ApiKeyRecord("k1", "a", "ci", DateTimeOffset.UtcNow, null), "hash1");
        Assert.Null(two.FindByHash("hash1")?.RevokedAt);
        // Cached: a change behind the caches' back is not seen...
        using (var connection = Database().Open())
        using (var command = new NpgsqlCommand("UPDATE api_keys SET name = 'renamed' WHERE id = 'k1'", connection))
            command.ExecuteNonQuery();
        Assert.Equal("ci", two.FindByHash("hash1")!.Name);
        // ...but a revocation through the other replica is, as soon as Revoke has returned.
        Assert.True(one.Revoke("k1"));
        var deadline = DateTime.UtcNow.AddMilliseconds(100);
        ApiKeyRecord? seen;
        while ((seen = two.FindByHash("hash1"))!.RevokedAt is null && DateTime.UtcNow < deadline) await Task.Yield();
        Assert.NotNull(seen.RevokedAt);
        Assert.NotNull(one.FindByHash("hash1")!.RevokedAt);
    }

    private static PostgresListener Listener(PostgresDatabase database) => new(database, NullLogger<PostgresListener>.Instance);

    private static async Task Listening(params PostgresListener[] listeners)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        foreach (var listener in listeners)
        {
            listener.EnsureListening();
            while (!listener.Listening && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(listener.Listening);
            while (await listener.WaitAsync(TimeSpan.Zero, CancellationToken.None)) { }   // the wake-up on connecting
        }
    }

    [PostgresFact]
    public async Task TheStoreFailsCleanlyWhileTheDatabaseIsDownAndRecoversAfter()
    {
        var database = Database();
        using var signal = Listener(database);
        signal.EnsureListening();
        var dataset = await AddDataset("a");
        database.Probe();
        _server.Stop();
        try
        {
            var ex = Assert.ThrowsAny<Exception>(() => database.Probe());
            Assert.Equal(503, StoreFaults.Classify(ex)?.Status);
            ex = Assert.ThrowsAny<Exception>(() => Fits.TryEnqueue(NewId(), "a", dataset, "{}", 10, 10));
            Assert.Equal(503, StoreFaults.Classify(ex)?.Status);
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => Fits.TryClaimNextAsync("w", TimeSpan.FromSeconds(5), CancellationToken.None));
        }
        finally
        {
            _server.Start();
        }
        // Pooled connections broken by the restart are dropped; the store answers again by itself.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                database.Probe();
                if (Fits.TryEnqueue(NewId(), "a", dataset, "{}", 10, 10) == EnqueueOutcome.Queued) break;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
        Assert.NotNull(await Fits.TryClaimNextAsync("w", TimeSpan.FromSeconds(5), CancellationToken.None));
        while (!signal.Listening && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(signal.Listening, "the listener did not reconnect");
    }
}
