using System.Diagnostics;

namespace RegService.Api.Extensions;

/// <summary>One log event per request (method, path, status, elapsed) inside a RequestId scope.</summary>
public sealed class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = context.TraceIdentifier });
        var watch = Stopwatch.StartNew();
        try
        {
            await next(context);
        }
        finally
        {
            // 503 and 507 are the store's state (down, disk full), answered with Retry-After: a warning, not an error.
            var level = context.Response.StatusCode switch
            {
                StatusCodes.Status503ServiceUnavailable or StatusCodes.Status507InsufficientStorage => LogLevel.Warning,
                >= 500 => LogLevel.Error,
                _ => LogLevel.Information,
            };
            logger.Log(level, "HTTP {Method} {Path} responded {StatusCode} in {Elapsed:F1} ms",
                context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, watch.Elapsed.TotalMilliseconds);
        }
    }
}

public static class RequestLoggingExtensions
{
    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app) => app.UseMiddleware<RequestLoggingMiddleware>();
}
