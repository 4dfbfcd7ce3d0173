using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace RegService.Api.Tests;

/// <summary>
/// API keys and ownership: two tenants, every route, with the caller's own id, the other tenant's id,
/// an unknown id, no key, a revoked key and the admin key.
/// </summary>
public sealed class AuthTests : IAsyncLifetime, IDisposable
{
    public const string AdminKey = "admin-key-for-tests-0123456789abcdef";

    private readonly ApiFactory _factory = new(workers: 1, settings: new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "ApiKeys",
        ["Auth:AdminKey"] = AdminKey,
        ["Limits:RequestsPerSecond"] = "0",
    });

    private Tenant _acme = null!, _globex = null!;
    private string _revoked = null!;

    private sealed record Tenant(string Name, string Key, string Dataset, string Fit, HttpClient Client);

    public async Task InitializeAsync()
    {
        _acme = await NewTenant("acme", "secret_acme_column");
        _globex = await NewTenant("globex", "secret_globex_column");
        var (revokedKey, revokedId) = await CreateKey("acme", "old");
        var (response, _) = await Http.Send(Client(AdminKey), HttpMethod.Delete, $"/v1/admin/keys/{revokedId}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        _revoked = revokedKey;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _factory.Dispose();

    private async Task<Tenant> NewTenant(string name, string column)
    {
        var (key, _) = await CreateKey(name, "ci");
        var client = Client(key);
        var dataset = await Http.UploadCsv(client, $"{column},y\n1,2\n2,3.5\n3,5\n4,4.5\n", name + "-data");
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        var job = await Http.WaitForFit(client, fit);
        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        return new Tenant(name, key, dataset, fit, client);
    }

    private async Task<(string Key, string Id)> CreateKey(string tenant, string name)
    {
        var response = await Client(AdminKey).PostAsJsonAsync("/v1/admin/keys", new { tenant, name });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(tenant, body["tenant"]!.GetValue<string>());
        var key = body["key"]!.GetValue<string>();
        Assert.True(key.Length >= 40, key);   // rsk_ + 256 bits in base64url
        return (key, body["id"]!.GetValue<string>());
    }

    private HttpClient Client(string? key, bool header = false)
    {
        var client = _factory.CreateClient();
        if (key is not null)
        {
            if (header) client.DefaultRequestHeaders.Add("X-Api-Key", key);
            else client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>The routes that take an id, with the request each sends and what the owner gets.</summary>
    private static IEnumerable<(string Name, HttpMethod Method, Func<Tenant, string> Url, string? Body, string ContentType, HttpStatusCode Own)> IdRoutes()
    {
        yield return ("get dataset", HttpMethod.Get, t => $"/v1/datasets/{t.Dataset}", null, "application/json", HttpStatusCode.OK);
        yield return ("get fit", HttpMethod.Get, t => $"/v1/fits/{t.Fit}", null, "application/json", HttpStatusCode.OK);
        yield return ("predict", HttpMethod.Post, t => $"/v1/fits/{t.Fit}/predict", null, "text/csv", HttpStatusCode.OK);
        yield return ("cancel", HttpMethod.Post, t => $"/v1/fits/{t.Fit}/cancel", null, "application/json", HttpStatusCode.Conflict);
        yield return ("submit on dataset", HttpMethod.Post, _ => "/v1/fits", "submit", "application/json", HttpStatusCode.Accepted);
        yield return ("delete dataset", HttpMethod.Delete, t => $"/v1/datasets/{t.Dataset}", null, "application/json", HttpStatusCode.NoContent);
        yield return ("delete fit", HttpMethod.Delete, t => $"/v1/fits/{t.Fit}", null, "application/json", HttpStatusCode.NoContent);
    }

    private static string? BodyFor(string? kind, Tenant target, string column) => kind switch
    {
        "submit" => $$"""{"datasetId":"{{target.Dataset}}","target":"y","lambda":0.2}""",
        _ => null,
    };

    [Fact]
    public async Task EveryRouteAnswersTheOwnerAndHidesOtherTenantsDataAsIfUnknown()
    {
        var unknown = new Tenant("nobody", "", "0195f3a2c1d84e7b9a6f5c3d2e1f0a9b", "0195f3a3d0a87c11b2e4f6a8c0d2e4f6", null!);
        foreach (var route in IdRoutes())
        {
            // The other tenant's id, then an unknown id, both from acme: the same 404, nothing of globex's in it.
            var (theirs, theirsBody) = await Send(_acme.Client, route, _globex);
            var (none, noneBody) = await Send(_acme.Client, route, unknown);
            Assert.True(theirs.StatusCode == HttpStatusCode.NotFound, $"{route.Name} on another tenant's id: {(int)theirs.StatusCode} {theirsBody}");
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
            Assert.Equal(noneBody!["title"]!.GetValue<string>(), theirsBody!["title"]!.GetValue<string>());
            Assert.Equal(Strip(noneBody, unknown), Strip(theirsBody, _globex));
            foreach (var secret in new[] { "globex", "secret_globex_column" })
                Assert.DoesNotContain(secret, theirsBody.ToJsonString());

            // No key, a revoked key: 401 with WWW-Authenticate. The admin key: 403.
            var (anonymous, anonymousBody) = await Send(Client(null), route, _acme);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.StartsWith("Bearer", anonymous.Headers.WwwAuthenticate.ToString());
            Assert.Equal(401, anonymousBody!["status"]!.GetValue<int>());
            var (revoked, revokedBody) = await Send(Client(_revoked), route, _acme);
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
            Assert.Contains("revoked", revokedBody!["detail"]!.GetValue<string>());
            Assert.Contains("invalid_token", revoked.Headers.WwwAuthenticate.ToString());
            var (admin, adminBody) = await Send(Client(AdminKey), route, _acme);
            Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
            Assert.Contains("/v1/admin", adminBody!["detail"]!.GetValue<string>());
        }

        // The owner last (delete and cancel change state), with X-Api-Key for a change.
        var owner = Client(_acme.Key, header: true);
        foreach (var route in IdRoutes())
        {
            var (own, ownBody) = await Send(owner, route, _acme);
            Assert.True(route.Own == own.StatusCode, $"{route.Name} on the owner's id: {(int)own.StatusCode} {ownBody}");
            // Let the fit just submitted finish, so the data set can be deleted next.
            if (route.Body == "submit") await Http.WaitForFit(owner, ownBody!["id"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ListsShowOnlyTheCallersOwn()
    {
        var datasets = JsonNode.Parse(await _acme.Client.GetStringAsync("/v1/datasets"))!;
        Assert.Equal(1, datasets["total"]!.GetValue<int>());
        Assert.Equal(_acme.Dataset, datasets["items"]![0]!["id"]!.GetValue<string>());
        var fits = JsonNode.Parse(await _globex.Client.GetStringAsync("/v1/fits"))!;
        Assert.Equal(1, fits["total"]!.GetValue<int>());
        Assert.Equal(_globex.Fit, fits["items"]![0]!["id"]!.GetValue<string>());
        Assert.DoesNotContain("acme", fits.ToJsonString());
        var filtered = JsonNode.Parse(await _globex.Client.GetStringAsync($"/v1/fits?datasetId={_acme.Dataset}"))!;
        Assert.Equal(0, filtered["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AdminRoutesNeedTheAdminKeyAndNeverShowSecrets()
    {
        var (tenantCall, tenantBody) = await Http.Send(_acme.Client, HttpMethod.Get, "/v1/admin/keys");
        Assert.Equal(HttpStatusCode.Forbidden, tenantCall.StatusCode);
        Assert.Contains("admin key", tenantBody!["detail"]!.GetValue<string>());
        var (anonymous, _) = await Http.Send(Client(null), HttpMethod.Post, "/v1/admin/keys", """{"tenant":"x","name":"y"}""");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var (list, keys) = await Http.Send(Client(AdminKey), HttpMethod.Get, "/v1/admin/keys");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(3, keys!.AsArray().Count);
        Assert.Single(keys.AsArray(), k => k!["revokedAt"] is not null);
        foreach (var secret in new[] { _acme.Key, _globex.Key, _revoked }) Assert.DoesNotContain(secret, keys.ToJsonString());
        Assert.DoesNotContain("\"key\"", keys.ToJsonString());

        var (bad, problem) = await Http.Send(Client(AdminKey), HttpMethod.Post, "/v1/admin/keys", """{"tenant":"no spaces allowed","name":""}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.NotNull(problem!["errors"]!["tenant"]);
        Assert.NotNull(problem["errors"]!["name"]);
        var (missing, _) = await Http.Send(Client(AdminKey), HttpMethod.Delete, "/v1/admin/keys/key_nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var (typo, typoBody) = await Http.Send(Client(AdminKey), HttpMethod.Get, "/v1/admin/keys?tenant=acme");
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.Contains("takes no query parameters", Http.Messages(typoBody!["errors"]!["tenant"]));
    }

    [Fact]
    public async Task KnownKeysAreServedFromMemoryUntilARevocationClearsThem()
    {
        var (key, id) = await CreateKey("acme", "cached");
        var client = Client(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/datasets")).StatusCode);
        // Revoked behind the cache's back (as another process would without telling): still served from memory...
        var store = _factory.Services.GetRequiredService<RegService.Api.Storage.SqliteApiKeyStore>();
        Assert.True(store.Revoke(id));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/datasets")).StatusCode);
        // ...until a revocation through the service, which clears it at once.
        var (other, _) = await CreateKey("acme", "other");
        var (_, otherId) = (other, (await Http.Send(Client(AdminKey), HttpMethod.Get, "/v1/admin/keys")).Body!.AsArray()
            .First(k => k!["name"]!.GetValue<string>() == "other")!["id"]!.GetValue<string>());
        await Http.Send(Client(AdminKey), HttpMethod.Delete, $"/v1/admin/keys/{otherId}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/datasets")).StatusCode);
    }

    [Fact]
    public async Task ARevokedKeyStopsAtOnceAndMalformedOrUnknownKeysAre401()
    {
        var (key, id) = await CreateKey("acme", "short-lived");
        var client = Client(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/datasets")).StatusCode);
        await Http.Send(Client(AdminKey), HttpMethod.Delete, $"/v1/admin/keys/{id}");
        var (after, body) = await Http.Send(client, HttpMethod.Get, "/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains($"{id} was revoked", body!["detail"]!.GetValue<string>());

        var (unknown, unknownBody) = await Http.Send(Client("rsk_" + new string('A', 43)), HttpMethod.Get, "/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Contains("not known", unknownBody!["detail"]!.GetValue<string>());
        var malformed = _factory.CreateClient();
        malformed.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");
        var (basic, basicBody) = await Http.Send(malformed, HttpMethod.Get, "/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, basic.StatusCode);
        Assert.Contains("malformed", basicBody!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task HealthAnswersWithoutAKey()
    {
        var anonymous = Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task TheAdminKeyAloneIsNotATenantAndSwaggerHasAnAuthorizeScheme()
    {
        var (upload, body) = await Http.Send(Client(AdminKey), HttpMethod.Post, "/v1/datasets", "x,y\n1,2\n2,3\n", "text/csv");
        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        Assert.Contains("POST /v1/admin/keys", body!["detail"]!.GetValue<string>());
        var document = JsonNode.Parse(await Client(null).GetStringAsync("/openapi/v1.json"))!;
        Assert.Equal("bearer", document["components"]!["securitySchemes"]!["apiKey"]!["scheme"]!.GetValue<string>());
    }

    private async Task<(HttpResponseMessage, JsonNode?)> Send(HttpClient client,
        (string Name, HttpMethod Method, Func<Tenant, string> Url, string? Body, string ContentType, HttpStatusCode Own) route, Tenant target)
    {
        var body = route.Body is null
            ? route.ContentType == "text/csv" ? "secret_acme_column\n2\n" : null
            : BodyFor(route.Body, target, "");
        if (route.ContentType == "text/csv" && target != _acme) body = body!.Replace("secret_acme_column", "secret_globex_column");
        return await Http.Send(client, route.Method, route.Url(target), body, route.ContentType);
    }

    /// <summary>A problem body without what differs by request: the id asked for and the request's own ids.</summary>
    private static string Strip(JsonNode body, Tenant target)
    {
        var copy = JsonNode.Parse(body.ToJsonString())!.AsObject();
        copy.Remove("traceId");
        copy.Remove("requestId");
        return copy.ToJsonString().Replace(target.Dataset, "ID").Replace(target.Fit, "ID");
    }
}

/// <summary>JWT bearer tokens from an identity provider, checked against a locally made signing key.</summary>
public sealed class JwtAuthTests
{
    private const string Issuer = "https://issuer.regservice.test";
    private const string Audience = "regservice";

    [Fact]
    public async Task ATokenWithATenantClaimOwnsWhatItCreatesAndABadTokenIs401()
    {
        var signing = new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        using var factory = new JwtFactory(signing);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(signing, new Claim("org", "initech")));
        var dataset = await Http.UploadCsv(client, "a,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        Assert.Equal("succeeded", (await Http.WaitForFit(client, fit))["status"]!.GetValue<string>());

        // Another tenant's token sees none of it.
        var other = factory.CreateClient();
        other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(signing, new Claim("org", "umbrella")));
        var (hidden, _) = await Http.Send(other, HttpMethod.Get, $"/v1/fits/{fit}");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);

        // A token signed by another key, and one without the tenant claim: 401 with a reason.
        var forged = factory.CreateClient();
        var stranger = new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(stranger, new Claim("org", "initech")));
        var (refused, body) = await Http.Send(forged, HttpMethod.Get, "/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("token was refused", body!["detail"]!.GetValue<string>());
        var anonymousOrg = factory.CreateClient();
        anonymousOrg.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(signing, new Claim("sub", "someone")));
        var (noTenant, noTenantBody) = await Http.Send(anonymousOrg, HttpMethod.Get, "/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, noTenant.StatusCode);
        Assert.Contains("'org' claim", noTenantBody!["detail"]!.GetValue<string>());

        // API keys still work beside tokens.
        var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AuthTests.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/admin/keys")).StatusCode);
    }

    private static string Token(SecurityKey key, params Claim[] claims) => new JwtSecurityTokenHandler().WriteToken(new JwtSecurityToken(
        Issuer, Audience, claims, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(10),
        new SigningCredentials(key, SecurityAlgorithms.HmacSha256)));

    private sealed class JwtFactory(SecurityKey signing) : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>
    {
        private readonly string _directory = ApiFactory.NewDirectory();

        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.UseSetting("Storage:DataDirectory", _directory);
            builder.UseSetting("Jobs:Workers", "1");
            builder.UseSetting("Jobs:PollMilliseconds", "100");
            builder.UseSetting("Auth:Mode", "ApiKeys");
            builder.UseSetting("Auth:AdminKey", AuthTests.AdminKey);
            builder.UseSetting("Auth:Jwt:Authority", Issuer);
            builder.UseSetting("Auth:Jwt:Audience", Audience);
            builder.UseSetting("Auth:Jwt:TenantClaim", "org");
            // The provider's keys come from here instead of its discovery document.
            builder.ConfigureTestServices(services => services.PostConfigure<JwtBearerOptions>("Jwt", o =>
            {
                var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
                configuration.SigningKeys.Add(signing);
                o.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
            }));
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>Per-tenant request limits: one tenant over its limit gets 429s; another is not slowed.</summary>
public sealed class RateLimitTests
{
    /// <summary>A client with a new key for <paramref name="tenant"/>, made with the admin key.</summary>
    private static async Task<HttpClient> TenantClientOf(ApiFactory factory, string tenant)
    {
        var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AuthTests.AdminKey);
        var created = JsonNode.Parse(await (await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant, name = "t" })).Content.ReadAsStringAsync())!;
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created["key"]!.GetValue<string>());
        return client;
    }

    [Fact]
    public async Task ATenantOverItsLimitGets429WithRetryAfterAndAnotherTenantDoesNot()
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "ApiKeys",
            ["Auth:AdminKey"] = AuthTests.AdminKey,
            ["Limits:RequestsPerSecond"] = "2",
            ["Limits:Burst"] = "5",
        });
        Task<HttpClient> TenantClient(string tenant) => TenantClientOf(factory, tenant);
        var busy = await TenantClient("busy");
        var calm = await TenantClient("calm");
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? rejected = null;
        for (int i = 0; i < 12; i++)
        {
            var response = await busy.GetAsync("/v1/datasets");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) rejected ??= response;
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(statuses.Take(5).All(s => s == HttpStatusCode.OK), string.Join(",", statuses));
        Assert.NotNull(rejected!.Headers.RetryAfter);
        var problem = JsonNode.Parse(await rejected.Content.ReadAsStringAsync())!;
        Assert.Equal("urn:regservice:problem:rate-limited", problem["type"]!.GetValue<string>());
        Assert.Contains("Limits:RequestsPerSecond", problem["detail"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await calm.GetAsync("/v1/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task QueuedFitsPerTenantAreLimitedWithoutBlockingAnotherTenant()
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "ApiKeys",
            ["Auth:AdminKey"] = AuthTests.AdminKey,
            ["Limits:MaxQueuedFitsPerTenant"] = "2",
        });
        Task<HttpClient> TenantClient(string tenant) => TenantClientOf(factory, tenant);
        var first = await TenantClient("first");
        var second = await TenantClient("second");
        var a = await Http.UploadCsv(first, "x,y\n1,2\n2,3\n3,5\n");
        var b = await Http.UploadCsv(second, "x,y\n1,2\n2,3\n3,5\n");
        await Http.Submit(first, new { datasetId = a, target = "y", lambda = 1 });
        await Http.Submit(first, new { datasetId = a, target = "y", lambda = 1 });
        var response = await first.PostAsJsonAsync("/v1/fits", new { datasetId = a, target = "y", lambda = 1 });
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("urn:regservice:problem:tenant-queue-full", problem["type"]!.GetValue<string>());
        Assert.Equal("Limits:MaxQueuedFitsPerTenant", problem["limit"]!.GetValue<string>());
        await Http.Submit(second, new { datasetId = b, target = "y", lambda = 1 });
    }
}
