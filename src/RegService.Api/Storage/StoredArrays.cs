using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RegService.Api.Storage;

/// <summary>
/// A long run of doubles as the store keeps it from format 3: one base64 string of their IEEE 754 binary64 bytes,
/// little-endian (8 bytes a value, 10.7 characters, exact; a JSON number takes up to 24 and is slower to parse and write).
/// Reads that string, or a JSON array of numbers as format 2 wrote it.
/// </summary>
public sealed class PackedDoublesConverter : JsonConverter<double[]>
{
    public override double[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartArray) return JsonSerializer.Deserialize<double[]>(ref reader, options)!;
        if (reader.TokenType != JsonTokenType.String) throw new JsonException("packed doubles are a base64 string or an array of numbers");
        var bytes = reader.GetBytesFromBase64();
        if (bytes.Length % sizeof(double) != 0) throw new JsonException($"packed doubles hold a multiple of 8 bytes, not {bytes.Length}");
        var values = new double[bytes.Length / sizeof(double)];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
        return values;
    }

    public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options) => writer.WriteBase64StringValue(Pack(value));

    public static byte[] Pack(ReadOnlySpan<double> values)
    {
        var bytes = new byte[values.Length * sizeof(double)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), values[i]);
        return bytes;
    }
}

/// <summary>
/// A vector that is mostly zero (a lasso's coefficients) as the store keeps it from format 3:
/// <c>{"length": p, "indices": [...], "values": "base64"}</c>, its nonzero entries (-0 kept) as <see cref="StoredSparseVector"/>.
/// Reads that object, or the dense JSON array format 2 wrote.
/// </summary>
public sealed class SparseDoublesConverter : JsonConverter<double[]>
{
    private sealed record Sparse(int Length, int[] Indices, [property: JsonConverter(typeof(PackedDoublesConverter))] double[] Values);

    public override double[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartArray) return JsonSerializer.Deserialize<double[]>(ref reader, options)!;
        var sparse = JsonSerializer.Deserialize<Sparse>(ref reader, options) ?? throw new JsonException("a sparse vector is an object");
        if (sparse.Indices.Length != sparse.Values.Length)
            throw new JsonException($"a sparse vector has {sparse.Indices.Length} indices but {sparse.Values.Length} values");
        return new StoredSparseVector(sparse.Indices, sparse.Values).ToDense(sparse.Length);
    }

    public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options)
    {
        var sparse = StoredSparseVector.From(value);
        JsonSerializer.Serialize(writer, new Sparse(value.Length, sparse.Indices, sparse.Values), options);
    }
}
