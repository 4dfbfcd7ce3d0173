using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Auth;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;

namespace RegService.Api.Tests;

/// <summary>
/// The stored result format. Data/stored holds rows as an earlier version stored them (the response document itself) for a
/// gaussian lasso path with k-fold validation, a binomial elastic net on a polynomial expansion and an MLP, each with the
/// data set, the request, the GET result and the predictions that version gave.
/// </summary>
public sealed class StoredFormatTests
{
    public static TheoryData<string> Cases => new() { "gaussian-lasso-kfold", "binomial-expansion", "mlp" };

    private sealed record Capture(string Dataset, JsonObject Request, string Rows, JsonArray Predictions, JsonNode Response, string StoredRow);

    private static Capture Load(string name)
    {
        var capture = JsonNode.Parse(File.ReadAllText(Http.DataFile($"stored/{name}.capture.json")))!;
        return new(capture["dataset"]!.GetValue<string>(), capture["request"]!.AsObject(), capture["rows"]!.GetValue<string>(),
            capture["predictions"]!.AsArray(), capture["response"]!, File.ReadAllText(Http.DataFile($"stored/{name}.result.json")));
    }

    /// <summary>Submits the captured request on the captured data set; with no workers it stays queued for the test to claim.</summary>
    private static async Task<string> Submit(HttpClient client, Capture capture)
    {
        var dataset = await Http.UploadCsv(client, capture.Dataset);
        var request = capture.Request.DeepClone().AsObject();
        request["datasetId"] = dataset;
        var (response, body) = await Http.Send(client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body?.ToJsonString());
        return body!["id"]!.GetValue<string>();
    }

    private static async Task AssertPredictionsAsCaptured(HttpClient client, string fit, Capture capture)
    {
        foreach (var point in capture.Predictions)
        {
            var lambda = point!["lambda"]?.GetValue<string>();
            var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict" + (lambda is null ? "" : $"?lambda={lambda}"),
                capture.Rows, "text/csv");
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
            body!.AsObject().Remove("fitId");
            Assert.Equal(point["response"]!.ToJsonString(), body.ToJsonString());
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ARowStoredAsTheResponseDocumentReadsAndPredictsAsItDidThen(string name)
    {
        var capture = Load(name);
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var fit = await Submit(client, capture);
        var fits = factory.Services.GetRequiredService<IFitStore>();
        var claimed = await fits.TryClaimNextAsync("test", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(fit, claimed!.Id);
        Assert.True(fits.Succeed(fit, claimed.LeaseToken!, capture.StoredRow));

        var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
        Assert.Equal(capture.Response.ToJsonString(), job["result"]!.ToJsonString());
        await AssertPredictionsAsCaptured(client, fit, capture);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ARowOfTheEarlierFormatRewrittenAsFormat2ProjectsTheSameResponse(string name)
    {
        var capture = Load(name);
        var options = Options();
        var stored = StoredResults.Read(capture.StoredRow, options);
        var row = JsonSerializer.Serialize(stored, options);
        Assert.StartsWith("""{"formatVersion":2,""", row);
        var again = StoredResults.Read(row, options);
        Assert.Equal(capture.Response.ToJsonString(), JsonSerializer.Serialize(StoredResults.Project(again), options));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ANewFitStoresFormat2AndGivesTheResponseAndPredictionsOfTheEarlierVersion(string name)
    {
        var capture = Load(name);
        using var factory = new ApiFactory(workers: 1);
        using var client = factory.CreateClient();
        var fit = await Submit(client, capture);
        var job = await Http.WaitForFit(client, fit);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());

        // The row is the stored form, not the response: a version, the model in arrays, the path's coefficients sparse.
        var row = factory.Services.GetRequiredService<IFitStore>().Get(Identity.LocalTenant, fit)!.ResultJson!;
        var stored = JsonNode.Parse(row)!;
        Assert.Equal(2, stored["formatVersion"]!.GetValue<int>());
        Assert.Null(stored["coefficients"]);
        var model = stored["model"]!;
        Assert.Equal(capture.Response["features"]!.ToJsonString(), model["features"]!.ToJsonString());
        Assert.IsType<JsonArray>(model["coefficients"]);
        Assert.IsType<JsonArray>(model["path"]!["coefficients"]![0]!["indices"]);
        Assert.Equal(capture.Response["family"]!.GetValue<string>() == "binomial" ? "logit" : "identity", model["link"]!.GetValue<string>());

        // GET is the projection of the row, and (the engine being deterministic) the document the earlier version gave, timings aside.
        var options = Options();
        var result = job["result"]!;
        Assert.Equal(JsonSerializer.Serialize(StoredResults.Project(StoredResults.Read(row, options)), options), result.ToJsonString());
        // The sections added since the capture (the prior of a linear fit) aside too.
        Assert.Equal(WithoutTimings(capture.Response), WithoutTimings(WithoutNewSections(result)));
        await AssertPredictionsAsCaptured(client, fit, capture);
    }

    [Fact]
    public void ARowOfAnUnknownFormatVersionFailsToRead()
    {
        var options = Options();
        var row = JsonSerializer.Serialize(StoredResults.Read(Load("mlp").StoredRow, options), options).Replace("\"formatVersion\":2", "\"formatVersion\":3");
        var error = Assert.Throws<NotSupportedException>(() => StoredResults.Read(row, options));
        Assert.Contains("format 3", error.Message);
    }

    private static JsonNode WithoutNewSections(JsonNode result)
    {
        var copy = result.DeepClone();
        copy.AsObject().Remove("prior");
        return copy;
    }

    private static string WithoutTimings(JsonNode result)
    {
        var copy = result.DeepClone();
        copy["diagnostics"]!.AsObject().Remove("timings");
        return copy.ToJsonString();
    }

    private static JsonSerializerOptions Options()
    {
        var options = new JsonSerializerOptions();
        JsonSerializerOptionsProvider.Configure(options);
        return options;
    }
}
