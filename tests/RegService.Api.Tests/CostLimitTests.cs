using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>A fit whose estimated peak memory or work is over the limits is refused before it is queued.</summary>
public sealed class CostLimitTests
{
    [Fact]
    public async Task AFitOverTheMemoryLimitIsRefusedNamingTheSettingTheEstimateAndTheLimit()
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?> { ["Limits:MaxFitMemoryBytes"] = "50000000" });
        using var client = factory.CreateClient();
        var csv = new StringBuilder(string.Join(",", Enumerable.Range(0, 30).Select(j => $"x{j}")) + ",y\n");
        var rng = new Random(2);
        for (int i = 0; i < 300; i++)
            csv.Append(string.Join(",", Enumerable.Range(0, 31).Select(_ => rng.NextDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)))).Append('\n');
        var dataset = await Http.UploadCsv(client, csv.ToString());

        // Small: accepted.
        await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 1 });

        // Degree 3 with interactions on 30 inputs: 5,455 features over 300 rows, more than the limit allows.
        var response = await client.PostAsJsonAsync("/v1/fits", new
        {
            datasetId = dataset, target = "y", lambda = 1, expansion = new { polynomialDegree = 3, interactions = true },
        });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body.ToJsonString());
        Assert.Equal("urn:regservice:problem:fit-too-large", body["type"]!.GetValue<string>());
        Assert.Equal("Limits:MaxFitMemoryBytes", body["limit"]!.GetValue<string>());
        Assert.Equal(50000000, body["limitValue"]!.GetValue<double>());
        Assert.True(body["estimate"]!["peakBytes"]!.GetValue<long>() > 50_000_000);
        Assert.Contains("Limits:MaxFitMemoryBytes", body["detail"]!.GetValue<string>());
        Assert.NotEmpty(body["estimate"]!["breakdown"]!.AsArray());

        // Nothing was queued by the refused one.
        var fits = JsonNode.Parse(await client.GetStringAsync("/v1/fits"))!;
        Assert.Equal(1, fits["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AFitOverTheWorkLimitIsRefused()
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?> { ["Limits:MaxFitWork"] = "1000" });
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, "x,z,y\n1,2,2\n2,1,3\n3,5,5\n4,3,4\n");
        var response = await client.PostAsJsonAsync("/v1/fits", new { datasetId = dataset, target = "y", penalty = "lasso" });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Limits:MaxFitWork", body["limit"]!.GetValue<string>());
        Assert.Contains("floating-point operations", body["detail"]!.GetValue<string>());
    }
}
