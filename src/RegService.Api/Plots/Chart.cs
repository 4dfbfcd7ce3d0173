namespace RegService.Api.Plots;

/// <summary>How an axis maps values: linearly, or by their base-10 logarithm (values must be positive).</summary>
public enum AxisScale { Linear, Log10 }

/// <summary>
/// An axis: its title, its scale and, optionally, a fixed range (else the range covers the data with a small margin).
/// <paramref name="Reversed"/> draws the largest value at the left (x) or bottom (y).
/// </summary>
public sealed record Axis(string Title, AxisScale Scale = AxisScale.Linear, double? Min = null, double? Max = null, bool Reversed = false);

/// <summary>Labels along the top edge at chosen x values (glmnet's nonzero counts above a path plot).</summary>
public sealed record TopLabels(string Title, IReadOnlyList<double> X, IReadOnlyList<string> Labels);

/// <summary>How a series is drawn.</summary>
public enum SeriesStyle { Line, Markers, LineAndMarkers }

/// <summary>
/// One series of points (NaN or infinite coordinates leave a gap). <see cref="Low"/> and <see cref="High"/>, when given,
/// draw a vertical error bar at every point; <see cref="Band"/> draws them as a shaded band instead.
/// </summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    public SeriesStyle Style { get; init; } = SeriesStyle.Line;

    /// <summary>Index into the palette; by default the series' position in the chart.</summary>
    public int? Color { get; init; }

    public bool Dashed { get; init; }
    public bool InLegend { get; init; } = true;
    public IReadOnlyList<double>? Low { get; init; }
    public IReadOnlyList<double>? High { get; init; }
    public bool Band { get; init; }
}

/// <summary>A vertical line across the plot at <paramref name="X"/>, labelled at its top.</summary>
public sealed record VerticalMarker(double X, string Label);

/// <summary>
/// A chart as pure geometry in data units: axes, series, vertical markers, optional labels along the top and lines
/// of text under the legend. <see cref="SvgChart"/> draws it; nothing here knows about fits.
/// </summary>
public sealed record Chart(string Title, Axis X, Axis Y)
{
    public IReadOnlyList<Series> Series { get; init; } = [];
    public IReadOnlyList<VerticalMarker> Markers { get; init; } = [];
    public TopLabels? Top { get; init; }

    /// <summary>Lines of text shown below the legend (a metric, how many points are drawn).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Written as the root element's <c>data-kind</c>, so a client can tell plots apart.</summary>
    public string? Kind { get; init; }
}
