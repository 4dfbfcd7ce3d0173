using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The request's <c>weights</c> column: its faults (400 naming weights and the row), the column kept out of the features,
/// the weighted fit (integer weights fit what repeated rows fit), and prediction without the weights column.
/// </summary>
public sealed class WeightedFitApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private readonly Synthetic _data = Synthetic.Gaussian(80, seed: 14);
    private HttpClient _client = null!;
    private string _weighted = "", _repeated = "";

    private static double Weight(int i) => i % 3;   // 0, 1, 2

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        var with = new StringBuilder("a,b,c,d,e,y,w\n");
        var repeated = new StringBuilder("a,b,c,d,e,y\n");
        for (int i = 0; i < _data.Rows; i++)
        {
            var row = string.Join(",", _data.Names.Select(n => _data.Column(n)[i].ToString("R", CultureInfo.InvariantCulture)));
            with.Append(row).Append(',').Append(Weight(i).ToString(CultureInfo.InvariantCulture)).Append('\n');
            for (int c = 0; c < Weight(i); c++) repeated.Append(row).Append('\n');
        }
        _weighted = await Http.UploadCsv(_client, with.ToString());
        _repeated = await Http.UploadCsv(_client, repeated.ToString());
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> Fault(string csv, object extra)
    {
        var dataset = await Http.UploadCsv(_client, csv);
        var request = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra))!.AsObject();
        request["datasetId"] = dataset;
        request["target"] = "y";
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return Http.Messages(body!["errors"]!["weights"]);
    }

    [Fact]
    public async Task BadWeightColumnsAre400NamingWeightsAndTheRow()
    {
        Assert.Contains("row 3 has weight -0.5",
            await Fault("x,y,w\n1,1,1\n2,3,2\n3,2,-0.5\n4,5,1\n", new { penalty = "lasso", lambda = 0.1, weights = "w" }));
        Assert.Contains("every weight is 0",
            await Fault("x,y,w\n1,1,0\n2,3,0\n3,2,0\n4,5,0\n", new { penalty = "lasso", lambda = 0.1, weights = "w" }));
        Assert.Contains("'v' is not a column",
            await Fault("x,y,w\n1,1,1\n2,3,2\n3,2,1\n4,5,1\n", new { penalty = "lasso", lambda = 0.1, weights = "v" }));
        Assert.Contains("'y' is the target",
            await Fault("x,y,w\n1,1,1\n2,3,2\n3,2,1\n4,5,1\n", new { penalty = "lasso", lambda = 0.1, weights = "y" }));
        Assert.Contains("proximalGradient does not take weights yet",
            await Fault("x,y,w\n1,1,1\n2,3,2\n3,2,1\n4,5,1\n", new { penalty = "lasso", lambda = 0.1, weights = "w", solver = "proximalGradient" }));
        Assert.Contains("validation loo does not take weights yet",
            await Fault("x,y,w\n1,1,1\n2,3,2\n3,2,1\n4,5,1\n", new { penalty = "ridge", lambdas = new[] { 1, 0.1 }, weights = "w", validation = new { method = "loo" } }));
    }

    [Fact]
    public async Task TheWeightsColumnNamedAsAFeatureIs400()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits",
            $$"""{"datasetId":"{{_weighted}}","target":"y","features":["a","w"],"weights":"w","lambda":0.1}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("is the weights column", Http.Messages(body!["errors"]!["features[1]"]));
    }

    [Theory]
    [InlineData("lasso")]
    [InlineData("ridge")]
    public async Task WeightsFitLikeRepeatedRowsAndStayOutOfTheFeatures(string penalty)
    {
        var lambdas = new[] { 0.1, 0.01 };
        var id = await Http.Submit(_client, new { datasetId = _weighted, target = "y", weights = "w", penalty, lambdas });
        var weighted = await Http.WaitForDenseResult(_client, id);
        var repeated = await Http.WaitForDenseResult(_client, await Http.Submit(_client, new { datasetId = _repeated, target = "y", penalty, lambdas }));
        Assert.Equal(["a", "b", "c", "d", "e"], weighted["features"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal(repeated["intercept"]!.GetValue<double>(), weighted["intercept"]!.GetValue<double>(), 1e-9);
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
            Assert.Equal(repeated["coefficients"]![name]!.GetValue<double>(), weighted["coefficients"]![name]!.GetValue<double>(), 1e-9);

        // Prediction takes the features only: the weights column is not asked for.
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict", _data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(_data.Rows, body!["rows"]!.GetValue<int>());
    }
}
