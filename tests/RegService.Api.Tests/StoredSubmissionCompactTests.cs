using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Auth;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;
using RegService.Numerics.Fitting;

namespace RegService.Api.Tests;

/// <summary>
/// A stored submission's per-column parts kept compact (the column shift packed, an all-but-target feature list implied)
/// read back exactly; the request alone reads from any stored form; a data set's record reads without its summaries.
/// </summary>
public sealed class StoredSubmissionCompactTests
{
    private static readonly JsonSerializerOptions Options = StoreOptions();

    /// <summary>The store's serializer settings, as the service configures them.</summary>
    private static JsonSerializerOptions StoreOptions()
    {
        var http = new Microsoft.AspNetCore.Http.Json.JsonOptions();
        JsonSerializerOptionsProvider.Configure(http.SerializerOptions);
        return new JsonSerializerOptionsProvider(Microsoft.Extensions.Options.Options.Create(http)).Options;
    }

    private static FitSpec Spec(int[] features, int target) => new()
    {
        FeatureColumns = features,
        FeatureNames = [.. features.Select(c => $"x{c}")],
        TargetColumn = target,
        TargetName = "y",
        Penalty = Penalty.Lasso,
        ColumnShift = [0.1, -2.5e-300, 1.0 / 3, double.Epsilon, 7],
    };

    private static readonly FitRequest Request = new() { DatasetId = "d1", Target = "y", Penalty = PenaltyName.Lasso, Features = null };

    [Fact]
    public void EveryColumnButTheTargetIsStoredAsTheColumnCountAndReadBackAsTheList()
    {
        var spec = Spec([0, 1, 3, 4], 2);
        var json = new StoredSubmission { Request = Request, Spec = spec }.Write(Options);
        var row = JsonNode.Parse(json)!;
        Assert.Equal(5, row["columnCount"]!.GetValue<int>());
        Assert.Empty(row["spec"]!["featureColumns"]!.AsArray());
        Assert.Null(row["spec"]!["columnShift"]);
        Assert.Equal(JsonValueKind.String, row["columnShift"]!.GetValueKind());

        var read = StoredSubmission.Read(json, Options).Spec!;
        Assert.Equal(spec.FeatureColumns, read.FeatureColumns);
        Assert.Equal(spec.FeatureNames, read.FeatureNames);
        Assert.Equal(spec.ColumnShift, read.ColumnShift);
        Assert.Equal(2, read.TargetColumn);
    }

    [Theory]
    [InlineData(new[] { 3, 0 }, 1)]
    [InlineData(new[] { 0, 1 }, 3)]
    [InlineData(new[] { 1, 2 }, 0)]
    public void AChosenFeatureListIsStoredAsItIs(int[] features, int target)
    {
        var spec = Spec(features, target);
        var json = new StoredSubmission { Request = Request, Spec = spec }.Write(Options);
        var row = JsonNode.Parse(json)!;
        bool allButTarget = features.SequenceEqual(Enumerable.Range(0, features.Length + 1).Where(c => c != target));
        Assert.Equal(allButTarget, row["columnCount"] is not null);
        Assert.Equal(features, StoredSubmission.Read(json, Options).Spec!.FeatureColumns);
    }

    [Fact]
    public void TheRequestReadsAloneFromEveryStoredForm()
    {
        var request = Request with { Lambdas = [0.5, 0.25], Name = "wide" };
        var expected = JsonSerializer.Serialize(request, Options);
        var current = new StoredSubmission { Request = request, Spec = Spec([0, 1], 2) }.Write(Options);
        // Format 1 as written before the compact parts (the spec's own lists), with the spec ahead of the request.
        var spec = JsonSerializer.SerializeToNode(Spec([0, 1], 2), Options);
        var earlier = new JsonObject { ["formatVersion"] = 1, ["spec"] = spec, ["request"] = JsonSerializer.SerializeToNode(request, Options) }.ToJsonString();
        // Before format 1: the request itself.
        foreach (var json in new[] { current, earlier, expected })
        {
            Assert.Equal(expected, JsonSerializer.Serialize(StoredSubmission.ReadRequest(json, Options), Options));
            Assert.Equal(expected, JsonSerializer.Serialize(StoredSubmission.Read(json, Options).Request, Options));
        }
        Assert.Equal([0, 1], StoredSubmission.Read(earlier, Options).Spec!.FeatureColumns);
        Assert.Equal(Spec([0, 1], 2).ColumnShift, StoredSubmission.Read(earlier, Options).Spec!.ColumnShift);
        Assert.Throws<NotSupportedException>(() => StoredSubmission.ReadRequest("""{"formatVersion":9,"request":{}}""", Options));
    }

    [Fact]
    public async Task ADataSetReadsWithoutItsColumnSummaries()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "a,b,y\n1,2,3\n4,5,7\n");
        var store = factory.Services.GetRequiredService<IDatasetStore>();
        var full = store.Get(Identity.LocalTenant, id)!;
        var shape = store.Get(Identity.LocalTenant, id, withColumns: false)!;
        Assert.Equal(3, full.Columns.Count);
        Assert.Empty(shape.Columns);
        Assert.Equal((full.Id, full.Rows, full.ColumnCount, full.SizeBytes), (shape.Id, shape.Rows, shape.ColumnCount, shape.SizeBytes));
        Assert.Equal(store.LoadMatrix(full).Column(2).ToArray(), store.LoadMatrix(shape).Column(2).ToArray());

        // A second read takes the summaries the first parsed; the row itself is still read: another tenant or a deleted set is not found.
        var again = store.Get(Identity.LocalTenant, id)!;
        Assert.Same(full.Columns, again.Columns);
        Assert.Null(store.Get("another-tenant", id));
        Assert.Equal(DeleteOutcome.Deleted, store.Delete(Identity.LocalTenant, id));
        Assert.Null(store.Get(Identity.LocalTenant, id));
    }

    [Fact]
    public void TheSummaryCacheKeepsTheMostRecentlyUsedWithinItsColumnCount()
    {
        static IReadOnlyList<Datasets.ColumnStats> Columns(int n) => [.. Enumerable.Range(0, n).Select(i => new Datasets.ColumnStats($"c{i}", i, 1, 0, 2))];
        var cache = new ColumnSummaryCache(maxColumns: 10);
        var a = Columns(4);
        cache.Add("a", a);
        cache.Add("b", Columns(4));
        Assert.Same(a, cache.Get("a"));
        cache.Add("c", Columns(4)); // 12 > 10: b, the least recently used, goes
        Assert.Null(cache.Get("b"));
        Assert.Same(a, cache.Get("a"));
        Assert.NotNull(cache.Get("c"));
        cache.Add("wide", Columns(11)); // more than the whole cache: not kept, nothing dropped
        Assert.Null(cache.Get("wide"));
        Assert.NotNull(cache.Get("c"));
        cache.Remove("a");
        Assert.Null(cache.Get("a"));
    }
}
