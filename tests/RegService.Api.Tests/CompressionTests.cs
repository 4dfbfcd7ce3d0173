using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>Responses are compressed (Brotli or gzip) when the client asks with Accept-Encoding, and only then.</summary>
public sealed class CompressionTests : IDisposable
{
    private readonly ApiFactory _factory = new(workers: 1);

    public void Dispose() => _factory.Dispose();

    /// <summary>A client that sees the bytes as sent: no automatic decompression.</summary>
    private HttpClient RawClient() => _factory.CreateDefaultClient();

    private static async Task<(HttpResponseMessage Response, byte[] Bytes)> Get(HttpClient client, string url, string? encoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (encoding is not null) request.Headers.TryAddWithoutValidation("Accept-Encoding", encoding);
        var response = await client.SendAsync(request);
        return (response, await response.Content.ReadAsByteArrayAsync());
    }

    private static byte[] Decompress(byte[] bytes, Func<Stream, Stream> open)
    {
        using var input = open(new MemoryStream(bytes));
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    [Fact]
    public async Task AFitResultComesBackCompressedWhenAskedAndDecompressesToTheSameJson()
    {
        var client = RawClient();
        var dataset = await Http.UploadCsv(client, Synthetic.Gaussian(200, seed: 3).Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", penalty = "lasso", path = new { count = 100 } });
        var job = await Http.WaitForFit(client, fit);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());

        var (plain, plainBytes) = await Get(client, $"/v1/fits/{fit}", null);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Empty(plain.Content.Headers.ContentEncoding);
        Assert.NotNull(JsonNode.Parse(plainBytes)!["result"]);

        var (gzip, gzipBytes) = await Get(client, $"/v1/fits/{fit}", "gzip");
        Assert.Equal(HttpStatusCode.OK, gzip.StatusCode);
        Assert.Equal(["gzip"], gzip.Content.Headers.ContentEncoding);
        Assert.Contains("Accept-Encoding", gzip.Headers.Vary);
        Assert.True(gzipBytes.Length < plainBytes.Length, $"{gzipBytes.Length} compressed bytes of {plainBytes.Length}");
        Assert.Equal(plainBytes, Decompress(gzipBytes, s => new GZipStream(s, CompressionMode.Decompress)));

        var (brotli, brotliBytes) = await Get(client, $"/v1/fits/{fit}", "br, gzip");
        Assert.Equal(["br"], brotli.Content.Headers.ContentEncoding);
        Assert.Equal(plainBytes, Decompress(brotliBytes, s => new BrotliStream(s, CompressionMode.Decompress)));
    }

    [Fact]
    public async Task PlotsAndTheWebPageAreCompressedWhenAskedAndTheEventStreamIsNot()
    {
        var client = RawClient();
        var dataset = await Http.UploadCsv(client, Synthetic.Gaussian(200, seed: 4).Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", penalty = "lasso", path = new { count = 50 } });
        var job = await Http.WaitForFit(client, fit);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());

        foreach (var (url, mediaType) in new[] { ($"/v1/fits/{fit}/plots/path.svg", "image/svg+xml"), ("/", "text/html"), ("/app.js", "text/javascript") })
        {
            var (plain, plainBytes) = await Get(client, url, null);
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            Assert.Equal(mediaType, plain.Content.Headers.ContentType!.MediaType);
            Assert.Empty(plain.Content.Headers.ContentEncoding);
            var (gzip, gzipBytes) = await Get(client, url, "gzip");
            Assert.Equal(["gzip"], gzip.Content.Headers.ContentEncoding);
            Assert.True(gzipBytes.Length < plainBytes.Length / 2, $"{url}: {gzipBytes.Length} compressed bytes of {plainBytes.Length}");
            Assert.Equal(plainBytes, Decompress(gzipBytes, s => new GZipStream(s, CompressionMode.Decompress)));
        }

        // A finished fit's event stream answers its end event at once; it is never compressed (events would be held back).
        var (events, eventBytes) = await Get(client, $"/v1/fits/{fit}/events", "gzip");
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType!.MediaType);
        Assert.Empty(events.Content.Headers.ContentEncoding);
        Assert.Contains("event: end", System.Text.Encoding.UTF8.GetString(eventBytes));
    }

    [Fact]
    public async Task ProblemDetailsAreCompressedToo()
    {
        var (response, bytes) = await Get(RawClient(), "/v1/fits/nope", "gzip");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        var problem = JsonNode.Parse(Decompress(bytes, s => new GZipStream(s, CompressionMode.Decompress)))!;
        Assert.Equal(404, problem["status"]!.GetValue<int>());
    }
}
