using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace RegService.Api.Extensions;

/// <summary>
/// What route metadata cannot say, added to the generated document: query parameters typed as the handlers parse
/// them, the table bodies of upload and predict, Retry-After and Location headers, the problem details' extension
/// members, and the examples (Extensions/OpenApiExamples.json, checked against their schemas by the tests).
/// </summary>
public static class OpenApiOperations
{
    /// <summary>The JSON form of a table (data set upload, rows to predict), as <c>JsonColumnsReader</c> reads it.</summary>
    public const string TableSchema = "TableColumns";

    private static readonly Lazy<JsonObject> Examples = new(() =>
    {
        using var stream = typeof(OpenApiOperations).Assembly.GetManifestResourceStream("RegService.Api.Extensions.OpenApiExamples.json")
            ?? throw new InvalidOperationException("the OpenAPI examples are not embedded in the assembly");
        return JsonNode.Parse(stream)!.AsObject();
    });

    public static void Complete(OpenApiDocument document)
    {
        var schemas = document.Components!.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        schemas[TableSchema] = Table();
        foreach (var (name, schema) in schemas.ToList())
            if (schema is OpenApiSchema { Discriminator: not null, AnyOf.Count: > 0 } polymorphic) Inherit(document, name, polymorphic);
        foreach (var name in new[] { "ProblemDetails", "HttpValidationProblemDetails" })
            if (schemas.TryGetValue(name, out var problem) && problem is OpenApiSchema p) OpenProblem(p);

        foreach (var path in document.Paths.Values)
            foreach (var operation in path.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            {
                foreach (var parameter in operation.Parameters ?? [])
                    if (parameter is OpenApiParameter { In: ParameterLocation.Query } query && Query(query.Name!, document) is { } typed)
                        (query.Schema, query.Description) = operation.OperationId == "PredictFit" && query.Name == "datasetId"
                            ? (typed.Schema, "Score this stored data set instead of a posted body (its target and unused columns ignored)")
                            : typed;
                if (operation.OperationId is "UploadDataset" or "PredictFit" && operation.RequestBody?.Content is { } content)
                {
                    if (content.TryGetValue("application/json", out var json)) json.Schema = new OpenApiSchemaReference(TableSchema, document);
                    // predict?datasetId= scores a stored data set and takes no body.
                    if (operation.OperationId == "PredictFit" && operation.RequestBody is OpenApiRequestBody body) body.Required = false;
                    if (content.TryGetValue("text/csv", out var csv))
                        csv.Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.String,
                            Description = "RFC 4180 CSV: a header row of column names, then one row of numbers per record (invariant culture, LF or CRLF)",
                        };
                }
                if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.TryGetValue("text/event-stream", out var events) == true)
                    events.Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.String,
                        Description = "Server-sent events (text/event-stream, UTF-8): blocks of 'event: progress' or 'event: end' and one " +
                                      "'data:' line holding a FitJob (without its result) as JSON, each block ended by a blank line; " +
                                      "': keep-alive' comment lines in between",
                    };
                if (operation.OperationId == "ExportFitModel" && operation.Responses?.GetValueOrDefault("200") is OpenApiResponse { Content: { } model })
                    model[Fits.ModelExport.PmmlMediaType] = new OpenApiMediaType
                    {
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "PMML 4.4 (http://www.dmg.org/PMML-4_4), a GeneralRegressionModel" },
                    };
                foreach (var (status, response) in operation.Responses ?? new OpenApiResponses())
                    if (response is OpenApiResponse r) AddHeaders(status, r, paged: operation.OperationId is "ListFits" or "ListDatasets" or "GetFitPath");
                if (operation.OperationId is { } id && Examples.Value[id] is JsonObject example) AddExamples(operation, example);
            }
    }

    /// <summary>
    /// A polymorphic type (<c>JsonPolymorphic</c>) as a base and derived types: the base holds the discriminator and the
    /// members all share, each derived type is <c>allOf</c> the base and its own members. Generated clients then get a
    /// class per derived type that the base's factory picks by the discriminator (as Kiota does), instead of one
    /// wrapper holding every member of every type.
    /// </summary>
    private static void Inherit(OpenApiDocument document, string name, OpenApiSchema polymorphic)
    {
        var schemas = document.Components!.Schemas!;
        var discriminator = polymorphic.Discriminator!.PropertyName!;
        var derived = polymorphic.AnyOf!.OfType<OpenApiSchemaReference>().Select(r => r.Reference.Id!).ToList();
        var members = derived.Select(d => (OpenApiSchema)schemas[d]).ToList();
        // Shared: in every derived type; required in the base when every derived type requires it.
        var shared = members[0].Properties!.Keys.Where(p => p != discriminator && members.All(m => m.Properties!.ContainsKey(p))).ToList();
        var baseProperties = new Dictionary<string, IOpenApiSchema>
        {
            [discriminator] = new OpenApiSchema { Type = JsonSchemaType.String, Description = $"Which kind: {string.Join(", ", polymorphic.Discriminator.Mapping!.Keys)}" },
        };
        foreach (var p in shared) baseProperties[p] = members[0].Properties![p];
        polymorphic.AnyOf = null;
        polymorphic.Type = JsonSchemaType.Object;
        polymorphic.Properties = baseProperties;
        polymorphic.Required = new HashSet<string>([discriminator, .. shared.Where(p => members.All(m => m.Required?.Contains(p) == true))]);
        for (int i = 0; i < derived.Count; i++)
        {
            var own = members[i];
            schemas[derived[i]] = new OpenApiSchema
            {
                Description = own.Description,
                AllOf =
                [
                    new OpenApiSchemaReference(name, document),
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = own.Properties!.Where(p => p.Key != discriminator && !shared.Contains(p.Key)).ToDictionary(),
                        Required = new HashSet<string>(own.Required?.Where(r => r != discriminator && !shared.Contains(r)) ?? []),
                    },
                ],
            };
        }
    }

    /// <summary>The query parameters, as the handlers parse them (a bad value is a 400 naming it).</summary>
    private static (IOpenApiSchema Schema, string Description)? Query(string name, OpenApiDocument document) => name switch
    {
        "offset" => (OpenApiSchemas.Integer("Items to skip", 0, @default: 0), "Items to skip, >= 0 (default 0)"),
        "limit" => (OpenApiSchemas.Integer("Items per page", 1, Datasets.Paging.MaxLimit, Datasets.Paging.DefaultLimit),
            $"Items per page, 1 to {Datasets.Paging.MaxLimit} (default {Datasets.Paging.DefaultLimit})"),
        "lambda" => (new OpenApiSchema
        {
            AnyOf = [OpenApiSchemas.Number(), new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("min")!, JsonValue.Create("1se")!] }],
        }, "A lambda: " + Fits.FitModels.LambdaHelp),
        "exact" => (new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = JsonValue.Create(false) },
            "false only: an exact solution at a new lambda is a new fit, POST /v1/fits/{id}/refit (true is a 400 saying so)"),
        "format" => (new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("json")!, JsonValue.Create("pmml")!], Default = JsonValue.Create("json") },
            "json (the model card) or pmml (PMML 4.4, as Accept: application/xml)"),
        "status" => (new OpenApiSchemaReference("JobStatus", document), "Only fits in this state"),
        "datasetId" => (new OpenApiSchema { Type = JsonSchemaType.String }, "Only fits of this data set"),
        "waitSeconds" => (OpenApiSchemas.Integer("Seconds to wait for a change", 0, Fits.FitEventsApi.MaxWaitSeconds),
            $"Long-poll: answer as soon as the status or progress changes, or after this many seconds, 0 to {Fits.FitEventsApi.MaxWaitSeconds}"),
        "include" => (new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^(path|standardization)(,(path|standardization))*$" }, Fits.ResultsApi.IncludeDescription),
        "name" => (new OpenApiSchema { Type = JsonSchemaType.String }, "The data set's name (default \"dataset\"); the rules of a column name apply"),
        _ => null,
    };

    private static OpenApiSchema Table() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "A table as JSON columns: every column the same length, every value a finite number. " +
                      "Upload: the data set; predict: the rows to score (name is then ignored).",
        Required = new HashSet<string> { "columns" },
        AdditionalPropertiesAllowed = false,
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["name"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The data set's name (upload; ?name= for CSV)" },
            ["columns"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Column name to its values, in row order",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = OpenApiSchemas.Number() },
            },
        },
    };

    /// <summary>Problem details carry extension members: every one a request id, some the field, limit or retry delay.</summary>
    private static void OpenProblem(OpenApiSchema problem)
    {
        problem.Required?.Remove("errors");   // a 400 about the body as a whole (a bad CSV cell, a fit too large) names no field
        problem.AdditionalPropertiesAllowed = true;
        problem.AdditionalProperties = null;
        problem.Properties ??= new Dictionary<string, IOpenApiSchema>();
        problem.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The W3C trace id of the request" };
        problem.Properties["requestId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's id, as in the service's logs" };
        problem.Properties["retryAfterSeconds"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Integer, Format = "int32", Description = "429, 503, 507: seconds to wait before retrying (also the Retry-After header)",
        };
        problem.Properties["limit"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The setting that limits (429, or 400 for a fit too large)" };
        problem.Properties["field"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "404: the request field naming what was not found" };
        problem.Properties["available"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String },
            Description = "404 of a plot: the kinds the fit can draw",
        };
    }

    private static void AddHeaders(string status, OpenApiResponse response, bool paged)
    {
        if (status == "200" && paged)
            (response.Headers ??= new Dictionary<string, IOpenApiHeader>())["Link"] = new OpenApiHeader
            {
                Description = "RFC 8288 links to the neighbouring pages: <...?offset=&limit=>; rel=\"next\", <...>; rel=\"prev\" (absent on the last and first page)",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            };
        if (status is "429" or "503" or "507" && response.Content?.ContainsKey("application/problem+json") == true)
            (response.Headers ??= new Dictionary<string, IOpenApiHeader>())["Retry-After"] = new OpenApiHeader
            {
                Description = "Seconds to wait before retrying",
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1" },
            };
        if (status is "201" or "202")
            (response.Headers ??= new Dictionary<string, IOpenApiHeader>())["Location"] = new OpenApiHeader
            {
                Description = "The resource's URL",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            };
    }

    /// <summary>An example is {"request": {mediaType: body}, "responses": {status: body}}; a CSV body is a string.</summary>
    private static void AddExamples(OpenApiOperation operation, JsonObject example)
    {
        if (example["request"] is JsonObject requests && operation.RequestBody?.Content is { } content)
            foreach (var (mediaType, body) in requests)
                if (content.TryGetValue(mediaType, out var media)) media.Example = body?.DeepClone();
        if (example["responses"] is JsonObject responses)
            foreach (var (status, body) in responses)
                if (operation.Responses?.TryGetValue(status, out var response) == true && response.Content is { } media)
                    foreach (var type in media.Values) type.Example = body?.DeepClone();
    }
}
