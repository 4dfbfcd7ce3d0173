using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RegService.Api.Infrastructure;
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
}
