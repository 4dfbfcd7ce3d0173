using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace RegService.Benchmarks;

/// <summary>
/// The service as its own process (`dotnet RegService.Api.dll`, the Release build beside this runner,
/// or another build's dll), in Production with API keys as the container runs it, on a free port.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    public const string AdminKey = "benchmark-admin-key-0123456789abcdef";

    private readonly Process _process;
    private readonly string? _ownedDirectory;

    private ServerProcess(Process process, string url, string? ownedDirectory)
    {
        _process = process;
        Url = url;
        _ownedDirectory = ownedDirectory;
    }

    public string Url { get; }
    public int Pid => _process.Id;

    /// <summary>Starts a server and waits until /health/ready answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(IDictionary<string, string>? settings = null, string? dll = null, string? dataDirectory = null)
    {
        dll ??= Path.Combine(AppContext.BaseDirectory, "RegService.Api.dll");
        string? owned = null;
        if (dataDirectory is null)
        {
            dataDirectory = owned = Path.Combine(Path.GetTempPath(), "regservice-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dataDirectory);
        }
        int port;
        using (var listener = new TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo("dotnet", $"\"{dll}\"")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["Storage__DataDirectory"] = dataDirectory;
        info.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        info.Environment["Auth__AdminKey"] = AdminKey;
        info.Environment["Limits__RequestsPerSecond"] = "0";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = Process.Start(info)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, $"http://127.0.0.1:{port}", owned);
        using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
        for (int i = 0; ; i++)
        {
            if (process.HasExited) throw new InvalidOperationException($"the server exited ({process.ExitCode}):\n{log}");
            try
            {
                if ((await client.GetAsync("/health/ready")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) when (i < 300) { }
            await Task.Delay(100);
        }
        return server;
    }

    /// <summary>A client for a new tenant key, or without one when the build has no keys (an earlier version).</summary>
    public async Task<HttpClient> TenantClientAsync(string tenant)
    {
        var client = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromMinutes(5) };
        using var admin = new HttpClient { BaseAddress = new Uri(Url) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant, name = "bench" });
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound || response.StatusCode == System.Net.HttpStatusCode.MethodNotAllowed)
            return client;   // a build without keys
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body["key"]!.GetValue<string>());
        return client;
    }

    /// <summary>The CPU time the server has used so far (user and system, from /proc/PID/stat; 10 ms resolution).</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        // The fields after the command name (which may hold spaces) start with the state: utime and stime are 14th and 15th overall.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>A /proc/PID/status figure, in bytes.</summary>
    public long Memory(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
        return -1;
    }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        await Task.Yield();
        if (_ownedDirectory is not null)
            try { Directory.Delete(_ownedDirectory, recursive: true); } catch (IOException) { }
    }
}
