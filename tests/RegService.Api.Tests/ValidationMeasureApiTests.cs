using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// validation.measure (cv.glmnet's type.measure) through the API: k-fold curves by auc, class and mae with fold ids (and
/// weights and an offset) agree with cv.glmnet (tests/fixtures/measure, make_measure.R) and the result names the measure; auc
/// with fewer than 10 rows per fold scores deviance with a warning, as cv.glmnet; a measure that does not fit is a 400 naming
/// validation.measure; the default stays mse (gaussian) and deviance.
/// </summary>
public sealed class ValidationMeasureApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _n300 = "", _n60 = "";
    private static readonly string[] Features = [.. Enumerable.Range(1, 8).Select(j => $"x{j}")];

    private static string Fixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "measure", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/measure/{name} not found above the test binaries");
    }

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _n300 = await Http.UploadCsv(_client, await File.ReadAllTextAsync(Fixture("measure_n300.csv")));
        _n60 = await Http.UploadCsv(_client, await File.ReadAllTextAsync(Fixture("measure_n60.csv")));
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>cv.glmnet's cvm and cvsd to 1e-6 relative, lambda.min and lambda.1se; validation.measure and the curve name the measure used.</summary>
    [Theory]
    [InlineData("wbinom_lasso_auc", "min")]
    [InlineData("binom_lasso_class", "oneStandardError")]
    [InlineData("wpois_offset_lasso_mae", "min")]
    [InlineData("multinom_lasso_class", "oneStandardError")]
    [InlineData("binom_lasso_auc_fallback", "min")]
    public async Task KFoldByTheMeasureAgreesWithCvGlmnet(string name, string rule)
    {
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(Fixture(name + ".json")))!;
        var request = new JsonObject
        {
            ["datasetId"] = fixture["data"]!.GetValue<string>() == "measure_n300.csv" ? _n300 : _n60,
            ["target"] = fixture["target"]!.GetValue<string>(),
            ["features"] = new JsonArray([.. Features.Select(f => (JsonNode)f)]),
            ["family"] = fixture["family"]!.GetValue<string>(),
            ["penalty"] = "lasso",
            ["lambdas"] = fixture["lambda"]!.DeepClone(),
            ["tolerance"] = 1e-14,
            ["validation"] = new JsonObject
            {
                ["method"] = "kfold", ["foldIds"] = fixture["foldid"]!.DeepClone(), ["rule"] = rule,
                ["measure"] = fixture["type_measure"]!.GetValue<string>(),
            },
        };
        if (fixture["weights"] is { } w) request["weights"] = w.GetValue<string>();
        if (fixture["offset"] is { } o) request["offset"] = o.GetValue<string>();
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body?.ToJsonString());
        var job = await Http.WaitForFit(_client, body!["id"]!.GetValue<string>(), TimeSpan.FromSeconds(120));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var result = job["result"]!;

        string used = fixture["measure_used"]!.GetValue<string>();
        Assert.Equal(used, result["validation"]!["measure"]!.GetValue<string>());
        var curve = result["path"]!["validation"]!;
        Assert.Equal(used, curve["measure"]!.GetValue<string>());
        var cvm = fixture["cvm"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var cvsd = fixture["cvsd"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int l = 0; l < cvm.Length; l++)
        {
            Assert.Equal(cvm[l], curve["mean"]![l]!.GetValue<double>(), 1e-6 * Math.Abs(cvm[l]) + 1e-12);
            Assert.Equal(cvsd[l], curve["standardError"]![l]!.GetValue<double>(), 1e-6 * Math.Abs(cvsd[l]) + 1e-12);
        }
        double lambdaMin = fixture["lambda_min"]!.GetValue<double>(), lambda1se = fixture["lambda_1se"]!.GetValue<double>();
        Assert.Equal(lambdaMin, result["path"]!["lambdaMin"]!.GetValue<double>(), 1e-6 * lambdaMin);
        Assert.Equal(lambda1se, result["path"]!["lambda1se"]!.GetValue<double>(), 1e-6 * lambda1se);
        Assert.Equal(rule == "min" ? lambdaMin : lambda1se, result["lambda"]!.GetValue<double>(), 1e-6 * lambdaMin);
        var warnings = result["diagnostics"]!["warnings"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Equal(used != fixture["type_measure"]!.GetValue<string>(), warnings.Any(v => v.Contains("measure auc needs at least 10 rows per fold", StringComparison.Ordinal)));

        // The validation plot names the measure on its axis; the complexity plot (training deviance beside it) needs a deviance.
        var id = body["id"]!.GetValue<string>();
        using var plot = await _client.GetAsync($"/v1/fits/{id}/plots/validation.svg");
        Assert.Equal(HttpStatusCode.OK, plot.StatusCode);
        var svg = await plot.Content.ReadAsStringAsync();
        Assert.Contains(used switch { "auc" => "AUC", "class" => "Misclassification error", "mae" => "Mean absolute error", _ => "Binomial deviance" }, svg);
        var (kinds, list) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/plots");
        Assert.Equal(HttpStatusCode.OK, kinds.StatusCode);
        Assert.Equal(used == "deviance", list!["kinds"]!.AsArray().Any(k => k!.GetValue<string>() == "complexity"));
    }

    /// <summary>Without a measure the result says which one was used: mse for gaussian, deviance for binomial; holdout as k-fold.</summary>
    [Theory]
    [InlineData("yg", "gaussian", "holdout", "mse")]
    [InlineData("yb", "binomial", "kfold", "deviance")]
    public async Task TheDefaultMeasureIsNamed(string target, string family, string method, string expected)
    {
        var id = await Http.Submit(_client, new { datasetId = _n300, target, features = Features, family, penalty = "lasso", path = new { count = 10 }, validation = new { method } });
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(120));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        Assert.Equal(expected, job["result"]!["validation"]!["measure"]!.GetValue<string>());
        Assert.Equal(expected, job["result"]!["path"]!["validation"]!["measure"]!.GetValue<string>());
    }

    /// <summary>The engine's rule, answered as a 400 naming validation.measure: a measure of another family, or one without validation.</summary>
    [Theory]
    [InlineData("yg", "gaussian", "kfold", "auc", "auc does not fit family gaussian; it takes mse, deviance, mae")]
    [InlineData("yc", "poisson", "holdout", "class", "class does not fit family poisson; it takes deviance, mse, mae")]
    [InlineData("ym", "multinomial", "kfold", "auc", "auc does not fit family multinomial; it takes deviance, class, mse, mae")]
    [InlineData("yb", "binomial", "none", "auc", "needs validation")]
    public async Task AMeasureThatDoesNotFitIs400(string target, string family, string method, string measure, string message)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", System.Text.Json.JsonSerializer.Serialize(
            new { datasetId = _n300, target, features = Features, family, penalty = "lasso", lambdas = new[] { 0.1, 0.01 }, validation = new { method, measure } }));
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = body!["errors"]!.AsObject();
        Assert.Equal(["validation.measure"], errors.Select(e => e.Key));
        Assert.Contains(message, Http.Messages(errors["validation.measure"]));
    }
}
