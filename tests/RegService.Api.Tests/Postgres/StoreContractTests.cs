using System.Globalization;
using System.Text;
using RegService.Api.Fits;
using RegService.Api.Storage;
using RegService.Numerics.Data;

namespace RegService.Api.Tests.Postgres;

/// <summary>
/// What every store promises behind <see cref="IFitStore"/>, <see cref="IDatasetStore"/> and
/// <see cref="IApiKeyStore"/>, run against each store directly (no web host): each test gets an
/// empty store from the concrete class.
/// </summary>
public abstract class StoreContractTests : IDisposable
{
    protected const string Failure = """{"title":"Too many attempts"}""";

    protected abstract IFitStore Fits { get; }
    protected abstract IDatasetStore Datasets { get; }
    protected abstract IApiKeyStore Keys { get; }

    /// <summary>Drops local copies of matrices, so the next read goes to the store itself.</summary>
    protected virtual void ForgetLocalCopies() { }

    public abstract void Dispose();

    protected static async Task<ColumnTable> Table(int rows, int columns = 3, int seed = 1)
    {
        var random = new Random(seed);
        var csv = new StringBuilder();
        csv.AppendLine(string.Join(',', Enumerable.Range(0, columns).Select(j => $"c{j}")));
        for (int i = 0; i < rows; i++)
            csv.AppendLine(string.Join(',', Enumerable.Range(0, columns).Select(_ => (random.NextDouble() * 2000 - 1000).ToString("R", CultureInfo.InvariantCulture))));
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        return await CsvTableReader.ReadAsync(stream);
    }

    protected async Task<string> AddDataset(string tenant, int rows = 5) =>
        (await Datasets.AddAsync(tenant, "d", await Table(rows), CancellationToken.None)).Id;

    protected static string NewId() => Guid.NewGuid().ToString("N");

    private EnqueueOutcome Enqueue(string id, string tenant, string dataset, int capacity = 100, int tenantCapacity = 100) =>
        Fits.TryEnqueue(id, tenant, dataset, "{}", capacity, tenantCapacity);

    private async Task<FitRecord> Claim(TimeSpan? lease = null) =>
        await Fits.TryClaimNextAsync("test", lease ?? TimeSpan.FromSeconds(30), CancellationToken.None) ?? throw new InvalidOperationException("nothing to claim");

    [StoreFact]
    public async Task FitsAreScopedByTenant()
    {
        var dataset = await AddDataset("a");
        string f1 = NewId(), f2 = NewId(), f3 = NewId();
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(f1, "a", dataset));
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(f2, "a", dataset));
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(f3, "a", dataset));
        Assert.Equal(EnqueueOutcome.DatasetNotFound, Enqueue(NewId(), "b", dataset));
        Assert.Equal(EnqueueOutcome.DatasetNotFound, Enqueue(NewId(), "a", "missing"));

        var fit = Fits.Get("a", f1)!;
        Assert.Equal((f1, "a", dataset, JobStatus.Queued, 0, (string?)null), (fit.Id, fit.Tenant, fit.DatasetId, fit.Status, fit.Attempts, fit.LeaseToken));
        Assert.Null(Fits.Get("b", f1));
        Assert.Null(Fits.Get("a", "missing"));

        var (items, total) = Fits.List("a", null, null, 0, 2);
        Assert.Equal(3, total);
        Assert.Equal([f3, f2], items.Select(i => i.Id));
        Assert.Equal(0, Fits.List("b", null, null, 0, 10).Total);
        Assert.Equal(3, Fits.List("a", JobStatus.Queued, dataset, 0, 10).Total);
        Assert.Equal(0, Fits.List("a", JobStatus.Running, null, 0, 10).Total);
        Assert.Equal(0, Fits.List("a", null, "other", 0, 10).Total);

        Assert.Equal(CancelOutcome.NotFound, Fits.Cancel("b", f1));
        Assert.Equal(DeleteOutcome.NotFound, Fits.Delete("b", f1));
        Assert.Equal(JobStatus.Queued, Fits.Get("a", f1)!.Status);
    }

    [StoreFact]
    public async Task AQueuedFitComesBackAsStored()
    {
        var dataset = await AddDataset("a");
        var id = NewId();
        Assert.Equal(EnqueueOutcome.Queued, Fits.TryEnqueue(id, "a", dataset, """{"x":1}""", 10, 10, out var queued));
        Assert.Equal(Fits.Get("a", id), queued);
        Assert.Equal((id, "a", dataset, JobStatus.Queued, """{"x":1}"""), (queued!.Id, queued.Tenant, queued.DatasetId, queued.Status, queued.RequestJson));
        Assert.Equal(EnqueueOutcome.DatasetNotFound, Fits.TryEnqueue(NewId(), "b", dataset, "{}", 10, 10, out var refused));
        Assert.Null(refused);
        Assert.Equal(EnqueueOutcome.TenantQueueFull, Fits.TryEnqueue(NewId(), "a", dataset, "{}", 10, 1, out refused));
        Assert.Null(refused);
    }

    [StoreFact]
    public async Task TheQueueAndEachTenantsShareAreBounded()
    {
        var a = await AddDataset("a");
        var b = await AddDataset("b");
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(NewId(), "a", a, capacity: 2, tenantCapacity: 1));
        Assert.Equal(EnqueueOutcome.TenantQueueFull, Enqueue(NewId(), "a", a, capacity: 2, tenantCapacity: 1));
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(NewId(), "b", b, capacity: 2, tenantCapacity: 1));
        var c = await AddDataset("c");
        Assert.Equal(EnqueueOutcome.QueueFull, Enqueue(NewId(), "c", c, capacity: 2, tenantCapacity: 5));
        // A claimed fit no longer counts against the queue.
        await Claim();
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(NewId(), "c", c, capacity: 2, tenantCapacity: 5));
    }

    [StoreFact]
    public async Task ConcurrentSubmissionsNeverExceedTheCapacity()
    {
        var dataset = await AddDataset("a");
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Task.Run(() => Enqueue(NewId(), "a", dataset, capacity: 5, tenantCapacity: 100))));
        Assert.Equal(5, outcomes.Count(o => o == EnqueueOutcome.Queued));
        Assert.Equal(19, outcomes.Count(o => o == EnqueueOutcome.QueueFull));
        Assert.Equal(5, Fits.List("a", JobStatus.Queued, null, 0, 100).Total);
    }

    [StoreFact]
    public async Task ClaimsTakeTheOldestQueuedFitFirstUnderANewLease()
    {
        var dataset = await AddDataset("a");
        var ids = Enumerable.Range(0, 3).Select(_ => NewId()).ToList();
        foreach (var id in ids) Assert.Equal(EnqueueOutcome.Queued, Enqueue(id, "a", dataset));
        var claimed = new List<FitRecord>();
        for (int i = 0; i < 3; i++) claimed.Add(await Claim());
        Assert.Equal(ids, claimed.Select(c => c.Id));
        Assert.All(claimed, c =>
        {
            Assert.Equal(JobStatus.Running, c.Status);
            Assert.Equal(1, c.Attempts);
            Assert.False(string.IsNullOrEmpty(c.LeaseToken));
            Assert.NotNull(c.StartedAt);
        });
        Assert.Equal(3, claimed.Select(c => c.LeaseToken).Distinct().Count());
        Assert.Null(await Fits.TryClaimNextAsync("test", TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [StoreFact]
    public async Task ConcurrentClaimsTakeEachFitOnce()
    {
        var dataset = await AddDataset("a");
        for (int i = 0; i < 12; i++) Assert.Equal(EnqueueOutcome.Queued, Enqueue(NewId(), "a", dataset));
        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (await Fits.TryClaimNextAsync("w", TimeSpan.FromSeconds(30), CancellationToken.None) is { } fit) mine.Add(fit.Id);
            return mine;
        })));
        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(12, all.Count);
        Assert.Equal(12, all.Distinct().Count());
    }

    [StoreFact]
    public async Task OnlyTheCurrentLeaseTokenWritesProgressAndTheOutcome()
    {
        var dataset = await AddDataset("a");
        var id = NewId();
        Enqueue(id, "a", dataset);
        var fit = await Claim();
        var token = fit.LeaseToken!;
        const string stale = "stale-token";
        Fits.UpdateProgress(id, stale, 0.9, "stale");
        Assert.False(Fits.Succeed(id, stale, "{}"));
        Assert.False(Fits.Fail(id, stale, "{}"));
        Assert.False(Fits.MarkCanceled(id, stale));
        Assert.False(Fits.ReturnToQueue(id, stale));
        Assert.Equal(LeaseState.Lost, Fits.Renew(id, stale, TimeSpan.FromSeconds(30)));
        Assert.False(Fits.Fail(id, null, "{}"));   // without a token only a queued fit fails
        var running = Fits.Get("a", id)!;
        Assert.Equal((JobStatus.Running, 0.0, "starting"), (running.Status, running.Progress, running.Stage));

        Fits.UpdateProgress(id, token, 0.5, "fitting");
        Assert.Equal((0.5, "fitting"), (Fits.Get("a", id)!.Progress, Fits.Get("a", id)!.Stage));
        Assert.Equal(LeaseState.Held, Fits.Renew(id, token, TimeSpan.FromSeconds(30)));
        Assert.True(Fits.Succeed(id, token, """{"ok":true}"""));
        Assert.False(Fits.Succeed(id, token, """{"ok":false}"""));
        Assert.False(Fits.Fail(id, token, "{}"));
        var done = Fits.Get("a", id)!;
        Assert.Equal((JobStatus.Succeeded, 1.0, "done", (string?)null), (done.Status, done.Progress, done.Stage, done.LeaseToken));
        Assert.Contains("true", done.ResultJson);
        Assert.NotNull(done.FinishedAt);
        Assert.Equal(LeaseState.Lost, Fits.Renew(id, token, TimeSpan.FromSeconds(30)));

        // A queued fit fails without a token; a failed one keeps its error.
        var queued = NewId();
        Enqueue(queued, "a", dataset);
        Assert.True(Fits.Fail(queued, null, """{"title":"bad"}"""));
        Assert.Equal(JobStatus.Failed, Fits.Get("a", queued)!.Status);
        Assert.Contains("bad", Fits.Get("a", queued)!.ErrorJson);
    }

    [StoreFact]
    public async Task ACanceledFitKeepsItsPartialResultAndOneWithoutStaysWithout()
    {
        const string Result = """{"partialReason":"canceled"}""";
        var dataset = await AddDataset("a");
        string partial = NewId(), empty = NewId();
        Enqueue(partial, "a", dataset);
        Enqueue(empty, "a", dataset);
        var one = await Claim();
        var two = await Claim();
        Assert.False(Fits.MarkCanceled(partial, "stale", Result));
        Assert.True(Fits.MarkCanceled(partial, one.LeaseToken!, Result));
        Assert.True(Fits.MarkCanceled(empty, two.LeaseToken!));
        var kept = Fits.Get("a", partial)!;
        Assert.Equal((JobStatus.Canceled, Result, (string?)null), (kept.Status, kept.ResultJson, kept.LeaseToken));
        var none = Fits.Get("a", empty)!;
        Assert.Equal((JobStatus.Canceled, (string?)null), (none.Status, none.ResultJson));
        // Listed among the canceled fits.
        Assert.Contains(Fits.List("a", JobStatus.Canceled, null, 0, 10).Items, r => r.Id == partial);
    }

    [StoreFact]
    public async Task RenewReportsACancelAndALostLease()
    {
        var dataset = await AddDataset("a");
        string first = NewId(), second = NewId();
        Enqueue(first, "a", dataset);
        Enqueue(second, "a", dataset);
        var one = await Claim();
        var two = await Claim();
        Assert.Equal(CancelOutcome.RequestedRunning, Fits.Cancel("a", first));
        Assert.Equal(LeaseState.CancelRequested, Fits.Renew(first, one.LeaseToken!, TimeSpan.FromSeconds(30)));
        Assert.True(Fits.MarkCanceled(first, one.LeaseToken!));
        Assert.Equal(JobStatus.Canceled, Fits.Get("a", first)!.Status);
        Assert.Equal(CancelOutcome.AlreadyFinished, Fits.Cancel("a", first));

        var counts = Fits.RescueExpired(3, Failure, all: true);
        Assert.Equal(new RescueCounts(1, 0, 0), counts);
        Assert.Equal(LeaseState.Lost, Fits.Renew(second, two.LeaseToken!, TimeSpan.FromSeconds(30)));
        Assert.False(Fits.Succeed(second, two.LeaseToken!, "{}"));
        var requeued = Fits.Get("a", second)!;
        Assert.Equal((JobStatus.Queued, (string?)null, 1), (requeued.Status, requeued.LeaseToken, requeued.Attempts));
        var again = await Claim();
        Assert.Equal((second, 2), (again.Id, again.Attempts));
        Assert.NotEqual(two.LeaseToken, again.LeaseToken);
    }

    [StoreFact]
    public async Task ExpiredLeasesAreRescuedRequeuedFailedOrCanceled()
    {
        var dataset = await AddDataset("a");
        string requeue = NewId(), fail = NewId(), cancel = NewId();
        Enqueue(requeue, "a", dataset);
        Enqueue(fail, "a", dataset);
        Enqueue(cancel, "a", dataset);
        var lease = TimeSpan.FromSeconds(1);
        for (int i = 0; i < 3; i++) await Claim(lease);
        Assert.Equal(CancelOutcome.RequestedRunning, Fits.Cancel("a", cancel));
        Assert.Equal(new RescueCounts(0, 0, 0), Fits.RescueExpired(2, Failure, all: false));   // leases still held
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        // First round: one attempt each, below the limit of 2; the canceled one ends canceled.
        Assert.Equal(new RescueCounts(2, 0, 1), Fits.RescueExpired(2, Failure, all: false));
        Assert.Equal(JobStatus.Canceled, Fits.Get("a", cancel)!.Status);
        Assert.Equal((JobStatus.Queued, 1), (Fits.Get("a", fail)!.Status, Fits.Get("a", fail)!.Attempts));

        // Second round: both requeued fits are claimed again (attempt 2) and expire: they reach max 2 and fail.
        await Claim(lease);
        await Claim(lease);
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal(new RescueCounts(0, 2, 0), Fits.RescueExpired(2, Failure, all: false));
        var failed = Fits.Get("a", fail)!;
        Assert.Equal((JobStatus.Failed, "failed", Failure, (string?)null), (failed.Status, failed.Stage, failed.ErrorJson, failed.LeaseToken));
        Assert.Equal(JobStatus.Failed, Fits.Get("a", requeue)!.Status);
        Assert.Equal(new RescueCounts(0, 0, 0), Fits.RescueExpired(2, Failure, all: false));
    }

    [StoreFact]
    public async Task TheProgressDetailIsStoredUnderTheLeaseAndClearedByTheNextStateThatStartsOver()
    {
        var dataset = await AddDataset("a");
        var id = NewId();
        Enqueue(id, "a", dataset);
        var fit = await Claim();
        Assert.Null(fit.ProgressJson);
        const string detail = """{"lambdaIndex":3,"lambdaCount":100,"lambda":0.25}""";
        Fits.UpdateProgress(id, "stale-token", 0.9, "stale", """{"epoch":1}""");
        Fits.UpdateProgress(id, fit.LeaseToken!, 0.125, "path: lambda 3 of 100", detail);
        // What a watcher reads: everything but the result.
        var state = Fits.GetState("a", id)!;
        Assert.Equal((0.125, "path: lambda 3 of 100", detail), (state.Progress, state.Stage, state.ProgressJson));
        Assert.Equal(detail, Fits.Get("a", id)!.ProgressJson);
        Assert.Null(Fits.GetState("b", id));
        Fits.UpdateProgress(id, fit.LeaseToken!, 0.2, "metrics");
        Assert.Null(Fits.GetState("a", id)!.ProgressJson);

        Fits.UpdateProgress(id, fit.LeaseToken!, 0.5, "fitting", detail);
        Assert.True(Fits.ReturnToQueue(id, fit.LeaseToken!));
        Assert.Null(Fits.Get("a", id)!.ProgressJson);
        var again = await Claim();
        Fits.UpdateProgress(id, again.LeaseToken!, 0.5, "fitting", detail);
        Assert.True(Fits.Succeed(id, again.LeaseToken!, """{"ok":true}"""));
        var done = Fits.GetState("a", id)!;
        Assert.Equal((JobStatus.Succeeded, (string?)null, (string?)null), (done.Status, done.ProgressJson, done.ResultJson));
        Assert.Contains("true", Fits.Get("a", id)!.ResultJson);

        // A failed fit keeps where it stopped.
        var failing = NewId();
        Enqueue(failing, "a", dataset);
        var held = await Claim();
        Fits.UpdateProgress(failing, held.LeaseToken!, 0.5, "fitting", detail);
        Assert.True(Fits.Fail(failing, held.LeaseToken!, """{"title":"bad"}"""));
        Assert.Equal(detail, Fits.GetState("a", failing)!.ProgressJson);
    }

    [StoreFact]
    public async Task ReturningToTheQueueDoesNotCountTheAttempt()
    {
        var dataset = await AddDataset("a");
        var id = NewId();
        Enqueue(id, "a", dataset);
        var fit = await Claim();
        Assert.Equal(1, fit.Attempts);
        Fits.UpdateProgress(id, fit.LeaseToken!, 0.4, "fitting");
        Assert.True(Fits.ReturnToQueue(id, fit.LeaseToken!));
        var queued = Fits.Get("a", id)!;
        Assert.Equal((JobStatus.Queued, 0, 0.0, (string?)null, (DateTimeOffset?)null), (queued.Status, queued.Attempts, queued.Progress, queued.LeaseToken, queued.StartedAt));
        Assert.False(Fits.ReturnToQueue(id, fit.LeaseToken!));
        Assert.Equal(1, (await Claim()).Attempts);
    }

    [StoreFact]
    public async Task OnlyFinishedFitsAreDeleted()
    {
        var dataset = await AddDataset("a");
        string id = NewId(), queued = NewId();
        Enqueue(id, "a", dataset);
        Assert.Equal(DeleteOutcome.Active, Fits.Delete("a", id));
        var fit = await Claim();
        Assert.Equal(DeleteOutcome.Active, Fits.Delete("a", id));
        Assert.True(Fits.Succeed(id, fit.LeaseToken!, "{}"));
        Assert.Equal(DeleteOutcome.NotFound, Fits.Delete("b", id));
        Assert.Equal(DeleteOutcome.Deleted, Fits.Delete("a", id));
        Assert.Null(Fits.Get("a", id));
        Assert.Equal(DeleteOutcome.NotFound, Fits.Delete("a", id));

        Enqueue(queued, "a", dataset);
        Assert.Equal(CancelOutcome.CanceledQueued, Fits.Cancel("a", queued));
        var canceled = Fits.Get("a", queued)!;
        Assert.Equal((JobStatus.Canceled, true), (canceled.Status, canceled.CancelRequested));
        Assert.Null(await Fits.TryClaimNextAsync("test", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.Equal(DeleteOutcome.Deleted, Fits.Delete("a", queued));
    }

    [StoreFact]
    public async Task DatasetsAreScopedByTenantAndKeptWhileAFitReadsThem()
    {
        var table = await Table(7, columns: 4);
        var dataset = await Datasets.AddAsync("a", "numbers", table, CancellationToken.None);
        Assert.Equal(("numbers", 7, 4, 7L * 4 * 8), (dataset.Name, dataset.Rows, dataset.ColumnCount, dataset.SizeBytes));
        Assert.Equal(["c0", "c1", "c2", "c3"], dataset.Columns.Select(c => c.Name));
        var stored = Datasets.Get("a", dataset.Id)!;
        Assert.Equal((dataset.Id, dataset.Name, dataset.Rows, dataset.ColumnCount, dataset.SizeBytes), (stored.Id, stored.Name, stored.Rows, stored.ColumnCount, stored.SizeBytes));
        Assert.Equal(dataset.CreatedAt.ToUnixTimeMilliseconds(), stored.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(dataset.Columns, stored.Columns);
        Assert.Null(Datasets.Get("b", dataset.Id));

        var second = await AddDataset("a");
        var page = Datasets.List("a", 0, 10);
        Assert.Equal(2, page.Total);
        Assert.Equal([second, dataset.Id], page.Items.Select(d => d.Id));
        Assert.Equal(0, Datasets.List("b", 0, 10).Total);
        Assert.Single(Datasets.List("a", 1, 10).Items);

        var fit = NewId();
        Assert.Equal(EnqueueOutcome.Queued, Enqueue(fit, "a", dataset.Id));
        Assert.Equal(DeleteOutcome.NotFound, Datasets.Delete("b", dataset.Id));
        Assert.Equal(DeleteOutcome.Active, Datasets.Delete("a", dataset.Id));
        var running = await Claim();
        Assert.Equal(DeleteOutcome.Active, Datasets.Delete("a", dataset.Id));
        Assert.True(Fits.Succeed(fit, running.LeaseToken!, "{}"));
        Assert.Equal(DeleteOutcome.Deleted, Datasets.Delete("a", dataset.Id));
        Assert.Null(Datasets.Get("a", dataset.Id));
        Assert.Equal(DeleteOutcome.NotFound, Datasets.Delete("a", dataset.Id));
        Assert.Equal(EnqueueOutcome.DatasetNotFound, Enqueue(NewId(), "a", dataset.Id));
        Assert.Equal(0, Datasets.RemoveOrphans());
    }

    [StoreFact]
    public async Task ReadingADataSetDeletedAfterItsRecordWasReadIsDatasetGoneNotAnIoFault()
    {
        // A submission reads the record, then its columns; a delete may come between (the race a fit submission has with it).
        var dataset = await Datasets.AddAsync("a", "gone", await Table(9), CancellationToken.None);
        var record = Datasets.Get("a", dataset.Id)!;
        Assert.Equal(9, Datasets.ReadColumn(record, 1).Length);
        Assert.Equal(DeleteOutcome.Deleted, Datasets.Delete("a", dataset.Id));
        Assert.Equal(dataset.Id, Assert.Throws<DatasetGoneException>(() => Datasets.ReadColumn(record, 1)).DatasetId);
        Assert.Equal(dataset.Id, Assert.Throws<DatasetGoneException>(() => Datasets.LoadMatrix(record)).DatasetId);
    }

    [StoreFact]
    public async Task MatricesRoundTripBitExact()
    {
        // 3 columns of 50 000 rows: 1.2 MB, more than one chunk.
        var table = await Table(50_000, columns: 3, seed: 7);
        var expected = table.ToMatrix();
        var dataset = await Datasets.AddAsync("a", "big", table, CancellationToken.None);
        for (int round = 0; round < 3; round++)
        {
            if (round == 1) ForgetLocalCopies();
            var matrix = Datasets.LoadMatrix(dataset);
            Assert.Equal((expected.Rows, expected.Columns), (matrix.Rows, matrix.Columns));
            Assert.True(expected.Data.AsSpan().SequenceEqual(matrix.Data), $"round {round}: the matrix differs");
            if (round == 2) ForgetLocalCopies();
            for (int j = 0; j < 3; j++)
            {
                var column = Datasets.ReadColumn(dataset, j);
                Assert.True(expected.Data.AsSpan(j * expected.Rows, expected.Rows).SequenceEqual(column), $"round {round}: column {j} differs");
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.ReadColumn(dataset, 3));
    }

    [StoreFact]
    public async Task ADeleteAndASubmissionNeverBothSucceed()
    {
        int deleted = 0, queued = 0;
        for (int i = 0; i < 50; i++)
        {
            var dataset = await AddDataset("a", rows: 3);
            using var start = new Barrier(2);
            var delete = Task.Run(() => { start.SignalAndWait(); return Datasets.Delete("a", dataset); });
            var submit = Task.Run(() => { start.SignalAndWait(); return Enqueue(NewId(), "a", dataset); });
            var (d, s) = (await delete, await submit);
            Assert.False(d == DeleteOutcome.Deleted && s == EnqueueOutcome.Queued, $"round {i}: both the delete and the submission succeeded");
            Assert.True(d == DeleteOutcome.Deleted ? s == EnqueueOutcome.DatasetNotFound : d == DeleteOutcome.Active && s == EnqueueOutcome.Queued,
                $"round {i}: delete {d}, submission {s}");
            if (d == DeleteOutcome.Deleted) deleted++; else queued++;
            // Keep the queue short: the next round's submission must not meet a full queue.
            while (await Fits.TryClaimNextAsync("t", TimeSpan.FromSeconds(30), CancellationToken.None) is { } fit) Fits.Succeed(fit.Id, fit.LeaseToken!, "{}");
        }
        Assert.Equal(50, deleted + queued);
    }

    [StoreFact]
    public void ApiKeysAreFoundByHashListedAndRevoked()
    {
        var created = DateTimeOffset.UtcNow.AddMinutes(-1);
        Keys.Add(new ApiKeyRecord("k1", "a", "first", created, null), "hash1");
        Keys.Add(new ApiKeyRecord("k2", "b", "second", created.AddSeconds(1), null), "hash2");
        var found = Keys.FindByHash("hash1")!;
        Assert.Equal(("k1", "a", "first", (DateTimeOffset?)null), (found.Id, found.Tenant, found.Name, found.RevokedAt));
        Assert.Equal(created.ToUnixTimeMilliseconds(), found.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Null(Keys.FindByHash("unknown"));
        Assert.Equal(["k1", "k2"], Keys.List().Select(k => k.Id));

        Assert.True(Keys.Revoke("k1"));
        var revoked = Keys.FindByHash("hash1")!.RevokedAt;
        Assert.NotNull(revoked);
        Thread.Sleep(20);
        Assert.True(Keys.Revoke("k1"));
        Assert.Equal(revoked, Keys.FindByHash("hash1")!.RevokedAt);
        Assert.False(Keys.Revoke("unknown"));
        Assert.Null(Keys.FindByHash("hash2")!.RevokedAt);
    }
}
