using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace RegService.Api.Infrastructure;

/// <summary>
/// The service's JSON settings. HTTP responses (and the OpenAPI document, generated from the same settings)
/// write plain JSON numbers only; <see cref="Options"/>, which reads fit requests and the store, also reads
/// "NaN", "Infinity" and "-Infinity", so a request that spells one gets a 400 naming the field ("must be
/// finite") instead of a parse error, and stored documents written by earlier versions still read.
/// </summary>
public sealed class JsonSerializerOptionsProvider(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> options)
{
    /// <summary>The HTTP settings, plus named floating-point literals: for fit requests and the store.</summary>
    public JsonSerializerOptions Options { get; } =
        new(options.Value.SerializerOptions) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// camelCase, enums as camelCase strings (no integers), unknown properties rejected, nulls omitted, numbers
    /// strict: a non-finite double cannot be written, so response documents carry null (documented) in its place.
    /// </summary>
    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.PropertyNameCaseInsensitive = true;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.NumberHandling = JsonNumberHandling.Strict;
        o.AllowTrailingCommas = false;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        o.ReadCommentHandling = JsonCommentHandling.Disallow;
    }
}
