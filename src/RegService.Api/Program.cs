using RegService.Api.Datasets;
using RegService.Api.Extensions;
using RegService.Api.Fits;

if (HealthProbe.Requested(args)) return HealthProbe.Run();   // the container's HEALTHCHECK

var builder = WebApplication.CreateBuilder(args);

builder.AddSettingsBesideBinary();  // appsettings.json from the build output
builder.AddStructuredLogging();   // Serilog console logs with RequestId / JobId scopes
builder.AddJson();                // camelCase, enums as strings, unknown fields rejected
builder.AddProblemResponses();    // RFC 9457 problem details for every error
builder.AddStore();               // SQLite (WAL) + data set files under Storage:DataDirectory
builder.AddFitQueue();            // bounded queue, background FitWorker, restart recovery
builder.AddApiDocs();             // /openapi/v1.json and Swagger UI

var app = builder.Build();

app.UseRequestLogging();
app.UseProblemResponses();
app.UseRouting();                 // after the problem responses, so a 415 from matching gets a body
app.MapApiDocs();
app.MapHealth();                  // /health/live, /health/ready (checks the store)
app.MapDatasets();                // /v1/datasets
app.MapFits();                    // /v1/fits

app.Run();
return 0;

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
