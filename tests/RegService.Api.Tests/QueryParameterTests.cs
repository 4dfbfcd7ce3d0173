using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>A query key a route does not take is a 400 naming it and the keys the route takes.</summary>
public sealed class QueryParameterTests : IDisposable
{
    private readonly ApiFactory _factory = new(workers: 0);
    private readonly HttpClient _client;

    public QueryParameterTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    private static void AssertUnknown(HttpResponseMessage response, JsonNode? body, string key, params string[] accepted)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = body!["errors"]!.AsObject();
        Assert.Equal([key], errors.Select(e => e.Key));
        var message = errors[key]![0]!.GetValue<string>();
        Assert.Contains($"'{key}'", message);
        foreach (var name in accepted) Assert.Contains(name, message);
        if (accepted.Length == 0) Assert.Contains("no query parameters", message);
    }

    [Fact]
    public async Task ATypoInTheFitListQueryNamesItAndTheAcceptedOnes()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Get, "/v1/fits?stauts=queued");
        AssertUnknown(response, body, "stauts", "status", "datasetId", "offset", "limit");
    }

    [Fact]
    public async Task KnownParametersStillWork()
    {
        var dataset = await Http.UploadCsv(_client, "x,y\n1,2\n2,3\n3,5\n");
        var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits?status=queued&datasetId={dataset}&offset=0&limit=5");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        (response, body) = await Http.Send(_client, HttpMethod.Get, "/v1/fits?Status=QUEUED");   // keys without case, as binding
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        (response, body) = await Http.Send(_client, HttpMethod.Get, "/v1/datasets?offset=0&limit=10");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(1, body!["total"]!.GetValue<int>());
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/datasets/{dataset}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets?name=named", "x,y\n1,2\n", "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.Created, body?.ToJsonString());
        Assert.Equal("named", body!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task EveryRouteRefusesAKeyItDoesNotTake()
    {
        var dataset = await Http.UploadCsv(_client, "x,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(_client, new { datasetId = dataset, target = "y", penalty = "ridge", lambda = 0.1 });

        var (response, body) = await Http.Send(_client, HttpMethod.Get, "/v1/datasets?page=2");
        AssertUnknown(response, body, "page", "offset", "limit");
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/datasets/{dataset}?verbose=1");
        AssertUnknown(response, body, "verbose");
        (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets?nmae=x", "x,y\n1,2\n", "text/csv");
        AssertUnknown(response, body, "nmae", "name");
        (response, body) = await Http.Send(_client, HttpMethod.Delete, $"/v1/datasets/{dataset}?force=true");
        AssertUnknown(response, body, "force");
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}?includes=path");
        AssertUnknown(response, body, "includes", "include", "waitSeconds");
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}/path?page=2");
        AssertUnknown(response, body, "page", "offset", "limit");
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}/events?since=1");
        AssertUnknown(response, body, "since");
        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{fit}/predict?lamda=0.1", "x\n1\n", "text/csv");
        AssertUnknown(response, body, "lamda", "lambda");
        (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{fit}/cancel?now=1");
        AssertUnknown(response, body, "now");
        (response, body) = await Http.Send(_client, HttpMethod.Delete, $"/v1/fits/{fit}?force=true");
        AssertUnknown(response, body, "force");

        // Nothing happened: the fit is still queued and the data set still there.
        (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}");
        Assert.Equal("queued", body!["status"]!.GetValue<string>());
        (response, _) = await Http.Send(_client, HttpMethod.Get, $"/v1/datasets/{dataset}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SeveralUnknownKeysAreAllNamed()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Get, "/v1/fits?stauts=queued&lmit=3&offset=0");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var keys = body!["errors"]!.AsObject().Select(e => e.Key).Order().ToArray();
        Assert.Equal(["lmit", "stauts"], keys);
    }
}
