using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Auth;
using RegService.Api.Storage;

namespace RegService.Api.Tests;

/// <summary>
/// What a submission stores (<c>request_json</c>): the request and the engine's resolved spec, which the worker runs as it is;
/// a row queued by an earlier version holds the request alone and still runs after an upgrade.
/// </summary>
public sealed class StoredSubmissionTests
{
    private static async Task<string> Longley(HttpClient client) => await Http.UploadCsv(client, await File.ReadAllTextAsync(Http.DataFile("longley.csv")));

    private static string Lasso(string dataset) => $$$"""{"datasetId":"{{{dataset}}}","target":"Employed","penalty":"lasso","path":{"count":5}}""";

    [Fact]
    public async Task ASubmissionStoresTheRequestAndTheResolvedSpec()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var dataset = await Longley(client);
        var (_, body) = await Http.Send(client, HttpMethod.Post, "/v1/fits", Lasso(dataset));
        var id = body!["id"]!.GetValue<string>();

        var row = JsonNode.Parse(factory.Services.GetRequiredService<IFitStore>().Get(Identity.LocalTenant, id)!.RequestJson)!;
        Assert.Equal(1, row["formatVersion"]!.GetValue<int>());
        Assert.Equal("lasso", row["request"]!["penalty"]!.GetValue<string>());
        Assert.Null(row["request"]!["l1Ratio"]);
        // The engine's defaults, resolved at submission: the solver, l1Ratio, the path's minRatio (16 rows > 6 features: 1e-4).
        var spec = row["spec"]!;
        Assert.Equal("coordinateDescent", spec["solver"]!.GetValue<string>());
        Assert.Equal(1.0, spec["l1Ratio"]!.GetValue<double>());
        Assert.Equal(5, spec["path"]!["count"]!.GetValue<int>());
        Assert.Equal(1e-4, spec["path"]!["minRatio"]!.GetValue<double>());
        Assert.Equal("Employed", spec["targetName"]!.GetValue<string>());

        // GET shows the request as sent.
        var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{id}"))!;
        Assert.Equal(dataset, job["request"]!["datasetId"]!.GetValue<string>());
        Assert.Equal(5, job["request"]!["path"]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheWorkerRunsTheStoredSpecNotTheRequest()
    {
        using var factory = new ApiFactory(workers: 1);
        using var client = factory.CreateClient();
        var dataset = await Longley(client);
        var (_, body) = await Http.Send(client, HttpMethod.Post, "/v1/fits", $$"""{"datasetId":"{{dataset}}","target":"Employed","lambda":1}""");
        var first = await Http.WaitForFit(client, body!["id"]!.GetValue<string>());
        Assert.Equal("closedForm", first["result"]!["diagnostics"]!["solver"]!.GetValue<string>());

        // The same row with its spec's lambda changed: the worker fits the spec's lambda (it does not plan the request again).
        var fits = factory.Services.GetRequiredService<IFitStore>();
        var stored = JsonNode.Parse(fits.Get(Identity.LocalTenant, first["id"]!.GetValue<string>())!.RequestJson)!;
        stored["spec"]!["lambdas"] = new JsonArray(0.25);
        var id = Guid.CreateVersion7().ToString("N");
        Assert.Equal(EnqueueOutcome.Queued, fits.TryEnqueue(id, Identity.LocalTenant, dataset, stored.ToJsonString(), 100, 100));
        var job = await Http.WaitForFit(client, id);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        Assert.Equal(0.25, job["result"]!["lambda"]!.GetValue<double>());
        Assert.Equal(1.0, job["request"]!["lambda"]!.GetValue<double>());
    }

    [Fact]
    public async Task ARowQueuedByAnEarlierVersionHoldsTheRequestAloneAndRunsAsANewSubmission()
    {
        using var factory = new ApiFactory(workers: 1);
        using var client = factory.CreateClient();
        var dataset = await Longley(client);
        var (_, body) = await Http.Send(client, HttpMethod.Post, "/v1/fits", Lasso(dataset));
        var current = await Http.WaitForFit(client, body!["id"]!.GetValue<string>());

        // As the previous version stored it: the request JSON itself, no formatVersion, no spec.
        var id = Guid.CreateVersion7().ToString("N");
        var fits = factory.Services.GetRequiredService<IFitStore>();
        Assert.Equal(EnqueueOutcome.Queued, fits.TryEnqueue(id, Identity.LocalTenant, dataset, Lasso(dataset), 100, 100));
        var old = await Http.WaitForFit(client, id);
        Assert.True(old["status"]!.GetValue<string>() == "succeeded", old.ToJsonString());
        Assert.Equal("lasso", old["request"]!["penalty"]!.GetValue<string>());
        Assert.Equal("coordinateDescent", old["result"]!["diagnostics"]!["solver"]!.GetValue<string>());
        Assert.Equal(current["result"]!["path"]!["lambdas"]!.ToJsonString(), old["result"]!["path"]!["lambdas"]!.ToJsonString());
        Assert.Equal(current["result"]!["coefficients"]!.ToJsonString(), old["result"]!["coefficients"]!.ToJsonString());
    }
}
