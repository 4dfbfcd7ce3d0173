namespace RegService.Api.Infrastructure;

/// <summary>
/// Query parameters a route takes. A key it does not take (a typo such as <c>?stauts=queued</c>,
/// which binding would otherwise ignore) answers 400 with the key under <c>errors</c>, naming
/// the ones the route takes; keys compare without case, as binding does.
/// </summary>
public static class QueryParameters
{
    public const string Title = "The query is invalid";

    /// <summary>Refuses any query key not in <paramref name="names"/> (none: the route takes no query).</summary>
    public static TBuilder AllowQuery<TBuilder>(this TBuilder builder, params string[] names) where TBuilder : IEndpointConventionBuilder
    {
        var known = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        string accepted = names.Length == 0
            ? "this route takes no query parameters"
            : $"this route takes {string.Join(", ", names)}";
        builder.AddEndpointFilter((context, next) =>
        {
            Dictionary<string, string[]>? errors = null;
            foreach (var key in context.HttpContext.Request.Query.Keys)
            {
                if (key.Length == 0 || known.Contains(key)) continue;
                (errors ??= new(StringComparer.Ordinal))[key] = [$"unknown query parameter '{key}'; {accepted}"];
            }
            return errors is null ? next(context) : ValueTask.FromResult<object?>(Problems.Invalid(errors, Title));
        });
        return builder;
    }
}
