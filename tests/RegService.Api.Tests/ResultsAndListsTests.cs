using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RegService.Api.Tests;

/// <summary>
/// A result sized by what is in it: the summary GET /v1/fits/{id} answers by default, ?include=path and
/// ?include=standardization, the path paged by lambda at /v1/fits/{id}/path; and the lists' Link headers, filters and fit names.
/// </summary>
public sealed partial class ResultsAndListsTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private readonly Synthetic _data = Synthetic.Gaussian(150, seed: 7);
    private string _fit = null!;

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        var dataset = await Http.UploadCsv(_client, _data.Csv());
        _fit = await Http.Submit(_client, new { datasetId = dataset, target = "y", penalty = "lasso", path = new { count = 25 } });
        var job = await Http.WaitForFit(_client, _fit, TimeSpan.FromSeconds(60));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonNode> Result(string query = "") => JsonNode.Parse(await _client.GetStringAsync($"/v1/fits/{_fit}{query}"))!["result"]!;

    [Fact]
    public async Task TheSummaryHasTheNonzeroCoefficientsAndThePathsFactsButNotItsCoefficients()
    {
        var result = await Result();
        var coefficients = result["coefficients"]!.AsObject();
        Assert.Equal(result["sparsity"]!["nonZero"]!.GetValue<int>(), coefficients.Count);
        Assert.Equal(Strings(result["sparsity"]!["selected"]), coefficients.Select(c => c.Key));
        Assert.All(coefficients, c => Assert.NotEqual(0.0, c.Value!.GetValue<double>()));
        Assert.Equal(["a", "b", "c", "d", "e"], Strings(result["features"]));
        Assert.Null(result["path"]!["coefficients"]);
        Assert.Null(result["featureMeans"]);
        Assert.Null(result["featureScales"]);
        int lambdas = result["path"]!["lambdas"]!.AsArray().Count;
        Assert.InRange(lambdas, 5, 25);
        foreach (var key in new[] { "nonZero", "intercepts", "devianceRatio", "converged", "iterations", "screenedOut", "dualityGap" })
            Assert.Equal(lambdas, result["path"]![key]!.AsArray().Count);
    }

    [Fact]
    public async Task IncludePathGivesEachLambdasNonzeroCoefficientsAsIndicesIntoFeatures()
    {
        var result = await Result("?include=path");
        Assert.Null(result["featureMeans"]);
        var features = Strings(result["features"]);
        var path = result["path"]!;
        var coefficients = path["coefficients"]!.AsArray();
        Assert.Equal(path["lambdas"]!.AsArray().Count, coefficients.Count);
        for (int l = 0; l < coefficients.Count; l++)
        {
            var indices = coefficients[l]!["indices"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray();
            var values = Doubles(coefficients[l]!["values"]);
            Assert.Equal(path["nonZero"]![l]!.GetValue<int>(), indices.Length);
            Assert.Equal(indices.Length, values.Length);
            Assert.True(indices.SequenceEqual(indices.Order()) && indices.Distinct().Count() == indices.Length, $"lambda {l}: indices ascending");
            Assert.All(indices, i => Assert.InRange(i, 0, features.Length - 1));
            Assert.All(values, v => Assert.NotEqual(0.0, v));
        }
        Assert.Empty(coefficients[0]!["indices"]!.AsArray());

        // Without validation the returned model is the last lambda's: the same coefficients, by name in the summary.
        var last = coefficients[^1]!;
        var byName = result["coefficients"]!.AsObject();
        Assert.Equal(last["indices"]!.AsArray().Select(i => features[i!.GetValue<int>()]), byName.Select(c => c.Key));
        Assert.Equal(Doubles(last["values"]), byName.Select(c => c.Value!.GetValue<double>()));

        // A point of the path predicts as its intercept plus x.b from the sparse coefficients.
        int mid = coefficients.Count / 2;
        double lambda = path["lambdas"]![mid]!.GetValue<double>();
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_fit}/predict?lambda={lambda:R}", _data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var dense = Http.Dense(await Result("?include=path,standardization"));
        PredictTests.AssertPredictions(PredictTests.Expected(_data, path["intercepts"]![mid]!, dense["path"]!["coefficients"]![mid]!), body!["predictions"]!);
    }

    [Fact]
    public async Task IncludeStandardizationGivesTheMeansAndScalesOfEveryFeature()
    {
        // Repeated or comma-separated, in any case.
        foreach (var query in new[] { "?include=standardization", "?include=Path&include=standardization" })
        {
            var result = await Result(query);
            Assert.Equal(["a", "b", "c", "d", "e"], result["featureMeans"]!.AsObject().Select(m => m.Key));
            Assert.All(result["featureScales"]!.AsObject(), s => Assert.True(s.Value!.GetValue<double>() > 0));
            Assert.Equal(query.Contains("Path"), result["path"]!["coefficients"] is not null);
        }
        // The standardized coefficients are the coefficients times the scales.
        var all = await Result("?include=standardization");
        foreach (var (name, value) in all["coefficients"]!.AsObject())
            Assert.Equal(value!.GetValue<double>() * all["featureScales"]![name]!.GetValue<double>(),
                all["standardizedCoefficients"]![name]!.GetValue<double>(), 1e-12);
    }

    [Theory]
    [InlineData("paths", "'paths'")]
    [InlineData("path,coefficients,means", "'coefficients', 'means'")]
    public async Task AnUnknownIncludeValueIsA400NamingIt(string include, string named)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_fit}?include={include}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = Http.Messages(body!["errors"]!["include"]);
        Assert.Contains(named, message);
        Assert.Contains("path and standardization", message);
    }

    [Fact]
    public async Task ThePathIsPagedByLambdaWithLinkHeadersToTheNeighbouringPages()
    {
        var whole = (await Result("?include=path"))["path"]!;
        int total = whole["lambdas"]!.AsArray().Count;
        var lambdas = new List<double>();
        var coefficients = new List<string>();
        string? next = $"/v1/fits/{_fit}/path?limit=4";
        int pages = 0;
        while (next is not null)
        {
            var response = await _client.GetAsync(next);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
            Assert.Equal(total, body["total"]!.GetValue<int>());
            Assert.Equal(4, body["limit"]!.GetValue<int>());
            Assert.Equal(4 * pages, body["offset"]!.GetValue<int>());
            Assert.Equal(["a", "b", "c", "d", "e"], Strings(body["features"]));
            var page = body["path"]!;
            int count = page["lambdas"]!.AsArray().Count;
            Assert.Equal(Math.Min(4, total - 4 * pages), count);
            foreach (var key in new[] { "nonZero", "intercepts", "coefficients", "converged", "devianceRatio" })
                Assert.Equal(count, page[key]!.AsArray().Count);
            lambdas.AddRange(Doubles(page["lambdas"]));
            coefficients.AddRange(page["coefficients"]!.AsArray().Select(c => c!.ToJsonString()));
            var links = Links(response);
            Assert.Equal(pages > 0, links.ContainsKey("prev"));
            if (pages > 0) Assert.Equal($"/v1/fits/{_fit}/path?limit=4&offset={4 * (pages - 1)}", Canonical(links["prev"]));
            next = links.GetValueOrDefault("next");
            if (next is not null) Assert.Equal($"/v1/fits/{_fit}/path?limit=4&offset={4 * (pages + 1)}", Canonical(next));
            pages++;
        }
        Assert.Equal((total + 3) / 4, pages);
        Assert.Equal(Doubles(whole["lambdas"]), lambdas);
        Assert.Equal(whole["coefficients"]!.AsArray().Select(c => c!.ToJsonString()), coefficients);

        // Past the end: an empty page and no next link.
        var beyond = await _client.GetAsync($"/v1/fits/{_fit}/path?offset={total}");
        Assert.Empty(JsonNode.Parse(await beyond.Content.ReadAsStringAsync())!["path"]!["lambdas"]!.AsArray());
        Assert.False(Links(beyond).ContainsKey("next"));
    }

    [Fact]
    public async Task ThePathOfAnUnknownOrUnfinishedFitIsA404OrA409()
    {
        var (response, _) = await Http.Send(_client, HttpMethod.Get, "/v1/fits/nope/path");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        (response, var body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_fit}/path?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(body!["errors"]!["limit"]);

        using var idle = new ApiFactory(workers: 0);
        using var client = idle.CreateClient();
        var dataset = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        (response, body) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}/path");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("queued", body!["fitStatus"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheListsCarryLinkHeadersThatKeepTheirFilters()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var sets = new List<string>();
        for (int i = 0; i < 3; i++) sets.Add(await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n"));
        var other = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        for (int i = 0; i < 5; i++) await Http.Submit(client, new { datasetId = sets[0], target = "y", lambda = 0.1 * (i + 1) });
        await Http.Submit(client, new { datasetId = other, target = "y", lambda = 1 });

        var first = await client.GetAsync("/v1/datasets?limit=2");
        Assert.Equal(new Dictionary<string, string> { ["next"] = "/v1/datasets?limit=2&offset=2" }, Canonical(Links(first)));
        var last = await client.GetAsync("/v1/datasets?offset=2&limit=2");
        Assert.Equal(new Dictionary<string, string> { ["prev"] = "/v1/datasets?limit=2&offset=0" }, Canonical(Links(last)));
        Assert.Empty(Links(await client.GetAsync("/v1/datasets")));   // one page: no links

        var middle = await client.GetAsync($"/v1/fits?datasetId={sets[0]}&status=queued&offset=2&limit=2");
        var page = JsonNode.Parse(await middle.Content.ReadAsStringAsync())!;
        Assert.Equal(5, page["total"]!.GetValue<int>());
        Assert.All(page["items"]!.AsArray(), item => Assert.Equal(sets[0], item!["datasetId"]!.GetValue<string>()));
        Assert.Equal(new Dictionary<string, string>
        {
            ["next"] = $"/v1/fits?datasetId={sets[0]}&limit=2&offset=4&status=queued",
            ["prev"] = $"/v1/fits?datasetId={sets[0]}&limit=2&offset=0&status=queued",
        }, Canonical(Links(middle)));
    }

    [Fact]
    public async Task TheListsFilterByDataSetAndStatus()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var a = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var b = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var ofA = new[] { await Http.Submit(client, new { datasetId = a, target = "y", lambda = 1 }), await Http.Submit(client, new { datasetId = a, target = "y", lambda = 2 }) };
        var ofB = await Http.Submit(client, new { datasetId = b, target = "y", lambda = 1 });
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/fits/{ofA[0]}/cancel", null)).StatusCode);

        async Task<string[]> Ids(string query) =>
            [.. JsonNode.Parse(await client.GetStringAsync("/v1/fits" + query))!["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>())];
        Assert.Equal(ofA.Reverse(), await Ids($"?datasetId={a}"));
        Assert.Equal([ofB], await Ids($"?datasetId={b}"));
        Assert.Equal([ofA[0]], await Ids($"?datasetId={a}&status=canceled"));
        Assert.Equal([ofB, ofA[1]], await Ids("?status=queued"));
        Assert.Empty(await Ids("?datasetId=nope"));
        var (response, body) = await Http.Send(client, HttpMethod.Get, "/v1/fits?dataset=x");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'dataset'", Http.Messages(body!["errors"]!["dataset"]));
    }

    [Fact]
    public async Task AFitsNameIsShownInTheListAndHeldToTheRulesOfDataSetNames()
    {
        var dataset = await Http.UploadCsv(_client, "x,y\n1,2\n2,3\n3,5\n");
        var named = await Http.Submit(_client, new { name = "first try, ridge", datasetId = dataset, target = "y", lambda = 0.1 });
        var list = JsonNode.Parse(await _client.GetStringAsync($"/v1/fits?datasetId={dataset}"))!;
        var item = list["items"]!.AsArray().Single()!;
        Assert.Equal(named, item["id"]!.GetValue<string>());
        Assert.Equal("first try, ridge", item["name"]!.GetValue<string>());
        Assert.Equal("first try, ridge", item["request"]!["name"]!.GetValue<string>());
        Assert.Null(JsonNode.Parse(await _client.GetStringAsync($"/v1/fits/{_fit}"))!["name"]);

        foreach (var bad in new[] { new string('n', 257), "tab\there" })
        {
            var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits",
                new JsonObject { ["name"] = bad, ["datasetId"] = dataset, ["target"] = "y", ["lambda"] = 0.1 }.ToJsonString());
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(["name"], body!["errors"]!.AsObject().Select(e => e.Key));
        }
    }

    /// <summary>The Link header's targets by relation (RFC 8288: &lt;target&gt;; rel="name", comma-separated).</summary>
    private static Dictionary<string, string> Links(HttpResponseMessage response)
    {
        var links = new Dictionary<string, string>();
        if (!response.Headers.TryGetValues("Link", out var values)) return links;
        foreach (Match m in LinkValue().Matches(string.Join(",", values))) links.Add(m.Groups[2].Value, m.Groups[1].Value);
        return links;
    }

    /// <summary>A link with its query keys sorted, so tests need not depend on their order.</summary>
    private static string Canonical(string link)
    {
        var uri = new Uri("http://x" + link);
        var query = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        return uri.AbsolutePath + "?" + string.Join("&", query);
    }

    private static Dictionary<string, string> Canonical(Dictionary<string, string> links) => links.ToDictionary(l => l.Key, l => Canonical(l.Value));

    [GeneratedRegex("""<([^>]*)>\s*;\s*rel="([^"]+)""")]
    private static partial Regex LinkValue();

    private static string[] Strings(JsonNode? array) => [.. array!.AsArray().Select(v => v!.GetValue<string>())];

    private static double[] Doubles(JsonNode? array) => [.. array!.AsArray().Select(v => v!.GetValue<double>())];
}
