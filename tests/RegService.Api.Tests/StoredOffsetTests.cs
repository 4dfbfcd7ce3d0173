using System.Text.Json;
using System.Text.Json.Nodes;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Numerics.Fitting;

namespace RegService.Api.Tests;

/// <summary>A spec's offset (one value per row) and class offsets (one column per class) are stored packed beside the spec, not as
/// JSON arrays in it, and read back exactly.</summary>
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

    /// <summary>A multinomial spec's class offsets (one column per class) are stored packed beside the spec and read back exactly,
    /// labels and order kept.</summary>
    [Fact]
    public void ClassOffsetsArePackedAndReadBackExactly()
    {
        var http = new Microsoft.AspNetCore.Http.Json.JsonOptions();
        JsonSerializerOptionsProvider.Configure(http.SerializerOptions);
        var options = new JsonSerializerOptionsProvider(Microsoft.Extensions.Options.Options.Create(http)).Options;
        double[] labels = [7, 2.5, 11];
        var offsets = labels.Select((l, k) => new ClassOffset(l, [.. Enumerable.Range(0, 1000).Select(i => Math.Sin(i * (k + 1)) / 3)])).ToArray();
        var spec = new FitSpec
        {
            FeatureColumns = [0, 1],
            FeatureNames = ["a", "b"],
            TargetColumn = 2,
            Family = Family.Multinomial,
            Penalty = Penalty.Lasso,
            ClassOffsets = offsets,
        };
        var request = new FitRequest
        {
            DatasetId = "d1", Target = "y", Family = FamilyName.Multinomial,
            ClassOffsets = new Dictionary<string, string> { ["7"] = "o7", ["2.5"] = "o25", ["11"] = "o11" },
        };
        var json = new StoredSubmission { Request = request, Spec = spec }.Write(options);
        var row = JsonNode.Parse(json)!;
        Assert.Null(row["spec"]!["classOffsets"]);
        Assert.Equal(3, row["classOffsets"]!.AsArray().Count);
        Assert.True(json.Length < 3 * 1000 * 12, $"{json.Length} characters for 3000 offsets");

        var read = StoredSubmission.Read(json, options);
        Assert.Equal(labels, read.Spec!.ClassOffsets!.Select(o => o.Label));
        for (int k = 0; k < labels.Length; k++) Assert.Equal(offsets[k].Values, read.Spec.ClassOffsets![k].Values);
        Assert.Equal("o25", read.Request.ClassOffsets!["2.5"]);
        Assert.Null(StoredSubmission.Read(new StoredSubmission { Request = request, Spec = spec with { ClassOffsets = null } }.Write(options), options).Spec!.ClassOffsets);
    }
}
