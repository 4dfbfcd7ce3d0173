using Microsoft.AspNetCore.Http.HttpResults;

namespace RegService.Api.Infrastructure;

/// <summary>RFC 9457 problem details for the outcomes the handlers share.</summary>
public static class Problems
{
    public static ValidationProblem Invalid(Dictionary<string, string[]> errors, string title) =>
        TypedResults.ValidationProblem(errors, title: title);

    public static ValidationProblem Invalid(string field, string message, string title) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: title);

    public static ProblemHttpResult NotFound(string what, string id, string field) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{what} not found",
            detail: $"there is no {what.ToLowerInvariant()} with id '{id}'",
            extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>429 with Retry-After (header and <c>retryAfterSeconds</c>) and the setting that limits.</summary>
    public static ProblemHttpResult TooMany(HttpContext http, string type, string title, string detail, int retryAfterSeconds, string setting)
    {
        http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: title, detail: detail, type: type,
            extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = retryAfterSeconds, ["limit"] = setting });
    }

    public static ProblemHttpResult Status(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);
}

/// <summary>A read-only stream that stops after a byte limit.</summary>
public sealed class LimitedReadStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
        Count(await inner.ReadAsync(buffer, ct));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int Count(int n)
    {
        _read += n;
        if (_read > limit) throw new UploadTooLargeException(limit);
        return n;
    }
}

public sealed class UploadTooLargeException(long limit) : Exception($"the upload is larger than the limit of {limit} bytes")
{
    public long Limit { get; } = limit;
}

/// <summary>The problem responses every authenticated route can send, for the OpenAPI document.</summary>
public static class ProblemResponses
{
    /// <summary>
    /// 400 (an unknown query parameter), 401 (no or a bad key), 403 (the wrong kind of key), 429 (the
    /// tenant's request rate, with Retry-After) and 503 (the store unavailable, with Retry-After).
    /// </summary>
    public static RouteGroupBuilder ProducesServiceProblems(this RouteGroupBuilder group) => group
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <summary>A route that writes: 507 when the disk is full (with Retry-After).</summary>
    public static RouteHandlerBuilder ProducesWriteProblems(this RouteHandlerBuilder route) =>
        route.ProducesProblem(StatusCodes.Status507InsufficientStorage);
}
