using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace RegService.Api.Infrastructure;

/// <summary>The service's JSON settings, shared by HTTP and the store.</summary>
public sealed class JsonSerializerOptionsProvider(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> options)
{
    public JsonSerializerOptions Options { get; } = options.Value.SerializerOptions;

    /// <summary>camelCase, enums as camelCase strings (no integers), unknown properties rejected, NaN spelled out.</summary>
    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.PropertyNameCaseInsensitive = true;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        o.AllowTrailingCommas = false;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        o.ReadCommentHandling = JsonCommentHandling.Disallow;
    }
}
