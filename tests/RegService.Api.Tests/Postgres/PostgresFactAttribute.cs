namespace RegService.Api.Tests.Postgres;

/// <summary>A fact that needs PostgreSQL's binaries: skipped, saying how to install them, where they are missing.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.SkipReason is { } reason) Skip = reason;
    }
}
