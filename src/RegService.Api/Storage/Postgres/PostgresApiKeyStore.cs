using Npgsql;

namespace RegService.Api.Storage.Postgres;

/// <summary>API keys in PostgreSQL: id, tenant, name and the SHA-256 of the secret, never the secret itself.</summary>
public sealed class PostgresApiKeyStore(PostgresDatabase store) : IApiKeyStore
{
    private const string Columns = "id, tenant, name, created_at, revoked_at";

    public void Add(ApiKeyRecord key, string secretHash)
    {
        using var connection = store.Open();
        using var command = new NpgsqlCommand(
            "INSERT INTO api_keys (id, tenant, name, secret_hash, created_at) VALUES (@id, @tenant, @name, @hash, @created)", connection);
        command.Parameters.AddWithValue("id", key.Id);
        command.Parameters.AddWithValue("tenant", key.Tenant);
        command.Parameters.AddWithValue("name", key.Name);
        command.Parameters.AddWithValue("hash", secretHash);
        command.Parameters.AddWithValue("created", key.CreatedAt.ToUniversalTime());
        command.ExecuteNonQuery();
    }

    public ApiKeyRecord? FindByHash(string secretHash)
    {
        using var connection = store.Open();
        using var command = new NpgsqlCommand($"SELECT {Columns} FROM api_keys WHERE secret_hash = @hash", connection);
        command.Parameters.AddWithValue("hash", secretHash);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    public IReadOnlyList<ApiKeyRecord> List()
    {
        using var connection = store.Open();
        using var command = new NpgsqlCommand($"SELECT {Columns} FROM api_keys ORDER BY created_at, id", connection);
        using var reader = command.ExecuteReader();
        var keys = new List<ApiKeyRecord>();
        while (reader.Read()) keys.Add(Read(reader));
        return keys;
    }

    public bool Revoke(string id)
    {
        using var connection = store.Open();
        using var command = new NpgsqlCommand("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", id);
        return command.ExecuteNonQuery() == 1;
    }

    private static ApiKeyRecord Read(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3),
        r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4));
}
