using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using RegService.Api.Plots;
using RegService.Numerics.Fitting;

namespace RegService.Api.Fits;

/// <summary>/v1/fits: submit fits as background jobs, watch them, cancel them.</summary>
public static class FitsApi
{
    public static RouteGroupBuilder MapFits(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/fits").WithTags("Fits").RequireAuthorization(Identity.TenantPolicy)
            .ProducesServiceProblems();

        group.MapPost("/", Submit)
            .WithName("SubmitFit")
            .WithSummary("Submit a fit; answers 202 with the queued job and its Location")
            .WithDescription("""
                Minimizes glmnet's objective on standardized features (standardize, default true); coefficients come back on both scales:
                gaussian (1/2n) sum (y - b0 - x.b)^2, binomial -(1/n) sum [y eta - log(1 + e^eta)], poisson (1/n) sum [e^eta - y eta]
                (eta = b0 + x.b, plus the offset column's value with offset; weights w_i multiply each row's term), multinomial
                -(1/n) sum log p_{i,y_i}, p_ik = e^eta_ik / sum_l e^eta_il, eta_ik = b0_k + x.b_k (plus class k's classOffsets column), plus
                lambda * sum_j v_j [(1 - l1Ratio)/2 b_j^2 + l1Ratio |b_j|] with penalty factors v_j (penaltyFactors, default 1).
                penalty: none, ridge (l1Ratio 0), lasso (l1Ratio 1), elasticNet (l1Ratio in (0, 1), default 0.5 as scikit-learn).
                Give one of lambda, lambdas or path {count (100), minRatio (1e-4 when rows > features, else 1e-2)};
                a penalized fit with none of them gets the default path, as glmnet. validation: holdout, kfold (folds, seed
                or foldIds), loo and gcv (gaussian ridge only); rule min or oneStandardError picks lambdaMin or lambda1se.
                scikit-learn: Ridge(alpha=a) is lambda = a/n; ElasticNet(alpha=lambda, l1_ratio=l1Ratio);
                LogisticRegression(C=c) is lambda = 1/(c n). glmnet: glmnet(x, y, alpha=l1Ratio, lambda=...) solves the same
                objective (for gaussian l1Ratio < 1 only when y has unit variance: glmnet scales y internally).
                Errors: 400 names every field at fault under "errors" (target, features[i] or penaltyFactors keys longer than
                Datasets:MaxNameLength included), 404 an unknown datasetId, 413 a body above Fits:MaxRequestBytes (default 64 MiB),
                429 (with Retry-After) a full queue or the tenant's queued-fit limit, 507 a full disk.
                """)
            .Accepts<FitRequest>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesWriteProblems()
            .AllowQuery();
        group.MapGet("/", List).WithName("ListFits")
            .WithSummary("List fits, newest first; filter by status and data set; Link headers (rel next, prev) page on")
            .AllowQuery("status", "datasetId", "offset", "limit");
        group.MapGet("/{id}", Get).WithName("GetFit").WithSummary("A fit's status, progress, timings and, once succeeded, its result")
            .WithDescription($$"""
                The result is a summary sized by what it holds: the returned model's nonzero coefficients by name (a feature
                of features not listed has coefficient 0), sparsity, metrics, validation, diagnostics, training, and the
                path's per-lambda facts (lambdas, nonZero, intercepts, devianceRatio, converged, iterations, screenedOut,
                dualityGap, the validation curve, lambdaMin, lambda1se; a few numbers per lambda). ?include=path adds
                path.coefficients, per lambda the nonzero coefficients as {"indices": [...], "values": [...]} with indices
                into features (GET /v1/fits/{id}/path pages them by lambda); ?include=standardization adds featureMeans
                and featureScales. An unknown include value is a 400 naming it.
                ?waitSeconds=N (0 to {{FitEventsApi.MaxWaitSeconds}}) long-polls: the answer comes as soon as the fit's status or progress
                differs from what it was when the request arrived, or after N seconds, or at once for a finished fit. 400 names a bad
                waitSeconds; 429 (with Retry-After) when Limits:MaxProgressStreams or Limits:MaxProgressStreamsPerTenant streams and
                long-polls are open already. GET /v1/fits/{id}/events streams the same changes.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .AllowQuery("include", "waitSeconds");
        group.MapFitEvents();
        group.MapPost("/{id}/cancel", Cancel).WithName("CancelFit")
            .WithSummary("Cancel a fit: a queued one at once (200), a running one within a second (202); 409 once finished")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesWriteProblems()
            .AllowQuery();
        group.MapDelete("/{id}", Delete).WithName("DeleteFit")
            .WithSummary("Delete a finished fit (succeeded, failed or canceled) and its result (204); 409 while queued or running")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesWriteProblems()
            .AllowQuery();
        group.MapPost("/{id}/predict", PredictApi.Predict)
            .WithName("PredictFit")
            .WithSummary("Predict with a succeeded fit: fitted values (gaussian), probabilities of class 1 (binomial) or mean counts (poisson)")
            .WithDescription("""
                The body holds the rows, as a data set upload does: text/csv with a header row, or application/json
                {"columns": {"x1": [...], ...}}. The columns must be exactly the fit's features, in any order: a missing
                or extra column (the target included) is a 400 naming it under "errors" as columns.<name>.
                ?datasetId= scores a stored data set instead (no body): its target and unused columns are ignored, a missing
                feature column is a 400 naming it (columns.<name>), an unknown data set a 404; when it holds the fit's target
                column the answer adds the family's metrics of the predictions against it.
                ?lambda= is a number, min or 1se, as GET /v1/fits/{id}/coefficients takes it: between path lambdas the model
                is interpolated linearly in lambda (glmnet's predict(fit, newx, s, exact = FALSE)); the default is the fit's
                returned model (its lambda). A relaxed fit (relax) takes ?gamma= as coefficients does (a number in [0, 1], min
                or 1se; omitted, the gamma that goes with lambda; 400 naming gamma for a fit without relax). Binomial predictions are P(y = 1) = 1 / (1 + e^-(b0 + x.b)),
                with classes 1 where it exceeds 0.5; poisson predictions are the mean count e^(b0 + x.b). A fit with an offset
                column adds it to b0 + x.b: the rows (or the ?datasetId= data set) must carry that column too, or
                ?zeroOffset=true assumes 0; else a 400 naming offset (a multinomial fit's classOffsets columns likewise, each added
                to its class's linear predictor; a 400 naming classOffsets.<label>). 404 for an unknown fit, 409 for one that has not succeeded,
                413 above Datasets:MaxUploadBytes. ?returnStd=true (model bayesianRidge only; 400 naming returnStd
                otherwise) adds std per row, the predictive standard deviation sqrt(1/alpha + u' Sigma u), u the row
                divided by featureScales, as scikit-learn's predict(return_std=True).
                """)
            .Accepts<string>("text/csv", "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .DisableAntiforgery()
            .AllowQuery("lambda", "datasetId", "returnStd", "zeroOffset", "gamma");
        group.MapFitResults();
        group.MapModelAccess();
        group.MapPlots();
        return group;
    }

    public static async Task<Results<Accepted<FitJob>, ValidationProblem, ProblemHttpResult>> Submit(
        HttpContext http, ClaimsPrincipal user, IDatasetStore datasets, IFitStore fits, IFitQueueSignal signal, JsonSerializerOptionsProvider json,
        IOptions<JobsOptions> options, IOptions<LimitsOptions> limits, IOptions<FitsOptions> fitOptions, IOptions<DatasetOptions> datasetOptions,
        ILoggerFactory loggers)
    {
        var tenant = user.Tenant();
        // The size is settled before anything is parsed or buffered: the declared length first, then the bytes read.
        var maxBytes = fitOptions.Value.MaxRequestBytes;
        if (http.Request.ContentLength > maxBytes) return TooLarge(http.Request.ContentLength, maxBytes);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = maxBytes;
        if (http.Request.ContentType?.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase) != true)
            return Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"send the fit request as application/json; got '{http.Request.ContentType ?? "none"}'");

        FitRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<FitRequest>(
                new LimitedReadStream(http.Request.Body, maxBytes), json.Options, http.RequestAborted);
        }
        catch (UploadTooLargeException)
        {
            return TooLarge(null, maxBytes);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(null, maxBytes);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            var where = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : "";
            return Problems.Invalid(field, $"{Explain(ex)}{where}", "The fit request is not valid JSON");
        }
        if (request is null) return Problems.Invalid("body", "must be a JSON object, not null", "The fit request is invalid");
        return Enqueue(http, tenant, request, datasets, fits, signal, json, options, limits, datasetOptions, loggers);
    }

    /// <summary>Checks a parsed fit request, estimates its cost and queues it: the one path every new fit takes.</summary>
    internal static Results<Accepted<FitJob>, ValidationProblem, ProblemHttpResult> Enqueue(
        HttpContext http, string tenant, FitRequest request, IDatasetStore datasets, IFitStore fits, IFitQueueSignal signal,
        JsonSerializerOptionsProvider json, IOptions<JobsOptions> options, IOptions<LimitsOptions> limits, IOptions<DatasetOptions> datasetOptions,
        ILoggerFactory loggers)
    {
        // Every fault in one answer: shape errors, then (when the data set exists) column errors. A name longer
        // than any column's cannot match one, so it is reported once, by length, and not looked up.
        var maxName = datasetOptions.Value.MaxNameLength;
        var errors = FitRequestMapper.CheckShape(request, maxName);
        if (request.Name is not null && datasetOptions.Value.TableLimits.Problem(request.Name) is { } nameProblem) errors["name"] = [nameProblem];
        var dataset = string.IsNullOrWhiteSpace(request.DatasetId) ? null : datasets.Get(tenant, request.DatasetId);
        if (dataset is null && !string.IsNullOrWhiteSpace(request.DatasetId)) return Problems.NotFound("Data set", request.DatasetId, "datasetId");
        FitSpec? spec = null;
        if (dataset is not null && FitRequestMapper.NamesFit(request, maxName))
        {
            // The engine checks the spec against the data set and resolves it; its faults come back by request field.
            (spec, var specErrors) = FitRequestMapper.Resolve(request, dataset, options.Value.ThreadsPerFit, c => datasets.ReadColumn(dataset, c));
            foreach (var (field, messages) in specErrors)
                errors[field] = errors.TryGetValue(field, out var earlier) ? [.. earlier, .. messages] : messages;
        }
        if (errors.Count > 0 || dataset is null || spec is null) return Problems.Invalid(errors, "The fit request is invalid");

        // What the resolved fit will cost, from its shape alone, before anything is queued or allocated.
        var cost = FitCost.Estimate(spec, dataset.Rows, dataset.ColumnCount);
        long maxMemory = limits.Value.MaxFitMemoryBytes ?? FitCost.DefaultMemoryLimit();
        if (cost.PeakBytes > maxMemory)
            return TooCostly("Limits:MaxFitMemoryBytes", $"needs {cost.Summary}; the limit (Limits:MaxFitMemoryBytes) is {FitCost.FormatBytes(maxMemory)} of memory. " +
                "Fewer features, lambdas, folds or a smaller expansion make it smaller", cost, maxMemory);
        if (cost.Work > limits.Value.MaxFitWork)
            return TooCostly("Limits:MaxFitWork", $"needs {cost.Summary}; the limit (Limits:MaxFitWork) is {limits.Value.MaxFitWork:0.#e+0} floating-point operations",
                cost, limits.Value.MaxFitWork);

        var settings = options.Value;
        var id = Guid.CreateVersion7().ToString("N");
        int tenantCapacity = limits.Value.MaxQueuedFitsPerTenant;
        var stored = new StoredSubmission { Request = request, Spec = spec }.Write(json.Options);
        var outcome = fits.TryEnqueue(id, tenant, dataset.Id, stored, settings.QueueCapacity, tenantCapacity, out var queued);
        switch (outcome)
        {
            case EnqueueOutcome.DatasetNotFound:
                // Deleted between the read above and the insert: the insert checked it in the same transaction.
                return Problems.NotFound("Data set", dataset.Id, "datasetId");
            case EnqueueOutcome.QueueFull:
                return Problems.TooMany(http, ProblemTypes.QueueFull, "The fit queue is full",
                    $"{settings.QueueCapacity} fits are already queued (Jobs:QueueCapacity); retry after {settings.RetryAfterSeconds} s",
                    settings.RetryAfterSeconds, "Jobs:QueueCapacity");
            case EnqueueOutcome.TenantQueueFull:
                return Problems.TooMany(http, ProblemTypes.TenantQueueFull, "Too many queued fits for this tenant",
                    $"this tenant already has {tenantCapacity} queued fits (Limits:MaxQueuedFitsPerTenant); retry after {settings.RetryAfterSeconds} s",
                    settings.RetryAfterSeconds, "Limits:MaxQueuedFitsPerTenant");
        }
        signal.Notify();
        loggers.CreateLogger("Fits").LogInformation("Queued fit {JobId} on data set {DatasetId}", id, dataset.Id);
        // The answer is the row as inserted (queued), not read back: a worker may have claimed it since.
        return TypedResults.Accepted($"/v1/fits/{id}", ToJob(queued!, json, includeResult: false, request: request));
    }

    public static Results<Ok<FitJobPage>, ValidationProblem> List(
        HttpContext http, ClaimsPrincipal user, IFitStore fits, JsonSerializerOptionsProvider json, string? status = null, string? datasetId = null,
        string? offset = null, string? limit = null)
    {
        var (skip, take, errors) = Datasets.Paging.Parse(offset, limit);
        JobStatus? filter = null;
        if (status is not null)
        {
            if (Enum.TryParse<JobStatus>(status, ignoreCase: true, out var parsed) && !int.TryParse(status, out _)) filter = parsed;
            else (errors ??= [])["status"] = [$"must be one of queued, running, succeeded, failed, canceled; got '{status}'"];
        }
        if (errors is not null) return Problems.Invalid(errors, QueryParameters.Title);
        var (items, total) = fits.List(user.Tenant(), filter, string.IsNullOrEmpty(datasetId) ? null : datasetId, skip, take);
        Datasets.Paging.AddLinks(http, skip, take, total);
        return TypedResults.Ok(new FitJobPage(items.Select(r => ToJob(r, json, includeResult: false)).ToList(), total, skip, take));
    }

    public static async Task<Results<Ok<FitJob>, ValidationProblem, ProblemHttpResult>> Get(
        string id, HttpContext http, ClaimsPrincipal user, IFitStore fits, JsonSerializerOptionsProvider json, FitWatchers watchers,
        IHostApplicationLifetime lifetime, [Description(ResultsApi.IncludeDescription)] string? include = null, string? waitSeconds = null)
    {
        var (includes, errors) = ResultsApi.ParseInclude(include);
        if (errors is not null) return Problems.Invalid(errors, QueryParameters.Title);
        if (waitSeconds is not null)
            switch (await FitEventsApi.Wait(id, waitSeconds, http, user.Tenant(), fits, watchers, lifetime))
            {
                case ValidationProblem invalid: return invalid;
                case ProblemHttpResult problem: return problem;
            }
        return fits.Get(user.Tenant(), id) is { } record
            ? TypedResults.Ok(ToJob(record, json, includeResult: true, includes))
            : Problems.NotFound("Fit", id, "id");
    }

    public static Results<Ok<FitJob>, Accepted<FitJob>, ProblemHttpResult> Cancel(
        string id, ClaimsPrincipal user, IFitStore fits, RunningFits running, JsonSerializerOptionsProvider json)
    {
        var tenant = user.Tenant();
        switch (fits.Cancel(tenant, id))
        {
            case CancelOutcome.CanceledQueued:
                return TypedResults.Ok(ToJob(fits.Get(tenant, id)!, json, includeResult: false));
            case CancelOutcome.RequestedRunning:
                // At once when it runs in this process; else its holder sees the flag at its next heartbeat.
                running.Cancel(id);
                return TypedResults.Accepted($"/v1/fits/{id}", ToJob(fits.Get(tenant, id)!, json, includeResult: false));
            case CancelOutcome.AlreadyFinished:
                var record = fits.Get(tenant, id);
                return Problems.Status(StatusCodes.Status409Conflict, "Fit already finished",
                    $"fit {id} is {record?.Status.Name() ?? "finished"}; only queued or running fits can be canceled (DELETE /v1/fits/{id} removes a finished one)",
                    new Dictionary<string, object?> { ["fitStatus"] = record?.Status.Name() });
            default:
                return Problems.NotFound("Fit", id, "id");
        }
    }

    public static Results<NoContent, ProblemHttpResult> Delete(string id, ClaimsPrincipal user, IFitStore fits) =>
        fits.Delete(user.Tenant(), id) switch
        {
            DeleteOutcome.Deleted => TypedResults.NoContent(),
            DeleteOutcome.Active => Problems.Status(StatusCodes.Status409Conflict, "Fit still active",
                $"fit {id} is queued or running; cancel it first with POST /v1/fits/{id}/cancel, then delete it"),
            _ => Problems.NotFound("Fit", id, "id"),
        };

    /// <summary>The job as answered; <paramref name="request"/> is the stored one when the caller has it already (else it is read from the row).</summary>
    internal static FitJob ToJob(FitRecord r, JsonSerializerOptionsProvider json, bool includeResult, ResultIncludes include = ResultIncludes.None,
        FitRequest? request = null)
    {
        double? queued = r.StartedAt is { } s ? (s - r.CreatedAt).TotalSeconds : null;
        double? run = r.StartedAt is { } start ? ((r.FinishedAt ?? DateTimeOffset.UtcNow) - start).TotalSeconds : null;
        request ??= StoredSubmission.ReadRequest(r.RequestJson, json.Options);
        return new FitJob
        {
            Id = r.Id,
            Name = request.Name,
            DatasetId = r.DatasetId,
            Status = r.Status,
            Progress = Progress(r, json),
            Attempts = r.Attempts,
            CreatedAt = r.CreatedAt,
            StartedAt = r.StartedAt,
            FinishedAt = r.FinishedAt,
            Timings = new JobTimings(queued, run),
            CancelRequested = r.CancelRequested,
            Request = request,
            Result = includeResult && r.ResultJson is { } result ? StoredResults.Project(StoredResults.Read(result, json.Options), include) : null,
            Error = r.ErrorJson is { } error ? JsonSerializer.Deserialize<JobError>(error, json.Options) : null,
        };
    }

    /// <summary>The stored fraction (rounded), stage and detail, with an estimate of the time left while running.</summary>
    private static JobProgress Progress(FitRecord r, JsonSerializerOptionsProvider json)
    {
        var detail = r.ProgressJson is { } stored ? JsonSerializer.Deserialize<ProgressDetail>(stored, json.Options) : null;
        double fraction = Math.Round(Math.Clamp(r.Progress, 0, 1), 3);
        double? eta = null;
        if (r.Status == JobStatus.Running && r.StartedAt is { } started && r.Progress is >= 0.02 and < 1)
            eta = Math.Round(Math.Max(0, (DateTimeOffset.UtcNow - started).TotalSeconds) * (1 - r.Progress) / r.Progress, 1);
        return new JobProgress(detail ?? new ProgressDetail()) { Fraction = fraction, Stage = r.Stage, EtaSeconds = eta };
    }

    private static ProblemHttpResult TooLarge(long? length, long limit) =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "Fit request too large",
            length is { } n
                ? $"the body has {n} bytes; the limit (Fits:MaxRequestBytes) is {limit}"
                : $"the body is larger than the limit (Fits:MaxRequestBytes) of {limit} bytes");

    private static ProblemHttpResult TooCostly(string setting, string detail, FitCost cost, double limit) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, type: ProblemTypes.FitTooLarge, title: "The fit is too large for this service",
            detail: detail, extensions: new Dictionary<string, object?>
            {
                ["limit"] = setting,
                ["limitValue"] = limit,
                ["estimate"] = new Dictionary<string, object?>
                {
                    ["peakBytes"] = cost.PeakBytes,
                    ["work"] = cost.Work,
                    ["route"] = cost.Route,
                    ["breakdown"] = cost.Breakdown.Select(b => new { what = b.What, bytes = b.Bytes }).ToList(),
                },
            });

    /// <summary>The serializer's complaint in the client's terms, without .NET type names.</summary>
    private static string Explain(JsonException ex)
    {
        var message = ex.Message;
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
            return "is not a field of a fit request (check the spelling; fields are camelCase)";
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
            return "has a value of the wrong type (for example a string where a number or a known name is expected)";
        int cut = message.IndexOf(". Path:", StringComparison.Ordinal);
        return "malformed JSON: " + (cut > 0 ? message[..cut] : message);
    }
}
