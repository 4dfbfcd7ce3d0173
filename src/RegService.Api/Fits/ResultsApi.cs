using System.ComponentModel;
using RegService.Api.Datasets;

namespace RegService.Api.Fits;

/// <summary>What GET /v1/fits/{id}?include= adds to the result's summary.</summary>
[Flags]
public enum ResultIncludes
{
    None = 0,

    /// <summary>path.coefficients: per lambda the nonzero coefficients, as indices into features and values.</summary>
    Path = 1,

    /// <summary>featureMeans and featureScales, by feature name.</summary>
    Standardization = 2,
}

/// <summary>A page of a fit's path: the lambdas from <c>offset</c>, at most <c>limit</c> of them, with their coefficients.</summary>
public sealed record PathPage(
    string FitId,
    [property: Description("The fitted features in order; coefficients[i].indices index into it")] IReadOnlyList<string> Features,
    [property: Description("Lambdas in the whole path")] int Total,
    int Offset,
    int Limit,
    [property: Description("The path's lambdas offset to offset + limit - 1 (every per-lambda list sliced alike; lambdaMin and lambda1se are the whole path's)")]
    PathDocument Path);

/// <summary>A finished fit's result: the summary's includes and its path, paged by lambda.</summary>
public static class ResultsApi
{
    public const string IncludeDescription =
        "What to add to the result's summary, comma-separated or repeated: path (path.coefficients, per lambda the nonzero " +
        "coefficients as indices into features and their values) and standardization (featureMeans and featureScales)";

    /// <summary>The route of a fit's path; mapped on the /v1/fits group.</summary>
    public static RouteGroupBuilder MapFitResults(this RouteGroupBuilder group)
    {
        group.MapGet("/{id}/path", GetPath).WithName("GetFitPath")
            .WithSummary("A succeeded fit's path paged by lambda: per lambda its facts and nonzero coefficients (indices into features, values)")
            .WithDescription("""
                The lambdas in the order fitted, offset/limit as the lists page (default 50, at most 500), with Link headers
                (rel="next", rel="prev"; RFC 8288) to the neighbouring pages. Every per-lambda list of path is sliced alike;
                coefficients[i] holds lambda i's nonzero original-scale coefficients as indices into features and values
                (empty for an MLP). 404 for an unknown fit, 409 for one that has not succeeded.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .AllowQuery("offset", "limit");
        return group;
    }

    /// <summary>The includes a query asks for, or the 400's errors naming the values it does not know.</summary>
    public static (ResultIncludes Include, Dictionary<string, string[]>? Errors) ParseInclude(string? include)
    {
        var result = ResultIncludes.None;
        var unknown = new List<string>();
        foreach (var value in (include ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (value.Equals("path", StringComparison.OrdinalIgnoreCase)) result |= ResultIncludes.Path;
            else if (value.Equals("standardization", StringComparison.OrdinalIgnoreCase)) result |= ResultIncludes.Standardization;
            else unknown.Add(value);
        }
        return unknown.Count == 0
            ? (result, null)
            : (result, new() { ["include"] = [$"unknown value{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}; include takes path and standardization"] });
    }

    public static Results<Ok<PathPage>, ValidationProblem, ProblemHttpResult> GetPath(
        string id, HttpContext http, ClaimsPrincipal user, IFitStore fits, JsonSerializerOptionsProvider json, string? offset = null, string? limit = null)
    {
        var (skip, take, errors) = Paging.Parse(offset, limit);
        if (errors is not null) return Problems.Invalid(errors, QueryParameters.Title);
        var record = fits.Get(user.Tenant(), id);
        if (record is null) return Problems.NotFound("Fit", id, "id");
        if (!FitModels.HasResult(record))
            return Problems.Status(StatusCodes.Status409Conflict, "Fit not succeeded",
                $"fit {id} is {record.Status.Name()}; only a succeeded fit has a path (or a fit canceled after some lambdas, of those lambdas)",
                new Dictionary<string, object?> { ["fitStatus"] = record.Status.Name() });
        var result = StoredResults.Project(StoredResults.Read(record.ResultJson!, json.Options), ResultIncludes.Path);
        var path = result.Path;
        Paging.AddLinks(http, skip, take, path.Lambdas.Count);
        return TypedResults.Ok(new PathPage(id, result.Features ?? [], path.Lambdas.Count, skip, take, Slice(path, skip, take)));
    }

    /// <summary>Lambdas <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="limit"/> - 1 of a path, every list alike.</summary>
    public static PathDocument Slice(PathDocument p, int offset, int limit)
    {
        List<T>? Part<T>(IReadOnlyList<T>? list) => list?.Skip(offset).Take(limit).ToList();
        return p with
        {
            Lambdas = Part(p.Lambdas)!,
            NonZero = Part(p.NonZero)!,
            Intercepts = Part(p.Intercepts)!,
            Coefficients = Part(p.Coefficients),
            DevianceRatio = Part(p.DevianceRatio),
            Converged = Part(p.Converged),
            Iterations = Part(p.Iterations),
            ScreenedOut = Part(p.ScreenedOut),
            DualityGap = Part(p.DualityGap),
            Validation = p.Validation is { } v ? v with { Mean = Part(v.Mean)!, StandardError = Part(v.StandardError)! } : null,
            ValidationMse = Part(p.ValidationMse),
            ValidationStandardError = Part(p.ValidationStandardError),
            Classes = p.Classes is { } c ? new ClassPathDocument(Part(c.Intercepts)!, Part(c.Coefficients)!) : null,
        };
    }
}
