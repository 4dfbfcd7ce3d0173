using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Benchmarks;

/// <summary>
/// The service end to end, as its own processes over HTTP on loopback: small fits (a 10 x 3 data set,
/// ridge at one lambda; submit, then poll until done) per second with p50/p99 latency, for 1 and 8
/// concurrent clients; and claims per second draining a queue of tiny fits. SQLite (one process), and
/// PostgreSQL with one and two replicas when a connection string is given.
/// </summary>
internal static class ServiceBench
{
    public sealed record Options(double Seconds, string? Dll, string? Postgres, int QueueJobs, IReadOnlyDictionary<string, string>? Extra = null, bool SkipClaims = false);

    public static async Task RunAsync(SortedDictionary<string, object?> report, Options options)
    {
        report["service_dll"] = options.Dll ?? "RegService.Api.dll beside the runner";
        await Throughput(report, "sqlite", options, replicas: 1);
        if (!options.SkipClaims) await Claims(report, "sqlite", options);
        if (options.Postgres is { } cs)
        {
            await Throughput(report, "postgres_1_replica", options, replicas: 1);
            await Throughput(report, "postgres_2_replicas", options, replicas: 2);
            if (!options.SkipClaims) await Claims(report, "postgres_2_replicas", options, replicas: 2);
        }
    }

    private static Dictionary<string, string> Settings(string store, Options options, string? data = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Jobs__QueueCapacity"] = "100000",
            ["Limits__MaxQueuedFitsPerTenant"] = "100000",
            ["Jobs__PollMilliseconds"] = "1000",
        };
        foreach (var (key, value) in options.Extra ?? new Dictionary<string, string>()) settings[key] = value;
        if (store.StartsWith("postgres", StringComparison.Ordinal))
        {
            settings["Storage__Provider"] = "postgres";
            settings["Storage__ConnectionString"] = options.Postgres!;
        }
        return settings;
    }

    private static async Task<List<ServerProcess>> Start(string store, Options options, int replicas, IDictionary<string, string>? extra = null, string? data = null)
    {
        var servers = new List<ServerProcess>();
        for (int r = 0; r < replicas; r++)
        {
            var settings = Settings(store, options);
            foreach (var (k, v) in extra ?? new Dictionary<string, string>()) settings[k] = v;
            servers.Add(await ServerProcess.StartAsync(settings, options.Dll, data));
        }
        return servers;
    }

    private static string SmallCsv()
    {
        var csv = new StringBuilder("x1,x2,y\n");
        var rng = new Random(1);
        for (int i = 0; i < 10; i++)
        {
            double a = rng.NextDouble(), b = rng.NextDouble();
            csv.Append(string.Create(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b + 0.1 * rng.NextDouble()}\n"));
        }
        return csv.ToString();
    }

    private static async Task<string> Upload(HttpClient client)
    {
        var response = await client.PostAsync("/v1/datasets", new StringContent(SmallCsv(), Encoding.UTF8, "text/csv"));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["id"]!.GetValue<string>();
    }

    private static async Task Throughput(SortedDictionary<string, object?> report, string store, Options options, int replicas)
    {
        var servers = await Start(store, options, replicas);
        try
        {
            var clients = new List<HttpClient>();
            foreach (var server in servers) clients.Add(await server.TenantClientAsync("bench"));
            // One tenant key works on every replica (keys live in the shared store).
            var shared = await servers[0].TenantClientAsync("bench");
            var auth = shared.DefaultRequestHeaders.Authorization;
            foreach (var c in clients) c.DefaultRequestHeaders.Authorization = auth;
            var dataset = await Upload(shared);
            foreach (int concurrency in new[] { 1, 8 })
            {
                await Loop(clients, dataset, concurrency, TimeSpan.FromSeconds(1));   // warm-up
                double cpu = servers.Sum(s => s.CpuSeconds());
                var (count, latencies, seconds, polls) = await Loop(clients, dataset, concurrency, TimeSpan.FromSeconds(options.Seconds));
                cpu = servers.Sum(s => s.CpuSeconds()) - cpu;
                latencies.Sort();
                var key = $"service_{store}_{concurrency}_clients";
                report[key + "_fits_per_second"] = Math.Round(count / seconds, 1);
                report[key + "_polls_per_fit"] = Math.Round((double)polls / Math.Max(1, count), 2);
                // The servers' CPU per fit (all replicas; PostgreSQL's own processes not included): steadier than fits/s on a busy machine.
                report[key + "_server_cpu_us_per_fit"] = Math.Round(cpu * 1e6 / Math.Max(1, count));
                report[key + "_p50_ms"] = Math.Round(latencies[latencies.Count / 2], 2);
                report[key + "_p99_ms"] = Math.Round(latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.99))], 2);
                Console.Error.WriteLine($"{key}: {count / seconds:F0} fits/s, {(double)polls / Math.Max(1, count):F1} polls per fit, {cpu * 1e6 / Math.Max(1, count):F0} us server CPU per fit");
            }
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
        }
    }

    /// <summary>
    /// Each client submits a fit and polls it until done, again and again, spread over the replicas. Polls: the
    /// GETs of all clients (every poll is a request that competes with the fits for the same cores).
    /// </summary>
    private static async Task<(int Count, List<double> Latencies, double Seconds, long Polls)> Loop(List<HttpClient> replicas, string dataset, int concurrency, TimeSpan duration)
    {
        var latencies = new List<double>();
        var watch = Stopwatch.StartNew();
        int count = 0;
        long polls = 0;
        var tasks = Enumerable.Range(0, concurrency).Select(async c =>
        {
            var client = replicas[c % replicas.Count];
            var mine = new List<double>();
            while (watch.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                var submit = await client.PostAsJsonAsync("/v1/fits", new { datasetId = dataset, target = "y", lambda = 1.0 });
                var text = await submit.Content.ReadAsStringAsync();
                if ((int)submit.StatusCode != 202) throw new InvalidOperationException($"submit answered {(int)submit.StatusCode}: {text}");
                var id = JsonNode.Parse(text)!["id"]!.GetValue<string>();
                while (true)
                {
                    var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{id}"))!;
                    Interlocked.Increment(ref polls);
                    var status = job["status"]!.GetValue<string>();
                    if (status == "succeeded") break;
                    if (status is not ("queued" or "running")) throw new InvalidOperationException($"fit {id} ended {status}: {job}");
                }
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            lock (latencies) latencies.AddRange(mine);
            Interlocked.Add(ref count, mine.Count);
        }).ToList();
        await Task.WhenAll(tasks);
        return (count, latencies, watch.Elapsed.TotalSeconds, Interlocked.Read(ref polls));
    }

    /// <summary>Queues <see cref="Options.QueueJobs"/> tiny fits with no workers, then restarts with workers and times the drain.</summary>
    private static async Task Claims(SortedDictionary<string, object?> report, string store, Options options, int replicas = 1)
    {
        var data = Path.Combine(Path.GetTempPath(), "regservice-claims-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        try
        {
            string key;
            {
                var idle = await Start(store, options, 1, new Dictionary<string, string> { ["Jobs__Workers"] = "0" }, data);
                var client = await idle[0].TenantClientAsync("claims");
                key = client.DefaultRequestHeaders.Authorization?.Parameter ?? "";
                var dataset = await Upload(client);
                var submits = Enumerable.Range(0, 8).Select(async w =>
                {
                    for (int i = w; i < options.QueueJobs; i += 8)
                    {
                        var response = await client.PostAsJsonAsync("/v1/fits", new { datasetId = dataset, target = "y", lambda = 1.0 });
                        if ((int)response.StatusCode != 202) throw new InvalidOperationException($"submit answered {(int)response.StatusCode}");
                    }
                });
                await Task.WhenAll(submits);
                foreach (var server in idle) await server.DisposeAsync();
            }
            var watch = Stopwatch.StartNew();
            var workers = await Start(store, options, replicas, null, data);
            try
            {
                using var poll = new HttpClient { BaseAddress = new Uri(workers[0].Url) };
                if (key.Length > 0) poll.DefaultRequestHeaders.Authorization = new("Bearer", key);
                while (true)
                {
                    var page = JsonNode.Parse(await poll.GetStringAsync("/v1/fits?status=succeeded&limit=1"))!;
                    if (page["total"]!.GetValue<int>() >= options.QueueJobs) break;
                    await Task.Delay(50);
                }
                double seconds = watch.Elapsed.TotalSeconds;
                report[$"service_{store}_claims_per_second"] = Math.Round(options.QueueJobs / seconds, 1);
                report[$"service_{store}_claims_jobs"] = options.QueueJobs;
                Console.Error.WriteLine($"service_{store}_claims: {options.QueueJobs / seconds:F0} fits/s (start included)");
            }
            finally
            {
                foreach (var server in workers) await server.DisposeAsync();
            }
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
