using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using RegService.Numerics.Fitting;

namespace RegService.Api.Fits;

/// <summary>
/// A submitted fit as the store keeps it (<c>request_json</c>), versioned by <see cref="FormatVersion"/>: the request as
/// the client sent it (what GET shows) and the engine's resolved spec (what the worker runs, as it is: nothing is planned
/// twice). Rows stored before format 1 hold the request alone; their <see cref="Spec"/> is null and the worker resolves
/// the request as the submission did then.
/// </summary>
public sealed record StoredSubmission
{
    public const int CurrentVersion = 1;

    [JsonPropertyOrder(-1)] public int FormatVersion { get; init; } = CurrentVersion;

    public required FitRequest Request { get; init; }

    /// <summary>The resolved spec (<see cref="FitSpec.Resolve"/>); null in rows of the earlier form.</summary>
    public FitSpec? Spec { get; init; }

    public string Write(JsonSerializerOptions options) => JsonSerializer.Serialize(this, options);

    /// <summary>A stored <c>request_json</c>: format 1, or the earlier rows that stored the request itself.</summary>
    public static StoredSubmission Read(string json, JsonSerializerOptions options)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("a stored submission is a JSON object");
        if (!node.TryGetPropertyValue("formatVersion", out var version) || version is null)
            return new StoredSubmission { FormatVersion = 0, Request = node.Deserialize<FitRequest>(options)! };
        int v = version.GetValue<int>();
        if (v != CurrentVersion)
            throw new NotSupportedException($"stored submission format {v} is not one this version reads (it writes {CurrentVersion})");
        return node.Deserialize<StoredSubmission>(options)!;
    }
}
