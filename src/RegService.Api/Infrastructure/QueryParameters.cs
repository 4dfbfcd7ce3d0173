namespace RegService.Api.Infrastructure;

/// <summary>
/// Query parameters a route takes. A key it does not take (a typo such as <c>?stauts=queued</c>,
/// which binding would otherwise ignore) answers 400 with the key under <c>errors</c>, naming
/// the ones the route takes; keys compare without case, as binding does. The routes carry the
/// names as metadata and one middleware checks them, after authentication and before the handler
/// (an endpoint filter would put every call of the route through the boxed, filtered invocation path).
/// </summary>
public static class QueryParameters
{
    public const string Title = "The query is invalid";

    /// <summary>The query keys a route takes (none: it takes no query).</summary>
    public sealed class Allowed(string[] names)
    {
        public HashSet<string> Names { get; } = new(names, StringComparer.OrdinalIgnoreCase);

        public string Accepted { get; } = names.Length == 0
            ? "this route takes no query parameters"
            : $"this route takes {string.Join(", ", names)}";
    }

    /// <summary>Refuses any query key not in <paramref name="names"/> (none: the route takes no query).</summary>
    public static TBuilder AllowQuery<TBuilder>(this TBuilder builder, params string[] names) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new Allowed(names));

    /// <summary>Checks the query of every request whose endpoint says which keys it takes.</summary>
    public static WebApplication UseQueryParameterCheck(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (context.Request.QueryString.HasValue && context.GetEndpoint()?.Metadata.GetMetadata<Allowed>() is { } allowed)
            {
                Dictionary<string, string[]>? errors = null;
                foreach (var key in context.Request.Query.Keys)
                {
                    if (key.Length == 0 || allowed.Names.Contains(key)) continue;
                    (errors ??= new(StringComparer.Ordinal))[key] = [$"unknown query parameter '{key}'; {allowed.Accepted}"];
                }
                if (errors is not null) return Problems.Invalid(errors, Title).ExecuteAsync(context);
            }
            return next(context);
        });
        return app;
    }
}
