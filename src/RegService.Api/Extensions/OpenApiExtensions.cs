using Microsoft.AspNetCore.OpenApi;
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
        path.count = nlambda, path.minRatio = lambda.min.ratio, penaltyFactors = penalty.factor, validation.foldIds = foldid,
        lowerLimits / upperLimits = lower.limits / upper.limits (lowerLimits 0 is scikit-learn's positive=True)
        (glmnet scales y to unit variance internally for gaussian fits, so for l1Ratio < 1 it solves this objective
        exactly only when y has unit variance).

        **Flow**: POST /v1/datasets (CSV or JSON) -> POST /v1/fits (202 + Location) -> GET /v1/fits/{id} until
        status is succeeded, failed or canceled -> POST /v1/fits/{id}/predict with new rows. Errors are RFC 9457
        problem details naming the field, line or column.
        """;

    public static WebApplicationBuilder AddApiDocs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddSchemaTransformer(OpenApiSchemas.Transform);
            options.CreateSchemaReferenceId = info => (Nullable.GetUnderlyingType(info.Type) ?? info.Type) == typeof(System.Text.Json.JsonElement)
                ? OpenApiSchemas.CoefficientLimitsId
                : OpenApiOptions.CreateDefaultSchemaReferenceId(info);
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
                OpenApiOperations.Complete(document);
                return Task.CompletedTask;
            });
        });
        return builder;
    }

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
