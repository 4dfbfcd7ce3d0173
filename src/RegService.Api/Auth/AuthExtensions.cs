using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using RegService.Api.Infrastructure;

namespace RegService.Api.Auth;

public static class AuthExtensions
{
    /// <summary>
    /// Authentication (API keys, optional JWT bearer tokens, or the local tenant in Mode None) and the
    /// tenant and admin policies. Refuses a configuration that would leave a Production service open
    /// or with no way to create a key.
    /// </summary>
    public static WebApplicationBuilder AddAuth(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(AuthOptions.Section);
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        var settings = section.Get<AuthOptions>() ?? new AuthOptions();
        bool production = builder.Environment.IsProduction();
        var mode = settings.EffectiveMode(production);
        Check(settings, mode, production);
        builder.Services.Configure<AuthOptions>(o => o.Mode = mode);

        var authentication = builder.Services.AddAuthentication(mode == AuthMode.None ? Identity.LocalScheme : Identity.SelectorScheme);
        if (mode == AuthMode.None)
        {
            authentication.AddScheme<AuthenticationSchemeOptions, LocalAuthenticationHandler>(Identity.LocalScheme, null);
        }
        else
        {
            authentication.AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(Identity.ApiKeyScheme, null);
            if (settings.Jwt.Enabled) authentication.AddJwtBearer(Identity.JwtScheme, o => ConfigureJwt(o, settings.Jwt));
            authentication.AddPolicyScheme(Identity.SelectorScheme, "API key or JWT", o => o.ForwardDefaultSelector = context =>
                settings.Jwt.Enabled && LooksLikeJwt(ApiKeyAuthenticationHandler.Presented(context.Request)) ? Identity.JwtScheme : Identity.ApiKeyScheme);
        }

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Identity.TenantPolicy, p => p.RequireAuthenticatedUser().RequireClaim(Identity.TenantClaim))
            .AddPolicy(Identity.AdminPolicy, p => p.RequireAuthenticatedUser().RequireRole(Identity.AdminRole));
        return builder;
    }

    private static void Check(AuthOptions settings, AuthMode mode, bool production)
    {
        if (mode == AuthMode.None && production)
            throw new ConfigurationException(
                "Auth:Mode is None in Production, which would let anyone read and delete every data set and fit. " +
                "Set Auth__Mode=ApiKeys with Auth__AdminKey=<a random secret of 24+ characters>, or for a local trial " +
                "ASPNETCORE_ENVIRONMENT=Development.");
        if (mode == AuthMode.ApiKeys && string.IsNullOrWhiteSpace(settings.AdminKey) && !settings.Jwt.Enabled)
            throw new ConfigurationException(
                "Auth:Mode is ApiKeys but no key can ever be created: set Auth__AdminKey to a random secret of 24+ characters " +
                "(it creates tenant keys at POST /v1/admin/keys), or Auth__Jwt__Authority for tokens from an identity provider.");
        if (settings.AdminKey is { Length: > 0 } admin && (admin.Length < 24 || !ApiKeys.WellFormed(admin)))
            throw new ConfigurationException(
                $"Auth:AdminKey is {admin.Length} characters long or holds spaces or non-ASCII characters; use a random secret of " +
                "24 to 512 printable ASCII characters (e.g. `openssl rand -base64 32`).");
    }

    private static void ConfigureJwt(JwtBearerOptions o, JwtOptions jwt)
    {
        o.Authority = jwt.Authority;
        o.Audience = jwt.Audience;
        o.MapInboundClaims = false;
        o.TokenValidationParameters.ValidateAudience = !string.IsNullOrWhiteSpace(jwt.Audience);
        o.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var principal = context.Principal!;
                var identity = (ClaimsIdentity)principal.Identity!;
                var tenant = principal.FindFirst(jwt.TenantClaim)?.Value;
                bool admin = principal.FindAll("role").Concat(principal.FindAll("roles")).Concat(principal.FindAll(ClaimTypes.Role))
                    .Any(c => c.Value == jwt.AdminRole);
                if (admin) identity.AddClaim(new Claim(ClaimTypes.Role, Identity.AdminRole));
                if (!string.IsNullOrWhiteSpace(tenant)) identity.AddClaim(new Claim(Identity.TenantClaim, tenant));
                else if (!admin) context.Fail($"the token has no '{jwt.TenantClaim}' claim naming the tenant (Auth:Jwt:TenantClaim)");
                return Task.CompletedTask;
            },
            OnChallenge = context =>
            {
                context.HandleResponse();
                var failure = context.AuthenticateFailure?.Message ?? context.ErrorDescription;
                return Challenges.Unauthorized(context.HttpContext, failure is null ? null : "the token was refused: " + failure);
            },
            OnForbidden = context => Challenges.Forbidden(context.HttpContext),
        };
    }

    private static bool LooksLikeJwt(string? token) =>
        token is not null && token.StartsWith("eyJ", StringComparison.Ordinal) && token.Count(c => c == '.') == 2;

    /// <summary>
    /// Per-tenant request rate limits (Limits:RequestsPerSecond, Limits:Burst) through ASP.NET Core rate
    /// limiting: one token bucket per tenant (per client address before authentication), health probes exempt.
    /// </summary>
    public static WebApplicationBuilder AddTenantRateLimits(this WebApplicationBuilder builder)
    {
        var limits = builder.Configuration.GetSection(LimitsOptions.Section).Get<LimitsOptions>() ?? new LimitsOptions();
        builder.Services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (limits.RequestsPerSecond <= 0 || context.Request.Path.StartsWithSegments("/health"))
                    return RateLimitPartition.GetNoLimiter("unlimited");
                var key = context.User.FindFirst(Identity.TenantClaim)?.Value is { } tenant
                    ? "tenant:" + tenant
                    : context.User.IsInRole(Identity.AdminRole) ? "admin" : "address:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(limits.Burst, 1),
                    TokensPerPeriod = limits.RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            o.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                int retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Type = ProblemTypes.RateLimited,
                        Title = "Too many requests",
                        Detail = $"this tenant sent more than {limits.RequestsPerSecond} requests per second (Limits:RequestsPerSecond, " +
                                 $"bursts of {limits.Burst}: Limits:Burst); retry after {retry} s",
                        Extensions = { ["retryAfterSeconds"] = retry, ["limit"] = "Limits:RequestsPerSecond" },
                    },
                });
            };
        });
        return builder;
    }

    /// <summary>
    /// Authentication, rate limits by the authenticated tenant, then authorization. With no request limit
    /// (Limits:RequestsPerSecond 0) the rate limiting middleware is left out: every request would pass it anyway.
    /// </summary>
    public static WebApplication UseAuth(this WebApplication app)
    {
        app.UseAuthentication();
        var limits = app.Configuration.GetSection(LimitsOptions.Section).Get<LimitsOptions>() ?? new LimitsOptions();
        if (limits.RequestsPerSecond > 0) app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Logs the mode at start; Mode None is a warning.</summary>
    public static void LogAuthMode(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Auth");
        if (settings.Mode == AuthMode.None)
            logger.LogWarning("Auth:Mode is None: no credentials are checked and every request is tenant '{Tenant}'. Use it only on your own machine", Identity.LocalTenant);
        else
            logger.LogInformation("Auth:Mode is ApiKeys (admin key {Admin}, JWT {Jwt})",
                string.IsNullOrEmpty(settings.AdminKey) ? "not set" : "set", settings.Jwt.Enabled ? settings.Jwt.Authority : "off");
    }
}

/// <summary>A setting that keeps the service from starting, with what to change.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
