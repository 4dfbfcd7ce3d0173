using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>Limits on names, columns and request sizes: Datasets:MaxColumns, Datasets:MaxNameLength, Fits:MaxRequestBytes.</summary>
public sealed class LimitsTests : IDisposable
{
    private readonly ApiFactory _factory = new(workers: 0);
    private readonly HttpClient _client;

    public LimitsTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> SendBytes(
        HttpClient client, string url, byte[] body, string contentType, bool declareLength = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Content = declareLength ? new ByteArrayContent(body) : new StreamContent(new UnseekableStream(body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static async Task AssertNothingStored(HttpClient client, ApiFactory factory)
    {
        var list = JsonNode.Parse(await client.GetStringAsync("/v1/datasets"))!;
        Assert.Equal(0, list["total"]!.GetValue<int>());
        Assert.Empty(Directory.GetFiles(Path.Combine(factory.DataDirectory, "datasets")));
    }

    private static void AssertProblem(HttpResponseMessage response, JsonNode? body, HttpStatusCode status)
    {
        Assert.True(status == response.StatusCode, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_header_that_is_not_utf8_answers_400_naming_the_column_and_stores_nothing()
    {
        byte[] csv = [.. "a,x"u8, 0xFF, .. "\n1,2\n"u8];
        var (response, body) = await SendBytes(_client, "/v1/datasets", csv, "text/csv");
        AssertProblem(response, body, HttpStatusCode.BadRequest);
        Assert.Equal(1, body!["line"]!.GetValue<long>());
        Assert.Equal(1, body["columnIndex"]!.GetValue<int>());
        Assert.Equal("line 1, column 2: the column name is not valid UTF-8 (byte 0xFF at byte 2 of the name); the header must be encoded in UTF-8",
            body["detail"]!.GetValue<string>());
        await AssertNothingStored(_client, _factory);
    }

    [Fact]
    public async Task A_column_name_of_one_and_a_half_megabytes_answers_400()
    {
        var csv = Encoding.UTF8.GetBytes($"x,{new string('n', 1_500_000)}\n1,2\n");
        var (response, body) = await SendBytes(_client, "/v1/datasets", csv, "text/csv");
        AssertProblem(response, body, HttpStatusCode.BadRequest);
        Assert.Equal(1, body!["columnIndex"]!.GetValue<int>());
        Assert.Contains("column 2: the column name is longer than 256 characters", body["detail"]!.GetValue<string>());
        await AssertNothingStored(_client, _factory);
    }

    [Fact]
    public async Task Names_and_columns_follow_the_configured_limits()
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?>
        {
            ["Datasets:MaxColumns"] = "3",
            ["Datasets:MaxNameLength"] = "8",
        });
        using var client = factory.CreateClient();

        var (wide, wideBody) = await Http.Send(client, HttpMethod.Post, "/v1/datasets", "a,b,c,d\n1,2,3,4\n", "text/csv");
        AssertProblem(wide, wideBody, HttpStatusCode.BadRequest);
        Assert.Equal(3, wideBody!["columnIndex"]!.GetValue<int>());
        Assert.Equal("line 1: the header has more than 3 columns; at most 3 are accepted", wideBody["detail"]!.GetValue<string>());

        var (longName, longBody) = await Http.Send(client, HttpMethod.Post, "/v1/datasets", "a,abcdefghi\n1,2\n", "text/csv");
        AssertProblem(longName, longBody, HttpStatusCode.BadRequest);
        Assert.Equal(1, longBody!["columnIndex"]!.GetValue<int>());
        Assert.Equal("line 1, column 2: the column name is 9 characters long; at most 8 are accepted", longBody["detail"]!.GetValue<string>());

        var (query, queryBody) = await Http.Send(client, HttpMethod.Post, "/v1/datasets?name=abcdefghi", "a\n1\n", "text/csv");
        AssertProblem(query, queryBody, HttpStatusCode.BadRequest);
        Assert.Equal("is 9 characters long; at most 8 are accepted", Http.Messages(queryBody!["errors"]!["name"]));

        var (json, jsonBody) = await Http.Send(client, HttpMethod.Post, "/v1/datasets", """{"columns": {"a": [1], "b": [2], "c": [3], "d": [4]}}""");
        AssertProblem(json, jsonBody, HttpStatusCode.BadRequest);
        Assert.Equal(3, jsonBody!["columnIndex"]!.GetValue<int>());

        var (ok, _) = await Http.Send(client, HttpMethod.Post, "/v1/datasets?name=abcdefgh", "a,b,abcdefgh\n1,2,3\n", "text/csv");
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
    }

    [Fact]
    public async Task The_default_column_limit_is_100000()
    {
        var header = string.Join(",", Enumerable.Range(1, 100_001).Select(i => $"c{i}"));
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", header + "\nnot numbers\n", "text/csv");
        AssertProblem(response, body, HttpStatusCode.BadRequest);
        Assert.Equal(100_000, body!["columnIndex"]!.GetValue<int>());
        Assert.Contains("more than 100000 columns", body["detail"]!.GetValue<string>());
        await AssertNothingStored(_client, _factory);
    }

    [Theory]
    [InlineData("\"a\u0000b\",y\n1,2\n", 0, "U+0000")]
    [InlineData("x,\"a\u001Bb\"\n1,2\n", 1, "U+001B")]
    public async Task A_header_name_with_a_control_character_answers_400(string csv, int index, string code)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", csv, "text/csv");
        AssertProblem(response, body, HttpStatusCode.BadRequest);
        Assert.Equal(index, body!["columnIndex"]!.GetValue<int>());
        Assert.Contains($"contains the control character {code}", body["detail"]!.GetValue<string>());
        await AssertNothingStored(_client, _factory);
    }

    [Fact]
    public async Task A_json_key_with_a_lone_surrogate_answers_400_naming_the_column()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", """{"columns": {"x": [1], "y\ud800": [2]}}""");
        AssertProblem(response, body, HttpStatusCode.BadRequest);
        Assert.Equal(1, body!["columnIndex"]!.GetValue<int>());
        Assert.Equal("the name of column 2 is not valid Unicode (a \\u escape is a lone surrogate)", body["detail"]!.GetValue<string>());
        await AssertNothingStored(_client, _factory);
    }

    [Fact]
    public async Task A_bad_data_set_name_answers_400_under_errors_name()
    {
        var (json, jsonBody) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", """{"name": "set\udc00", "columns": {"x": [1]}}""");
        AssertProblem(json, jsonBody, HttpStatusCode.BadRequest);
        Assert.Contains("'name' is not valid Unicode", Http.Messages(jsonBody!["errors"]!["name"]));

        var (control, controlBody) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets?name=a%0Ab", "x\n1\n", "text/csv");
        AssertProblem(control, controlBody, HttpStatusCode.BadRequest);
        Assert.Contains("control character U+000A", Http.Messages(controlBody!["errors"]!["name"]));

        var (query, queryBody) = await Http.Send(_client, HttpMethod.Post, $"/v1/datasets?name={new string('n', 257)}", "x\n1\n", "text/csv");
        AssertProblem(query, queryBody, HttpStatusCode.BadRequest);
        Assert.Equal("is 257 characters long; at most 256 are accepted", Http.Messages(queryBody!["errors"]!["name"]));
        await AssertNothingStored(_client, _factory);
    }

    [Fact]
    public async Task Fit_request_names_longer_than_a_column_name_answer_400_naming_the_field()
    {
        var id = await Http.UploadCsv(_client, "x1,x2,y\n1,2,3\n2,1,5\n3,5,4\n4,3,8\n");
        string huge = new('t', 300);
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits",
            $$"""{"datasetId": "{{id}}", "target": "{{huge}}", "features": ["x1", "{{huge}}"], "penaltyFactors": {"{{huge}}": 1}, "lambda": 1}""");
        AssertProblem(response, body, HttpStatusCode.BadRequest);
        var errors = body!["errors"]!;
        Assert.Equal("is 300 characters long; a column name has at most 256 (Datasets:MaxNameLength)", Http.Messages(errors["target"]));
        Assert.Equal("is 300 characters long; a column name has at most 256 (Datasets:MaxNameLength)", Http.Messages(errors["features[1]"]));
        Assert.StartsWith("the key starting 'tttt", Http.Messages(errors["penaltyFactors"]));
        Assert.DoesNotContain(huge, body.ToJsonString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_fit_request_above_the_limit_answers_413_before_parsing(bool declareLength)
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?> { ["Fits:MaxRequestBytes"] = "1000" });
        using var client = factory.CreateClient();
        var foldIds = string.Join(",", Enumerable.Range(0, 1000).Select(i => i % 5));
        var json = """{"datasetId": "none", "target": "y", "validation": {"method": "kfold", "foldIds": [""" + foldIds + "]}}";
        var (response, body) = await SendBytes(client, "/v1/fits", Encoding.UTF8.GetBytes(json), "application/json", declareLength);
        AssertProblem(response, body, HttpStatusCode.RequestEntityTooLarge);
        var detail = body!["detail"]!.GetValue<string>();
        Assert.Contains("Fits:MaxRequestBytes", detail);
        Assert.Contains("1000", detail);
        if (declareLength) Assert.Contains($"has {Encoding.UTF8.GetByteCount(json)} bytes", detail);

        // A small request still gets through to validation (here: the unknown data set).
        var (small, _) = await Http.Send(client, HttpMethod.Post, "/v1/fits", """{"datasetId": "none", "target": "y"}""");
        Assert.Equal(HttpStatusCode.NotFound, small.StatusCode);
    }

    [Theory]
    [InlineData("Datasets:MaxColumns")]
    [InlineData("Datasets:MaxNameLength")]
    [InlineData("Fits:MaxRequestBytes")]
    public void A_limit_that_is_not_positive_stops_the_start(string key)
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?> { [key] = "0" });
        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains($"{key} must be positive", e.ToString());
    }

    /// <summary>A body whose length is not known in advance (sent chunked).</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
