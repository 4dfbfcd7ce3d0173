using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>Lasso and elastic-net paths, k-fold cross-validation, penalty factors and binomial fits, end to end.</summary>
public sealed class PathFitTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ALassoPathStartsWithEveryCoefficientZeroAndDecreases()
    {
        var data = Synthetic.Gaussian(200, seed: 1);
        var result = await Fit(data, new { penalty = "lasso", path = new { count = 30 } });
        var path = result["path"]!;
        var lambdas = Doubles(path["lambdas"]);
        Assert.InRange(lambdas.Length, 5, 30);
        for (int l = 1; l < lambdas.Length; l++) Assert.True(lambdas[l] < lambdas[l - 1], $"lambda {l} is {lambdas[l]}, after {lambdas[l - 1]}");
        Assert.Equal(0, path["nonZero"]![0]!.GetValue<int>());
        Assert.All(path["coefficients"]![0]!.AsObject(), c => Assert.Equal(0.0, c.Value!.GetValue<double>()));
        Assert.True(path["nonZero"]![lambdas.Length - 1]!.GetValue<int>() >= 3, "the signal features enter by the end of the path");
        Assert.Equal(lambdas.Length, path["converged"]!.AsArray().Count);
        Assert.Equal(lambdas.Length, path["devianceRatio"]!.AsArray().Count);
        Assert.Equal(1.0, result["l1Ratio"]!.GetValue<double>());
        Assert.Equal("lasso", result["penalty"]!.GetValue<string>());
        // Without validation the returned model is the last lambda's.
        Assert.Equal(lambdas[^1], result["lambda"]!.GetValue<double>());
    }

    [Fact]
    public async Task KFoldWithGivenFoldIdsReturnsThemAndChoosesAmongThePathLambdas()
    {
        var data = Synthetic.Gaussian(150, seed: 2);
        var foldIds = Enumerable.Range(0, data.Rows).Select(i => i % 5 + 1).ToArray();
        var result = await Fit(data, new
        {
            penalty = "lasso", path = new { count = 40 }, validation = new { method = "kfold", foldIds, rule = "oneStandardError" },
        });
        Assert.Equal(foldIds, result["validation"]!["foldIds"]!.AsArray().Select(f => f!.GetValue<int>()));
        Assert.Equal("kfold", result["validation"]!["method"]!.GetValue<string>());
        Assert.Equal(5, result["validation"]!["folds"]!.GetValue<int>());
        Assert.Equal(data.Rows, result["validation"]!["validationRows"]!.GetValue<int>());
        Assert.Equal(data.Rows, result["metrics"]!["validation"]!["rows"]!.GetValue<int>());
        var path = result["path"]!;
        var lambdas = Doubles(path["lambdas"]);
        double lambdaMin = path["lambdaMin"]!.GetValue<double>(), lambda1se = path["lambda1se"]!.GetValue<double>();
        Assert.Contains(lambdaMin, lambdas);
        Assert.Contains(lambda1se, lambdas);
        Assert.True(lambda1se >= lambdaMin, $"lambda1se {lambda1se} < lambdaMin {lambdaMin}");
        Assert.Equal(lambda1se, result["lambda"]!.GetValue<double>());
        var curve = path["validation"]!;
        Assert.Equal("mse", curve["measure"]!.GetValue<string>());
        Assert.Equal(lambdas.Length, curve["mean"]!.AsArray().Count);
        Assert.Equal(lambdas.Length, curve["standardError"]!.AsArray().Count);
        var mean = Doubles(curve["mean"]);
        Assert.Equal(mean.Min(), mean[Array.IndexOf(lambdas, lambdaMin)]);
    }

    [Fact]
    public async Task PredictingWithALassoPathPointGivesInterceptPlusXb()
    {
        var data = Synthetic.Gaussian(120, seed: 3);
        var (fit, result) = await FitWithId(data, new { penalty = "lasso", path = new { count = 20 } });
        var path = result["path"]!;
        int mid = path["lambdas"]!.AsArray().Count / 2;
        double lambda = path["lambdas"]![mid]!.GetValue<double>();
        var (response, body) = await Http.Send(_client, HttpMethod.Post,
            $"/v1/fits/{fit}/predict?lambda={lambda:R}", data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(lambda, body!["lambda"]!.GetValue<double>());
        PredictTests.AssertPredictions(PredictTests.Expected(data, path["intercepts"]![mid]!, path["coefficients"]![mid]!), body["predictions"]!);
    }

    [Fact]
    public async Task ABinomialElasticNetPredictsProbabilitiesOfClassOne()
    {
        var data = Synthetic.Binomial(300, seed: 4);
        var (fit, result) = await FitWithId(data, new
        {
            family = "binomial", penalty = "elasticNet", path = new { count = 20 }, validation = new { method = "kfold", folds = 5, seed = 1 },
        });
        Assert.Equal(0.5, result["l1Ratio"]!.GetValue<double>());
        var train = result["metrics"]!["train"]!;
        Assert.Equal("binomial", train["family"]!.GetValue<string>());
        Assert.InRange(train["auc"]!.GetValue<double>(), 0.6, 1.0);
        Assert.InRange(train["logLoss"]!.GetValue<double>(), 0.0, Math.Log(2));
        Assert.Equal("deviance", result["path"]!["validation"]!["measure"]!.GetValue<string>());

        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{fit}/predict", data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("binomial", body!["family"]!.GetValue<string>());
        var probabilities = Doubles(body["predictions"]);
        var classes = body["classes"]!.AsArray().Select(c => c!.GetValue<int>()).ToArray();
        Assert.Equal(data.Rows, probabilities.Length);
        Assert.All(probabilities, p => Assert.True(p > 0 && p < 1, $"probability {p}"));
        for (int i = 0; i < data.Rows; i++) Assert.Equal(probabilities[i] > 0.5 ? 1 : 0, classes[i]);
        var eta = PredictTests.Expected(data, result["intercept"]!, result["coefficients"]!);
        for (int i = 0; i < data.Rows; i++) Assert.Equal(1 / (1 + Math.Exp(-eta[i])), probabilities[i], 12);
    }

    [Fact]
    public async Task AnUnpenalizedFeatureIsNonzeroAtTheFirstPathLambda()
    {
        var data = Synthetic.Gaussian(200, seed: 5);
        var result = await Fit(data, new { penalty = "lasso", path = new { count = 10 }, penaltyFactors = new Dictionary<string, double> { ["c"] = 0 } });
        var first = result["path"]!["coefficients"]![0]!;
        Assert.NotEqual(0.0, first["c"]!.GetValue<double>());
        foreach (var name in new[] { "a", "b", "d", "e" }) Assert.Equal(0.0, first[name]!.GetValue<double>());
        Assert.Equal(1, result["path"]!["nonZero"]![0]!.GetValue<int>());
    }

    [Fact]
    public async Task RidgeLeaveOneOutScoresEveryLambdaAndPicksTheLeastLoss()
    {
        var data = Synthetic.Gaussian(80, seed: 6);
        double[] lambdas = [1, 0.1, 0.01, 0.001];
        var result = await Fit(data, new { penalty = "ridge", lambdas, validation = new { method = "loo" } });
        Assert.Equal("loo", result["validation"]!["method"]!.GetValue<string>());
        Assert.Equal(data.Rows, result["validation"]!["validationRows"]!.GetValue<int>());
        var mean = Doubles(result["path"]!["validation"]!["mean"]);
        Assert.Equal(lambdas.Length, mean.Length);
        Assert.Equal(lambdas[Array.IndexOf(mean, mean.Min())], result["path"]!["lambdaMin"]!.GetValue<double>());
        Assert.Equal(result["path"]!["lambdaMin"]!.GetValue<double>(), result["lambda"]!.GetValue<double>());
    }

    private async Task<JsonNode> Fit(Synthetic data, object settings) => (await FitWithId(data, settings)).Result;

    /// <summary>Uploads the data, fits target y with the given settings merged in, and returns the succeeded result.</summary>
    private async Task<(string Id, JsonNode Result)> FitWithId(Synthetic data, object settings)
    {
        var dataset = await Http.UploadCsv(_client, data.Csv());
        var request = System.Text.Json.JsonSerializer.SerializeToNode(settings, Http.Json)!.AsObject();
        request["datasetId"] = dataset;
        request["target"] = "y";
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body?.ToJsonString());
        var id = body!["id"]!.GetValue<string>();
        return (id, await Http.WaitForDenseResult(_client, id, TimeSpan.FromSeconds(60)));
    }

    private static double[] Doubles(JsonNode? array) => [.. array!.AsArray().Select(v => v!.GetValue<double>())];
}
