using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

public sealed class DatasetUploadTests : IDisposable
{
    private readonly ApiFactory _factory = new(workers: 0);
    private readonly HttpClient _client;

    public DatasetUploadTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task AListShowsEachDataSetsShapeAndLeavesItsColumnSummariesToItsOwnResource()
    {
        // A wide data set's summaries are megabytes: a page of them would cost the sum of its data sets' widths.
        var header = string.Join(',', Enumerable.Range(0, 2000).Select(j => $"c{j}"));
        var row = string.Join(',', Enumerable.Range(0, 2000).Select(j => (j % 7).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var (created, dataset) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets?name=wide", $"{header}\n{row}\n{row}\n", "text/csv");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(2000, dataset!["columns"]!.AsArray().Count);

        var list = await _client.GetAsync("/v1/datasets");
        var text = await list.Content.ReadAsStringAsync();
        var item = JsonNode.Parse(text)!["items"]!.AsArray().Single()!;
        Assert.Equal((dataset["id"]!.GetValue<string>(), "wide", 2, 2000), (item["id"]!.GetValue<string>(), item["name"]!.GetValue<string>(),
            item["rows"]!.GetValue<int>(), item["columnCount"]!.GetValue<int>()));
        Assert.Null(item["columns"]);
        Assert.True(text.Length < 1000, $"a list of one data set is {text.Length} characters");
        var (_, one) = await Http.Send(_client, HttpMethod.Get, $"/v1/datasets/{item["id"]}");
        Assert.Equal("c1999", one!["columns"]![1999]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task UploadingLongleyStoresShapeAndColumnSummaries()
    {
        var csv = await File.ReadAllTextAsync(Http.DataFile("longley.csv"));
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets?name=longley", csv, "text/csv");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = body!["id"]!.GetValue<string>();
        Assert.Equal($"/v1/datasets/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("longley", body["name"]!.GetValue<string>());
        Assert.Equal(16, body["rows"]!.GetValue<int>());
        Assert.Equal(7, body["columnCount"]!.GetValue<int>());
        Assert.Equal(16 * 7 * 8, body["sizeBytes"]!.GetValue<long>());
        var deflator = body["columns"]![0]!;
        Assert.Equal("GNP.deflator", deflator["name"]!.GetValue<string>());
        var (_, columns) = ExactRidge.ReadCsv(Http.DataFile("longley.csv"));
        var values = columns[0].Select(v => (double)v).ToArray();
        double mean = values.Average();
        Assert.Equal(mean, deflator["mean"]!.GetValue<double>(), 10);
        Assert.Equal(Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Sum() / values.Length), deflator["stdDev"]!.GetValue<double>(), 10);
        Assert.Equal(values.Min(), deflator["min"]!.GetValue<double>());
        Assert.Equal(values.Max(), deflator["max"]!.GetValue<double>());

        var fetched = JsonNode.Parse(await _client.GetStringAsync($"/v1/datasets/{id}"))!;
        Assert.Equal(body.ToJsonString(), fetched.ToJsonString());
        var list = JsonNode.Parse(await _client.GetStringAsync("/v1/datasets"))!;
        Assert.Equal(1, list["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task UploadingJsonColumnsStoresThem()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets",
            """{"name":"tiny","columns":{"x1":[1,2,3,4],"y":[2.5,4.5,6.5,8.5]}}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("tiny", body!["name"]!.GetValue<string>());
        Assert.Equal(4, body["rows"]!.GetValue<int>());
        Assert.Equal(5.5, body["columns"]![1]!["mean"]!.GetValue<double>(), 12);
    }

    public static TheoryData<string, string, string> BadCsv => new()
    {
        { "x,y\n1,2\n3,abc\n", "line 3", "'y'" },
        { "x,y\n1,2\n3,NaN\n", "line 3", "'y'" },
        { "x,y\n1,2\n3,Infinity\n", "line 3", "'y'" },
        { "x,y\n1,2\n3,2,5\n", "line 3", "" },
        { "x,y\n1,2\n3\n", "line 3", "" },
        { "", "empty", "" },
        { "x,y\n", "no", "" },
        { "x,x\n1,2\n", "x", "" },
        { "x,,y\n1,2,3\n", "", "" },
        { "x,y\n1,2\n3,\n", "line 3", "'y'" },
    };

    [Theory]
    [MemberData(nameof(BadCsv))]
    public async Task BadCsvAnswersProblemDetailsAndStoresNothing(string csv, string mentions, string column)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", csv, "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var detail = body!["detail"]!.GetValue<string>();
        Assert.Contains(mentions, detail, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(column, detail);
        await AssertNothingStored();
    }

    [Fact]
    public async Task ABadCellReportsLineAndColumnAsFields()
    {
        var (_, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", "a,b,c\n1,2,3\n4,5,6\n7,x8,9\n", "text/csv");
        Assert.Equal(4, body!["line"]!.GetValue<long>());
        Assert.Equal("b", body["column"]!.GetValue<string>());
    }

    public static TheoryData<string, long?, string, int, string> HintedCsv => new()
    {
        { "\"\",\"x\",\"y\"\n\"1\",1,2\n\"2\",3,4\n", 1, "", 0, "write.csv(df, file, row.names = FALSE)" },
        { "x,y\n1,2\n3,NA\n", 3, "y", 1, "na.omit(df)" },
        { "x,y\n1,2\n,4\n", 3, "x", 0, "df.dropna()" },
        { "x,colour\n1,2\n3,red\n", 3, "colour", 1, "pd.get_dummies" },
    };

    /// <summary>Common R and pandas exports are refused with advice in the detail, and the line and column as fields.</summary>
    [Theory]
    [MemberData(nameof(HintedCsv))]
    public async Task CommonExportMistakesAnswerWithAHint(string csv, long? line, string column, int columnIndex, string hint)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", csv, "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(hint, body!["detail"]!.GetValue<string>());
        Assert.Equal(line, body["line"]!.GetValue<long>());
        Assert.Equal(columnIndex, body["columnIndex"]!.GetValue<int>());
        if (column.Length > 0) Assert.Equal(column, body["column"]!.GetValue<string>());
        await AssertNothingStored();
    }

    public static TheoryData<string, string> BadJson => new()
    {
        { """{"columns":{"x1":[1,2,3],"y":[1,2]}}""", "'y'" },
        { """{"columns":{"x1":[1,"a"],"y":[1,2]}}""", "'x1'" },
        { """{"columns":{"x1":[1,null],"y":[1,2]}}""", "'x1'" },
        { """{"columns":{}}""", "column" },
        { """{"columns":{"x1":[1,2]""", "" },
        { """{"colums":{"x1":[1,2]}}""", "colums" },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public async Task BadJsonDataSetAnswersProblemDetailsAndStoresNothing(string json, string mentions)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(mentions, body!["detail"]!.GetValue<string>());
        await AssertNothingStored();
    }

    [Fact]
    public async Task AnUploadOverTheLimitAnswers413AndStoresNothing()
    {
        using var factory = new ApiFactory(workers: 0, maxUploadBytes: 1000);
        using var client = factory.CreateClient();
        var csv = "x,y\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"{i},{i * 2}\n"));
        var (response, body) = await Http.Send(client, HttpMethod.Post, "/v1/datasets", csv, "text/csv");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("1000", body!["detail"]!.GetValue<string>());
        Assert.Empty(Directory.GetFiles(Path.Combine(factory.DataDirectory, "datasets")));
    }

    [Fact]
    public async Task AnotherMediaTypeAnswers415()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", "x y", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("text/csv", body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeletingADataSetRemovesItsFileAndThenAnswers404()
    {
        var id = await Http.UploadCsv(_client, "x,y\n1,2\n2,3\n3,5\n");
        Assert.Single(Directory.GetFiles(Path.Combine(_factory.DataDirectory, "datasets")));
        var (deleted, _) = await Http.Send(_client, HttpMethod.Delete, $"/v1/datasets/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_factory.DataDirectory, "datasets")));
        var (again, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/datasets/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Contains(id, body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeletingADataSetThatAQueuedFitReadsAnswers409()
    {
        var id = await Http.UploadCsv(_client, "x,y\n1,2\n2,3\n3,5\n");
        await Http.Submit(_client, new { datasetId = id, target = "y", lambda = 0.1 });
        var (response, body) = await Http.Send(_client, HttpMethod.Delete, $"/v1/datasets/{id}");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("queued or running fits read data set", body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task BadPagingNamesTheParameter()
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Get, "/v1/datasets?limit=abc");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(body!["errors"]!["limit"]);
    }

    private async Task AssertNothingStored()
    {
        var list = JsonNode.Parse(await _client.GetStringAsync("/v1/datasets"))!;
        Assert.Equal(0, list["total"]!.GetValue<int>());
        Assert.Empty(Directory.GetFiles(Path.Combine(_factory.DataDirectory, "datasets")));
    }
}
