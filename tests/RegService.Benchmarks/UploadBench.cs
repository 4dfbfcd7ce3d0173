using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace RegService.Benchmarks;

/// <summary>
/// Uploads a CSV through HTTP to the service started as its own process (`dotnet RegService.Api.dll`,
/// the Release build beside this runner), and reads the server's peak resident memory (VmHWM).
/// </summary>
internal static class UploadBench
{
    public static async Task<Dictionary<string, object>> RunAsync(string csv, int reps)
    {
        await using var server = await ServerProcess.StartAsync();
        using var client = await server.TenantClientAsync("bench");
        long idle = server.Memory("VmRSS:");
        var times = new List<double>();
        long bytes = new FileInfo(csv).Length;
        for (int r = 0; r < reps + 1; r++)
        {
            await using var file = new FileStream(csv, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var content = new StreamContent(file, 1 << 20);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            content.Headers.ContentLength = bytes;
            var watch = Stopwatch.StartNew();
            using var response = await client.PostAsync("/v1/datasets?name=bench", content);
            double seconds = watch.Elapsed.TotalSeconds;
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload failed: {body}");
            var id = JsonNode.Parse(body)!["id"]!.GetValue<string>();
            await client.DeleteAsync($"/v1/datasets/{id}");
            if (r > 0) times.Add(seconds);   // the first is a warm-up
        }
        times.Sort();
        double median = times[times.Count / 2];
        long peak = server.Memory("VmHWM:");
        return new Dictionary<string, object>
        {
            ["upload_ridge_200k_200"] = Math.Round(median, 3),
            ["upload_mb_per_second"] = Math.Round(bytes / 1e6 / median, 1),
            ["upload_server_peak_rss_mb"] = Math.Round(peak / 1e6, 1),
            ["upload_server_idle_rss_mb"] = Math.Round(idle / 1e6, 1),
        };
    }
}
