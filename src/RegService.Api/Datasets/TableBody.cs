using Microsoft.AspNetCore.Http.Features;
using RegService.Numerics.Data;

namespace RegService.Api.Datasets;

/// <summary>
/// A request body holding a table, as data set uploads and predictions take it: text/csv with a header
/// row, or the JSON columns form, read as a stream within a byte limit (Datasets:MaxUploadBytes).
/// </summary>
public static class TableBody
{
    /// <summary>413 for a declared length above the limit, 415 for another media type; else null, with the media type.</summary>
    public static ProblemHttpResult? Check(HttpContext http, long limit, out string mediaType)
    {
        mediaType = http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant() ?? "";
        if (http.Request.ContentLength > limit)
            return TooLarge(http.Request.ContentLength.Value, limit);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limit;
        if (mediaType is not ("text/csv" or "application/json"))
            return Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"send text/csv (a header row, then numeric rows) or application/json (columns form); got '{http.Request.ContentType ?? "none"}'");
        return null;
    }

    /// <summary>
    /// Parses the body (after <see cref="Check"/>) within <paramref name="limits"/> (Datasets:MaxColumns and
    /// Datasets:MaxNameLength). A bad cell, ragged row, empty body, bad header name and the like answer 400 titled
    /// <paramref name="title"/> with the line and column (a bad JSON "name" under errors.name); a body above the
    /// limit answers 413.
    /// </summary>
    public static async Task<(ColumnTable? Table, string? Name, ProblemHttpResult? Problem)> ReadAsync(
        HttpContext http, string mediaType, long limit, TableLimits limits, string title)
    {
        var body = new LimitedReadStream(http.Request.Body, limit);
        try
        {
            if (mediaType == "text/csv") return (await CsvTableReader.ReadAsync(body, limits, http.RequestAborted), null, null);
            var (name, table) = await JsonColumnsReader.ReadAsync(body, limits, http.RequestAborted);
            return (table, name, null);
        }
        catch (DataFormatException ex)
        {
            var extensions = new Dictionary<string, object?>();
            if (ex.Line is { } line) extensions["line"] = line;
            if (ex.Column is { } column) extensions["column"] = column;
            if (ex.ColumnIndex is { } index) extensions["columnIndex"] = index;
            if (ex.Field is { } field) extensions["errors"] = new Dictionary<string, string[]> { [field] = [ex.Message] };
            return (null, null, Problems.Status(StatusCodes.Status400BadRequest, title, ex.Message, extensions));
        }
        catch (UploadTooLargeException)
        {
            return (null, null, TooLarge(null, limit));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, null, TooLarge(null, limit));
        }
    }

    private static ProblemHttpResult TooLarge(long? length, long limit) =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "Upload too large",
            length is { } n
                ? $"the body has {n} bytes; the limit (Datasets:MaxUploadBytes) is {limit}"
                : $"the body is larger than the limit (Datasets:MaxUploadBytes) of {limit} bytes");
}
