using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Partial results through the API: a path fit past its time limit (timeLimitSeconds, Limits:MaxFitSeconds) succeeds with
/// the lambdas it completed, a canceled one keeps them with status canceled, and predict, coefficients, the path and plots
/// serve them. The fits are paced (<see cref="FitProgressTests.PacedRunner"/>: every progress report, one per lambda, waits
/// 30 ms), and the path is 100 explicit lambdas (no early stop), so a fit lasts at least 3 s however fast the machine: a
/// 1 s limit always lands inside it, after the first lambda.
/// </summary>
public class PartialResultTests
{
    private static readonly double[] Lambdas = [.. Enumerable.Range(0, 100).Select(l => 0.5 * Math.Pow(1e-4, l / 99.0))];

    private static object Lasso(string dataset, double? timeLimitSeconds = null) => timeLimitSeconds is { } limit
        ? new { datasetId = dataset, target = "y", penalty = "lasso", lambdas = Lambdas, timeLimitSeconds = limit }
        : new { datasetId = dataset, target = "y", penalty = "lasso", lambdas = Lambdas };

    private static async Task<(ApiFactory Factory, HttpClient Client, string Dataset, Synthetic Data)> Start(IDictionary<string, string?>? settings = null)
    {
        var factory = FitProgressTests.Paced(settings: settings, pauseMilliseconds: 30);
        var client = factory.CreateClient();
        var data = Synthetic.Gaussian(400, seed: 21);
        return (factory, client, await Http.UploadCsv(client, data.Csv()), data);
    }

    /// <summary>The partial result's path: a proper prefix of the requested lambdas, ending at the returned model.</summary>
    private static double[] AssertPrefix(JsonNode result, string reason)
    {
        Assert.True(result["partial"]!.GetValue<bool>());
        Assert.Equal(reason, result["partialReason"]!.GetValue<string>());
        var lambdas = result["path"]!["lambdas"]!.AsArray().Select(l => l!.GetValue<double>()).ToArray();
        Assert.InRange(lambdas.Length, 1, Lambdas.Length - 1);
        Assert.Equal(Lambdas.Take(lambdas.Length), lambdas);
        Assert.Equal(lambdas[^1], result["lambda"]!.GetValue<double>());
        Assert.Equal(lambdas.Length, result["path"]!["intercepts"]!.AsArray().Count);
        return lambdas;
    }

    /// <summary>Predict, coefficients, the path and a plot answer on a partial result, at its lambdas.</summary>
    private static async Task AssertUsable(HttpClient client, string fit, double[] lambdas, Synthetic data)
    {
        var csv = data.Csv("a", "b", "c", "d", "e");
        foreach (var at in new[] { "", $"?lambda={lambdas[0].ToString("R", CultureInfo.InvariantCulture)}" })
        {
            var (predicted, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict{at}", csv, "text/csv");
            Assert.True(predicted.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
            Assert.Equal(data.Rows, body!["predictions"]!.AsArray().Count);
        }
        var (coefficients, c) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}/coefficients?lambda={lambdas[^1].ToString("R", CultureInfo.InvariantCulture)}");
        Assert.True(coefficients.StatusCode == HttpStatusCode.OK, c?.ToJsonString());
        var (path, p) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}/path");
        Assert.True(path.StatusCode == HttpStatusCode.OK, p?.ToJsonString());
        var plot = await client.GetAsync($"/v1/fits/{fit}/plots/path.svg");
        Assert.Equal(HttpStatusCode.OK, plot.StatusCode);
    }

    [Fact]
    public async Task ALongLassoPathPastItsTimeLimitSucceedsWithThePrefixAndPredictsOnIt()
    {
        var (factory, client, dataset, data) = await Start();
        using (factory)
        using (client)
        {
            var fit = await Http.Submit(client, Lasso(dataset, timeLimitSeconds: 1));
            var job = await Http.WaitForFit(client, fit, TimeSpan.FromMinutes(2));
            Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
            var lambdas = AssertPrefix(job["result"]!, "timeLimit");
            Assert.Equal(1, job["request"]!["timeLimitSeconds"]!.GetValue<double>());
            await AssertUsable(client, fit, lambdas, data);
        }
    }

    [Fact]
    public async Task ACancelMidPathKeepsThePrefixWithStatusCanceled()
    {
        var (factory, client, dataset, data) = await Start();
        using (factory)
        using (client)
        {
            var fit = await Http.Submit(client, Lasso(dataset));
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            while (true)
            {
                var running = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
                Assert.True(running["status"]!.GetValue<string>() is "queued" or "running", running.ToJsonString());
                if (running["progress"]?["lambdaIndex"]?.GetValue<int>() >= 3) break;
                Assert.True(DateTime.UtcNow < deadline, running.ToJsonString());
                await Task.Delay(20);
            }
            var (cancel, _) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/cancel");
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
            var job = await Http.WaitForFit(client, fit, TimeSpan.FromMinutes(1));
            Assert.True(job["status"]!.GetValue<string>() == "canceled", job.ToJsonString());
            var lambdas = AssertPrefix(job["result"]!, "canceled");
            Assert.True(lambdas.Length >= 3, job.ToJsonString());
            await AssertUsable(client, fit, lambdas, data);
        }
    }

    [Fact]
    public async Task TheServersMaxFitSecondsAppliesAndTheSmallerLimitWins()
    {
        var (factory, client, dataset, _) = await Start(new Dictionary<string, string?> { ["Limits:MaxFitSeconds"] = "1" });
        using (factory)
        using (client)
        {
            foreach (var fit in new[] { await Http.Submit(client, Lasso(dataset)), await Http.Submit(client, Lasso(dataset, timeLimitSeconds: 600)) })
            {
                var job = await Http.WaitForFit(client, fit, TimeSpan.FromMinutes(2));
                Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
                AssertPrefix(job["result"]!, "timeLimit");
            }
        }
    }

    [Fact]
    public async Task ATrainingRunPastItsTimeLimitFails()
    {
        var (factory, client, dataset, _) = await Start();
        using (factory)
        using (client)
        {
            var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", model = "mlp", solver = "adam", hiddenUnits = new[] { 8 },
                epochs = 1000, lambda = 0.0001, batchSize = 16, earlyStopping = new { patience = 1000 }, timeLimitSeconds = 1 });
            var job = await Http.WaitForFit(client, fit, TimeSpan.FromMinutes(2));
            Assert.True(job["status"]!.GetValue<string>() == "failed", job.ToJsonString());
            Assert.Equal("Time limit exceeded", job["error"]!["title"]!.GetValue<string>());
            Assert.Null(job["result"]);
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheNewFields()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var schemas = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!["components"]!["schemas"]!;
        var limit = schemas["FitRequest"]!["properties"]!["timeLimitSeconds"]!;
        Assert.Contains("Limits:MaxFitSeconds", limit["description"]!.GetValue<string>());
        var result = schemas["FitResultDocument"]!["properties"]!;
        Assert.Contains("boolean", result["partial"]!.ToJsonString());
        Assert.Contains("timeLimit", result["partialReason"]!["description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1e9")]
    [InlineData("\"soon\"")]
    public async Task ABadTimeLimitIsA400NamingTheField(string value)
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, Synthetic.Gaussian(50, seed: 1).Csv());
        var (response, problem) = await Http.Send(client, HttpMethod.Post, "/v1/fits",
            $$"""{"datasetId":"{{dataset}}","target":"y","penalty":"lasso","timeLimitSeconds":{{value}}}""");
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem?.ToJsonString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("timeLimitSeconds", problem!.ToJsonString());
    }
}
