using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Checks JSON against the schemas of an OpenAPI 3.1 document, for the JSON Schema subset the document uses:
/// $ref to #/components/schemas, type (one or a list), enum, properties, required, additionalProperties (false or a
/// schema), items, anyOf, oneOf (exactly one branch), allOf, minimum and maximum, and discriminator with a mapping
/// (the object must also pass the schema its discriminator value names; a value the mapping lacks fails). Other
/// keywords (format, description, default, example) do not constrain. Every failure is reported with its JSON path.
/// </summary>
public sealed class OpenApiSchemaValidator(JsonNode document)
{
    private static readonly HashSet<string> Known =
    [
        "$ref", "type", "enum", "properties", "required", "additionalProperties", "items", "anyOf", "oneOf", "allOf", "minimum", "maximum",
        "format", "description", "default", "discriminator", "example", "title",
    ];

    public JsonNode Document { get; } = document;

    /// <summary>The schema of a response: the operation at <paramref name="path"/> (a template such as /v1/fits/{id}), method, status and media type.</summary>
    public JsonNode ResponseSchema(string path, string method, int status, string mediaType = "application/json")
    {
        var responses = Document["paths"]?[path]?[method]?["responses"]
            ?? throw new InvalidOperationException($"the document has no operation {method.ToUpperInvariant()} {path}");
        var response = responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)]
            ?? throw new InvalidOperationException($"{method.ToUpperInvariant()} {path} does not document status {status}");
        return response["content"]?[mediaType]?["schema"]
            ?? throw new InvalidOperationException($"{method.ToUpperInvariant()} {path} {status} documents no {mediaType} body");
    }

    /// <summary>The failures of <paramref name="instance"/> against <paramref name="schema"/> (none: it validates).</summary>
    public List<string> Validate(JsonNode? instance, JsonNode schema, string at = "$")
    {
        var errors = new List<string>();
        Check(instance, schema, at, errors);
        return errors;
    }

    private void Check(JsonNode? instance, JsonNode schema, string at, List<string> errors, bool discriminated = false)
    {
        if (schema.GetValueKind() is JsonValueKind.True) return;
        if (schema.GetValueKind() is JsonValueKind.False)
        {
            errors.Add($"{at}: no value is allowed here");
            return;
        }
        var s = schema.AsObject();
        foreach (var (keyword, _) in s)
            if (!Known.Contains(keyword)) errors.Add($"{at}: the validator does not know the keyword '{keyword}'");

        if (s["$ref"] is { } reference) Check(instance, Resolve(reference.GetValue<string>()), at, errors, discriminated);
        // The derived schema is allOf the base: inside it, the base's discriminator is not followed again.
        if (!discriminated && s["discriminator"] is { } discriminator && instance is JsonObject tagged)
        {
            var property = discriminator["propertyName"]!.GetValue<string>();
            var value = tagged[property]?.GetValueKind() == JsonValueKind.String ? tagged[property]!.GetValue<string>() : null;
            if (value is not null && discriminator["mapping"]?[value] is { } mapped) Check(instance, Resolve(mapped.GetValue<string>()), at, errors, true);
            else errors.Add($"{at}.{property}: {Describe(tagged[property])} names no schema of the discriminator's mapping");
        }
        if (s["type"] is { } type)
        {
            var types = type is JsonArray list ? list.Select(t => t!.GetValue<string>()).ToList() : [type.GetValue<string>()];
            if (!types.Any(t => IsType(instance, t)))
            {
                errors.Add($"{at}: {Describe(instance)} is not of type {string.Join(" or ", types)}");
                return;
            }
        }
        if (s["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, instance)))
            errors.Add($"{at}: {Describe(instance)} is not one of {values.ToJsonString()}");
        if (instance is JsonValue number && number.GetValueKind() == JsonValueKind.Number)
        {
            double v = number.GetValue<double>();
            if (s["minimum"] is { } min && v < min.GetValue<double>()) errors.Add($"{at}: {v} is below the minimum {min}");
            if (s["maximum"] is { } max && v > max.GetValue<double>()) errors.Add($"{at}: {v} is above the maximum {max}");
        }
        if (instance is JsonObject obj)
        {
            var properties = s["properties"] as JsonObject;
            foreach (var name in (s["required"] as JsonArray ?? []).Select(r => r!.GetValue<string>()))
                if (!obj.ContainsKey(name)) errors.Add($"{at}: the required property '{name}' is missing");
            foreach (var (name, value) in obj)
            {
                if (properties?[name] is { } property) Check(value, property, $"{at}.{name}", errors);
                else if (s["additionalProperties"] is { } additional) Check(value, additional, $"{at}.{name}", errors);
            }
        }
        if (instance is JsonArray array && s["items"] is { } items)
            for (int i = 0; i < array.Count; i++) Check(array[i], items, $"{at}[{i}]", errors);
        foreach (var branch in s["allOf"] as JsonArray ?? []) Check(instance, branch!, at, errors, discriminated);
        if (s["anyOf"] is JsonArray anyOf && !anyOf.Any(b => Validate(instance, b!, at).Count == 0))
            errors.Add($"{at}: {Describe(instance)} matches none of anyOf: " + string.Join(" | ", anyOf.Select(b => string.Join("; ", Validate(instance, b!, at)))));
        if (s["oneOf"] is JsonArray oneOf)
        {
            int matches = oneOf.Count(b => Validate(instance, b!, at).Count == 0);
            if (matches != 1) errors.Add($"{at}: {Describe(instance)} matches {matches} branches of oneOf, not exactly one");
        }
    }

    private JsonNode Resolve(string reference)
    {
        const string prefix = "#/components/schemas/";
        if (!reference.StartsWith(prefix, StringComparison.Ordinal)) throw new NotSupportedException($"reference '{reference}'");
        return Document["components"]?["schemas"]?[reference[prefix.Length..]] ?? throw new InvalidOperationException($"'{reference}' is not in the document");
    }

    private static bool IsType(JsonNode? instance, string type) => (type, instance?.GetValueKind()) switch
    {
        ("null", null or JsonValueKind.Null) => true,
        ("object", JsonValueKind.Object) => true,
        ("array", JsonValueKind.Array) => true,
        ("string", JsonValueKind.String) => true,
        ("boolean", JsonValueKind.True or JsonValueKind.False) => true,
        ("number", JsonValueKind.Number) => true,
        ("integer", JsonValueKind.Number) => double.IsInteger(instance!.GetValue<double>()),
        _ => false,
    };

    private static string Describe(JsonNode? instance)
    {
        var text = instance?.ToJsonString() ?? "null";
        return text.Length > 80 ? text[..80] + "..." : text;
    }
}

public sealed class OpenApiSchemaValidatorTests
{
    private static readonly OpenApiSchemaValidator Validator = new(JsonNode.Parse("""
        {"components":{"schemas":{
          "Old":{"type":"object","anyOf":[{"type":"number"},{"enum":["NaN","Infinity","-Infinity"]}],"format":"double"},
          "Job":{"type":"object","required":["id","status"],"additionalProperties":false,
                 "properties":{"id":{"type":"string"},"status":{"type":"string","enum":["queued","running"]},
                               "lambda":{"type":["null","number"]},"items":{"type":"array","items":{"type":"integer"}},
                               "result":{"oneOf":[{"type":"null"},{"$ref":"#/components/schemas/Job"}]},
                               "metrics":{"$ref":"#/components/schemas/Metrics"}}},
          "Metrics":{"type":"object","required":["family"],"properties":{"family":{"type":"string"}},
                     "discriminator":{"propertyName":"family","mapping":{"gaussian":"#/components/schemas/Gaussian"}}},
          "Gaussian":{"allOf":[{"$ref":"#/components/schemas/Metrics"},{"type":"object","required":["mse"],"properties":{"mse":{"type":"number"}}}]}}}}
        """)!);

    private static List<string> Check(string instance, string schema) =>
        Validator.Validate(JsonNode.Parse(instance), JsonNode.Parse($$"""{"$ref":"#/components/schemas/{{schema}}"}""")!);

    [Fact]
    public void TheOldDoubleSchemaRejectsANumberAsTheIssueFound() => Assert.Contains("is not of type object", Assert.Single(Check("1e-07", "Old")));

    [Theory]
    [InlineData("""{"id":"a","status":"queued"}""", null)]
    [InlineData("""{"id":"a","status":"queued","lambda":null,"items":[1,2],"result":{"id":"b","status":"running"}}""", null)]
    [InlineData("""{"id":"a"}""", "the required property 'status' is missing")]
    [InlineData("""{"id":"a","status":"done"}""", "is not one of")]
    [InlineData("""{"id":"a","status":"queued","extra":1}""", "$.extra: no value is allowed here")]
    [InlineData("""{"id":"a","status":"queued","items":[1.5]}""", "$.items[0]: 1.5 is not of type integer")]
    [InlineData("""{"id":"a","status":"queued","lambda":"NaN"}""", "is not of type null or number")]
    [InlineData("""{"id":"a","status":"queued","result":{"id":"b"}}""", "matches 0 branches of oneOf")]
    [InlineData("""{"id":"a","status":"queued","metrics":{"family":"gaussian","mse":1}}""", null)]
    [InlineData("""{"id":"a","status":"queued","metrics":{"family":"gaussian"}}""", "$.metrics: the required property 'mse' is missing")]
    [InlineData("""{"id":"a","status":"queued","metrics":{"family":"poisson","mse":1}}""", "names no schema of the discriminator's mapping")]
    public void TheValidatorFindsWhatIsWrong(string instance, string? error)
    {
        var errors = Check(instance, "Job");
        if (error is null) Assert.Empty(errors);
        else Assert.Contains(errors, e => e.Contains(error, StringComparison.Ordinal));
    }
}
