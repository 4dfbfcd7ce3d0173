using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using RegService.Api.Storage;

namespace RegService.Api.Auth;

public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions;

/// <summary>
/// API keys from <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key</c>. The key's SHA-256 is
/// looked up through <see cref="ApiKeyCache"/>, which every revocation clears on every replica.
/// The configured admin key authenticates as the admin role, without a tenant.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IApiKeyStore keys,
    IOptions<AuthOptions> auth)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    public const string HeaderName = "X-Api-Key";
    private const string FailureItem = "regservice:auth-failure";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented(Request);
        if (presented is null) return Task.FromResult(AuthenticateResult.NoResult());
        if (!ApiKeys.WellFormed(presented)) return Fail("malformed", "the API key is malformed: keys are printable ASCII without spaces, 16 to 512 characters");

        // One SHA-256 per request: the digest is compared with the admin key's (in constant time), and its hex form is the lookup key.
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        ApiKeys.Digest(presented, digest);
        if (auth.Value.AdminKey is { Length: > 0 } admin && CryptographicOperations.FixedTimeEquals(digest, AdminDigest(admin)))
            return Success(new Claim(ClaimTypes.Role, Identity.AdminRole), new Claim(ClaimTypes.Name, "admin"));

        var key = keys.FindByHash(Convert.ToHexStringLower(digest));
        if (key is null) return Fail("unknown", "the API key is not known");
        if (key.RevokedAt is not null) return Fail("revoked", $"the API key {key.Id} was revoked");
        return Success(new Claim(Identity.TenantClaim, key.Tenant), new Claim(Identity.KeyIdClaim, key.Id), new Claim(ClaimTypes.Name, key.Name));
    }

    private static (string Key, byte[] Digest)? _adminDigest;

    /// <summary>The admin key's SHA-256, computed once per configured key.</summary>
    private static byte[] AdminDigest(string admin)
    {
        if (_adminDigest is { } known && ReferenceEquals(known.Key, admin)) return known.Digest;
        var digest = new byte[SHA256.HashSizeInBytes];
        ApiKeys.Digest(admin, digest);
        _adminDigest = (admin, digest);
        return digest;
    }

    private Task<AuthenticateResult> Success(params Claim[] claims)
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    private Task<AuthenticateResult> Fail(string reason, string message)
    {
        Context.Items[FailureItem] = message;
        return Task.FromResult(AuthenticateResult.Fail($"{reason}: {message}"));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Challenges.Unauthorized(Context, Context.Items[FailureItem] as string);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => Challenges.Forbidden(Context);

    /// <summary>The key a request presents: a bearer token that is not a JWT, else X-Api-Key.</summary>
    public static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        if (authorization.Length > 0) return authorization; // another scheme: malformed for us
        var header = request.Headers[HeaderName].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }
}

/// <summary>Auth:Mode None: every request is the one tenant <c>local</c>, with the admin role.</summary>
public sealed class LocalAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var identity = new ClaimsIdentity(
            [new Claim(Identity.TenantClaim, Identity.LocalTenant), new Claim(ClaimTypes.Role, Identity.AdminRole), new Claim(ClaimTypes.Name, "local")],
            Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }
}

/// <summary>The 401 and 403 problem responses every scheme shares.</summary>
public static class Challenges
{
    public const string Realm = "RegService";

    public static async Task Unauthorized(HttpContext context, string? failure)
    {
        if (context.Response.HasStarted) return;
        var detail = failure ?? "send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = failure is null
            ? $"Bearer realm=\"{Realm}\""
            : $"Bearer realm=\"{Realm}\", error=\"invalid_token\", error_description=\"{failure.Replace("\"", "'")}\"";
        await Write(context, StatusCodes.Status401Unauthorized, "Unauthorized", detail, "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2");
    }

    public static Task Forbidden(HttpContext context)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        bool admin = context.User.IsInRole(Identity.AdminRole);
        var detail = admin
            ? "the admin key manages keys under /v1/admin only; create a tenant key with POST /v1/admin/keys and use it here"
            : "this key cannot use this route: /v1/admin needs the admin key";
        return Write(context, StatusCodes.Status403Forbidden, "Forbidden", detail, "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4");
    }

    private static Task Write(HttpContext context, int status, string title, string detail, string type)
    {
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail, Type = type },
        }).AsTask();
    }
}

/// <summary>Key secrets: made here, shown once, stored as a hash.</summary>
public static class ApiKeys
{
    public const string Prefix = "rsk_";

    /// <summary>A new secret: the prefix and 32 random bytes (256 bits) in base64url.</summary>
    public static string NewSecret() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewId() => "key_" + Base64Url(RandomNumberGenerator.GetBytes(9));

    /// <summary>Lower-case hex SHA-256: the secrets are random and long, so a fast hash leaves nothing to guess.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>The SHA-256 of a well-formed key (printable ASCII, at most 512 characters) into <paramref name="digest"/>, without allocating.</summary>
    internal static void Digest(string secret, Span<byte> digest)
    {
        Span<byte> bytes = stackalloc byte[512];
        int length = Encoding.ASCII.GetBytes(secret.AsSpan(0, Math.Min(secret.Length, 512)), bytes);
        SHA256.HashData(bytes[..length], digest);
    }

    public static bool WellFormed(string key) => key.Length is >= 16 and <= 512 && !key.AsSpan().ContainsAnyExceptInRange('!', '~');

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
