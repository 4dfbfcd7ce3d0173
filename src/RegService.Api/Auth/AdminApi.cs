using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;

namespace RegService.Api.Auth;

/// <summary>A key to create: the tenant it belongs to and a name to tell keys apart.</summary>
public sealed record CreateKeyRequest(
    [property: Description("Tenant that owns what the key creates: 1-64 characters of letters, digits, '.', '_' or '-'")] [property: Required] string? Tenant,
    [property: Description("A label for the key, e.g. 'ci' (1-100 characters)")] [property: Required] string? Name);

/// <summary>A key just created: the only time its secret is shown.</summary>
public sealed record CreatedKey(
    string Id,
    [property: Description("The secret, shown once: send it as 'Authorization: Bearer <key>' or 'X-Api-Key'")] string Key,
    string Tenant,
    string Name,
    DateTimeOffset CreatedAt);

/// <summary>/v1/admin/keys: tenant API keys, for the admin key only.</summary>
public static partial class AdminApi
{
    public static RouteGroupBuilder MapAdmin(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/admin").WithTags("Admin").RequireAuthorization(Identity.AdminPolicy).AllowQuery()
            .ProducesServiceProblems();
        group.MapPost("/keys", Create).WithName("CreateKey")
            .WithSummary("Create an API key for a tenant; the secret is in this answer only")
            .ProducesWriteProblems();
        group.MapGet("/keys", List).WithName("ListKeys").WithSummary("List API keys (ids, tenants, names, revocation; never secrets)");
        group.MapDelete("/keys/{id}", Revoke).WithName("RevokeKey").WithSummary("Revoke a key at once, on every replica")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesWriteProblems();
        return group;
    }

    public static Results<Created<CreatedKey>, ValidationProblem> Create(CreateKeyRequest request, IApiKeyStore keys, ILoggerFactory loggers)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Tenant)) errors["tenant"] = ["is required: the tenant that will own what this key creates"];
        else if (!TenantName().IsMatch(request.Tenant))
            errors["tenant"] = [$"must be 1-64 characters of letters, digits, '.', '_' or '-'; got '{Truncate(request.Tenant)}'"];
        if (string.IsNullOrWhiteSpace(request.Name)) errors["name"] = ["is required: a label for the key, e.g. 'ci'"];
        else if (request.Name.Length > 100 || request.Name.Any(char.IsControl))
            errors["name"] = [$"must be 1-100 characters without control characters; got {request.Name.Length}"];
        if (errors.Count > 0) return Problems.Invalid(errors, "The key request is invalid");

        var secret = ApiKeys.NewSecret();
        var key = new ApiKeyRecord(ApiKeys.NewId(), request.Tenant!, request.Name!, DateTimeOffset.UtcNow, null);
        keys.Add(key, ApiKeys.Hash(secret));
        loggers.CreateLogger("Admin").LogInformation("Created API key {KeyId} for tenant {Tenant}", key.Id, key.Tenant);
        return TypedResults.Created($"/v1/admin/keys/{key.Id}", new CreatedKey(key.Id, secret, key.Tenant, key.Name, key.CreatedAt));
    }

    public static Ok<IReadOnlyList<ApiKeyRecord>> List(IApiKeyStore keys) => TypedResults.Ok(keys.List());

    public static Results<NoContent, ProblemHttpResult> Revoke(string id, IApiKeyStore keys, ILoggerFactory loggers)
    {
        if (!keys.Revoke(id)) return Problems.NotFound("Key", id, "id");
        loggers.CreateLogger("Admin").LogInformation("Revoked API key {KeyId}", id);
        return TypedResults.NoContent();
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex TenantName();
}
