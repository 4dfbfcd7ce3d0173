using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The closed form stops when asked: a ridge path on 1,500 features (its Gram matrix, then an
/// eigendecomposition) canceled while running ends canceled within a second; and a wide data set
/// (3 rows, 8,000 columns) at one lambda fits at once through the dual.
/// </summary>
public sealed class ClosedFormCancelTests
{
    public static string WideCsv(int rows, int columns, int seed)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', Enumerable.Range(0, columns).Select(j => $"x{j}")).Append(",y\n");
        var rng = new Random(seed);
        for (int i = 0; i < rows; i++)
        {
            double sum = 0;
            for (int j = 0; j < columns; j++)
            {
                double v = Math.Round(rng.NextDouble(), 3);
                if (j < 5) sum += v;
                csv.Append(v.ToString(CultureInfo.InvariantCulture)).Append(',');
            }
            csv.Append((sum + rng.NextDouble()).ToString("F3", CultureInfo.InvariantCulture)).Append('\n');
        }
        return csv.ToString();
    }

    [Fact]
    public async Task ACanceledClosedFormPathEndsCanceledWithinASecond()
    {
        using var factory = new ApiFactory(workers: 1);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, WideCsv(1600, 1500, 1));
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", penalty = "ridge", path = new { count = 100 } });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!["status"]!.GetValue<string>() != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the fit never started");
            await Task.Delay(20);
        }
        await Task.Delay(500);   // into the Gram matrix or the eigendecomposition
        var watch = Stopwatch.StartNew();
        var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/cancel");
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body?.ToJsonString());
        var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(30));
        Assert.Equal("canceled", job["status"]!.GetValue<string>());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"the cancel took {watch.Elapsed.TotalSeconds:F2} s");
    }

    [Fact]
    public async Task ThreeRowsOfEightThousandColumnsFitThroughTheDual()
    {
        using var factory = new ApiFactory(workers: 1);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, WideCsv(3, 8000, 2));
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 1 });
        var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(30));
        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        Assert.Equal(8000, job["result"]!["coefficients"]!.AsObject().Count);
        // Ridge on 3 rows: the fitted values move toward y, and nothing is zero.
        Assert.Equal(8000, job["result"]!["sparsity"]!["nonZero"]!.GetValue<int>());
    }
}
