using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace RegService.Api.Infrastructure;

/// <summary>A store failure a client can wait out: 503 (unavailable) or 507 (disk full), with Retry-After.</summary>
public sealed record StoreFault(int Status, string Type, string Title, string Detail);

/// <summary>Tells store failures (disk full, database down or locked) from the service's own errors.</summary>
public static class StoreFaults
{
    public const int RetryAfterSeconds = 5;

    private const int EnospcLinux = 28, ErrorDiskFull = 0x70, ErrorHandleDiskFull = 0x27;

    public static StoreFault? Classify(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case SqliteException { SqliteErrorCode: 13 }:   // SQLITE_FULL
                    return DiskFull();
                case IOException io when IsDiskFull(io):
                    return DiskFull();
                case SqliteException sqlite:
                    return Unavailable($"the database failed ({sqlite.SqliteErrorCode}: {FirstLine(sqlite.Message)})");
                case DbException db:
                    return Unavailable($"the database is unreachable or failed ({FirstLine(db.Message)})");
                case TimeoutException when ex.StackTrace?.Contains("Npgsql", StringComparison.Ordinal) == true:
                    return Unavailable("the database did not answer in time");
            }
        }
        return null;
    }

    public static bool IsDiskFull(IOException io)
    {
        int code = io.HResult & 0xFFFF;
        return code is EnospcLinux or ErrorDiskFull or ErrorHandleDiskFull
            || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase);
    }

    private static StoreFault DiskFull() => new(StatusCodes.Status507InsufficientStorage, ProblemTypes.InsufficientStorage,
        "Insufficient storage", $"the service's disk is full, so nothing was stored; retry after {RetryAfterSeconds} s, once an operator frees space");

    private static StoreFault Unavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, ProblemTypes.StoreUnavailable,
        "Store unavailable", $"{detail}; nothing was changed; retry after {RetryAfterSeconds} s");

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
