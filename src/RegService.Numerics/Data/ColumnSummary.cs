namespace RegService.Numerics.Data;

/// <summary>
/// Per-column summary of a parsed data set. <see cref="StdDev"/> uses the 1/n (population)
/// convention.
/// </summary>
public sealed record ColumnSummary(string Name, double Mean, double StdDev, double Min, double Max);
