namespace RegService.Api.Auth;

/// <summary>How clients are identified (configuration section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// <c>ApiKeys</c> (the default in Production and in the container image) or <c>None</c> (the
    /// default for Development: everything is owned by the one tenant <c>local</c>). Production refuses <c>None</c>.
    /// </summary>
    public AuthMode? Mode { get; set; }

    /// <summary>The bootstrap admin key (<c>Auth__AdminKey</c>): manages tenant keys under /v1/admin. At least 24 characters.</summary>
    public string? AdminKey { get; set; }

    /// <summary>
    /// How long a known key's lookup may be reused without reading the store (default 60 s; 0 reads the
    /// store on every request). A revocation drops the cache on every replica at once, so this only bounds
    /// how long a missed notification could matter.
    /// </summary>
    public double KeyCacheSeconds { get; set; } = 60;

    /// <summary>Optional JWT bearer tokens from an identity provider.</summary>
    public JwtOptions Jwt { get; set; } = new();

    public AuthMode EffectiveMode(bool production) => Mode ?? (production ? AuthMode.ApiKeys : AuthMode.None);
}

public enum AuthMode { ApiKeys, None }

/// <summary>JWT bearer settings (<c>Auth:Jwt</c>): tokens are accepted when <see cref="Authority"/> is set.</summary>
public sealed class JwtOptions
{
    /// <summary>The issuer whose OpenID configuration signs the tokens, e.g. https://login.example.com/realm.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must name.</summary>
    public string? Audience { get; set; }

    /// <summary>The claim that names the tenant; default <c>tenant</c>.</summary>
    public string TenantClaim { get; set; } = "tenant";

    /// <summary>A role claim value that makes a token an admin one; default <c>regservice-admin</c>.</summary>
    public string AdminRole { get; set; } = "regservice-admin";

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}

/// <summary>Claims and policies the service uses.</summary>
public static class Identity
{
    public const string TenantClaim = "regservice:tenant";
    public const string KeyIdClaim = "regservice:key";
    public const string AdminRole = "admin";
    public const string LocalTenant = "local";

    public const string TenantPolicy = "tenant";
    public const string AdminPolicy = "admin";

    public const string ApiKeyScheme = "ApiKey";
    public const string JwtScheme = "Jwt";
    public const string LocalScheme = "Local";
    public const string SelectorScheme = "Bearer";

    /// <summary>The caller's tenant (the tenant policy guarantees there is one).</summary>
    public static string Tenant(this System.Security.Claims.ClaimsPrincipal user) =>
        user.FindFirst(TenantClaim)?.Value ?? throw new InvalidOperationException("the request has no tenant; is the endpoint behind the tenant policy?");
}
