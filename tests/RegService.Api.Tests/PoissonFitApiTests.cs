using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Family poisson, observation weights on the proximal-Newton families and the request's <c>offset</c> through the API:
/// glmnet's coefficients (tests/fixtures/glmnet_glm, made by tests/fixtures/make_glmnet_glm_fixtures.R) at one of its
/// lambdas, the poisson metrics, predict's mean e^eta with the offset column (or zeroOffset), the fitted plot, and the bad
/// inputs (400 naming the field and the row).
/// </summary>
public sealed class PoissonFitApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _dataset = "", _csv = "";
    private static readonly string[] Features = [.. Enumerable.Range(1, 10).Select(j => $"x{j}")];

    private static string Fixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "glmnet_glm", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/glmnet_glm/{name} not found above the test binaries");
    }

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _csv = await File.ReadAllTextAsync(Fixture("glm_n400_p10.csv"));
        _dataset = await Http.UploadCsv(_client, _csv);
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The weighted poisson lasso with an offset, and the weighted binomial lasso, at glmnet's 20th lambda: 1e-6 relative.</summary>
    [Theory]
    [InlineData("wpois_offset_lasso")]
    [InlineData("wbinom_lasso")]
    [InlineData("binom_offset_lasso")]
    [InlineData("gauss_offset_lasso")]
    public async Task FitsAgreeWithGlmnet(string name)
    {
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(Fixture(name + ".json")))!;
        const int l = 20;
        double lambda = fixture["lambda"]![l]!.GetValue<double>();
        var request = new JsonObject
        {
            ["datasetId"] = _dataset,
            ["target"] = fixture["target"]!.GetValue<string>(),
            ["features"] = new JsonArray([.. Features.Select(f => (JsonNode)f)]),
            ["family"] = fixture["family"]!.GetValue<string>(),
            ["penalty"] = "lasso",
            ["lambda"] = lambda,
            ["tolerance"] = 1e-14,
        };
        if (fixture["weights"] is { } w) request["weights"] = w.GetValue<string>();
        if (fixture["offset"] is { } o) request["offset"] = o.GetValue<string>();
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body?.ToJsonString());
        var result = await Http.WaitForDenseResult(_client, body!["id"]!.GetValue<string>());
        var beta = fixture["beta"]![l]!.AsArray().Select(b => b!.GetValue<double>()).ToArray();
        double a0 = fixture["a0"]![l]!.GetValue<double>();
        double scale = Math.Max(beta.Max(Math.Abs), Math.Abs(a0));
        Assert.Equal(a0, result["intercept"]!.GetValue<double>(), 1e-6 * scale);
        for (int j = 0; j < Features.Length; j++)
            Assert.Equal(beta[j], result["coefficients"]![Features[j]]!.GetValue<double>(), 1e-6 * scale);
        Assert.Equal(fixture["family"]!.GetValue<string>(), result["metrics"]!["train"]!["family"]!.GetValue<string>());
    }

    /// <summary>Predict returns the mean count e^(b0 + x.b + offset), needs the offset column unless zeroOffset=true, and scores a data set.</summary>
    [Fact]
    public async Task PoissonPredictsTheMeanWithTheOffset()
    {
        var id = await Http.Submit(_client, new { datasetId = _dataset, target = "yc", features = Features, family = "poisson", penalty = "lasso", lambda = 0.02, offset = "off", weights = "w" });
        var result = await Http.WaitForDenseResult(_client, id);
        Assert.Equal("log", (await Model(id))["link"]!.GetValue<string>());
        var train = result["metrics"]!["train"]!;
        foreach (var key in new[] { "deviance", "meanDeviance", "devianceRatio", "mae", "rmse" })
            Assert.True(train[key]!.GetValue<double>() > 0, $"{key}: {train.ToJsonString()}");

        var lines = _csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        int Col(string n) => Array.IndexOf(header, n);
        var rows = lines.Skip(1).Take(5).Select(r => r.Split(',')).ToArray();
        string Csv(params string[] columns) =>
            string.Join(",", columns) + "\n" + string.Join("\n", rows.Select(r => string.Join(",", columns.Select(c => r[Col(c)])))) + "\n";
        double Eta(string[] r, bool offset) =>
            result["intercept"]!.GetValue<double>()
            + Features.Sum(f => result["coefficients"]![f]!.GetValue<double>() * double.Parse(r[Col(f)], CultureInfo.InvariantCulture))
            + (offset ? double.Parse(r[Col("off")], CultureInfo.InvariantCulture) : 0);

        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict", Csv([.. Features, "off"]), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(Math.Exp(Eta(rows[i], true)), body!["predictions"]![i]!.GetValue<double>(), 1e-9 * Math.Exp(Eta(rows[i], true)));
        Assert.Null(body!["classes"]);

        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict", Csv(Features), "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'off'", Http.Messages(body!["errors"]!["offset"]));

        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?zeroOffset=true", Csv(Features), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(Math.Exp(Eta(rows[0], false)), body!["predictions"]![0]!.GetValue<double>(), 1e-9 * Math.Exp(Eta(rows[0], false)));

        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?datasetId={_dataset}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("poisson", body!["metrics"]!["family"]!.GetValue<string>());

        var noOffset = await Http.UploadCsv(_client, Csv(Features));
        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?datasetId={noOffset}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("lacks", Http.Messages(body!["errors"]!["offset"]));

        var plot = await _client.GetAsync($"/v1/fits/{id}/plots/fitted.svg");
        Assert.Equal(HttpStatusCode.OK, plot.StatusCode);
        var pmml = await _client.GetStringAsync($"/v1/fits/{id}/model?format=pmml");
        Assert.Contains("distribution=\"poisson\"", pmml);
        Assert.Contains("offsetVariable=\"off\"", pmml);
        string objective = (await Model(id))["objective"]!.GetValue<string>();
        Assert.Contains("sum_i w_i [e^eta_i - y_i eta_i]", objective);
        Assert.Contains("+ offset_i", objective);
    }

    /// <summary>Scoring a data set (predict ?datasetId=) checks its target by the family's own rule and names the row.</summary>
    [Theory]
    [InlineData("binomial", "yb", "2", "row 2: 2 is not 0 or 1")]
    [InlineData("poisson", "yc", "1.5", "row 2: 1.5 is not a whole count")]
    public async Task ScoringADataSetWhoseTargetTheFamilyCannotTakeIs400NamingTheRow(string family, string target, string bad, string message)
    {
        var id = await Http.Submit(_client, new { datasetId = _dataset, target, features = Features, family, penalty = "lasso", lambda = 0.02 });
        await Http.WaitForDenseResult(_client, id);
        var lines = _csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Take(3).Select(r => r.Split(',')).ToArray();
        rows[1][Array.IndexOf(header, target)] = bad;
        var scored = await Http.UploadCsv(_client, string.Join("\n", [lines[0], .. rows.Select(r => string.Join(",", r))]) + "\n");

        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?datasetId={scored}");
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Contains(message, Http.Messages(body!["errors"]!["datasetId"]));
    }

    private async Task<JsonNode> Model(string id) => JsonNode.Parse(await _client.GetStringAsync($"/v1/fits/{id}/model"))!;

    private async Task<JsonNode> Fault(string csv, object extra)
    {
        var dataset = await Http.UploadCsv(_client, csv);
        var request = JsonNode.Parse(JsonSerializer.Serialize(extra))!.AsObject();
        request["datasetId"] = dataset;
        request["target"] = "y";
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return body!["errors"]!;
    }

    [Fact]
    public async Task BadPoissonInputsAre400NamingTheFieldAndTheRow()
    {
        const string Counts = "x,y,w,o\n1,1,1,0\n2,3,2,0.5\n3,0,1,0\n4,5,1,1\n";
        Assert.Contains("row 3: -2 is a negative count",
            Http.Messages((await Fault("x,y\n1,1\n2,3\n3,-2\n4,5\n", new { family = "poisson", penalty = "lasso", lambda = 0.1 }))["target"]));
        Assert.Contains("row 2: 1.5 is not a whole count",
            Http.Messages((await Fault("x,y\n1,1\n2,1.5\n3,2\n4,5\n", new { family = "poisson", penalty = "lasso", lambda = 0.1 }))["target"]));
        Assert.Contains("row 2 has weight -1",
            Http.Messages((await Fault("x,y,w\n1,1,1\n2,3,-1\n3,0,1\n4,5,1\n", new { family = "poisson", penalty = "lasso", lambda = 0.1, weights = "w" }))["weights"]));
        Assert.Contains("solver sgd does not take it",
            Http.Messages((await Fault(Counts, new { family = "poisson", penalty = "lasso", lambda = 0.1, solver = "sgd" }))["solver"]));
        Assert.Contains("solver proximalGradient does not take it",
            Http.Messages((await Fault(Counts, new { family = "poisson", penalty = "lasso", lambda = 0.1, solver = "proximalGradient" }))["solver"]));
        Assert.Contains("closedForm fits gaussian",
            Http.Messages((await Fault(Counts, new { family = "poisson", penalty = "ridge", lambda = 0.1, solver = "closedForm" }))["solver"]));
        Assert.Contains("model mlp does not take it",
            Http.Messages((await Fault(Counts, new { family = "poisson", model = "mlp" }))["model"]));
        Assert.Contains("loo is for gaussian ridge",
            Http.Messages((await Fault(Counts, new { family = "poisson", penalty = "ridge", lambdas = new[] { 1, 0.1 }, validation = new { method = "loo" } }))["validation.method"]));
        Assert.Contains("'q' is not a column",
            Http.Messages((await Fault(Counts, new { family = "poisson", penalty = "lasso", lambda = 0.1, offset = "q" }))["offset"]));
        Assert.Contains("solver sgd does not take one",
            Http.Messages((await Fault(Counts, new { penalty = "lasso", lambda = 0.1, offset = "o", solver = "sgd" }))["offset"]));
        Assert.Contains("is the offset column",
            Http.Messages((await Fault(Counts, new { family = "poisson", penalty = "lasso", lambda = 0.1, offset = "o", features = new[] { "x", "o" } }))["features[1]"]));
    }
}
