using System.Globalization;
using System.Text;

namespace RegService.Api.Tests;

/// <summary>Unpenalized fits the data do not determine say so through the API: collinear features, separable classes.</summary>
public sealed class IllPosedFitApiTests
{
    /// <summary>a (9 decimals), b = 2a to 6 decimals, c, a gaussian target y and a 0/1 target s that c separates.</summary>
    private static string Csv()
    {
        var rng = new Random(11);
        var csv = new StringBuilder("a,b,c,y,s\n");
        for (int i = 0; i < 80; i++)
        {
            double a = Math.Round(rng.NextDouble() * 4 - 2, 9), c = Math.Round(rng.NextDouble(), 4);
            double b = Math.Round(2 * a + 1e-6 * (rng.NextDouble() - 0.5), 6);
            double y = Math.Round(a + 0.5 * c + rng.NextDouble() - 0.5, 4);
            csv.Append(CultureInfo.InvariantCulture, $"{a},{b},{c},{y},{(c > 0.5 ? 1 : 0)}\n");
        }
        return csv.ToString();
    }

    [Fact]
    public async Task PenaltyNoneOnNearlyCollinearFeaturesWarnsNamingThem()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, Csv());
        var result = await Http.WaitForDenseResult(client, await Http.Submit(client, new { datasetId = id, target = "y", features = new[] { "a", "b", "c" }, penalty = "none" }));
        string warnings = Http.Messages(result["diagnostics"]!["warnings"]);
        Assert.Contains("ill-conditioned", warnings);
        Assert.Contains("pair is 'a' and 'b'", warnings);
    }

    [Fact]
    public async Task SeparableClassesWithoutAPenaltyWarnThatTheMaximumLikelihoodDoesNotExist()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, Csv());
        var result = await Http.WaitForDenseResult(client, await Http.Submit(client,
            new { datasetId = id, target = "s", family = "binomial", features = new[] { "a", "c" }, penalty = "none" }));
        Assert.Equal("notConverged", result["status"]!.GetValue<string>());
        Assert.Contains("the classes are separable by the features, so the unpenalized maximum likelihood does not exist",
            Http.Messages(result["diagnostics"]!["warnings"]));
    }

    [Fact]
    public async Task ASingularUnpenalizedFitNamesTheCollinearFeatures()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "a,b,c,y\n1,2,0.3,1\n2,4,0.1,2.5\n3,6,0.8,2.9\n4,8,0.5,4.2\n5,10,0.2,5.1\n");
        var job = await Http.WaitForFit(client, await Http.Submit(client, new { datasetId = id, target = "y", penalty = "none" }));
        Assert.Equal("failed", job["status"]!.GetValue<string>());
        string detail = job["error"]!["detail"]!.GetValue<string>();
        Assert.Contains("pair is 'a' and 'b' (correlation 1)", detail);
    }
}
