using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Storage;

namespace RegService.Api.Tests;

/// <summary>POST /v1/fits/{id}/predict on a ridge fit (closed form), plus the outcomes that need no fit.</summary>
public sealed class PredictTests : IAsyncLifetime
{
    private static readonly string[] Features = ["a", "b", "c", "d", "e"];
    private readonly ApiFactory _factory = new(workers: 1);
    private readonly Synthetic _data = Synthetic.Gaussian(60, seed: 5);
    private HttpClient _client = null!;
    private string _fit = "";
    private JsonNode _result = null!;

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        var dataset = await Http.UploadCsv(_client, _data.Csv());
        _fit = await Http.Submit(_client, new { datasetId = dataset, target = "y", penalty = "ridge", lambdas = new[] { 1, 0.1, 0.01 } });
        _result = await Http.WaitForDenseResult(_client, _fit);
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PredictingGivesInterceptPlusXbOfTheReturnedModel()
    {
        // Columns in another order than the fit's: matched by name.
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict", _data.Csv("e", "d", "c", "b", "a"), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(_fit, body!["fitId"]!.GetValue<string>());
        Assert.Equal(_result["lambda"]!.GetValue<double>(), body["lambda"]!.GetValue<double>());
        Assert.Equal(60, body["rows"]!.GetValue<int>());
        Assert.Equal("gaussian", body["family"]!.GetValue<string>());
        Assert.Null(body["classes"]);
        AssertPredictions(Expected(_data, _result["intercept"]!, _result["coefficients"]!), body["predictions"]!);
    }

    [Fact]
    public async Task PredictingAtAPathLambdaUsesThatPointsModel()
    {
        // JSON columns form, and a lambda within the 1e-9 relative tolerance of the first path lambda (1).
        var columns = new JsonObject();
        foreach (var name in Features) columns[name] = new JsonArray([.. _data.Column(name).Select(v => (JsonNode)v)]);
        var json = new JsonObject { ["columns"] = columns }.ToJsonString();
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict?lambda=1.0000000001", json);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(1.0, body!["lambda"]!.GetValue<double>());
        var path = _result["path"]!;
        AssertPredictions(Expected(_data, path["intercepts"]![0]!, path["coefficients"]![0]!), body["predictions"]!);
        Assert.NotEqual(_result["intercept"]!.GetValue<double>(), path["intercepts"]![0]!.GetValue<double>());
    }

    [Fact]
    public async Task ALambdaBetweenPathLambdasInterpolatesLinearlyInLambdaAsGlmnet()
    {
        // 0.5 lies between path lambdas 1 and 0.1: glmnet's weight of the larger is (0.5 - 0.1) / (1 - 0.1).
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict?lambda=0.5", _data.Csv(Features), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(0.5, body!["lambda"]!.GetValue<double>());
        Assert.True(body["interpolated"]!.GetValue<bool>());
        var path = _result["path"]!;
        double w = (0.5 - 0.1) / (1 - 0.1);
        var left = Expected(_data, path["intercepts"]![0]!, path["coefficients"]![0]!);
        var right = Expected(_data, path["intercepts"]![1]!, path["coefficients"]![1]!);
        AssertPredictions([.. left.Select((l, i) => w * l + (1 - w) * right[i])], body["predictions"]!);

        var (bad, problem) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict?lambda=big", _data.Csv(Features), "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("must be a number >= 0, min or 1se; got 'big'", Http.Messages(problem!["errors"]!["lambda"]));
    }

    [Fact]
    public async Task AMissingColumnIsNamed()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict", _data.Csv("a", "c", "d", "e"), "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = body!["errors"]!.AsObject();
        Assert.Equal(["columns.b"], errors.Select(e => e.Key));
        Assert.Contains("'b' is missing: the columns must be exactly the fit's features ('a', 'b', 'c', 'd', 'e')", Http.Messages(errors["columns.b"]));
    }

    [Fact]
    public async Task AnExtraColumnIsNamedAndTheTargetIsCalledExtraToo()
    {
        var lines = _data.Csv("a", "b", "c", "d", "e", "y").TrimEnd('\n').Split('\n');
        var csv = lines[0] + ",z\n" + string.Concat(lines.Skip(1).Select(line => line + ",1\n"));
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict", csv, "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = body!["errors"]!.AsObject();
        Assert.Equal(["columns.y", "columns.z"], errors.Select(e => e.Key).Order());
        Assert.Contains("'y' is the fit's target, so it is an extra column here", Http.Messages(errors["columns.y"]));
        Assert.Contains("'z' is an extra column, not a feature of the fit", Http.Messages(errors["columns.z"]));
    }

    [Fact]
    public async Task BadCsvGivesTheSameProblemDetailsAsAnUpload()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict", "a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,x\n", "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("The rows could not be read", body!["title"]!.GetValue<string>());
        Assert.Contains("line 3", body["detail"]!.GetValue<string>());
        Assert.Equal(3, body["line"]!.GetValue<int>());
        Assert.Equal("e", body["column"]!.GetValue<string>());
    }

    [Fact]
    public async Task PredictingTakesCsvOrJsonOnly()
    {
        var (response, _) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict", "a=1", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task AnUnknownFitAnswers404()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits/nope/predict", _data.Csv(Features), "text/csv");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no fit with id 'nope'", body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFitNotFinishedAnswers409WithItsStatus()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, _data.Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 1 });
        var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict", _data.Csv(Features), "text/csv");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains($"fit {fit} is queued; only a succeeded fit can predict", body!["detail"]!.GetValue<string>());
        Assert.Equal("queued", body["fitStatus"]!.GetValue<string>());
    }

    [Fact]
    public async Task ABodyAboveTheUploadLimitAnswers413()
    {
        using var factory = new ApiFactory(workers: 1, maxUploadBytes: 64);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 1 });
        Assert.Equal("succeeded", (await Http.WaitForFit(client, fit))["status"]!.GetValue<string>());
        var csv = "x\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"{i}\n"));
        var (response, _) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict", csv, "text/csv");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    /// <summary>intercept + x.b per row, from a returned model's coefficients by name.</summary>
    internal static double[] Expected(Synthetic data, JsonNode intercept, JsonNode coefficients)
    {
        var expected = new double[data.Rows];
        for (int i = 0; i < data.Rows; i++)
        {
            double eta = intercept.GetValue<double>();
            foreach (var (name, b) in coefficients.AsObject()) eta += b!.GetValue<double>() * data.Column(name)[i];
            expected[i] = eta;
        }
        return expected;
    }

    internal static void AssertPredictions(double[] expected, JsonNode predictions)
    {
        var actual = predictions.AsArray().Select(p => p!.GetValue<double>()).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])),
                $"row {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}

/// <summary>Results stored by an earlier version stay readable.</summary>
public sealed class StoredResultTests
{
    [Fact]
    public async Task AResultStoredBeforeMetricsNamedTheirFamilyStillReadsAndPredicts()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        var fits = factory.Services.GetRequiredService<IFitStore>();
        var claimed = await fits.TryClaimNextAsync("test", TimeSpan.FromMinutes(1), CancellationToken.None);
        // The shape an earlier version stored: gaussian metrics without "family", no per-lambda diagnostics.
        fits.Succeed(fit, claimed!.LeaseToken!, """
            {"status":"converged","family":"gaussian","penalty":"ridge","l1Ratio":0,"lambda":0.1,"intercept":0.5,
             "coefficients":{"x":1.5},"standardizedCoefficients":{"x":1.2},"featureMeans":{"x":2},"featureScales":{"x":0.8},
             "sparsity":{"nonZero":1,"total":1,"fractionZero":0,"selected":["x"]},
             "metrics":{"train":{"rows":3,"mse":0.1,"rmse":0.3,"mae":0.2,"r2":0.9}},
             "path":{"lambdas":[0.1],"nonZero":[1],"intercepts":[0.5],"coefficients":[{"x":1.5}]},
             "diagnostics":{"solver":"closedFormRidge","iterations":0,"converged":true,"warnings":[],"timings":{"total":0.01}}}
            """);
        var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
        Assert.Equal("gaussian", job["result"]!["metrics"]!["train"]!["family"]!.GetValue<string>());
        Assert.Equal(0.1, job["result"]!["metrics"]!["train"]!["mse"]!.GetValue<double>());
        var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict", "x\n2\n", "text/csv");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3.5, body!["predictions"]![0]!.GetValue<double>());
    }
}
