using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RegService.Api.Infrastructure;
using RegService.Api.Fits;
using RegService.Api.Storage;

namespace RegService.Api.Tests.Postgres;

/// <summary>The store contract against the embedded SQLite store, on a new data directory per test.</summary>
public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _directory = ApiFactory.NewDirectory();
    private readonly SqliteDatabase _database;

    public SqliteStoreTests()
    {
        _database = new SqliteDatabase(Options.Create(new StorageOptions { DataDirectory = _directory }));
        Fits = new SqliteFitStore(_database);
        Datasets = new SqliteDatasetStore(_database, NullLogger<SqliteDatasetStore>.Instance);
        Keys = new SqliteApiKeyStore(_database);
    }

    protected override IFitStore Fits { get; }
    protected override IDatasetStore Datasets { get; }
    protected override IApiKeyStore Keys { get; }

    public override void Dispose()
    {
        _database.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task AConnectionPreparesEachStatementOnce()
    {
        var dataset = await AddDataset("a");
        var id = NewId();
        Fits.TryEnqueue(id, "a", dataset, "{}", 10, 10);
        // One call at a time takes the same pooled connection, whose commands are kept by their text.
        var first = _database.Read(s => (s, s.Command("SELECT count(*) FROM fits"), s.Prepared));
        for (int i = 0; i < 3; i++) Assert.NotNull(Fits.Get("a", id));
        var again = _database.Read(s => (s, s.Command("SELECT count(*) FROM fits"), s.Prepared));
        Assert.Same(first.Item1, again.Item1);
        Assert.Same(first.Item2, again.Item2);
        Assert.Equal(first.Prepared + 1, again.Prepared);   // the fit's SELECT, prepared once for three reads
        Assert.Equal(1L, again.Item2.ExecuteScalar());
    }

    [Fact]
    public async Task AConnectionWhoseStatementFailedIsNotReused()
    {
        var dataset = await AddDataset("a");
        var used = _database.Read(s => s);
        Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => _database.Write(s => s.Command("INSERT INTO no_such_table VALUES (1)").ExecuteNonQuery()));
        Assert.NotSame(used, _database.Read(s => s));
        var id = NewId();
        Assert.Equal(EnqueueOutcome.Queued, Fits.TryEnqueue(id, "a", dataset, "{}", 10, 10));
        Assert.Equal(JobStatus.Queued, Fits.Get("a", id)!.Status);
    }

    [Fact]
    public async Task ADatabaseOfSchemaVersion2UpgradesAndKeepsItsFits()
    {
        var directory = ApiFactory.NewDirectory();
        var options = Options.Create(new StorageOptions { DataDirectory = directory });
        var id = NewId();
        using (var database = new SqliteDatabase(options))
        {
            var dataset = (await new SqliteDatasetStore(database, NullLogger<SqliteDatasetStore>.Instance).AddAsync("a", "d", await Table(5), CancellationToken.None)).Id;
            Assert.Equal(EnqueueOutcome.Queued, new SqliteFitStore(database).TryEnqueue(id, "a", dataset, "{}", 10, 10));
            // Back to the version 2 schema, as an earlier build left it.
            using var connection = database.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE fits DROP COLUMN progress_json; UPDATE schema_version SET version = 2;";
            command.ExecuteNonQuery();
        }
        using (var upgraded = new SqliteDatabase(options))
        {
            using (var connection = upgraded.Open())
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT version FROM schema_version";
                Assert.Equal((long)SqliteDatabase.SchemaVersion, command.ExecuteScalar());
            }
            var fits = new SqliteFitStore(upgraded);
            Assert.Null(fits.Get("a", id)!.ProgressJson);
            var claimed = (await fits.TryClaimNextAsync("test", TimeSpan.FromSeconds(30), CancellationToken.None))!;
            fits.UpdateProgress(id, claimed.LeaseToken!, 0.5, "fitting", """{"fold":2}""");
            Assert.Equal("""{"fold":2}""", fits.GetState("a", id)!.ProgressJson);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}
