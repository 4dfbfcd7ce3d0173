using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The request's <c>stopping</c> and <c>diagnostics.stopping</c>, on scikit-learn's test_lasso_dual_gap data
/// (tests/fixtures/convergence/lasso_dual_gap.json): the gap rule reaches the gap it claims; a bad use is a 400 naming the field.
/// </summary>
public sealed class StoppingRuleTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private JsonNode _fixture = null!;
    private string _dataset = "";

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        string path = "";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && path == ""; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "convergence", "lasso_dual_gap.json");
            if (File.Exists(candidate)) path = candidate;
        }
        _fixture = JsonNode.Parse(File.ReadAllText(path))!;
        var x = _fixture["x"]!.AsArray();
        var y = _fixture["y"]!.AsArray();
        int p = x[0]!.AsArray().Count;
        var sb = new StringBuilder(string.Join(",", Enumerable.Range(1, p).Select(j => $"x{j}")) + ",y\n");
        for (int i = 0; i < x.Count; i++)
            sb.Append(string.Join(",", x[i]!.AsArray().Append(y[i]).Select(v => v!.GetValue<double>().ToString("R", CultureInfo.InvariantCulture)))).Append('\n');
        _dataset = await Http.UploadCsv(_client, sb.ToString());
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("dualityGap")]
    [InlineData("glmnet")]
    public async Task DiagnosticsReportTheRuleTheToleranceAndWhatWasReached(string stopping)
    {
        double lambda = _fixture["alpha"]!.GetValue<double>();
        var id = await Http.Submit(_client, new
        {
            datasetId = _dataset, target = "y", penalty = "lasso", lambda, standardize = false, fitIntercept = false,
            tolerance = 1e-14, stopping,
        });
        var job = await Http.WaitForFit(_client, id);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var diagnostics = job["result"]!["diagnostics"]!;
        var rule = diagnostics["stopping"]!;
        Assert.Equal(stopping, rule["rule"]!.GetValue<string>());
        Assert.Equal(1e-14, rule["tolerance"]!.GetValue<double>());
        double meanSquare = _fixture["y"]!.AsArray().Average(v => v!.GetValue<double>() * v.GetValue<double>());
        double gap = diagnostics["dualityGap"]!.GetValue<double>();
        if (stopping == "dualityGap")
        {
            Assert.True(rule["achieved"]!.GetValue<double>() <= 1e-14);
            Assert.True(gap <= 1e-14 * meanSquare, $"gap {gap:G3}");
        }
        else
        {
            Assert.Null(rule["achieved"]);
            Assert.True(gap > 1e-14 * meanSquare, $"glmnet's rule reached gap {gap:G3}");
        }
    }

    [Fact]
    public async Task DualityGapStoppingOutsideGaussianCoordinateDescentIsA400()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", System.Text.Json.JsonSerializer.Serialize(
            new { datasetId = _dataset, target = "y", penalty = "lasso", solver = "proximalGradient", stopping = "dualityGap" }, Http.Json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("dualityGap is coordinate descent's rule", Http.Messages(body!["errors"]!["stopping"]));
    }
}
