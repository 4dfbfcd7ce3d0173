using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RegService.Numerics.Fitting;

namespace RegService.Api.Fits;

/// <summary>
/// A submitted fit as the store keeps it (<c>request_json</c>), versioned by <see cref="FormatVersion"/>: the request as
/// the client sent it (what GET shows) and the engine's resolved spec (what the worker runs, as it is: nothing is planned
/// twice). Rows stored before format 1 hold the request alone; their <see cref="Spec"/> is null and the worker resolves
/// the request as the submission did then.
/// <para>
/// The spec's per-column parts are kept compact beside it, so a wide data set's submission is written and read once
/// at the cost of its names: <c>columnShift</c> (one value per data set column) as packed doubles
/// (<see cref="PackedDoublesConverter"/>), the offset (one value per row) packed as <c>offset</c>, the class offsets of a multinomial fit as <c>classOffsets</c> (a label and packed values each), and when the features are
/// every column but the target, <c>columnCount</c>
/// in place of the spec's <c>featureColumns</c> (then stored empty). Rows without them (written before) read as they are.
/// </para>
/// </summary>
public sealed record StoredSubmission
{
    public const int CurrentVersion = 1;

    [JsonPropertyOrder(-1)] public int FormatVersion { get; init; } = CurrentVersion;

    public required FitRequest Request { get; init; }

    /// <summary>The resolved spec (<see cref="FitSpec.Resolve"/>); null in rows of the earlier form.</summary>
    public FitSpec? Spec { get; init; }

    /// <summary>The spec's <see cref="FitSpec.ColumnShift"/>, packed; the stored spec holds none.</summary>
    [JsonInclude, JsonPropertyName("columnShift"), JsonConverter(typeof(PackedDoublesConverter))]
    private double[]? PackedColumnShift { get; init; }

    /// <summary>The spec's <see cref="FitSpec.Offset"/> (one value per row), packed; the stored spec holds none.</summary>
    [JsonInclude, JsonPropertyName("offset"), JsonConverter(typeof(PackedDoublesConverter))]
    private double[]? PackedOffset { get; init; }

    /// <summary>The spec's <see cref="FitSpec.ClassOffsets"/> (one column per class), each packed; the stored spec holds none.</summary>
    [JsonInclude, JsonPropertyName("classOffsets")]
    private PackedClassOffset[]? PackedClassOffsets { get; init; }

    /// <summary>Set when the spec's features are every one of this many columns but the target; the stored spec's list is empty.</summary>
    [JsonInclude, JsonPropertyName("columnCount")]
    private int? AllColumnsButTarget { get; init; }

    public string Write(JsonSerializerOptions options)
    {
        var stored = this;
        if (Spec is { } spec)
        {
            int? columns = IsAllButTarget(spec.FeatureColumns, spec.TargetColumn) ? spec.FeatureColumns.Length + 1 : null;
            stored = this with
            {
                Spec = spec with { ColumnShift = null, Offset = null, ClassOffsets = null, FeatureColumns = columns is null ? spec.FeatureColumns : [] },
                PackedColumnShift = spec.ColumnShift,
                PackedOffset = spec.Offset,
                PackedClassOffsets = spec.ClassOffsets is { } classOffsets ? [.. classOffsets.Select(o => new PackedClassOffset(o.Label, o.Values))] : null,
                AllColumnsButTarget = columns,
            };
        }
        return JsonSerializer.Serialize(stored, options);
    }

    /// <summary>A stored <c>request_json</c>: format 1, or the earlier rows that stored the request itself.</summary>
    public static StoredSubmission Read(string json, JsonSerializerOptions options)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        if (FindVersion(bytes) is not { } version)
            return new StoredSubmission { FormatVersion = 0, Request = JsonSerializer.Deserialize<FitRequest>(bytes, options)! };
        Check(version);
        var stored = JsonSerializer.Deserialize<StoredSubmission>(bytes, options)!;
        if (stored.Spec is not { } spec) return stored;
        if (stored.AllColumnsButTarget is { } count)
        {
            var columns = new int[count - 1];
            for (int i = 0; i < columns.Length; i++) columns[i] = i < spec.TargetColumn ? i : i + 1;
            spec = spec with { FeatureColumns = columns };
        }
        if (stored.PackedColumnShift is { } shift) spec = spec with { ColumnShift = shift };
        if (stored.PackedOffset is { } offset) spec = spec with { Offset = offset };
        if (stored.PackedClassOffsets is { } classOffsets) spec = spec with { ClassOffsets = [.. classOffsets.Select(o => new ClassOffset(o.Label, o.Values))] };
        return stored with { Spec = spec, PackedColumnShift = null, PackedOffset = null, PackedClassOffsets = null, AllColumnsButTarget = null };
    }

    /// <summary>
    /// The request alone, as GET shows it: the stored spec (a name per feature) is stepped over, not parsed, so a poll of
    /// a wide fit costs what its request does.
    /// </summary>
    public static FitRequest ReadRequest(string json, JsonSerializerOptions options)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a stored submission is a JSON object");
        bool versioned = false;
        FitRequest? request = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("formatVersion"u8))
            {
                reader.Read();
                Check(reader.GetInt32());
                versioned = true;
            }
            else if (reader.ValueTextEquals("request"u8))
            {
                reader.Read();
                request = JsonSerializer.Deserialize<FitRequest>(ref reader, options);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
            if (versioned && request is not null) return request;
        }
        if (versioned) throw new JsonException("a stored submission holds its request");
        // The earlier form: the request itself.
        return JsonSerializer.Deserialize<FitRequest>(bytes, options)!;
    }

    /// <summary>The top-level formatVersion (written first), or null for a row of the earlier form.</summary>
    private static int? FindVersion(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a stored submission is a JSON object");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool version = reader.ValueTextEquals("formatVersion"u8);
            reader.Read();
            if (version) return reader.TokenType == JsonTokenType.Null ? null : reader.GetInt32();
            reader.Skip();
        }
        return null;
    }

    private static void Check(int version)
    {
        if (version != CurrentVersion)
            throw new NotSupportedException($"stored submission format {version} is not one this version reads (it writes {CurrentVersion})");
    }

    private static bool IsAllButTarget(int[] features, int target)
    {
        if (target < 0 || target > features.Length) return false;
        for (int i = 0; i < features.Length; i++)
            if (features[i] != (i < target ? i : i + 1)) return false;
        return true;
    }
}

/// <summary>One class's offset column as a stored submission keeps it: the label and the values packed (<see cref="PackedDoublesConverter"/>).</summary>
public sealed record PackedClassOffset(double Label, [property: JsonConverter(typeof(PackedDoublesConverter))] double[] Values);
