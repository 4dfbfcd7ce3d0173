using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The request's <c>relax</c> (glmnet's relax = TRUE) through the API, against R glmnet 4.1.6's fixtures
/// (tests/fixtures/relax, made by tests/fixtures/make_relax.R): the relaxed section and cv.glmnet's (lambda, gamma) choice,
/// coefficients and predict at any (lambda, gamma), and every bad input as a 400 naming its field.
/// </summary>
public sealed class RelaxedFitApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _dataset = "";
    private string _csv = "";
    private static readonly string[] Features = [.. Enumerable.Range(1, 10).Select(j => $"x{j}")];

    private static string Fixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "relax");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures/relax not found above the test binaries");
    }

    private static JsonElement Fixture(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures(), name + ".json"))).RootElement;

    private static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _csv = File.ReadAllText(Path.Combine(Fixtures(), "gauss_n150_p10.csv"));
        _dataset = await Http.UploadCsv(_client, _csv);
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonNode> Problem(string url, string? body = null)
    {
        var (response, problem) = await Http.Send(_client, body is null ? HttpMethod.Get : HttpMethod.Post, url, body);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {problem?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return problem!["errors"]!;
    }

    private string Request(string extra, string penalty = "lasso") =>
        $$"""{"datasetId":"{{_dataset}}","target":"y","features":{{JsonSerializer.Serialize(Features)}},"penalty":"{{penalty}}","lambda":0.1{{extra}}}""";

    private async Task<string> Fault(string field, string extra, string penalty = "lasso") =>
        Http.Messages((await Problem("/v1/fits", Request(extra, penalty)))[field]);

    [Fact]
    public async Task BadRelaxRequestsAre400NamingTheField()
    {
        Assert.Contains("lasso or elasticNet", await Fault("relax", ",\"relax\":{}", "ridge"));
        Assert.Contains("solver proximalGradient", await Fault("relax", ",\"relax\":{},\"solver\":\"proximalGradient\""));
        Assert.Contains("must be in [0, 1]", await Fault("relax.gamma[1]", ",\"relax\":{\"gamma\":[0.5,1.5]}"));
        Assert.Contains("given twice", await Fault("relax.gamma[1]", ",\"relax\":{\"gamma\":[0.5,0.5]}"));
        Assert.Contains("at least one gamma", await Fault("relax.gamma", ",\"relax\":{\"gamma\":[]}"));

        // gamma on a fit without relax, and a bad gamma on a relaxed fit.
        var plain = await Http.Submit(_client, JsonNode.Parse(Request(""))!);
        await Http.WaitForDenseResult(_client, plain);
        Assert.Contains("applies to a relaxed fit", Http.Messages((await Problem($"/v1/fits/{plain}/coefficients?gamma=0.5"))["gamma"]));
        var relaxed = await Http.Submit(_client, JsonNode.Parse(Request(",\"relax\":{}"))!);
        var result = await Http.WaitForDenseResult(_client, relaxed);
        Assert.Equal(1.0, result["relaxed"]!["gamma"]!.GetValue<double>());
        Assert.Contains("must be a number in [0, 1]", Http.Messages((await Problem($"/v1/fits/{relaxed}/coefficients?gamma=2"))["gamma"]));
        Assert.Contains("gammaMin of a validated fit", Http.Messages((await Problem($"/v1/fits/{relaxed}/coefficients?gamma=min"))["gamma"]));
    }

    /// <summary>The relaxed path at every gamma through the result, coefficients and predict, within 1e-6 of glmnet's coef(fit, s, gamma).</summary>
    [Fact]
    public async Task RelaxedCoefficientsAndPredictionsMatchGlmnet()
    {
        var fixture = Fixture("gauss_lasso");
        var lambdas = Doubles(fixture.GetProperty("lambda"));
        var id = await Http.Submit(_client, new
        {
            datasetId = _dataset, target = "y", features = Features, penalty = "lasso", lambdas, tolerance = 1e-16,
            relax = new { gamma = new[] { 1, 0.5, 0.25, 0, 0.75 } },
        });
        var result = await Http.WaitForDenseResult(_client, id);
        var relaxed = result["relaxed"]!;
        Assert.Equal([0, 0.25, 0.5, 0.75, 1], relaxed["gammas"]!.AsArray().Select(g => g!.GetValue<double>()));
        var paths = relaxed["paths"]!.AsArray();
        var rows = _csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(5)
            .Select(r => r.Split(',').Take(10).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        string body = JsonSerializer.Serialize(new { columns = Features.Select((f, j) => (f, j)).ToDictionary(c => c.f, c => rows.Select(r => r[c.j]).ToArray()) });

        foreach (var (perGamma, g) in fixture.GetProperty("relaxed").EnumerateArray().Select((e, g) => (e, g)))
        {
            double gamma = perGamma.GetProperty("gamma").GetDouble();
            var a0 = Doubles(perGamma.GetProperty("a0"));
            var beta = perGamma.GetProperty("beta").EnumerateArray().Select(Doubles).ToArray();
            Assert.Equal(gamma, paths[g]!["gamma"]!.GetValue<double>());
            foreach (int l in new[] { 2, 9, lambdas.Length - 1 })
            {
                double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
                // The result's relaxed section, per gamma and lambda.
                Assert.Equal(a0[l], paths[g]!["intercepts"]![l]!.GetValue<double>(), 1e-6 * scale);
                var sparse = paths[g]!["coefficients"]![l]!;
                var dense = new double[10];
                foreach (var (index, value) in sparse["indices"]!.AsArray().Zip(sparse["values"]!.AsArray()))
                    dense[index!.GetValue<int>()] = value!.GetValue<double>();
                for (int j = 0; j < 10; j++) Assert.True(Math.Abs(dense[j] - beta[l][j]) <= 1e-6 * scale, $"gamma {gamma} lambda {l} x{j + 1}");

                // The coefficients endpoint at (lambda, gamma).
                string at = $"lambda={lambdas[l].ToString("R", CultureInfo.InvariantCulture)}&gamma={gamma.ToString(CultureInfo.InvariantCulture)}";
                var (response, coefficients) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/coefficients?{at}");
                Assert.True(response.StatusCode == HttpStatusCode.OK, coefficients?.ToJsonString());
                Assert.Equal(gamma, coefficients!["gamma"]!.GetValue<double>());
                Assert.Equal(a0[l], coefficients["intercept"]!.GetValue<double>(), 1e-6 * scale);
                for (int j = 0; j < 10; j++) Assert.Equal(beta[l][j], coefficients["coefficients"]![Features[j]]!.GetValue<double>(), 1e-6 * scale);

                // Predict at (lambda, gamma): b0 + x.b with glmnet's coefficients.
                (response, var predicted) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?{at}", body);
                Assert.True(response.StatusCode == HttpStatusCode.OK, predicted?.ToJsonString());
                for (int i = 0; i < rows.Length; i++)
                {
                    double expected = a0[l];
                    for (int j = 0; j < 10; j++) expected += rows[i][j] * beta[l][j];
                    Assert.Equal(expected, predicted!["predictions"]![i]!.GetValue<double>(), 1e-5 * scale);
                }
            }
        }
    }

    /// <summary>
    /// A binomial path whose later active sets separate the classes (make_relax_separable.R): through the API, relaxed.refitted is
    /// false exactly where they separate (and at glmnet's one failed refit), one warning names those lambdas, and gamma 0 and 0.5 at
    /// lambdas with a maximum likelihood agree with glmnet 4.1.6 (within 1e-6 plus glmnet's own distance from glm's).
    /// </summary>
    [Fact]
    public async Task SeparableRefitsAreNamedNotRefittedAndTheRestMatchGlmnet()
    {
        var fixture = Fixture("binom_separable");
        var lambdas = Doubles(fixture.GetProperty("lambda"));
        var separable = Doubles(fixture.GetProperty("separable"));
        var undefined = Doubles(fixture.GetProperty("undefined"));
        var glmGap = Doubles(fixture.GetProperty("glm_gap"));
        var features = fixture.GetProperty("features").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var dataset = await Http.UploadCsv(_client, File.ReadAllText(Path.Combine(Fixtures(), "binom_separable_n100_p60.csv")));
        var id = await Http.Submit(_client, new
        {
            datasetId = dataset, target = "y", features, family = "binomial", penalty = "lasso", lambdas, tolerance = 1e-16,
            relax = new { gamma = new[] { 0, 0.25, 0.5, 0.75, 1 } },
        });
        var result = await Http.WaitForDenseResult(_client, id);
        var refitted = result["relaxed"]!["refitted"]!.AsArray().Select(r => r!.GetValue<bool>()).ToArray();
        for (int l = 0; l < lambdas.Length; l++)
            Assert.True(refitted[l] == (separable[l] == 0), $"lambda {l}: refitted {refitted[l]}, separable {separable[l]}");
        var warnings = result["diagnostics"]!["warnings"]!.AsArray().Select(w => w!.GetValue<string>()).ToArray();
        var warning = Assert.Single(warnings, w => w.Contains("separate the two classes", StringComparison.Ordinal));
        Assert.Contains(lambdas[Array.IndexOf(separable, 1.0)].ToString("G6", CultureInfo.InvariantCulture), warning);

        var paths = result["relaxed"]!["paths"]!.AsArray();
        foreach (var (perGamma, g) in fixture.GetProperty("relaxed").EnumerateArray().Select((e, g) => (e, g)))
        {
            double gamma = perGamma.GetProperty("gamma").GetDouble();
            if (gamma is not (0 or 0.5)) continue;
            var a0 = Doubles(perGamma.GetProperty("a0"));
            var beta = perGamma.GetProperty("beta").EnumerateArray().Select(Doubles).ToArray();
            for (int l = 1; l < lambdas.Length; l++)
            {
                if (separable[l] == 1 || undefined[l] == 1) continue;
                double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l])), tol = (1e-6 + glmGap[l]) * scale;
                Assert.Equal(a0[l], paths[g]!["intercepts"]![l]!.GetValue<double>(), tol);
                var sparse = paths[g]!["coefficients"]![l]!;
                var dense = new double[features.Length];
                foreach (var (index, value) in sparse["indices"]!.AsArray().Zip(sparse["values"]!.AsArray()))
                    dense[index!.GetValue<int>()] = value!.GetValue<double>();
                for (int j = 0; j < features.Length; j++) Assert.True(Math.Abs(dense[j] - beta[l][j]) <= tol, $"gamma {gamma} lambda {l} {features[j]}");
            }
        }
    }

    /// <summary>cv.glmnet(relax = TRUE, foldid): relaxed lambdaMin/gammaMin and lambda1se/gamma1se equal; the returned model is the rule's pair.</summary>
    [Theory]
    [InlineData("min")]
    [InlineData("oneStandardError")]
    public async Task CrossValidationChoosesGlmnetsLambdaAndGamma(string rule)
    {
        var fixture = Fixture("gauss_lasso_cv");
        var foldIds = _csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(r => int.Parse(r.Split(',')[11], CultureInfo.InvariantCulture)).ToArray();
        var id = await Http.Submit(_client, new
        {
            datasetId = _dataset, target = "y", features = Features, penalty = "lasso", lambdas = Doubles(fixture.GetProperty("lambda")),
            tolerance = 1e-16, relax = new { }, validation = new { method = "kfold", foldIds, rule },
        });
        var result = await Http.WaitForDenseResult(_client, id);
        var relaxed = result["relaxed"]!;
        double lambdaMin = fixture.GetProperty("relaxed_lambda_min").GetDouble(), gammaMin = fixture.GetProperty("relaxed_gamma_min").GetDouble();
        double lambda1se = fixture.GetProperty("relaxed_lambda_1se").GetDouble(), gamma1se = fixture.GetProperty("relaxed_gamma_1se").GetDouble();
        Assert.Equal(lambdaMin, relaxed["lambdaMin"]!.GetValue<double>(), 1e-12);
        Assert.Equal(gammaMin, relaxed["gammaMin"]!.GetValue<double>());
        Assert.Equal(lambda1se, relaxed["lambda1se"]!.GetValue<double>(), 1e-12);
        Assert.Equal(gamma1se, relaxed["gamma1se"]!.GetValue<double>());
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), result["path"]!["lambdaMin"]!.GetValue<double>(), 1e-12);
        var (lambda, gamma) = rule == "min" ? (lambdaMin, gammaMin) : (lambda1se, gamma1se);
        Assert.Equal(lambda, result["lambda"]!.GetValue<double>(), 1e-12);
        Assert.Equal(gamma, relaxed["gamma"]!.GetValue<double>());
        var cvm = Doubles(fixture.GetProperty("curves")[0].GetProperty("cvm"));
        var mean = relaxed["paths"]![0]!["validation"]!["mean"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int l = 0; l < cvm.Length; l++) Assert.Equal(cvm[l], mean[l], 1e-6 * cvm[l]);

        // ?lambda=min goes with gammaMin (predict.cv.relaxed); the returned model is the coefficients without a query.
        var (_, atMin) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/coefficients?lambda=min");
        Assert.Equal(gammaMin, atMin!["gamma"]!.GetValue<double>());
        Assert.Equal(lambdaMin, atMin["lambda"]!.GetValue<double>(), 1e-12);
        var (_, returned) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{id}/coefficients");
        foreach (var f in Features)
            Assert.Equal(result["coefficients"]![f]!.GetValue<double>(), returned!["coefficients"]![f]!.GetValue<double>(), 1e-12);
    }
}
