using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
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
        var dll = Path.Combine(AppContext.BaseDirectory, "RegService.Api.dll");
        var data = Path.Combine(Path.GetTempPath(), "regservice-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        int port;
        using (var listener = new TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo("dotnet", $"\"{dll}\"")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["Storage__DataDirectory"] = data;
        info.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        using var server = Process.Start(info)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
            for (int i = 0; ; i++)
            {
                try
                {
                    if ((await client.GetAsync("/health/ready")).IsSuccessStatusCode) break;
                }
                catch (HttpRequestException) when (i < 200) { }
                await Task.Delay(100);
            }
            long idle = Memory(server.Id, "VmRSS:");
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
            long peak = Memory(server.Id, "VmHWM:");
            return new Dictionary<string, object>
            {
                ["upload_ridge_200k_200"] = Math.Round(median, 3),
                ["upload_mb_per_second"] = Math.Round(bytes / 1e6 / median, 1),
                ["upload_server_peak_rss_mb"] = Math.Round(peak / 1e6, 1),
                ["upload_server_idle_rss_mb"] = Math.Round(idle / 1e6, 1),
            };
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>A /proc/PID/status figure, in bytes.</summary>
    private static long Memory(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
        return -1;
    }
}
