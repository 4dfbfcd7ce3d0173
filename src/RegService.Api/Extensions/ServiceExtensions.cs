using System.IO.Compression;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RegService.Api.Storage.Postgres;
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

    /// <summary>
    /// The store chosen by Storage:Provider: the embedded SQLite database under Storage:DataDirectory
    /// (the default), or PostgreSQL shared by replicas.
    /// </summary>
    public static WebApplicationBuilder AddStore(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        builder.Services.AddOptions<DatasetOptions>().BindConfiguration(DatasetOptions.Section)
            .Validate(o => o.MaxUploadBytes > 0, "Datasets:MaxUploadBytes must be positive")
            .Validate(o => o.MaxColumns > 0, "Datasets:MaxColumns must be positive")
            .Validate(o => o.MaxNameLength > 0, "Datasets:MaxNameLength must be positive")
            .ValidateOnStart();
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section)
            .Validate(o => o.MaxQueuedFitsPerTenant >= 1, "Limits:MaxQueuedFitsPerTenant must be >= 1")
            .Validate(o => o.RequestsPerSecond >= 0 && o.Burst >= 0, "Limits:RequestsPerSecond and Limits:Burst must be >= 0")
            .Validate(o => o.MaxProgressStreams >= 0 && o.MaxProgressStreamsPerTenant >= 0,
                "Limits:MaxProgressStreams and Limits:MaxProgressStreamsPerTenant must be >= 0")
            .Validate(o => o.MaxFitSeconds is null || o.MaxFitSeconds > 0 && o.MaxFitSeconds <= Fits.FitRequestMapper.MaxTimeLimitSeconds,
                $"Limits:MaxFitSeconds must be > 0 and at most {Fits.FitRequestMapper.MaxTimeLimitText} seconds (or unset)")
            .ValidateOnStart();
        var provider = builder.Configuration[$"{StorageOptions.Section}:Provider"] ?? "sqlite";
        switch (provider.ToLowerInvariant())
        {
            case "sqlite":
                builder.Services.AddSingleton<SqliteDatabase>();
                builder.Services.AddSingleton<IStoreHealth>(s => s.GetRequiredService<SqliteDatabase>());
                builder.Services.AddSingleton<IDatasetStore, SqliteDatasetStore>();
                builder.Services.AddSingleton<IFitStore, SqliteFitStore>();
                builder.Services.AddSingleton<SqliteApiKeyStore>();
                builder.Services.AddSingleton<IKeyRevocations, LocalKeyRevocations>();
                builder.Services.AddSingleton<IApiKeyStore>(s => new ApiKeyCache(
                    s.GetRequiredService<SqliteApiKeyStore>(), s.GetRequiredService<IKeyRevocations>(), s.GetRequiredService<IOptions<AuthOptions>>()));
                builder.Services.AddSingleton<IFitQueueSignal, FitQueueSignal>();
                break;
            case "postgres":
                if (string.IsNullOrWhiteSpace(builder.Configuration[$"{StorageOptions.Section}:ConnectionString"]))
                    throw new Auth.ConfigurationException(
                        "Storage:Provider is postgres but Storage:ConnectionString is empty: set it to an Npgsql connection string " +
                        "(e.g. Storage__ConnectionString=\"Host=db;Database=regservice;Username=regservice;Password=...\")");
                // No directory lock: replicas share the database, and may share a host and its data directory (the cache).
                builder.Services.AddSingleton<PostgresDatabase>();
                builder.Services.AddSingleton<PostgresMatrixCache>();
                builder.Services.AddSingleton<IStoreHealth>(s => s.GetRequiredService<PostgresDatabase>());
                builder.Services.AddSingleton<IDatasetStore, PostgresDatasetStore>();
                builder.Services.AddSingleton<IFitStore, PostgresFitStore>();
                builder.Services.AddSingleton<PostgresApiKeyStore>();
                builder.Services.AddSingleton<PostgresListener>();
                builder.Services.AddSingleton<IFitQueueSignal>(s => s.GetRequiredService<PostgresListener>());
                builder.Services.AddSingleton<IKeyRevocations>(s => s.GetRequiredService<PostgresListener>());
                builder.Services.AddSingleton<IApiKeyStore>(s => new ApiKeyCache(
                    s.GetRequiredService<PostgresApiKeyStore>(), s.GetRequiredService<IKeyRevocations>(), s.GetRequiredService<IOptions<AuthOptions>>()));
                break;
            default:
                throw new Auth.ConfigurationException($"Storage:Provider is '{provider}'; use sqlite (the embedded default) or postgres");
        }
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
        builder.Services.AddSingleton<RunningFits>();
        builder.Services.AddSingleton<FitWatchers>();
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
            if (context.Exception is { } exception && StoreFaults.Classify(exception) is { } fault)
            {
                problem.Type = fault.Type;
                problem.Title = fault.Title;
                problem.Detail = fault.Detail;
                problem.Extensions["retryAfterSeconds"] = StoreFaults.RetryAfterSeconds;
                context.HttpContext.Response.Headers.RetryAfter = StoreFaults.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            if (context.Exception is DatasetGoneException gone)
            {
                // The body Problems.NotFound gives an unknown data set: deleted while this request read it.
                problem.Title = "Data set not found";
                problem.Detail = $"there is no data set with id '{gone.DatasetId}' (it was deleted while this request read it)";
                problem.Extensions["field"] = "datasetId";
            }
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
                DatasetGoneException => StatusCodes.Status404NotFound,
                OperationCanceledException => 499,
                _ when StoreFaults.Classify(ex) is { } fault => fault.Status,
                _ => StatusCodes.Status500InternalServerError,
            },
            // A store outage (503/507) is logged as a warning by the request log and by readiness, not as a stack trace per request.
            SuppressDiagnosticsCallback = context => context.Exception is DatasetGoneException || StoreFaults.Classify(context.Exception) is not null,
        });
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>
    /// Media types compressed when the client sends Accept-Encoding: results and pages of JSON (hundreds of KB), CSV, the plots'
    /// SVG (text that repeats itself) and the web page's files. Not text/event-stream: a compressed stream would hold events back.
    /// </summary>
    public static readonly string[] CompressedMediaTypes =
        ["application/json", "application/problem+json", "text/csv", "image/svg+xml", "text/html", "text/css", "text/javascript"];

    /// <summary>Brotli or gzip responses (at the fastest level: the cores are the fits'), over HTTPS too: the bodies hold no secrets an attacker could probe.</summary>
    public static WebApplicationBuilder AddCompression(this WebApplicationBuilder builder)
    {
        builder.Services.AddResponseCompression(o =>
        {
            o.EnableForHttps = true;
            o.Providers.Add<BrotliCompressionProvider>();
            o.Providers.Add<GzipCompressionProvider>();
            o.MimeTypes = CompressedMediaTypes;
        });
        builder.Services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        builder.Services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        return builder;
    }

    public static WebApplication UseCompression(this WebApplication app)
    {
        app.UseResponseCompression();
        return app;
    }
}

/// <summary>Ready when the store answers a read and takes a small write (unhealthy while the disk is full or the database is down).</summary>
public sealed class StoreHealthCheck(IStoreHealth store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            store.Probe();
            return Task.FromResult(HealthCheckResult.Healthy("store takes writes"));
        }
        catch (Exception ex)
        {
            var fault = StoreFaults.Classify(ex);
            return Task.FromResult(HealthCheckResult.Unhealthy(fault?.Detail ?? $"store unavailable ({ex.GetType().Name})"));
        }
    }
}
