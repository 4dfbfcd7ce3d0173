using RegService.Api.Datasets;
using RegService.Api.Extensions;
using RegService.Api.Fits;

if (HealthProbe.Requested(args)) return HealthProbe.Run();   // the container's HEALTHCHECK

WebApplication app;
try
{
    var builder = WebApplication.CreateBuilder(args);

    builder.AddSettingsBesideBinary();  // appsettings.json from the build output
    builder.AddStructuredLogging();   // Serilog console logs with RequestId / JobId scopes
    builder.AddJson();                // camelCase, enums as strings, unknown fields rejected
    builder.AddProblemResponses();    // RFC 9457 problem details for every error
    builder.AddCompression();         // Brotli or gzip for JSON, problem details and CSV when asked (Accept-Encoding)
    builder.AddAuth();                // API keys (or JWT), tenants; Auth:Mode None for local use
    builder.AddTenantRateLimits();    // Limits:RequestsPerSecond per tenant
    builder.AddStore();               // SQLite under Storage:DataDirectory, or PostgreSQL for replicas
    builder.AddFitQueue();            // bounded queue, leases, background FitWorker, recovery
    builder.AddApiDocs();             // /openapi/v1.json and Swagger UI (Api:ExposeDocs)

    app = builder.Build();
    app.Services.GetRequiredService<IStoreHealth>();   // opens (and for SQLite locks) the store before listening
}
catch (Exception ex) when (ex is ConfigurationException or DataDirectoryInUseException)
{
    Console.Error.WriteLine($"RegService cannot start: {ex.Message}");
    return 2;
}

app.UseRequestLogging();
app.UseCompression();             // outside the problem responses, so error bodies are compressed too
app.UseProblemResponses();
app.UseWebPage();                 // the page at / (wwwroot, embedded): before routing and authorization, it asks for the key itself
app.UseRouting();                 // after the problem responses, so a 415 from matching gets a body
app.UseAuth();                    // authentication, per-tenant rate limits, authorization
app.UseQueryParameterCheck();     // a query key the route does not take is a 400 naming it
app.MapApiDocs();
app.MapHealth();                  // /health/live, /health/ready (the store takes writes): no key needed
app.MapAdmin();                   // /v1/admin/keys (admin key)
app.MapDatasets();                // /v1/datasets (tenant key)
app.MapFits();                    // /v1/fits (tenant key)
app.LogAuthMode();

app.Run();
return 0;

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
