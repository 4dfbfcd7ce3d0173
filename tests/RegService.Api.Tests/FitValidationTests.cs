using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

public sealed class FitValidationTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 0);
    private HttpClient _client = null!;
    private string _longley = "";

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _longley = await Http.UploadCsv(_client, await File.ReadAllTextAsync(Http.DataFile("longley.csv")));
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonNode> PostExpecting(HttpStatusCode expected, string json)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", json.Replace("DS", _longley));
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return body!;
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { """{"datasetId":"DS","target":"Employd","lambda":1}""", "target", "'Employd' is not a column" },
        { """{"datasetId":"DS","target":"Employed","features":["GNP","Year2"],"lambda":1}""", "features[1]", "'Year2' is not a column" },
        { """{"datasetId":"DS","target":"Employed","features":["GNP","GNP"],"lambda":1}""", "features[1]", "named twice" },
        { """{"datasetId":"DS","target":"Employed","features":["Employed"],"lambda":1}""", "features[0]", "is the target" },
        { """{"datasetId":"DS","target":"Employed","lambda":-1}""", "lambda", "must be >= 0; got -1" },
        { """{"datasetId":"DS","target":"Employed","lambda":"NaN"}""", "lambda", "finite" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[1,"Infinity"]}""", "lambdas[1]", "finite" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[]}""", "lambdas", "at least one" },
        { """{"datasetId":"DS","target":"Employed"}""", "lambda", "is required" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"lambdas":[1]}""", "lambda", "not several" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"penalty":"lasso"}""", "penalty", "lasso is not supported yet" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"family":"binomial"}""", "family", "binomial is not supported yet" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"l1Ratio":0.5}""", "l1Ratio", "ridge has l1Ratio 0" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"l1Ratio":2}""", "l1Ratio", "[0, 1]" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"validation":{"method":"holdout","holdoutFraction":1.5}}""", "validation.holdoutFraction", "(0, 1)" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"validation":{"method":"holdout","holdoutFraction":0.01}}""", "validation.holdoutFraction", "holds out 0" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"validation":{"method":"kfold"}}""", "validation.method", "kfold" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"penaltyFactors":{"GNP":0}}""", "penaltyFactors", "not supported yet" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"path":{"count":10}}""", "path", "give lambda or lambdas" },
        { """{"target":"Employed","lambda":1}""", "datasetId", "is required" },
        { """{"datasetId":"DS","target":"Employed","lamda":1}""", "lamda", "is not a field" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"penalty":"lassso"}""", "penalty", "wrong type" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"standardize":"yes"}""", "standardize", "wrong type" },
        { """{"datasetId":"DS","target":"Employed","lambda":1""", "lambda", "malformed JSON" },
        { """[1,2]""", "body", "wrong type" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"tolerance":0}""", "tolerance", "positive" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task AnInvalidFitRequestNamesTheFieldAtFault(string json, string field, string message)
    {
        var body = await PostExpecting(HttpStatusCode.BadRequest, json);
        var errors = body["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"no error for '{field}': {body.ToJsonString()}");
        Assert.Contains(message, Http.Messages(errors[field]));
        await AssertNoFitQueued();
    }

    [Fact]
    public async Task SeveralFaultsAreReportedTogether()
    {
        var body = await PostExpecting(HttpStatusCode.BadRequest, """{"datasetId":"DS","target":"nope","lambda":-2}""");
        var errors = body["errors"]!.AsObject();
        Assert.True(errors.ContainsKey("target"));
        Assert.True(errors.ContainsKey("lambda"));
    }

    [Fact]
    public async Task AnUnknownDataSetAnswers404NamingIt()
    {
        var body = await PostExpecting(HttpStatusCode.NotFound, """{"datasetId":"missing123","target":"y","lambda":1}""");
        Assert.Contains("missing123", body["detail"]!.GetValue<string>());
        Assert.Equal("datasetId", body["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task AConstantTargetIsRejected()
    {
        var id = await Http.UploadCsv(_client, "x,y\n1,3\n2,3\n3,3\n");
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", $$"""{"datasetId":"{{id}}","target":"y","lambda":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("constant", Http.Messages(body!["errors"]!["target"]));
    }

    [Fact]
    public async Task AFitRequestThatIsNotJsonAnswers415()
    {
        var (response, _) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", "datasetId=1", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    private async Task AssertNoFitQueued()
    {
        var list = JsonNode.Parse(await _client.GetStringAsync("/v1/fits"))!;
        Assert.Equal(0, list["total"]!.GetValue<int>());
    }
}
