using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The request's <c>lowerLimits</c> / <c>upperLimits</c> (glmnet's lower.limits / upper.limits): each bad input a 400
/// naming the field and the feature, and a bounded fit's result (every lambda of its path) inside its bounds for every
/// solver that takes them.
/// </summary>
public sealed class BoundsApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _gaussian = "", _binomial = "";

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _gaussian = await Http.UploadCsv(_client, Synthetic.Gaussian(80, seed: 21).Csv());
        _binomial = await Http.UploadCsv(_client, Synthetic.Binomial(200, seed: 22).Csv());
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Posts a fit on the gaussian data with <paramref name="extra"/> (JSON members, ' for "); the 400's errors.</summary>
    private async Task<JsonObject> Errors(string extra)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits",
            $$"""{"datasetId":"{{_gaussian}}","target":"y","penalty":"lasso","lambda":0.01,{{extra.Replace('\'', '"')}}}""");
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return body!["errors"]!.AsObject();
    }

    [Fact]
    public async Task BadLimitsAre400NamingTheFieldAndTheFeature()
    {
        var errors = await Errors("'lowerLimits':{'b':0.5}");
        Assert.Contains("lower limit of 'b' is 0.5; lower limits must be <= 0", Http.Messages(errors["lowerLimits.b"]));

        errors = await Errors("'lowerLimits':0.5");
        Assert.Contains("lower limit of 'a' is 0.5", Http.Messages(errors["lowerLimits"]));

        errors = await Errors("'upperLimits':{'c':-1}");
        Assert.Contains("upper limit of 'c' is -1; upper limits must be >= 0", Http.Messages(errors["upperLimits.c"]));

        errors = await Errors("'lowerLimits':{'a':0.5},'upperLimits':{'a':0.2}");
        Assert.Contains("lower limit of 'a' (0.5) is above its upper limit (0.2)", Http.Messages(errors["lowerLimits.a"]));

        errors = await Errors("'lowerLimits':{'zz':0}");
        Assert.Contains("'zz' is not a column", Http.Messages(errors["lowerLimits.zz"]));

        errors = await Errors("'lowerLimits':{'y':0}");
        Assert.Contains("'y' is the target", Http.Messages(errors["lowerLimits.y"]));

        errors = await Errors("'lowerLimits':{'a':'zero'}");
        Assert.Contains("must be a number", Http.Messages(errors["lowerLimits.a"]));

        errors = await Errors("'upperLimits':[1,2]");
        Assert.Contains("must be a number (a limit for every feature) or an object", Http.Messages(errors["upperLimits"]));

        errors = await Errors("'lowerLimits':0,'solver':'closedForm'");
        Assert.Contains("with lowerLimits/upperLimits", Http.Messages(errors["solver"]));

        errors = await Errors("'lowerLimits':0,'solver':'sgd'");
        Assert.Contains("does not take them", Http.Messages(errors["lowerLimits"]));

        errors = await Errors("'lowerLimits':{'c^2':0},'expansion':{'polynomialDegree':2},'features':['a','b']");
        Assert.Contains("'c^2' is not an expanded feature", Http.Messages(errors["lowerLimits.c^2"]));
    }

    /// <summary>
    /// <c>stopping: dualityGap</c> takes bounds: the gap is the box-constrained problem's (docs/engine.md "Coefficient bounds"),
    /// reached below the tolerance times the null deviance per row and reported in the diagnostics; the fit is inside its bounds.
    /// </summary>
    [Fact]
    public async Task ABoundedFitStopsOnTheDualityGapAndReportsIt()
    {
        var id = await Http.Submit(_client, new
        {
            datasetId = _gaussian, target = "y", penalty = "lasso", lambda = 0.01, tolerance = 1e-12, stopping = "dualityGap",
            lowerLimits = 0, upperLimits = new Dictionary<string, double?> { ["a"] = 1 },
        });
        var job = await Http.WaitForFit(_client, id);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var result = job["result"]!;
        var rule = result["diagnostics"]!["stopping"]!;
        Assert.Equal("dualityGap", rule["rule"]!.GetValue<string>());
        Assert.True(rule["achieved"]!.GetValue<double>() <= 1e-12, rule.ToJsonString());
        Assert.True(result["diagnostics"]!["dualityGap"]!.GetValue<double>() >= 0);
        Assert.Null(result["coefficients"]!["b"]);   // held at 0 by its lower limit: a sparse result leaves it out
        Assert.Equal(1, result["coefficients"]!["a"]!.GetValue<double>(), 1e-12);
    }

    /// <summary>b's coefficient is -2 unbounded: lowerLimits 0 holds it at 0; a's (3) is held at its upper limit 1.</summary>
    [Theory]
    [InlineData("gaussian", "auto")]
    [InlineData("gaussian", "proximalGradient")]
    [InlineData("binomial", "auto")]
    [InlineData("binomial", "proximalGradient")]
    public async Task ABoundedFitRespectsItsBounds(string family, string solver)
    {
        var id = await Http.Submit(_client, new
        {
            datasetId = family == "gaussian" ? _gaussian : _binomial,
            target = "y",
            family,
            solver,
            penalty = "elasticNet",
            l1Ratio = 0.5,
            path = new { count = 20 },
            lowerLimits = 0,
            upperLimits = new Dictionary<string, double?> { ["a"] = 1, ["c"] = null },
        });
        var result = await Http.WaitForDenseResult(_client, id, TimeSpan.FromSeconds(60));
        var points = result["path"]!["coefficients"]!.AsArray();
        Assert.True(points.Count > 5);
        bool aAtBound = false;
        foreach (var point in points)
        {
            foreach (var name in new[] { "a", "b", "c", "d", "e" })
                Assert.True(point![name]!.GetValue<double>() >= 0, $"{name} = {point[name]} below its lower limit 0");
            Assert.True(point!["a"]!.GetValue<double>() <= 1 + 1e-12, $"a = {point["a"]} above its upper limit 1");
            aAtBound |= Math.Abs(point["a"]!.GetValue<double>() - 1) < 1e-9;
        }
        Assert.Equal(0, points[^1]!["b"]!.GetValue<double>());
        Assert.True(aAtBound, "the upper limit of a binds along the path");
        Assert.True(result["coefficients"]!["b"]!.GetValue<double>() >= 0);
    }
}
