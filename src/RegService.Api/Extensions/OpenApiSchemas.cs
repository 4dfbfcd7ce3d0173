using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace RegService.Api.Extensions;

/// <summary>
/// Makes each generated schema say what the server does. Enums are strings. A request type (a name ending in
/// Request) requires the members marked <see cref="RequiredAttribute"/> and takes no null for them (the server
/// answers 400); its other members are optional. A response type requires exactly the members the server always
/// writes: those that cannot be null, and the nullable ones marked <c>JsonIgnore(Condition = Never)</c> (written as
/// null); every other nullable member is left out when null (the serializer omits nulls), so it is optional.
/// </summary>
public static class OpenApiSchemas
{
    public static Task Transform(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken _)
    {
        var type = context.JsonTypeInfo.Type;
        if ((Nullable.GetUnderlyingType(type) ?? type) == typeof(System.Text.Json.JsonElement)) MakeCoefficientLimits(schema);
        else if ((Nullable.GetUnderlyingType(type) ?? type).IsEnum) MakeEnumString(schema);
        else if (context.JsonTypeInfo.Kind == JsonTypeInfoKind.Object && schema.Properties is { Count: > 0 })
            SetRequired(schema, context.JsonTypeInfo);
        return Task.CompletedTask;
    }

    /// <summary>The component name of <see cref="MakeCoefficientLimits"/>'s schema (the contracts' only JsonElement).</summary>
    public const string CoefficientLimitsId = "CoefficientLimits";

    /// <summary>
    /// The contracts' only free-form member is a coefficient limit (FitRequest.lowerLimits / upperLimits, read as a
    /// JsonElement): one number for every feature, or an object of numbers by feature name, null for none.
    /// </summary>
    private static void MakeCoefficientLimits(OpenApiSchema schema)
    {
        schema.Type = null;
        schema.OneOf =
        [
            Number("One limit for every fitted feature"),
            new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "A limit by feature name; a feature not listed, or given null, is unbounded",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Number | JsonSchemaType.Null, Format = "double" },
            },
        ];
    }

    private static void MakeEnumString(OpenApiSchema schema)
    {
        if (schema.Enum is not { Count: > 0 } values) return;
        bool nullable = values.Any(v => v is null);
        schema.Type = nullable ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String;
    }

    private static void SetRequired(OpenApiSchema schema, JsonTypeInfo info)
    {
        bool request = info.Type.Name.EndsWith("Request", StringComparison.Ordinal);
        var required = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in info.Properties)
        {
            if (!schema.Properties!.TryGetValue(property.Name, out var propertySchema)) continue;
            if (request)
            {
                if (property.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) != true) continue;
                required.Add(property.Name);
                schema.Properties[property.Name] = WithoutNull(propertySchema);
            }
            else if (!property.IsGetNullable || WrittenWhenNull(property))
                required.Add(property.Name);
        }
        schema.Required = required;
    }

    private static bool WrittenWhenNull(JsonPropertyInfo property) =>
        property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true)
            .OfType<JsonIgnoreAttribute>().Any(a => a.Condition == JsonIgnoreCondition.Never) == true;

    private static IOpenApiSchema WithoutNull(IOpenApiSchema schema)
    {
        if (schema is OpenApiSchema { Type: { } t } plain && t.HasFlag(JsonSchemaType.Null))
        {
            plain.Type = t & ~JsonSchemaType.Null;
            return plain;
        }
        if (schema.OneOf is { } branches && branches.Count == 2 && branches.FirstOrDefault(s => s.Type != JsonSchemaType.Null) is { } other)
            return other;
        return schema;
    }

    /// <summary>A double, as the serializer writes one.</summary>
    public static OpenApiSchema Number(string? description = null) =>
        new() { Type = JsonSchemaType.Number, Format = "double", Description = description };

    /// <summary>An int32 within bounds.</summary>
    public static OpenApiSchema Integer(string description, int minimum, int? maximum = null, int? @default = null) => new()
    {
        Type = JsonSchemaType.Integer,
        Format = "int32",
        Description = description,
        Minimum = minimum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Maximum = maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Default = @default is { } d ? JsonValue.Create(d) : null,
    };
}
