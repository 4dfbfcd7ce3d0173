using System.ComponentModel;

namespace RegService.Api.Datasets;

/// <summary>Summary of one column of a data set (standard deviation with the 1/n convention).</summary>
public sealed record ColumnStats(string Name, double Mean, double StdDev, double Min, double Max);

/// <summary>A stored data set: its shape and a per-column summary.</summary>
public sealed record Dataset(
    [property: Description("Identifier to use as datasetId in a fit request")] string Id,
    [property: Description("Name given at upload (?name= for CSV, \"name\" for JSON), else \"dataset\"")] string Name,
    int Rows,
    [property: Description("Number of columns")] int ColumnCount,
    [property: Description("Bytes of the stored float64 matrix")] long SizeBytes,
    DateTimeOffset CreatedAt,
    IReadOnlyList<ColumnStats> Columns);

/// <summary>A data set as a list shows it: its shape without the column summaries (GET /v1/datasets/{id} has them).</summary>
public sealed record DatasetSummary(
    [property: Description("Identifier to use as datasetId in a fit request")] string Id,
    [property: Description("Name given at upload")] string Name,
    int Rows,
    [property: Description("Number of columns (their names and summaries: GET /v1/datasets/{id})")] int ColumnCount,
    [property: Description("Bytes of the stored float64 matrix")] long SizeBytes,
    DateTimeOffset CreatedAt)
{
    public static DatasetSummary Of(Dataset d) => new(d.Id, d.Name, d.Rows, d.ColumnCount, d.SizeBytes, d.CreatedAt);
}

/// <summary>
/// A page of data sets, without their column summaries: a wide data set's are megabytes (50,000 columns), so a page
/// of them would cost what the page's data sets' widths add up to.
/// </summary>
public sealed record DatasetPage(IReadOnlyList<DatasetSummary> Items, int Total, int Offset, int Limit);
