using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Family multinomial through the API against R glmnet 4.1-6 (tests/fixtures/multinom, made by tests/fixtures/make_multinom.R,
/// and tests/fixtures/multinom_wb, by make_multinom_wb.R, with weights and bounds): the classes section, the per-class path and
/// coefficients, predict's class probabilities, cv.glmnet's lambda.min and lambda.1se with fold ids (and weights), what is
/// refused (plots path and fitted, the model card), and the bad inputs.
/// </summary>
public sealed class MultinomialApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _mn3 = "", _mn5 = "", _wmn3 = "", _wmn5 = "";

    private static string Fixture(string name, string directory = "multinom")
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", directory, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/{directory}/{name} not found above the test binaries");
    }

    private static JsonElement Json(string name, string directory = "multinom") =>
        JsonDocument.Parse(File.ReadAllText(Fixture(name + ".json", directory))).RootElement;

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _mn3 = await Http.UploadCsv(_client, File.ReadAllText(Fixture("mn3_n300_p8.csv")));
        _mn5 = await Http.UploadCsv(_client, File.ReadAllText(Fixture("mn5_n400_p10.csv")));
        _wmn3 = await Http.UploadCsv(_client, File.ReadAllText(Fixture("wmn3_n300_p8.csv", "multinom_wb")));
        _wmn5 = await Http.UploadCsv(_client, File.ReadAllText(Fixture("wmn5_n400_p10.csv", "multinom_wb")));
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("mn3_lasso_ungrouped")]
    [InlineData("mn5_enet05_grouped")]
    public async Task ClassesMatchGlmnetAndServeEveryEndpoint(string name)
    {
        var fixture = Json(name);
        var lambdas = Doubles(fixture.GetProperty("lambda"));
        var labels = Doubles(fixture.GetProperty("classes"));
        var a0 = fixture.GetProperty("a0").EnumerateArray().Select(Doubles).ToArray();
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(c => c.EnumerateArray().Select(Doubles).ToArray()).ToArray();
        double alpha = fixture.GetProperty("alpha").GetDouble();
        string type = fixture.GetProperty("type").GetString()!;
        var features = fixture.GetProperty("features").EnumerateArray().Select(f => f.GetString()!).ToArray();
        string dataset = labels.Length == 3 ? _mn3 : _mn5;
        var id = await Http.Submit(_client, new
        {
            datasetId = dataset, target = "y", family = "multinomial", multinomialType = type,
            penalty = alpha == 1 ? "lasso" : "elasticNet", l1Ratio = alpha == 1 ? (double?)null : alpha, lambdas, tolerance = 1e-18,
        });
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(120), "path");
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var result = job["result"]!;
        Assert.Equal("multinomial", result["family"]!.GetValue<string>());
        var classes = result["classes"]!;
        Assert.Equal(labels, classes["labels"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Equal(type, classes["type"]!.GetValue<string>());
        int last = lambdas.Length - 1, K = labels.Length;
        var models = classes["models"]!.AsArray();
        double scale = 0;
        for (int k = 0; k < K; k++) scale = Math.Max(scale, Math.Max(Math.Abs(a0[k][last]), beta[k][last].Max(Math.Abs)));
        for (int k = 0; k < K; k++)
        {
            Assert.Equal(labels[k], models[k]!["label"]!.GetValue<double>());
            Assert.True(Math.Abs(models[k]!["intercept"]!.GetValue<double>() - a0[k][last]) <= 1e-6 * scale);
            for (int j = 0; j < features.Length; j++)
            {
                double got = models[k]!["coefficients"]![features[j]]?.GetValue<double>() ?? 0;
                Assert.True(Math.Abs(got - beta[k][last][j]) <= 1e-6 * scale, $"class {labels[k]} {features[j]}: {got} against glmnet's {beta[k][last][j]}");
            }
        }
        // The top-level model is the first class's; sparsity counts the features nonzero in any class.
        Assert.Equal(models[0]!["intercept"]!.GetValue<double>(), result["intercept"]!.GetValue<double>());
        int any = Enumerable.Range(0, features.Length).Count(j => Enumerable.Range(0, K).Any(k => beta[k][last][j] != 0));
        Assert.Equal(any, result["sparsity"]!["nonZero"]!.GetValue<int>());
        Assert.Equal(any, result["path"]!["nonZero"]!.AsArray()[last]!.GetValue<int>());
        var train = result["metrics"]!["train"]!;
        Assert.Equal("multinomial", train["family"]!.GetValue<string>());
        Assert.Equal(K, train["classAuc"]!.AsArray().Count);
        Assert.Equal(Doubles(fixture.GetProperty("dev_ratio"))[last], train["devianceRatio"]!.GetValue<double>(), 1e-6);
        var classPath = result["path"]!["classes"]!;
        Assert.Equal(lambdas.Length, classPath["intercepts"]!.AsArray().Count);
        Assert.Equal(a0[1][3], classPath["intercepts"]![3]![1]!.GetValue<double>(), 1e-6 * Math.Max(1, Math.Abs(a0[1][3])));

        // Coefficients at a path lambda: every class's.
        var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/coefficients?lambda={lambdas[5]:R}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var perClass = body!["classes"]!.AsArray();
        Assert.Equal(K, perClass.Count);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < features.Length; j++)
                Assert.True(Math.Abs(perClass[k]!["coefficients"]![features[j]]!.GetValue<double>() - beta[k][5][j]) <= 1e-6 * Math.Max(scale, 1));
        Assert.Equal(perClass[0]!["intercept"]!.GetValue<double>(), body["intercept"]!.GetValue<double>());

        // Predict: per row the class probabilities (summing to 1) and the most probable class's label; scored on the data set.
        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?datasetId={dataset}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(labels, body!["classLabels"]!.AsArray().Select(v => v!.GetValue<double>()));
        var probabilities = body["probabilities"]!.AsArray();
        var predictions = body["predictions"]!.AsArray();
        for (int i = 0; i < probabilities.Count; i++)
        {
            var row = probabilities[i]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(1.0, row.Sum(), 1e-12);
            Assert.Equal(labels[Array.IndexOf(row, row.Max())], predictions[i]!.GetValue<double>());
        }
        Assert.Equal(train["accuracy"]!.GetValue<double>(), body["metrics"]!["accuracy"]!.GetValue<double>(), 1e-12);

        // The path page carries the classes too; plots that read one predictor and the model card refuse.
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/path?offset=2&limit=3");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, body!["path"]!["classes"]!["coefficients"]!.AsArray().Count);
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/plots/path.svg");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("multinomial", body!["detail"]!.GetValue<string>());
        Assert.DoesNotContain("path", body["available"]!.AsArray().Select(v => v!.GetValue<string>()));
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/model");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("multinomial", body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task KFoldWithFoldIdsChoosesCvGlmnetsLambdas()
    {
        var fixture = Json("cv_mn3_lasso_ungrouped");
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var id = await Http.Submit(_client, new
        {
            datasetId = _mn3, target = "y", family = "multinomial", penalty = "lasso", lambdas = Doubles(fixture.GetProperty("lambda")),
            tolerance = 1e-14, validation = new { method = "kfold", foldIds, rule = "oneStandardError" },
        });
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(120));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var path = job["result"]!["path"]!;
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), path["lambdaMin"]!.GetValue<double>(), 1e-12);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), path["lambda1se"]!.GetValue<double>(), 1e-12);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), job["result"]!["lambda"]!.GetValue<double>(), 1e-12);
        Assert.Equal("deviance", path["validation"]!["measure"]!.GetValue<string>());
        Assert.Equal("multinomial", job["result"]!["metrics"]!["validation"]!["family"]!.GetValue<string>());
    }

    /// <summary>
    /// Weighted and bounded paths through the API (lowerLimits as one number and as an object with nulls): every class's model
    /// at the last lambda within 1e-6 of glmnet's, every coefficient inside its limits, and predict without the weight column.
    /// </summary>
    [Theory]
    [InlineData("wb_mn3_enet05_ungrouped_lower0")]
    [InlineData("wb_mn5_enet05_grouped_mixed")]
    public async Task WeightedAndBoundedClassesMatchGlmnet(string name)
    {
        var fixture = Json(name, "multinom_wb");
        var lambdas = Doubles(fixture.GetProperty("lambda"));
        var labels = Doubles(fixture.GetProperty("classes"));
        var a0 = fixture.GetProperty("a0").EnumerateArray().Select(Doubles).ToArray();
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(c => c.EnumerateArray().Select(Doubles).ToArray()).ToArray();
        double alpha = fixture.GetProperty("alpha").GetDouble();
        var features = fixture.GetProperty("features").EnumerateArray().Select(f => f.GetString()!).ToArray();
        var lower = fixture.GetProperty("lower").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : e.GetDouble()).ToArray();
        var upper = fixture.GetProperty("upper").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : e.GetDouble()).ToArray();
        var request = new JsonObject
        {
            ["datasetId"] = labels.Length == 3 ? _wmn3 : _wmn5, ["target"] = "y", ["weights"] = "w", ["family"] = "multinomial",
            ["multinomialType"] = fixture.GetProperty("type").GetString(), ["penalty"] = alpha == 1 ? "lasso" : "elasticNet",
            ["lambdas"] = JsonSerializer.SerializeToNode(lambdas), ["tolerance"] = 1e-18,
        };
        if (alpha < 1) request["l1Ratio"] = alpha;
        if (lower.All(l => l == 0)) request["lowerLimits"] = 0;   // one number for every feature
        else
        {
            request["lowerLimits"] = JsonSerializer.SerializeToNode(features.Select((f, j) => (f, lower[j])).ToDictionary(t => t.f, t => t.Item2));
            request["upperLimits"] = JsonSerializer.SerializeToNode(features.Select((f, j) => (f, upper[j])).ToDictionary(t => t.f, t => t.Item2));
        }
        var id = await Http.Submit(_client, request);
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(180));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var result = job["result"]!;
        Assert.DoesNotContain("w", result["coefficients"]!.AsObject().Select(p => p.Key));
        var models = result["classes"]!["models"]!.AsArray();
        int last = lambdas.Length - 1, K = labels.Length;
        double scale = 0;
        for (int k = 0; k < K; k++) scale = Math.Max(scale, Math.Max(Math.Abs(a0[k][last]), beta[k][last].Max(Math.Abs)));
        for (int k = 0; k < K; k++)
        {
            Assert.True(Math.Abs(models[k]!["intercept"]!.GetValue<double>() - a0[k][last]) <= 1e-6 * scale);
            for (int j = 0; j < features.Length; j++)
            {
                double got = models[k]!["coefficients"]![features[j]]?.GetValue<double>() ?? 0;
                Assert.True(Math.Abs(got - beta[k][last][j]) <= 1e-6 * scale, $"class {labels[k]} {features[j]}: {got} against glmnet's {beta[k][last][j]}");
                Assert.InRange(got, (lower[j] ?? double.NegativeInfinity) - 1e-12, (upper[j] ?? double.PositiveInfinity) + 1e-12);
            }
        }
        Assert.Equal(Doubles(fixture.GetProperty("dev_ratio"))[last], result["metrics"]!["train"]!["devianceRatio"]!.GetValue<double>(), 1e-6);
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict",
            string.Join(",", features) + "\n" + string.Join(",", features.Select(_ => "0.5")) + "\n", "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(1.0, body!["probabilities"]![0]!.AsArray().Sum(v => v!.GetValue<double>()), 1e-12);
    }

    /// <summary>cv.glmnet with weights and fold ids: lambda.min and lambda.1se through the API.</summary>
    [Fact]
    public async Task WeightedKFoldChoosesCvGlmnetsLambdas()
    {
        var fixture = Json("cv_w_mn3_lasso_ungrouped", "multinom_wb");
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var id = await Http.Submit(_client, new
        {
            datasetId = _wmn3, target = "y", weights = "w", family = "multinomial", penalty = "lasso", lambdas = Doubles(fixture.GetProperty("lambda")),
            tolerance = 1e-14, validation = new { method = "kfold", foldIds },
        });
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(180));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var path = job["result"]!["path"]!;
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), path["lambdaMin"]!.GetValue<double>(), 1e-12);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), path["lambda1se"]!.GetValue<double>(), 1e-12);
        var cvm = Doubles(fixture.GetProperty("cvm"));
        var mean = path["validation"]!["mean"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int l = 0; l < cvm.Length; l++) Assert.Equal(cvm[l], mean[l], cvm[l] * 1e-5);
    }

    private async Task<JsonNode> Fault(string csv, object extra, string field)
    {
        var dataset = csv.Length == 0 ? _mn3 : await Http.UploadCsv(_client, csv);
        var request = JsonNode.Parse(JsonSerializer.Serialize(extra))!.AsObject();
        request["datasetId"] = dataset;
        request["target"] = "y";
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.True(body!["errors"]![field] is not null, body.ToJsonString());
        return body["errors"]![field]!;
    }

    [Fact]
    public async Task BadMultinomialRequestsAre400NamingTheField()
    {
        Assert.Contains("constant", Http.Messages(await Fault("x,y\n1,3\n2,3\n3,3\n4,3\n", new { family = "multinomial", penalty = "lasso", lambda = 0.1 }, "target")));
        Assert.Contains("class 9", Http.Messages(await Fault("x,y\n1,3\n2,3\n3,4\n4,4\n5,9\n", new { family = "multinomial", penalty = "lasso", lambda = 0.1 }, "target")));
        await Fault("", new { family = "multinomial", penalty = "lasso", lambda = 0.1, solver = "proximalGradient" }, "solver");
        await Fault("", new { family = "multinomial", penalty = "lasso", lambda = 0.1, solver = "sgd" }, "solver");
        await Fault("", new { family = "multinomial", penalty = "lasso", lambda = 0.1, solver = "closedForm" }, "solver");
        await Fault("", new { family = "multinomial", penalty = "ridge", lambdas = new[] { 1.0, 0.1 }, validation = new { method = "loo" } }, "validation.method");
        await Fault("", new { family = "multinomial", penalty = "lasso", lambda = 0.1, model = "mlp" }, "model");
        Assert.Contains("n x K", Http.Messages(await Fault("", new { family = "multinomial", penalty = "lasso", lambda = 0.1, offset = "x1" }, "offset")));
        await Fault("", new { penalty = "lasso", lambda = 0.1, multinomialType = "grouped" }, "multinomialType");
        // Weights: a negative one (the row named), a class whose rows all weigh 0 (on all rows, or outside a fold).
        const string Weighted = "x,w,y\n1,1,3\n2,1,3\n3,-1,4\n4,1,4\n5,2,7\n6,1,7\n7,1,3\n8,1,4\n";
        Assert.Contains("row 3", Http.Messages(await Fault(Weighted, new { family = "multinomial", penalty = "lasso", lambda = 0.1, weights = "w" }, "weights")));
        Assert.Contains("class 7", Http.Messages(await Fault(Weighted.Replace("-1,4", "1,4").Replace("2,7", "0,7").Replace("6,1,7", "6,0,7"),
            new { family = "multinomial", penalty = "lasso", lambda = 0.1, weights = "w" }, "weights")));
        Assert.Contains("fold 1", Http.Messages(await Fault("x,w,y\n1,1,3\n2,1,3\n3,1,3\n4,1,3\n5,1,4\n6,1,4\n7,1,4\n8,1,4\n9,1,7\n10,0,7\n11,1,7\n12,0,7\n", new
        {
            family = "multinomial", penalty = "lasso", lambdas = new[] { 0.1, 0.01 }, weights = "w",
            validation = new { method = "kfold", foldIds = new[] { 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 } },
        }, "weights")));
        // Bounds: glmnet's lower <= 0 <= upper, per feature or one number, grouped or not.
        Assert.Contains("lower limits must be <= 0", Http.Messages(await Fault("", new { family = "multinomial", penalty = "lasso", lambda = 0.1, lowerLimits = new { x1 = 0.5 } }, "lowerLimits.x1")));
        Assert.Contains("upper limits must be >= 0", Http.Messages(await Fault("", new { family = "multinomial", multinomialType = "grouped", penalty = "lasso", lambda = 0.1, upperLimits = -1 }, "upperLimits")));
        await Fault("", new { penalty = "lasso", lambda = 0.1, multinomialType = "ungrouped" }, "multinomialType");
        // A fold whose training rows hold one row of a class: glmnet refuses that fold's fit.
        await Fault("x,y\n1,3\n2,3\n3,4\n4,4\n5,7\n6,7\n7,3\n8,4\n", new
        {
            family = "multinomial", penalty = "lasso", lambdas = new[] { 0.1, 0.01 },
            validation = new { method = "kfold", foldIds = new[] { 1, 2, 1, 2, 1, 2, 2, 1 } },
        }, "validation.method");
    }
}
