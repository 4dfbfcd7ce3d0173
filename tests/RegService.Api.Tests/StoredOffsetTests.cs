using System.Text.Json;
using System.Text.Json.Nodes;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Numerics.Fitting;

namespace RegService.Api.Tests;

/// <summary>A spec's offset (one value per row) is stored packed beside the spec, not as a JSON array in it, and reads back exactly.</summary>
public sealed class StoredOffsetTests
{
    [Fact]
    public void TheOffsetIsPackedAndReadBackExactly()
    {
        var http = new Microsoft.AspNetCore.Http.Json.JsonOptions();
        JsonSerializerOptionsProvider.Configure(http.SerializerOptions);
        var options = new JsonSerializerOptionsProvider(Microsoft.Extensions.Options.Options.Create(http)).Options;
        double[] offset = [.. Enumerable.Range(0, 1000).Select(i => Math.Log(1 + i / 7.0) - 1.0 / 3)];
        var spec = new FitSpec
        {
            FeatureColumns = [0, 1],
            FeatureNames = ["a", "b"],
            TargetColumn = 2,
            Family = Family.Poisson,
            Penalty = Penalty.Lasso,
            Offset = offset,
        };
        var request = new FitRequest { DatasetId = "d1", Target = "y", Family = FamilyName.Poisson, Offset = "o" };
        var json = new StoredSubmission { Request = request, Spec = spec }.Write(options);
        var row = JsonNode.Parse(json)!;
        Assert.Null(row["spec"]!["offset"]);
        Assert.Equal(JsonValueKind.String, row["offset"]!.GetValueKind());
        Assert.True(json.Length < 1000 * 12, $"{json.Length} characters for 1000 offsets");

        var read = StoredSubmission.Read(json, options);
        Assert.Equal(offset, read.Spec!.Offset);
        Assert.Equal("o", read.Request.Offset);
        Assert.Equal(Family.Poisson, read.Spec.Family);
        Assert.Null(StoredSubmission.Read(new StoredSubmission { Request = request, Spec = spec with { Offset = null } }.Write(options), options).Spec!.Offset);
    }
}
