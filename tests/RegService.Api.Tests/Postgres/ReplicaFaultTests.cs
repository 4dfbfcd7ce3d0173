using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Xunit.Abstractions;
using static RegService.Api.Tests.PublishedAppTests;

namespace RegService.Api.Tests.Postgres;

/// <summary>
/// Faults across replicas, with real processes: the published app as the container runs it, two
/// replicas on one PostgreSQL database. A replica killed with SIGKILL in the middle of the work has
/// its fits rescued by the other, each fit ending with exactly one result; PostgreSQL stopped for
/// 10 s while fits run gives 503s (never a 500 or a 401) and every fit still succeeds after it returns.
/// </summary>
public sealed class ReplicaFaultTests(Published published, PostgresServer server, ITestOutputHelper output)
    : IClassFixture<Published>, IClassFixture<PostgresServer>
{
    private const string Tenant = "acme";

    /// <summary>Rows of the data set: enough that a fit takes a fraction of a second on two busy cores.</summary>
    private const int Rows = 150_000;

    [PostgresFact]
    public async Task TwoReplicasShareTheWorkAndAKilledReplicasFitsAreRescued()
    {
        var watch = Stopwatch.StartNew();
        var connection = server.CreateDatabase();
        using var dirs = new Directories(2);
        using var a = StartReplica(connection, dirs[0]);
        using var b = StartReplica(connection, dirs[1]);

        // Keys live in the shared store: one created through A works on B.
        var key = await a.CreateKey(Tenant);
        using var clientA = a.ClientWithKey(key);
        using var clientB = b.ClientWithKey(key);
        var dataset = await Http.UploadCsv(clientA, Csv(Rows, seed: 11));
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: replicas started, data set uploaded");

        // Submitted eight at a time, alternating between the replicas.
        var ids = new List<string>();
        for (int i = 0; i < 200; i += 8)
            ids.AddRange(await Task.WhenAll(Enumerable.Range(i, 8).Select(j => Http.Submit(j % 2 == 0 ? clientA : clientB, Request(dataset, j)))));
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: 200 fits submitted, {(await Counts(connection, b.ProcessId)).Succeeded} succeeded");

        // Kill B once some fits are done and B holds at least one running fit (its lease owner names its pid).
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var (succeeded, runningOnB) = await Counts(connection, b.ProcessId);
            if (succeeded >= 30 && runningOnB > 0) break;
            Assert.True(DateTime.UtcNow < deadline, $"B never ran a fit after 30 succeeded ({succeeded} succeeded)\nA:\n{a.Log}\nB:\n{b.Log}");
            Assert.True(succeeded < 190, $"{string.Join('\n', b.Log.Split('\n').Where(l => l.Contains("succeeded in")).Take(20))}\nthe work was nearly done ({succeeded} succeeded) before B was seen running a fit");
            await Task.Delay(20);
        }
        b.Kill();
        // B cannot write any more: the fits its lease still holds are exactly the ones to be rescued.
        var orphaned = await HeldBy(connection, b.ProcessId);
        var (doneAtKill, _) = await Counts(connection, b.ProcessId);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: B killed with {doneAtKill} succeeded and {orphaned.Count} fits running on it: {string.Join(", ", orphaned)}");

        var jobs = new Dictionary<string, JsonNode>();
        foreach (var id in ids)
            jobs[id] = await Http.WaitForFit(clientA, id, TimeSpan.FromSeconds(180));
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: all 200 finished");

        foreach (var (id, job) in jobs)
        {
            Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
            Assert.True(job["attempts"]!.GetValue<int>() is >= 1 and <= 2, job.ToJsonString());
            Assert.True(job["result"] is JsonObject, job.ToJsonString());
            Assert.InRange(job["result"]!["coefficients"]!["x1"]!.GetValue<double>(), 1.5, 2.5);
        }
        // Every fit B held when it died was rescued and run again: its second attempt.
        foreach (var id in orphaned)
            Assert.True(jobs[id]["attempts"]!.GetValue<int>() == 2, jobs[id].ToJsonString());
        var rescued = jobs.Values.Count(j => j["attempts"]!.GetValue<int>() == 2);
        output.WriteLine($"{rescued} fits needed a second attempt ({orphaned.Count} were running on B when it died)");
        if (orphaned.Count == 0) output.WriteLine("NOTE: B held no fit at the moment it died, so nothing had to be rescued");

        // Directly in the database: 200 rows for the tenant, all succeeded, each with its result, no lease left.
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var command = new NpgsqlCommand("""
                SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'), count(result_json), count(*) FILTER (WHERE attempts > 2),
                       count(*) FILTER (WHERE lease_token IS NOT NULL), count(DISTINCT id)
                FROM fits WHERE tenant = @tenant
                """, db);
            command.Parameters.AddWithValue("tenant", Tenant);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(200, reader.GetInt64(0));
            Assert.Equal(200, reader.GetInt64(1));
            Assert.Equal(200, reader.GetInt64(2));
            Assert.Equal(0, reader.GetInt64(3));
            Assert.Equal(0, reader.GetInt64(4));
            Assert.Equal(200, reader.GetInt64(5));
        }
        Assert.Equal(ids.Order(), jobs.Keys.Order());

        // A survived it all and stops gracefully.
        Assert.DoesNotContain("Unhandled exception", a.Log);
        Assert.Equal(0, a.Stop());
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: done");
    }

    [PostgresFact]
    public async Task PostgresStoppedForTenSecondsGives503sNot500sAndEveryFitSucceedsAfter()
    {
        var watch = Stopwatch.StartNew();
        var connection = server.CreateDatabase();
        using var dirs = new Directories(2);
        // Leases of 6 s, renewed every 2 s: after the outage each holder renews its own in time.
        using var a = StartReplica(connection, dirs[0], leaseSeconds: 6);
        using var b = StartReplica(connection, dirs[1], leaseSeconds: 6);
        var key = await a.CreateKey(Tenant);
        var clients = new[] { a.ClientWithKey(key), b.ClientWithKey(key) };
        var anonymous = new[] { a.Client, b.Client };
        try
        {
            var dataset = await Http.UploadCsv(clients[0], Csv(Rows, seed: 12));
            // Submitted at once (one at a time, on a loaded machine, the first fits finish while the last are still being sent).
            var ids = (await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Http.Submit(clients[i % 2], Request(dataset, i, degree: 4))))).ToList();

            // Stop the database while fits are running (a second or so each: 34 features by polynomial expansion).
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var (_, running) = await Http.Send(clients[0], HttpMethod.Get, "/v1/fits?status=running");
                if (running!["total"]!.GetValue<int>() >= 1) break;
                var (_, succeeded) = await Http.Send(clients[0], HttpMethod.Get, "/v1/fits?status=succeeded");
                Assert.True(succeeded!["total"]!.GetValue<int>() < 40, "every fit finished before one was seen running\n" +
                    string.Join('\n', a.Log.Split('\n').Where(l => l.Contains("succeeded in")).Take(20)));
                Assert.True(DateTime.UtcNow < deadline, "no fit was ever seen running");
                await Task.Delay(20);
            }
            server.Stop();
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: PostgreSQL stopped");
            var outage = Stopwatch.StartNew();
            var answers = new Dictionary<string, int>();
            try
            {
                while (outage.Elapsed < TimeSpan.FromSeconds(10))
                {
                    for (int r = 0; r < 2; r++)
                    {
                        var client = clients[r];
                        await ExpectUnavailable(client, HttpMethod.Get, $"/v1/fits/{ids[r]}", null, answers);
                        await ExpectUnavailable(client, HttpMethod.Post, "/v1/fits", Request(dataset, 99).ToString(), answers);
                        await ExpectUnavailable(client, HttpMethod.Get, "/v1/datasets", null, answers);
                        await ExpectUnavailable(anonymous[r], HttpMethod.Get, "/health/ready", null, answers);
                        var live = await anonymous[r].GetAsync("/health/live");
                        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
                    }
                    await Task.Delay(200);
                }
            }
            finally
            {
                server.Start();
            }
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: PostgreSQL started again; answers during the outage: " +
                             string.Join(", ", answers.Select(kv => $"{kv.Key} x{kv.Value}")));

            // Both replicas survived, become ready again, and finish every fit.
            foreach (var app in new[] { a, b })
            {
                var ready = DateTime.UtcNow.AddSeconds(60);
                while ((await anonymous[app == a ? 0 : 1].GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
                {
                    Assert.True(DateTime.UtcNow < ready, $"readiness did not recover:\n{app.Log}");
                    await Task.Delay(200);
                }
            }
            // Each replica's listener reconnects by itself (backoff up to 10 s).
            foreach (var app in new[] { a, b })
            {
                var listening = DateTime.UtcNow.AddSeconds(60);
                while (!app.Log.Contains("Listening for queued fits and revoked keys again"))
                {
                    Assert.True(DateTime.UtcNow < listening, $"the listener did not reconnect:\n{app.Log}");
                    await Task.Delay(200);
                }
            }
            var attempts = new List<int>();
            foreach (var id in ids)
            {
                var job = await Http.WaitForFit(clients[0], id, TimeSpan.FromSeconds(120));
                Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
                Assert.True(job["result"] is JsonObject, job.ToJsonString());
                attempts.Add(job["attempts"]!.GetValue<int>());
            }
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: all 40 fits succeeded; attempts: " +
                             string.Join(", ", attempts.CountBy(n => n).OrderBy(kv => kv.Key).Select(kv => $"{kv.Value} with {kv.Key}")));
            foreach (var (name, app) in new[] { ("A", a), ("B", b) })
                output.WriteLine($"{name}'s warnings and errors:\n   " + string.Join("\n   ", Summary(app.Log)));
            // Both replicas lived through the outage: every lease had expired by the database's clock when
            // it returned, but no replica may rescue another's fit before its holder renewed it (that
            // would drop a finished result and count an attempt no crash caused).
            Assert.All(attempts, n => Assert.Equal(1, n));
            Assert.DoesNotContain("Rescued fits whose runner stopped", a.Log + b.Log);

            foreach (var app in new[] { a, b })
            {
                Assert.DoesNotContain("Unhandled exception", app.Log);
                Assert.Equal(0, app.Stop());
            }
        }
        finally
        {
            foreach (var c in clients.Concat(anonymous)) c.Dispose();
        }
    }

    /// <summary>A log's warnings and errors, counted by message (times, ids and numbers blanked).</summary>
    private static IEnumerable<string> Summary(string log) => log.Split('\n')
        .Where(l => l.Contains(" WRN]") || l.Contains(" ERR]") || l.Contains(" FTL]"))
        .Select(l => System.Text.RegularExpressions.Regex.Replace(l.Split(" {")[0], "[0-9a-f]{32}|[0-9.:]+", "#"))
        .CountBy(l => l).OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Value,5} x {kv.Key}");

    /// <summary>503 with Retry-After and the store-unavailable problem type; never 500 (nor 401 for a valid key).</summary>
    private static async Task ExpectUnavailable(HttpClient client, HttpMethod method, string url, string? body, Dictionary<string, int> answers)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var problem = text.StartsWith('{') ? JsonNode.Parse(text) : null;
        var name = $"{method} {(url.StartsWith("/v1/fits/", StringComparison.Ordinal) ? "/v1/fits/{id}" : url)} {(int)response.StatusCode}";
        answers[name] = answers.GetValueOrDefault(name) + 1;
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {url}: {(int)response.StatusCode} {text}");
        if (url == "/health/ready") return;   // the health check's own plain-text answer: Unhealthy
        Assert.True(response.Headers.RetryAfter is not null, $"{method} {url}: no Retry-After");
        Assert.True(problem?["type"]?.GetValue<string>() == "urn:regservice:problem:store-unavailable", $"{method} {url}: {problem?.ToJsonString()}");
    }

    private RunningApp StartReplica(string connection, string dataDirectory, int leaseSeconds = 3) =>
        published.Start(dataDirectory, workers: 2, new Dictionary<string, string>
        {
            ["Storage__Provider"] = "postgres",
            ["Storage__ConnectionString"] = connection,
            ["Jobs__LeaseSeconds"] = leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Jobs__PollMilliseconds"] = "100",
            ["Jobs__QueueCapacity"] = "1000",
            ["Limits__RequestsPerSecond"] = "0",
            ["Limits__MaxQueuedFitsPerTenant"] = "1000",
        });

    /// <summary>A cross-validated lasso path: a tenth of a second or more per fit, so a replica is caught mid-run.</summary>
    private static JsonObject Request(string dataset, int i, int degree = 1) => new()
    {
        ["expansion"] = new JsonObject { ["polynomialDegree"] = degree, ["interactions"] = degree > 1 },
        ["datasetId"] = dataset,
        ["target"] = "y",
        ["penalty"] = "lasso",
        ["path"] = new JsonObject { ["count"] = 100 - i % 5 },
        ["tolerance"] = 1e-10,
        ["validation"] = new JsonObject { ["method"] = "kfold", ["folds"] = 10, ["seed"] = i },
    };

    private static string Csv(int rows, int seed)
    {
        var csv = new StringBuilder("x1,x2,x3,y\n");
        var rng = new Random(seed);
        for (int i = 0; i < rows; i++)
        {
            double a = rng.NextDouble(), b = rng.NextDouble(), c = rng.NextDouble();
            csv.Append(FormattableString.Invariant($"{a},{b},{c},{2 * a - b + 0.5 * c + 2 * (rng.NextDouble() - 0.5)}\n"));
        }
        return csv.ToString();
    }

    /// <summary>The owner a replica's worker writes into the lease: "host:pid:suffix".</summary>
    private static string OwnerPattern(int pid) => $"%:{pid}:%";

    private static async Task<(long Succeeded, long RunningOn)> Counts(string connection, int pid)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'running' AND lease_owner LIKE @owner)
            FROM fits WHERE tenant = @tenant
            """, db);
        command.Parameters.AddWithValue("owner", OwnerPattern(pid));
        command.Parameters.AddWithValue("tenant", Tenant);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task<List<string>> HeldBy(string connection, int pid)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id FROM fits WHERE tenant = @tenant AND status = 'running' AND lease_owner LIKE @owner", db);
        command.Parameters.AddWithValue("owner", OwnerPattern(pid));
        command.Parameters.AddWithValue("tenant", Tenant);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>One data directory (the local cache) per replica, deleted at the end.</summary>
    private sealed class Directories : IDisposable
    {
        private readonly string[] _paths;

        public Directories(int count) => _paths = Enumerable.Range(0, count).Select(_ => ApiFactory.NewDirectory()).ToArray();

        public string this[int i] => _paths[i];

        public void Dispose()
        {
            foreach (var path in _paths)
                try { Directory.Delete(path, recursive: true); } catch (IOException) { }
        }
    }
}
