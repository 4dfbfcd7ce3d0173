using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace RegService.Benchmarks;

/// <summary>
/// A wide fit through the service end to end (SQLite, the service as its own process): glmnet's default lasso path on the
/// anchors' lasso_1k_50k (1,000 x 50,000), submitted, polled every 20 ms until it has succeeded (the poll that sees it
/// is the GET of its result summary), against the engine's own time inside the service (diagnostics.timings.total,
/// and beside it the data set's load from the store). Also the sizes of what a client and the store hold: the stored
/// row (result_json), the summary, ?include=path, and the whole path through /path pages of 100 lambdas.
/// </summary>
internal static class ResultBench
{
    public const string Workload = "lasso_1k_50k";

    public static async Task RunAsync(SortedDictionary<string, object?> report, string csv, int reps, string? dll)
    {
        var data = Path.Combine(Path.GetTempPath(), "regservice-result-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        try
        {
            await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Jobs__Workers"] = "1" }, dll, data);
            using var client = await server.TenantClientAsync("bench");
            var dataset = await Upload(client, csv);
            var e2e = new List<double>();
            var engine = new List<double>();
            var load = new List<double>();
            var queued = new List<double>();
            var run = new List<double>();
            string? last = null;
            for (int r = 0; r < reps + 1; r++)
            {
                var start = Stopwatch.GetTimestamp();
                var submit = await client.PostAsJsonAsync("/v1/fits", new { datasetId = dataset, target = "y", penalty = "lasso" });
                var text = await submit.Content.ReadAsStringAsync();
                if ((int)submit.StatusCode != 202) throw new InvalidOperationException($"submit answered {(int)submit.StatusCode}: {text}");
                var id = JsonNode.Parse(text)!["id"]!.GetValue<string>();
                JsonNode job;
                while (true)
                {
                    job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{id}"))!;
                    var status = job["status"]!.GetValue<string>();
                    if (status == "succeeded") break;
                    if (status is not ("queued" or "running")) throw new InvalidOperationException($"fit {id} ended {status}: {job}");
                    await Task.Delay(20);
                }
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var timings = job["result"]!["diagnostics"]!["timings"]!;
                double total = timings["total"]!.GetValue<double>(), loaded = timings["load"]!.GetValue<double>();
                // The job's own clock: created to started (queued), started to finished (the worker: load, engine, store the row).
                double wait = job["timings"]!["queuedSeconds"]!.GetValue<double>(), running = job["timings"]!["runSeconds"]!.GetValue<double>();
                Console.Error.WriteLine($"result_{Workload} rep {r}: end to end {seconds:F2} s, queued {wait:F2} s, run {running:F2} s, " +
                                        $"engine {total:F2} s, load {loaded:F2} s");
                if (r > 0)   // the first is a warm-up
                {
                    e2e.Add(seconds);
                    engine.Add(total);
                    load.Add(loaded);
                    queued.Add(wait);
                    run.Add(running);
                }
                if (last is not null) await client.DeleteAsync($"/v1/fits/{last}");
                last = id;
            }
            report[$"result_{Workload}_end_to_end_seconds"] = Median(e2e);
            report[$"result_{Workload}_engine_seconds"] = Median(engine);
            report[$"result_{Workload}_load_seconds"] = Median(load);
            report[$"result_{Workload}_queued_seconds"] = Median(queued);
            report[$"result_{Workload}_run_seconds"] = Median(run);
            // Per run, so a noisy run does not pair one run's end to end with another's engine time.
            report[$"result_{Workload}_end_to_end_over_engine"] = Median([.. e2e.Select((s, i) => s / engine[i])]);
            report[$"result_{Workload}_end_to_end_over_engine_and_load"] = Median([.. e2e.Select((s, i) => s / (engine[i] + load[i]))]);
            await Sizes(report, client, data, last!);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task Sizes(SortedDictionary<string, object?> report, HttpClient client, string data, string fit)
    {
        // -1: the build answers no such request (an earlier version, run with --dll).
        async Task<(long Bytes, double Seconds)> Get(string url)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(url);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            return (response.IsSuccessStatusCode ? bytes.LongLength : -1, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        var summary = await Get($"/v1/fits/{fit}");
        var withPath = await Get($"/v1/fits/{fit}?include=path");
        long pages = 0;
        var pagesStart = Stopwatch.GetTimestamp();
        for (int offset = 0; ; offset += 100)
        {
            using var response = await client.GetAsync($"/v1/fits/{fit}/path?offset={offset}&limit=100");
            if (!response.IsSuccessStatusCode)
            {
                pages = -1;
                break;
            }
            pages += (await response.Content.ReadAsByteArrayAsync()).LongLength;
            if (!response.Headers.TryGetValues("Link", out var links) || !string.Join(",", links).Contains("rel=\"next\"", StringComparison.Ordinal)) break;
        }
        double pagesSeconds = Stopwatch.GetElapsedTime(pagesStart).TotalSeconds;
        report[$"result_{Workload}_summary_bytes"] = summary.Bytes;
        report[$"result_{Workload}_summary_get_seconds"] = Math.Round(summary.Seconds, 3);
        report[$"result_{Workload}_include_path_bytes"] = withPath.Bytes;
        report[$"result_{Workload}_include_path_get_seconds"] = Math.Round(withPath.Seconds, 3);
        report[$"result_{Workload}_path_pages_bytes"] = pages;
        report[$"result_{Workload}_path_pages_get_seconds"] = Math.Round(pagesSeconds, 3);

        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(data, "regservice.db"), Mode = SqliteOpenMode.ReadOnly }.ToString());
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT length(CAST(result_json AS BLOB)) FROM fits WHERE id = $id";
        command.Parameters.AddWithValue("$id", fit);
        report[$"result_{Workload}_stored_row_bytes"] = Convert.ToInt64(command.ExecuteScalar());
    }

    private static async Task<string> Upload(HttpClient client, string csv)
    {
        await using var file = new FileStream(csv, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var content = new StreamContent(file, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        content.Headers.ContentLength = new FileInfo(csv).Length;
        using var response = await client.PostAsync($"/v1/datasets?name={Workload}", content);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["id"]!.GetValue<string>();
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return Math.Round(values[values.Count / 2], 3);
    }
}
