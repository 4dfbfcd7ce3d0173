using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

public sealed class DocsAndHealthTests : IDisposable
{
    private readonly ApiFactory _factory = new(workers: 0);

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task TheOpenApiDocumentStatesTheObjectiveTheMappingAndExamples()
    {
        using var client = _factory.CreateClient();
        var doc = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        var description = doc["info"]!["description"]!.GetValue<string>();
        Assert.Contains("(1/2n) sum_i (y_i - b0 - x_i.b)^2", description);
        Assert.Contains("Ridge(alpha=a)", description);
        Assert.Contains("lambda = a/n", description);
        var submit = doc["paths"]!["/v1/fits"]!["post"]!;
        Assert.Equal("SubmitFit", submit["operationId"]!.GetValue<string>());
        Assert.NotNull(submit["requestBody"]!["content"]!["application/json"]!["example"]);
        Assert.NotNull(submit["responses"]!["202"]!["content"]!["application/json"]!["example"]);
        foreach (var path in new[] { "/v1/datasets", "/v1/datasets/{id}", "/v1/fits", "/v1/fits/{id}", "/v1/fits/{id}/predict" })
            Assert.NotNull(doc["paths"]![path]);
        Assert.Contains("LogisticRegression(C=c)", description);
        var predict = doc["paths"]!["/v1/fits/{id}/predict"]!["post"]!;
        Assert.Equal("PredictFit", predict["operationId"]!.GetValue<string>());
        Assert.NotNull(predict["requestBody"]!["content"]!["text/csv"]);
        Assert.NotNull(predict["requestBody"]!["content"]!["application/json"]!["example"]);
    }

    [Fact]
    public async Task SwaggerUiIsServed()
    {
        using var client = _factory.CreateClient();
        var response = await client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ReadinessChecksTheStore()
    {
        using var client = _factory.CreateClient();
        var ready = JsonNode.Parse(await client.GetStringAsync("/health/ready"))!;
        Assert.Equal("healthy", ready["status"]!.GetValue<string>());
        Assert.Equal("healthy", ready["checks"]!["store"]!["status"]!.GetValue<string>());
        Assert.Equal("healthy", JsonNode.Parse(await client.GetStringAsync("/health/live"))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUnknownFitAnswersProblemDetails()
    {
        using var client = _factory.CreateClient();
        var (response, body) = await Http.Send(client, HttpMethod.Get, "/v1/fits/nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Fit not found", body!["title"]!.GetValue<string>());
    }
}
