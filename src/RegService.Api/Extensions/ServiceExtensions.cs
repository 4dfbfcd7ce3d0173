using Microsoft.Extensions.Diagnostics.HealthChecks;
using RegService.Api.Infrastructure;
using RegService.Api.Jobs;
using RegService.Api.Storage;
using Serilog;

namespace RegService.Api.Extensions;

public static class ServiceExtensions
{
    /// <summary>
    /// Reads appsettings.json from beside the binary when the content root has none (as under
    /// <c>dotnet run --project</c>), below every other source, so environment variables still win.
    /// </summary>
    public static WebApplicationBuilder AddSettingsBesideBinary(this WebApplicationBuilder builder)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(Path.Combine(builder.Environment.ContentRootPath, "appsettings.json")) && File.Exists(file))
        {
            var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
            {
                Path = "appsettings.json",
                Optional = true,
                FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
            };
            builder.Configuration.Sources.Insert(0, source);
        }
        return builder;
    }

    /// <summary>Serilog console logs configured from the "Serilog" section; scopes carry RequestId and JobId.</summary>
    public static WebApplicationBuilder AddStructuredLogging(this WebApplicationBuilder builder)
    {
        var logger = new LoggerConfiguration()
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            .CreateLogger();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);
        return builder;
    }

    /// <summary>The embedded SQLite store and the data set and fit repositories over it.</summary>
    public static WebApplicationBuilder AddStore(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        builder.Services.AddOptions<DatasetOptions>().BindConfiguration(DatasetOptions.Section)
            .Validate(o => o.MaxUploadBytes > 0, "Datasets:MaxUploadBytes must be positive")
            .Validate(o => o.MaxColumns > 0, "Datasets:MaxColumns must be positive")
            .Validate(o => o.MaxNameLength > 0, "Datasets:MaxNameLength must be positive")
            .ValidateOnStart();
        builder.Services.AddSingleton<Store>();
        builder.Services.AddSingleton<DatasetStore>();
        builder.Services.AddSingleton<FitStore>();
        builder.Services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);
        return builder;
    }

    /// <summary>The bounded fit queue and its background workers.</summary>
    public static WebApplicationBuilder AddFitQueue(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section)
            .Validate(o => o.Workers is null or >= 0, "Jobs:Workers must be >= 0")
            .Validate(o => o.QueueCapacity >= 1, "Jobs:QueueCapacity must be >= 1")
            .Validate(o => o.MaxAttempts >= 1, "Jobs:MaxAttempts must be >= 1")
            .ValidateOnStart();
        builder.Services.AddOptions<FitsOptions>().BindConfiguration(FitsOptions.Section)
            .Validate(o => o.MaxRequestBytes > 0, "Fits:MaxRequestBytes must be positive").ValidateOnStart();
        builder.Services.AddSingleton<FitQueueSignal>();
        builder.Services.AddSingleton<RunningFits>();
        builder.Services.AddSingleton<IFitRunner, EngineFitRunner>();
        builder.Services.AddHostedService<FitWorker>();
        return builder;
    }

    /// <summary>JSON settings shared by HTTP and the store.</summary>
    public static WebApplicationBuilder AddJson(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(o => JsonSerializerOptionsProvider.Configure(o.SerializerOptions));
        builder.Services.AddSingleton<JsonSerializerOptionsProvider>();
        return builder;
    }

    /// <summary>Problem details for every error; a client's bad request keeps its 4xx status.</summary>
    public static WebApplicationBuilder AddProblemResponses(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            problem.Extensions["requestId"] = context.HttpContext.TraceIdentifier;
            if (problem.Status == StatusCodes.Status415UnsupportedMediaType && problem.Detail is null)
            {
                var path = context.HttpContext.Request.Path;
                var table = path.StartsWithSegments("/v1/datasets") || path.Value?.EndsWith("/predict", StringComparison.Ordinal) == true;
                var accepted = table ? "text/csv or application/json" : "application/json";
                problem.Detail = $"{path} accepts {accepted}; got '{context.HttpContext.Request.ContentType ?? "no Content-Type"}'";
            }
        });
        return builder;
    }

    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ex => ex switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                UploadTooLargeException => StatusCodes.Status413PayloadTooLarge,
                OperationCanceledException => 499,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePages();
        return app;
    }

    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false }).WithTags("Health");
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") }).WithTags("Health");
        return app;
    }
}

/// <summary>Ready when the store answers.</summary>
public sealed class StoreHealthCheck(Store store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            return Task.FromResult(store.Ping() ? HealthCheckResult.Healthy("store answers") : HealthCheckResult.Unhealthy("store did not answer"));
        }
        catch (Exception ex)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("store unavailable", ex));
        }
    }
}
