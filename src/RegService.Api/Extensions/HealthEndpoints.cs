using System.ComponentModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RegService.Api.Extensions;

/// <summary>A health answer: the overall status and each check's.</summary>
public sealed record HealthDocument(
    [property: Description("healthy, or unhealthy (then the status code is 503)")] string Status,
    [property: Description("Each check by name (readiness: store); liveness runs none")] IReadOnlyDictionary<string, HealthCheckDocument> Checks);

/// <summary>One check's status and what it found.</summary>
public sealed record HealthCheckDocument(
    [property: Description("healthy or unhealthy")] string Status,
    [property: Description("What the check found, e.g. \"store takes writes\" or why the store refuses them")] string? Description);

/// <summary>/health/live (the process answers) and /health/ready (the store takes writes), as JSON; no key needed.</summary>
public static class HealthEndpoints
{
    public static WebApplication MapHealth(this WebApplication app)
    {
        var group = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        group.MapGet("/live", Live).WithName("Live").WithSummary("Liveness: 200 while the process answers (no check runs)");
        group.MapGet("/ready", Ready).WithName("Ready")
            .WithSummary("Readiness: 200 when the store answers a read and takes a small write, else 503 with the reason")
            .Produces<HealthDocument>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    public static Ok<HealthDocument> Live(HttpContext http)
    {
        NoCache(http);
        return TypedResults.Ok(new HealthDocument("healthy", new Dictionary<string, HealthCheckDocument>()));
    }

    public static async Task<Results<Ok<HealthDocument>, JsonHttpResult<HealthDocument>>> Ready(HttpContext http, HealthCheckService health)
    {
        NoCache(http);
        var report = await health.CheckHealthAsync(check => check.Tags.Contains("ready"), http.RequestAborted);
        var document = new HealthDocument(Name(report.Status),
            report.Entries.ToDictionary(e => e.Key, e => new HealthCheckDocument(Name(e.Value.Status), e.Value.Description)));
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(document)
            : TypedResults.Json(document, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    // As the health-check middleware: a probe's answer is never cached. Degraded is not used by any check here.
    private static void NoCache(HttpContext http) => http.Response.Headers.CacheControl = "no-store, no-cache";

    private static string Name(HealthStatus status) => status == HealthStatus.Healthy ? "healthy" : "unhealthy";
}
