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
    public static async Task<JsonNode> WaitForFit(HttpClient client, string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{id}"))!;
            var status = job["status"]!.GetValue<string>();
            if (status is not ("queued" or "running")) return job;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"fit {id} still {status}: {job.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    /// <summary>The strings of a JSON array of messages, joined (unescaped, unlike ToJsonString).</summary>
    public static string Messages(JsonNode? node) =>
        string.Join(" | ", node!.AsArray().Select(m => m!.GetValue<string>()));

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
