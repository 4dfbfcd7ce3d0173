using System.ComponentModel;
using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.Net.Http.Headers;

namespace RegService.Api.Fits;

/// <summary>
/// A fitted model, self-contained: what a client needs to predict without the service. Predictions are
/// <c>linkInverse(intercept + sum_j coefficients[j] x_j)</c> over <see cref="Features"/> (with an expansion: of the inputs
/// expanded first); an MLP standardizes its inputs, <c>(x_j - means[j]) / scales[j]</c>, and runs its layers.
/// </summary>
public sealed record ModelCard(
    string FitId,
    [property: Description("The RegService version that fitted it (assembly informational version)")] string RegServiceVersion,
    [property: Description("gaussian or binomial")] string Family,
    [property: Description("identity (gaussian) or logit (binomial): predictions are the inverse link of the linear predictor")] string Link,
    [property: Description("The fitted features in order (with an expansion: the expanded names)")] IReadOnlyList<string> Features,
    [property: Description("With an expansion: the data set features it expands, which prediction rows carry")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Inputs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] StoredExpansion? Expansion,
    [property: Description("Per feature: the mean used to standardize")] IReadOnlyList<double> Means,
    [property: Description("Per feature: the scale used to standardize (1/n standard deviation, or 1 with standardize false)")] IReadOnlyList<double> Scales,
    [property: Description("The lambda of the returned model")] double Lambda,
    [property: Description("Original scale")] double Intercept,
    [property: Description("Per feature, original scale (an MLP: each input's first-layer weight norm / scale)")] IReadOnlyList<double> Coefficients,
    [property: Description("Per feature, standardized scale (coefficient x scale; an MLP: the first-layer weight norms)")] IReadOnlyList<double> StandardizedCoefficients,
    [property: Description("An MLP's layers on standardized inputs: out = W in + b, W row-major (outputs rows of inputs columns), hidden layers through activation")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] StoredNetwork? Network,
    [property: Description("The objective minimized, in glmnet's form")] string Objective,
    [property: Description("none, ridge, lasso or elasticNet")] string Penalty,
    double L1Ratio,
    [property: Description("The fit request as submitted: data set, target, solver and every setting")] FitRequest Settings,
    DateTimeOffset? FinishedAt,
    [property: Description("A relaxed fit (relax): the gamma of the returned model, whose intercept and coefficients are gamma * lasso + (1 - gamma) * the unpenalized refit at lambda; absent for other fits")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Gamma = null);

/// <summary>GET /v1/fits/{id}/model: the model card (JSON) or PMML 4.4.</summary>
public static class ModelExport
{
    public const string PmmlMediaType = "application/xml";

    /// <summary>The service's version: the assembly's informational version (version + commit).</summary>
    public static string Version { get; } =
        typeof(ModelExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static Results<Ok<ModelCard>, ContentHttpResult, ValidationProblem, ProblemHttpResult> Get(
        string id, HttpContext http, ClaimsPrincipal user, IFitStore fits, JsonSerializerOptionsProvider json,
        [Description("json (default) or pmml; Accept: application/xml also gives PMML")] string? format = null)
    {
        bool? pmml = format?.ToLowerInvariant() switch
        {
            null => null,
            "json" => false,
            "pmml" or "xml" => true,
            _ => (bool?)null,
        };
        if (format is not null && pmml is null) return Problems.Invalid("format", $"must be json or pmml; got '{format}'", "The model request is invalid");
        bool byAccept = pmml is null && WantsXml(http.Request);
        var (record, stored, problem) = FitModels.Succeeded(fits, user.Tenant(), id, json.Options, "has a model");
        if (problem is not null) return problem;
        var model = stored!.Model;
        if (model.Classes is not null)
            return Problems.Status(StatusCodes.Status409Conflict, "No model card for a multinomial fit", Multiclass.NotForMultinomial(id, "the model card (and PMML)"));
        var request = StoredSubmission.ReadRequest(record!.RequestJson, json.Options);
        if (pmml == true || byAccept)
        {
            if (PmmlExport.Unsupported(model) is { } why)
                return byAccept
                    ? Problems.Status(StatusCodes.Status406NotAcceptable, "No PMML for this model",
                        $"{why}; ask for JSON (Accept: application/json or ?format=json) for its model card")
                    : Problems.Invalid("format", $"pmml: {why}; use format=json for its model card", "The model request is invalid");
            return TypedResults.Content(PmmlExport.Write(id, stored, request, record.FinishedAt), PmmlMediaType + "; charset=utf-8");
        }
        return TypedResults.Ok(new ModelCard(id, Version, model.Family, model.Link, model.Features, model.Inputs, model.Expansion,
            model.Means, model.Scales, model.Lambda, model.Intercept, model.Coefficients, model.StandardizedCoefficients, model.Network,
            Objective(model.Family, request.Weights is not null, request.Offset is not null), stored.Penalty, stored.L1Ratio, request, record.FinishedAt, model.Relaxed?.Gamma));
    }

    /// <summary>Whether the client prefers XML: application/xml or text/xml ranked above any JSON it also accepts.</summary>
    private static bool WantsXml(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)) return false;
        double Quality(Func<string, bool> match) =>
            accepted.Where(a => match(a.MediaType.Value ?? "")).Select(a => a.Quality ?? 1).DefaultIfEmpty(-1).Max();
        double xml = Quality(t => t is "application/xml" or "text/xml");
        double other = Quality(t => t is "application/json" or "*/*" or "application/*");
        return xml > 0 && xml >= other;
    }

    /// <summary>The objective a fit minimized, in glmnet's form: observation weights w_i (rescaled to sum to n) and the
    /// offset appear only when the fit had them.</summary>
    public static string Objective(string family, bool weighted = false, bool offset = false)
    {
        string w = weighted ? "w_i " : "", eta = "eta_i = b0 + x_i.b" + (offset ? " + offset_i" : "");
        string loss = family switch
        {
            "binomial" => $"-(1/n) sum_i {w}[y_i eta_i - log(1 + e^eta_i)], {eta}",
            "poisson" => $"(1/n) sum_i {w}[e^eta_i - y_i eta_i], {eta}",
            _ => $"(1/2n) sum_i {w}(y_i - eta_i)^2, {eta}",
        };
        return loss + (weighted ? " (w_i the observation weights rescaled to sum to n)" : "")
            + " + lambda * sum_j v_j [(1 - l1Ratio)/2 b_j^2 + l1Ratio |b_j|] (b_j on the standardized scale with standardize true; v_j the penalty factors)";
    }
}
