using System.Globalization;
using Microsoft.Data.Sqlite;

namespace RegService.Api.Storage;

/// <summary>API keys in SQLite: id, tenant, name and the SHA-256 of the secret, never the secret itself.</summary>
public sealed class SqliteApiKeyStore(SqliteDatabase store) : IApiKeyStore
{
    private const string Columns = "id, tenant, name, created_at, revoked_at";

    public void Add(ApiKeyRecord key, string secretHash) => store.Write(session =>
    {
        var command = session.Command("""
            INSERT INTO api_keys (id, tenant, name, secret_hash, created_at) VALUES ($id, $tenant, $name, $hash, $created)
            """);
        command.Parameters.AddWithValue("$id", key.Id);
        command.Parameters.AddWithValue("$tenant", key.Tenant);
        command.Parameters.AddWithValue("$name", key.Name);
        command.Parameters.AddWithValue("$hash", secretHash);
        command.Parameters.AddWithValue("$created", key.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        return command.ExecuteNonQuery();
    });

    public ApiKeyRecord? FindByHash(string secretHash) => store.Read(session =>
    {
        var command = session.Command($"SELECT {Columns} FROM api_keys WHERE secret_hash = $hash");
        command.Parameters.AddWithValue("$hash", secretHash);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    });

    public IReadOnlyList<ApiKeyRecord> List() => store.Read(session =>
    {
        using var reader = session.Command($"SELECT {Columns} FROM api_keys ORDER BY created_at, id").ExecuteReader();
        var keys = new List<ApiKeyRecord>();
        while (reader.Read()) keys.Add(Read(reader));
        return keys;
    });

    public bool Revoke(string id) => store.Write(session =>
    {
        var command = session.Command("UPDATE api_keys SET revoked_at = coalesce(revoked_at, $now) WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        return command.ExecuteNonQuery() == 1;
    });

    private static ApiKeyRecord Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2),
        DateTimeOffset.Parse(r.GetString(3), CultureInfo.InvariantCulture),
        r.IsDBNull(4) ? null : DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture));
}
