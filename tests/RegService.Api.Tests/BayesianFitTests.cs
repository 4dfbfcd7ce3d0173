using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Model bayesianRidge through the API against scikit-learn's BayesianRidge on its diabetes data (tests/fixtures/sklearn,
/// made by tests/fixtures/make_bayes_fixtures.py), predict's returnStd, the prior section of linear fits, and the bad inputs.
/// </summary>
public sealed class BayesianFitTests : IAsyncLifetime
{
    private const double Relative = 1e-6;
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private JsonNode _fixture = null!;
    private string _dataset = "";
    private int _p;

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _fixture = JsonNode.Parse(File.ReadAllText(Fixture("bayes_diabetes.json")))!;
        _p = _fixture["p"]!.GetValue<int>();
        _dataset = await Http.UploadCsv(_client, Csv(_fixture["x"]!.AsArray(), _fixture["y"]!.AsArray()));
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private static string Fixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "sklearn", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/sklearn/{name} not found above the test binaries");
    }

    private string Csv(JsonArray rows, JsonArray? y)
    {
        var sb = new StringBuilder(string.Join(",", Enumerable.Range(1, _p).Select(j => $"x{j}")) + (y is null ? "" : ",y") + "\n");
        for (int i = 0; i < rows.Count; i++)
        {
            var values = rows[i]!.AsArray().Select(v => v!.GetValue<double>().ToString("R", CultureInfo.InvariantCulture));
            sb.Append(string.Join(",", values));
            if (y is not null) sb.Append(',').Append(y[i]!.GetValue<double>().ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void Close(double expected, double actual, string what, double scale = 0)
    {
        double bound = Relative * Math.Max(Math.Abs(expected), scale);
        Assert.True(Math.Abs(actual - expected) <= bound, $"{what}: expected {expected:R}, got {actual:R}");
    }

    private static double[] Doubles(JsonNode node) => [.. node.AsArray().Select(v => v!.GetValue<double>())];

    private async Task<(HttpStatusCode Status, JsonNode? Body)> Post(object request)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", System.Text.Json.JsonSerializer.Serialize(request, Http.Json));
        return (response.StatusCode, body);
    }

    [Fact]
    public async Task BayesianRidgeAgreesWithScikitLearnAndPredictsItsStandardDeviation()
    {
        var id = await Http.Submit(_client, new { datasetId = _dataset, target = "y", model = "bayesianRidge", standardize = false });
        var job = await Http.WaitForFit(_client, id);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var result = job["result"]!;
        var bayesian = result["bayesian"]!;
        Close(_fixture["alpha_"]!.GetValue<double>(), bayesian["alpha"]!.GetValue<double>(), "alpha_");
        Close(_fixture["lambda_"]!.GetValue<double>(), bayesian["lambda"]!.GetValue<double>(), "lambda_");
        Assert.Equal(_fixture["n_iter_"]!.GetValue<int>(), bayesian["iterations"]!.GetValue<int>());
        Assert.True(bayesian["converged"]!.GetValue<bool>());
        Assert.Equal(1e-3, bayesian["settings"]!["tolerance"]!.GetValue<double>());
        Assert.Equal(_fixture["scores_"]!.AsArray().Count, bayesian["logMarginalLikelihood"]!.AsArray().Count);

        var coef = Doubles(_fixture["coef_"]!);
        var sigma = Doubles(_fixture["sigma_diag"]!);
        double largest = coef.Max(Math.Abs);
        for (int j = 0; j < _p; j++)
        {
            Close(coef[j], result["coefficients"]![$"x{j + 1}"]!.GetValue<double>(), $"coef_[{j}]", largest);
            double sd = bayesian["coefficientStd"]![$"x{j + 1}"]!.GetValue<double>();
            Close(sigma[j], sd * sd, $"sigma_[{j},{j}]");
        }
        Close(_fixture["intercept_"]!.GetValue<double>(), result["intercept"]!.GetValue<double>(), "intercept_", largest);
        var prior = result["prior"]!;
        Assert.Equal("gaussian", prior["kind"]!.GetValue<string>());
        Assert.Equal("evidence", prior["source"]!.GetValue<string>());
        Assert.Equal("original", prior["scale"]!.GetValue<string>());

        var rows = Csv(_fixture["x_test"]!.AsArray(), null);
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?returnStd=true", rows, "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var mean = Doubles(_fixture["predict_mean"]!);
        var std = Doubles(_fixture["predict_std"]!);
        for (int i = 0; i < mean.Length; i++)
        {
            Close(mean[i], body!["predictions"]![i]!.GetValue<double>(), $"predict[{i}]");
            Close(std[i], body["std"]![i]!.GetValue<double>(), $"std[{i}]");
        }
        var (plain, without) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict", rows, "text/csv");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Null(without!["std"]);
    }

    [Fact]
    public async Task EveryLinearFitSaysWhichPriorItCorrespondsTo()
    {
        var ridge = await Http.WaitForFit(_client, await Http.Submit(_client, new { datasetId = _dataset, target = "y", penalty = "ridge", lambda = 0.1 }));
        var prior = ridge["result"]!["prior"]!;
        Assert.Equal("gaussian", prior["kind"]!.GetValue<string>());
        Assert.Equal("map", prior["source"]!.GetValue<string>());
        Assert.Equal("standardized", prior["scale"]!.GetValue<string>());
        double sigma2 = prior["noiseVariance"]!.GetValue<double>();
        Assert.Equal(sigma2 / (442 * 0.1), prior["gaussianVariance"]!.GetValue<double>(), 9);
        Assert.InRange(prior["degreesOfFreedom"]!.GetValue<double>(), 1, 1 + _p);
        Assert.Null(prior["laplaceScale"]);

        var lasso = await Http.WaitForFit(_client, await Http.Submit(_client, new { datasetId = _dataset, target = "y", penalty = "lasso", lambda = 1.0 }));
        var laplace = lasso["result"]!["prior"]!;
        Assert.Equal("laplace", laplace["kind"]!.GetValue<string>());
        int nonZero = lasso["result"]!["sparsity"]!["nonZero"]!.GetValue<int>();
        Assert.Equal(1 + nonZero, laplace["degreesOfFreedom"]!.GetValue<double>());
    }

    [Fact]
    public async Task ReturnStdOnALassoFitIsRefusedNamingIt()
    {
        var id = await Http.Submit(_client, new { datasetId = _dataset, target = "y", penalty = "lasso", lambda = 1.0 });
        await Http.WaitForFit(_client, id);
        var rows = Csv(_fixture["x_test"]!.AsArray(), null);
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?returnStd=true", rows, "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("only model bayesianRidge has", Http.Messages(body!["errors"]!["returnStd"]));
        var (maybe, text) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?returnStd=maybe", rows, "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, maybe.StatusCode);
        Assert.Contains("must be true or false; got 'maybe'", Http.Messages(text!["errors"]!["returnStd"]));
    }

    [Fact]
    public async Task BadBayesianRequestsAreProblemDetailsNamingTheField()
    {
        var csv = "a,b,y\n" + string.Join("\n", Enumerable.Range(0, 20).Select(i => $"{i},{(i * 7) % 5},{i % 2}")) + "\n";
        var binary = await Http.UploadCsv(_client, csv);
        var (status, body) = await Post(new { datasetId = binary, target = "y", family = "binomial", model = "bayesianRidge" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model bayesianRidge is a gaussian model", Http.Messages(body!["errors"]!["family"]));

        (status, body) = await Post(new { datasetId = _dataset, target = "y", model = "bayesianRidge", bayesian = new { alpha1 = -1.0, maxIterations = 0 } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("must be a finite number >= 0", Http.Messages(body!["errors"]!["bayesian.alpha1"]));
        Assert.Contains("must be from 1 to", Http.Messages(body["errors"]!["bayesian.maxIterations"]));

        (status, body) = await Post(new { datasetId = _dataset, target = "y", model = "bayesianRidge", lambda = 0.1, tolerance = 1e-9, penalty = "lasso" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = body!["errors"]!.AsObject();
        Assert.Contains("give no lambda", Http.Messages(errors["lambda"]));
        Assert.Contains("bayesian.tolerance", Http.Messages(errors["tolerance"]));
        Assert.Contains("penalty lasso does not apply", Http.Messages(errors["penalty"]));

        (status, body) = await Post(new { datasetId = _dataset, target = "y", bayesian = new { alpha1 = 1.0 } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("applies to model bayesianRidge only", Http.Messages(body!["errors"]!["bayesian"]));
    }
}
