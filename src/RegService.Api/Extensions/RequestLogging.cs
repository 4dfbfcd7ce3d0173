using System.Collections;
using System.Diagnostics;

namespace RegService.Api.Extensions;

/// <summary>One log event per request (method, path, status, elapsed) inside a RequestId scope.</summary>
public sealed class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        using var scope = logger.BeginScope(new RequestScope(context.TraceIdentifier));
        long start = Stopwatch.GetTimestamp();
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
            if (logger.IsEnabled(level))
                logger.Log(level, "HTTP {Method} {Path} responded {StatusCode} in {Elapsed:F1} ms",
                    context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    /// <summary>The scope's one property, RequestId, without a dictionary per request.</summary>
    private sealed class RequestScope(string requestId) : IReadOnlyList<KeyValuePair<string, object>>
    {
        public KeyValuePair<string, object> this[int index] =>
            index == 0 ? new("RequestId", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => 1;

        public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"RequestId:{requestId}";
    }
}

public static class RequestLoggingExtensions
{
    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app) => app.UseMiddleware<RequestLoggingMiddleware>();
}
