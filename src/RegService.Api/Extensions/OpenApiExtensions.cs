using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace RegService.Api.Extensions;

/// <summary>The OpenAPI document (/openapi/v1.json) with the objective, parameter mappings and examples; Swagger UI at /swagger.</summary>
public static class OpenApiExtensions
{
    private const string Overview = """
        RegService fits regularized linear models as background jobs.

        **Objective** (glmnet's), for n rows, lambda >= 0, l1Ratio in [0, 1] and penalty factors v_j >= 0 (default 1):

            gaussian: (1/2n) sum_i (y_i - b0 - x_i.b)^2             + lambda * P(b)
            binomial: -(1/n) sum_i [y_i eta_i - log(1 + e^eta_i)]   + lambda * P(b),   eta_i = b0 + x_i.b
            P(b) = sum_j v_j [ (1 - l1Ratio)/2 * b_j^2 + l1Ratio * |b_j| ]

        The intercept b0 is never penalized. With standardize (default) each feature is scaled to unit variance
        (1/n) for the fit, and coefficients are returned on the original and the standardized scale. Penalty factors
        are rescaled to sum to the number of features, as glmnet does. ridge is l1Ratio 0, lasso 1, elasticNet between
        (default 0.5, as scikit-learn's ElasticNet).

        **Mapping**: scikit-learn `Ridge(alpha=a)` is lambda = a/n; `ElasticNet(alpha=lambda, l1_ratio=l1Ratio)` on
        standardized data; `LogisticRegression(C=c)` is lambda = 1/(c n). R glmnet: the same lambda and alpha = l1Ratio,
        path.count = nlambda, path.minRatio = lambda.min.ratio, penaltyFactors = penalty.factor, validation.foldIds = foldid
        (glmnet scales y to unit variance internally for gaussian fits, so for l1Ratio < 1 it solves this objective
        exactly only when y has unit variance).

        **Flow**: POST /v1/datasets (CSV or JSON) -> POST /v1/fits (202 + Location) -> GET /v1/fits/{id} until
        status is succeeded, failed or canceled -> POST /v1/fits/{id}/predict with new rows. Errors are RFC 9457
        problem details naming the field, line or column.
        """;

    private static readonly Dictionary<string, (string? Request, string Status, string Response)> Examples = new()
    {
        ["UploadDataset"] = ("\"GNP.deflator\",GNP,Employed\n83,234.289,60.323\n88.5,259.426,61.122\n88.2,258.054,60.171\n", "201",
            """{"id":"0195f3a2c1d84e7b9a6f5c3d2e1f0a9b","name":"longley","rows":3,"columnCount":3,"sizeBytes":72,"createdAt":"2026-11-22T10:00:00+00:00","columns":[{"name":"GNP.deflator","mean":86.566,"stdDev":2.5,"min":83,"max":88.5}]}"""),
        ["SubmitFit"] = ("""{"datasetId":"0195f3a2c1d84e7b9a6f5c3d2e1f0a9b","target":"Employed","penalty":"lasso","path":{"count":50},"validation":{"method":"kfold","folds":10,"seed":7,"rule":"oneStandardError"}}""", "202",
            """{"id":"0195f3a3d0a87c11b2e4f6a8c0d2e4f6","datasetId":"0195f3a2c1d84e7b9a6f5c3d2e1f0a9b","status":"queued","progress":{"fraction":0,"stage":null},"attempts":0,"createdAt":"2026-11-22T10:00:01+00:00"}"""),
        ["GetFit"] = (null, "200",
            """{"id":"0195f3a3d0a87c11b2e4f6a8c0d2e4f6","status":"succeeded","progress":{"fraction":1,"stage":"done"},"result":{"status":"converged","family":"gaussian","penalty":"lasso","l1Ratio":1,"lambda":0.05,"intercept":51.2,"coefficients":{"GNP.deflator":0,"GNP":0.03},"sparsity":{"nonZero":1,"total":2,"fractionZero":0.5,"selected":["GNP"]},"metrics":{"train":{"family":"gaussian","rows":16,"mse":0.21,"rmse":0.46,"mae":0.37,"r2":0.96,"devianceRatio":0.96}},"path":{"lambdas":[3.1,0.05],"nonZero":[0,1],"intercepts":[65.3,51.2],"coefficients":[{"GNP.deflator":0,"GNP":0},{"GNP.deflator":0,"GNP":0.03}],"validation":{"measure":"mse","mean":[12.1,0.3],"standardError":[2.0,0.1]},"lambdaMin":0.05,"lambda1se":0.05},"validation":{"method":"kfold","folds":10,"seed":7,"rule":"oneStandardError","trainRows":16,"validationRows":16},"diagnostics":{"solver":"coordinateDescent","iterations":41,"converged":true,"notConvergedLambdas":[],"warnings":[]}}}"""),
        ["PredictFit"] = ("\"GNP.deflator\",GNP\n83,234.289\n88.5,259.426\n", "200",
            """{"fitId":"0195f3a3d0a87c11b2e4f6a8c0d2e4f6","lambda":0.05,"rows":2,"family":"gaussian","predictions":[58.23,58.98]}"""),
        ["CancelFit"] = (null, "202",
            """{"id":"0195f3a3d0a87c11b2e4f6a8c0d2e4f6","status":"running","cancelRequested":true}"""),
        ["ListFits"] = (null, "200", """{"items":[],"total":0,"offset":0,"limit":50}"""),
        ["ListDatasets"] = (null, "200", """{"items":[],"total":0,"offset":0,"limit":50}"""),
        ["GetDataset"] = (null, "200",
            """{"id":"0195f3a2c1d84e7b9a6f5c3d2e1f0a9b","name":"longley","rows":16,"columnCount":7,"sizeBytes":896,"columns":[{"name":"GNP","mean":387.7,"stdDev":96.0,"min":234.289,"max":554.894}]}"""),
    };

    public static WebApplicationBuilder AddApiDocs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo { Title = "RegService", Version = "v1", Description = Overview };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key (POST /v1/admin/keys makes one) as 'Authorization: Bearer <key>'; 'X-Api-Key: <key>' works too. " +
                                  "JWT bearer tokens are accepted when Auth:Jwt:Authority is set.",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] });
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, _, _) =>
            {
                if (operation.OperationId is not { } id || !Examples.TryGetValue(id, out var example)) return Task.CompletedTask;
                if (example.Request is { } request && operation.RequestBody?.Content is { } content)
                {
                    foreach (var (mediaType, media) in content)
                        media.Example = mediaType == "text/csv" ? JsonValue.Create(request) : mediaType == "application/json" && !TakesTable(id)
                            ? JsonNode.Parse(request)
                            : media.Example;
                    if (id == "UploadDataset" && content.TryGetValue("application/json", out var json))
                        json.Example = JsonNode.Parse("""{"name":"small","columns":{"x1":[1,2,3,4],"y":[1.1,1.9,3.2,3.9]}}""");
                    if (id == "PredictFit" && content.TryGetValue("application/json", out var rows))
                        rows.Example = JsonNode.Parse("""{"columns":{"GNP.deflator":[83,88.5],"GNP":[234.289,259.426]}}""");
                }
                if (operation.Responses?.TryGetValue(example.Status, out var response) == true && response.Content is { } responseContent)
                    foreach (var media in responseContent.Values)
                        media.Example = JsonNode.Parse(example.Response);
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>Operations whose body is a table (CSV or JSON columns) rather than a JSON request.</summary>
    private static bool TakesTable(string operationId) => operationId is "UploadDataset" or "PredictFit";

    /// <summary>
    /// /openapi/v1.json and Swagger UI at /swagger, when Api:ExposeDocs is true (the default in
    /// Development; false in Production unless set). Swagger UI's Authorize button takes an API key.
    /// </summary>
    public static WebApplication MapApiDocs(this WebApplication app)
    {
        if (!app.Configuration.GetValue("Api:ExposeDocs", app.Environment.IsDevelopment())) return app;
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/openapi/v1.json", "RegService v1");
            o.RoutePrefix = "swagger";
            o.DocumentTitle = "RegService";
        });
        return app;
    }
}
