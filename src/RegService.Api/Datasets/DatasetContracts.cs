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

/// <summary>A page of data sets.</summary>
public sealed record DatasetPage(IReadOnlyList<Dataset> Items, int Total, int Offset, int Limit);
