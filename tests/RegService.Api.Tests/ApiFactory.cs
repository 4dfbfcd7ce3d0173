using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Jobs;

namespace RegService.Api.Tests;

/// <summary>
/// The service in memory on a temporary data directory (or a given one, to test restarts),
/// with small queue settings and, optionally, a replacement fit runner and more settings (which win).
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<Program>
{
    private readonly bool _ownsDirectory;
    private readonly Dictionary<string, string?> _settings;
    private readonly IFitRunner? _runner;

    public ApiFactory(string? dataDirectory = null, int workers = 1, int queueCapacity = 100, int maxAttempts = 3,
        long? maxUploadBytes = null, IFitRunner? runner = null, IDictionary<string, string?>? settings = null)
    {
        _ownsDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? NewDirectory();
        _runner = runner;
        _settings = new()
        {
            ["Storage:DataDirectory"] = DataDirectory,
            ["Jobs:Workers"] = workers.ToString(),
            ["Jobs:QueueCapacity"] = queueCapacity.ToString(),
            ["Jobs:MaxAttempts"] = maxAttempts.ToString(),
            ["Jobs:PollMilliseconds"] = "100",
            ["Jobs:RetryAfterSeconds"] = "7",
        };
        if (maxUploadBytes is { } max) _settings["Datasets:MaxUploadBytes"] = max.ToString();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) _settings[key] = value;
    }

    public string DataDirectory { get; }

    public static string NewDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "regservice-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        if (_runner is not null)
            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<IFitRunner>();
                services.AddSingleton(_runner);
            });
    }

    /// <summary>
    /// Waits (at most 10 s) until no instance holds <paramref name="directory"/>'s lock, so that a test starting a second
    /// instance after disposing the first starts it on a released directory. One CI run saw the second instance refused
    /// (it found the lock still held) right after the first was disposed; a lock never released fails here, naming it.
    /// </summary>
    public static async Task WaitUntilReleased(string directory)
    {
        var path = Path.Combine(directory, "regservice.lock");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)) return;
            }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _ownsDirectory)
        {
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}

internal static class ServiceCollectionHelpers
{
    public static void RemoveAll<T>(this IServiceCollection services)
    {
        foreach (var d in services.Where(d => d.ServiceType == typeof(T)).ToList()) services.Remove(d);
    }
}

/// <summary>Requests the tests share.</summary>
public static class Http
{
    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> Send(HttpClient client, HttpMethod method, string url,
        string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, contentType);
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static async Task<string> UploadCsv(HttpClient client, string csv, string? name = null)
    {
        var (response, body) = await Send(client, HttpMethod.Post, "/v1/datasets" + (name is null ? "" : $"?name={name}"), csv, "text/csv");
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, body?.ToJsonString());
        return body!["id"]!.GetValue<string>();
    }

    public static async Task<string> Submit(HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/v1/fits", request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    /// <summary>Polls a fit until it leaves queued/running, or fails the test after the timeout.</summary>
    public static async Task<JsonNode> WaitForFit(HttpClient client, string id, TimeSpan? timeout = null, string? include = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{id}" + (include is null ? "" : $"?include={include}")))!;
            var status = job["status"]!.GetValue<string>();
            if (status is not ("queued" or "running")) return job;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"fit {id} still {status}: {job.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    /// <summary>A finished fit's result with every include (?include=path,standardization), read back to the dense form (<see cref="Dense"/>).</summary>
    public static async Task<JsonNode> WaitForDenseResult(HttpClient client, string id, TimeSpan? timeout = null)
    {
        var job = await WaitForFit(client, id, timeout, "path,standardization");
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        return Dense(job["result"]!);
    }

    /// <summary>
    /// A result fetched with ?include=path,standardization in the dense form versions before the summary answered: coefficients
    /// and standardizedCoefficients by name for every feature (0 where not listed; empty for an MLP), and path.coefficients per
    /// lambda by name for every feature (from indices into features and values). Everything else is left as it is.
    /// </summary>
    public static JsonNode Dense(JsonNode result)
    {
        var copy = result.DeepClone();
        var features = copy["features"]!.AsArray().Select(f => f!.GetValue<string>()).ToArray();
        bool mlp = copy["network"] is not null;
        JsonObject ByName(Func<int, double> value)
        {
            var o = new JsonObject();
            if (!mlp) for (int j = 0; j < features.Length; j++) o[features[j]] = value(j);
            return o;
        }
        foreach (var key in new[] { "coefficients", "standardizedCoefficients" })
        {
            var nonZero = copy[key]!.AsObject();
            Assert.All(nonZero, c => Assert.NotEqual(0.0, c.Value!.GetValue<double>()));
            copy[key] = ByName(j => nonZero[features[j]]?.GetValue<double>() ?? 0);
        }
        var path = copy["path"]!["coefficients"]!.AsArray();
        for (int l = 0; l < path.Count; l++)
        {
            var dense = new double[features.Length];
            var indices = path[l]!["indices"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray();
            var values = path[l]!["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(indices.Length, values.Length);
            Assert.Equal(indices.Order(), indices);
            for (int k = 0; k < indices.Length; k++) dense[indices[k]] = values[k];
            path[l] = ByName(j => dense[j]);
        }
        return copy;
    }

    /// <summary>The strings of a JSON array of messages, joined (unescaped, unlike ToJsonString).</summary>
    public static string Messages(JsonNode? node) =>
        string.Join(" | ", node!.AsArray().Select(m => m!.GetValue<string>()));

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
