using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using RegService.Api.Datasets;

namespace RegService.Api.Fits;

/// <summary>A fit's coefficients at one lambda, as glmnet's <c>coef(fit, s = lambda, exact = FALSE)</c>.</summary>
public sealed record CoefficientsDocument(
    string FitId,
    [property: Description("The lambda whose model this is: the one asked for when interpolated between path points, else the path lambda used (outside the path: the nearer end's)")]
    double Lambda,
    [property: Description("The lambda asked for (min and 1se resolved to the fit's lambdaMin or lambda1se); absent for the returned model")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? RequestedLambda,
    [property: Description("Whether the model blends the two neighbouring path points, linearly in lambda (glmnet's lambda.interp)")] bool Interpolated,
    [property: Description("Whether the lambda asked for lies outside the path's range, so the nearer end point's model is given (as glmnet does)")] bool OutsidePath,
    [property: Description("The intercept on the original scale")] double Intercept,
    [property: Description("Original-scale coefficients by feature name, every feature in the fit's order")] IReadOnlyDictionary<string, double> Coefficients,
    [property: Description("How many coefficients are not zero (multinomial: features nonzero in any class)")] int NonZero,
    [property: Description("A relaxed fit's gamma of this model: gamma * lasso + (1 - gamma) * the unpenalized refit; absent for other fits")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Gamma = null,
    [property: Description("Family multinomial: every class's intercept and coefficients at this lambda (intercept and coefficients above are the first class's)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ClassCoefficientsDocument>? Classes = null);

/// <summary>One class's model at a lambda: its label, intercept and every coefficient by feature name.</summary>
public sealed record ClassCoefficientsDocument(double Label, double Intercept, IReadOnlyDictionary<string, double> Coefficients);

/// <summary>The body of POST /v1/fits/{id}/refit.</summary>
public sealed record RefitRequest(
    [property: Required] [property: Description("The one lambda to fit at, exactly (glmnet's coef(..., exact = TRUE))")] double? Lambda);

/// <summary>
/// glmnet-style access to a fit's models: coefficients at any lambda, an exact refit at one lambda as a new job, and the
/// model card (JSON) or PMML export.
/// </summary>
public static class CoefficientsApi
{
    public static RouteGroupBuilder MapModelAccess(this RouteGroupBuilder group)
    {
        group.MapGet("/{id}/coefficients", Coefficients)
            .WithName("GetFitCoefficients")
            .WithSummary("Coefficients at a path lambda, between path lambdas (interpolated as glmnet), min or 1se")
            .WithDescription("""
                ?lambda= is a number, min or 1se (the lambdaMin or lambda1se of a validated fit; a 400 naming lambda when the fit
                has none); omitted, the fit's returned model. A number within a relative 1e-9 of a path lambda is that point;
                between two path lambdas the model is interpolated linearly in lambda (not in log lambda), as glmnet's
                coef(fit, s = lambda, exact = FALSE): w * model[left] + (1 - w) * model[right], w = (lambda - lambda_right) /
                (lambda_left - lambda_right); outside the path's range the nearer end's model (glmnet clamps, it does not
                extrapolate). ?exact=true is a 400 naming exact: an exact solution is a new fit, and a GET creates no jobs;
                POST /v1/fits/{id}/refit with {"lambda": x} submits it. A relaxed fit (relax) takes ?gamma= too: a number in [0, 1], min or 1se;
                its model at (lambda, gamma) is gamma * lasso + (1 - gamma) * refit at each path lambda, interpolated the same way (glmnet's
                coef(fit, s, gamma)); lambda min or 1se is the relaxed choice, with its gamma unless gamma is given; gamma omitted is the
                one that goes with lambda (else the fit's returned gamma); a gamma for a fit without relax is a 400 naming gamma.
                An MLP has no coefficients (409; see /model).
                404 for an unknown fit, 409 for one that has not succeeded.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .AllowQuery("lambda", "exact", "gamma");
        group.MapPost("/{id}/refit", Refit)
            .WithName("RefitFit")
            .WithSummary("Refit at exactly one lambda (glmnet's exact = TRUE) as a new job; answers 202 with the queued job")
            .WithDescription("""
                The fit's own request (same data set, target, features, penalty, solver and settings, same tenant) with
                lambda set to the body's and no lambdas, path or validation (a single lambda has nothing to choose among),
                submitted as POST /v1/fits submits a request: its checks, cost limits and queue apply, with their statuses
                (400 naming the field, 404 when the data set is gone, 429 with Retry-After, 507). The body is
                {"lambda": x}, application/json, at most 64 KiB (413 above, 415 for another media type).
                """)
            .Accepts<RefitRequest>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesWriteProblems()
            .AllowQuery();
        group.MapGet("/{id}/model", ModelExport.Get)
            .WithName("ExportFitModel")
            .WithSummary("The fitted model as a JSON model card, or PMML 4.4 (GeneralRegressionModel) for linear and logistic fits")
            .WithDescription("""
                JSON (default, ?format=json): features in order, their means and scales, intercept and coefficients (original
                scale) and standardized coefficients, family and link, the expansion, an MLP's layers, the objective, the fit's
                settings and the RegService version. PMML: ?format=pmml or Accept: application/xml (or text/xml) gives
                PMML 4.4 GeneralRegressionModel (gaussian: regression, identity link; binomial: generalizedLinear, logit link,
                P(y = 1)) of the returned model. PMML for an MLP or an expanded fit is a 400 naming format (?format=pmml) or
                406 (by Accept). 404 for an unknown fit, 409 for one that has not succeeded.
                """)
            .Produces<ModelCard>(StatusCodes.Status200OK, "application/json")   // and application/xml, added by OpenApiOperations
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .AllowQuery("format");
        return group;
    }

    public static Results<Ok<CoefficientsDocument>, ValidationProblem, ProblemHttpResult> Coefficients(
        string id, ClaimsPrincipal user, IFitStore fits, JsonSerializerOptionsProvider json,
        [Description("A number (interpolated between path lambdas as glmnet's coef(exact = FALSE)), min or 1se; omit for the returned model")] string? lambda = null,
        [Description("false (default) only: an exact solution is POST /v1/fits/{id}/refit")] string? exact = null,
        [Description(FitModels.GammaHelp)] string? gamma = null)
    {
        if (exact is not null && !exact.Equals("false", StringComparison.OrdinalIgnoreCase))
            return Problems.Invalid("exact", exact.Equals("true", StringComparison.OrdinalIgnoreCase)
                ? $"exact=true refits, which is a new job, and a GET creates none: POST /v1/fits/{id}/refit with {{\"lambda\": x}} fits at exactly that lambda"
                : $"must be false (or omitted); got '{exact}'. An exact solution is POST /v1/fits/{id}/refit", "The coefficients request is invalid");
        var (_, stored, problem) = FitModels.Succeeded(fits, user.Tenant(), id, json.Options, "has coefficients");
        if (problem is not null) return problem;
        var model = stored!.Model;
        if (model.Network is not null)
            return Problems.Status(StatusCodes.Status409Conflict, "An MLP has no coefficients",
                $"fit {id} is a network; GET /v1/fits/{id}/model gives its layers, and predict its predictions");
        var (at, field, error) = FitModels.At(stored, lambda, gamma);
        if (error is not null) return Problems.Invalid(field!, error, "The coefficients request is invalid");
        var byName = new Dictionary<string, double>(model.Features.Length, StringComparer.Ordinal);
        for (int j = 0; j < model.Features.Length; j++) byName[model.Features[j]] = at!.Coefficients[j];
        if (model.Classes is { } classes)
        {
            var models = Multiclass.At(model, classes, at!);
            var perClass = models.Labels.Select((label, k) => new ClassCoefficientsDocument(label, models.Intercepts[k],
                model.Features.Select((f, j) => (f, j)).ToDictionary(e => e.f, e => models.Coefficients[k][e.j], StringComparer.Ordinal))).ToList();
            int any = Enumerable.Range(0, model.Features.Length).Count(j => models.Coefficients.Any(c => c[j] != 0));
            return TypedResults.Ok(new CoefficientsDocument(id, at!.Lambda, at.Requested, at.Interpolated, at.OutsidePath, models.Intercepts[0],
                perClass[0].Coefficients, any, at.Gamma, perClass));
        }
        return TypedResults.Ok(new CoefficientsDocument(id, at!.Lambda, at.Requested, at.Interpolated, at.OutsidePath, at.Intercept, byName,
            at.Coefficients.Count(c => c != 0), at.Gamma));
    }

    /// <summary>The largest refit body read.</summary>
    public const int MaxRefitBytes = 64 * 1024;

    public static async Task<Results<Accepted<FitJob>, ValidationProblem, ProblemHttpResult>> Refit(
        string id, HttpContext http, ClaimsPrincipal user, IDatasetStore datasets, IFitStore fits, IFitQueueSignal signal, JsonSerializerOptionsProvider json,
        IOptions<JobsOptions> options, IOptions<LimitsOptions> limits, IOptions<DatasetOptions> datasetOptions, ILoggerFactory loggers)
    {
        var tenant = user.Tenant();
        if (http.Request.ContentLength > MaxRefitBytes) return TooLarge();
        if (http.Request.ContentType?.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase) != true)
            return Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"send the refit request as application/json, {{\"lambda\": x}}; got '{http.Request.ContentType ?? "none"}'");
        RefitRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<RefitRequest>(new LimitedReadStream(http.Request.Body, MaxRefitBytes), json.Options, http.RequestAborted);
        }
        catch (UploadTooLargeException)
        {
            return TooLarge();
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return Problems.Invalid(field, "must be a JSON object {\"lambda\": x} with lambda a number", "The refit request is invalid");
        }
        if (body?.Lambda is not { } lambda) return Problems.Invalid("lambda", "is required: the one lambda to refit at", "The refit request is invalid");

        var record = fits.Get(tenant, id);
        if (record is null) return Problems.NotFound("Fit", id, "id");
        var original = StoredSubmission.ReadRequest(record.RequestJson, json.Options);
        var request = original with { Lambda = lambda, Lambdas = null, Path = null, Validation = null };
        return FitsApi.Enqueue(http, tenant, request, datasets, fits, signal, json, options, limits, datasetOptions, loggers);

        static ProblemHttpResult TooLarge() => Problems.Status(StatusCodes.Status413PayloadTooLarge, "Request too large",
            $"a refit request is {{\"lambda\": x}}; the limit is {MaxRefitBytes} bytes");
    }
}
