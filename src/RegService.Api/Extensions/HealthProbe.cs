namespace RegService.Api.Extensions;

/// <summary>
/// <c>dotnet RegService.Api.dll --check-health</c>: asks the running service's /health/ready on the
/// port in ASPNETCORE_URLS and exits 0 when ready. The container's HEALTHCHECK uses it, so the
/// runtime image needs no curl.
/// </summary>
public static class HealthProbe
{
    public static bool Requested(string[] args) => args.Contains("--check-health");

    public static int Run()
    {
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS") ?? "http://localhost:8080";
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0]
            .Replace("://+", "://localhost").Replace("://*", "://localhost").Replace("://0.0.0.0", "://localhost");
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
            var response = client.GetAsync(first.TrimEnd('/') + "/health/ready").GetAwaiter().GetResult();
            Console.WriteLine($"{(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"unreachable: {ex.Message}");
            return 1;
        }
    }
}
