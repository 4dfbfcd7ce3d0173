using System.Globalization;
using System.Text;
using System.Xml;

namespace RegService.Api.Plots;

/// <summary>Where a chart's parts go in the 800 x 500 view box, and the scales from data to pixels.</summary>
public sealed record ChartLayout(double Left, double Top, double Right, double Bottom, Scale X, Scale Y, double[] XTicks, double[] YTicks, bool Legend);

/// <summary>
/// Draws a <see cref="Chart"/> as SVG 1.1 (an 800 x 500 view box, readable in a browser): a framed plot area with
/// grid lines, ticks and tick labels, axis titles, optional labels along the top, series as polylines and markers,
/// error bars or bands, labelled vertical markers and a legend at the right. Output is deterministic: coordinates
/// with two decimals and data values round-trip, in the invariant culture; every text escaped. Elements carry
/// classes and <c>data-*</c> attributes (tick values, the plot's data ranges, series names) so tests and clients
/// can read the geometry back.
/// </summary>
public static class SvgChart
{
    public const double Width = 800, Height = 500;

    /// <summary>Ten distinguishable colours (matplotlib's tab10), reused in order past ten series.</summary>
    public static readonly string[] Palette =
        ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private const double LegendWidth = 170, EntryHeight = 18, NoteHeight = 16;

    /// <summary>The layout of a chart: margins, the axes' ranges (covering every drawable value) and their ticks.</summary>
    public static ChartLayout Layout(Chart chart)
    {
        bool legend = chart.Series.Any(s => s.InLegend) || chart.Notes.Count > 0;
        double left = 76, right = Width - (legend ? LegendWidth + 10 : 24), top = chart.Top is null ? 42 : 70, bottom = Height - 56;
        var (xMin, xMax) = AxisRange(chart.X, chart.Series.SelectMany(s => s.X).Concat(chart.Markers.Select(m => m.X)));
        var (yMin, yMax) = AxisRange(chart.Y, chart.Series.SelectMany(s => s.Y.Concat(s.Low ?? []).Concat(s.High ?? [])));
        var x = chart.X.Reversed ? new Scale(xMin, xMax, right, left, chart.X.Scale) : new Scale(xMin, xMax, left, right, chart.X.Scale);
        var y = chart.Y.Reversed ? new Scale(yMin, yMax, top, bottom, chart.Y.Scale) : new Scale(yMin, yMax, bottom, top, chart.Y.Scale);
        return new ChartLayout(left, top, right, bottom, x, y, Ticks.For(xMin, xMax, chart.X.Scale), Ticks.For(yMin, yMax, chart.Y.Scale), legend);
    }

    private static (double Min, double Max) AxisRange(Axis axis, IEnumerable<double> values)
    {
        var drawable = values.Where(v => double.IsFinite(v) && (axis.Scale == AxisScale.Linear || v > 0)).ToList();
        double lo = drawable.Count > 0 ? drawable.Min() : axis.Scale == AxisScale.Log10 ? 1 : 0;
        double hi = drawable.Count > 0 ? drawable.Max() : axis.Scale == AxisScale.Log10 ? 10 : 1;
        var (min, max) = Ticks.Range(lo, hi, axis.Scale);
        return (axis.Min ?? min, axis.Max ?? max);
    }

    /// <summary>The chart as an SVG document (UTF-8 text, LF line ends).</summary>
    public static string Render(Chart chart)
    {
        var l = Layout(chart);
        var svg = new StringBuilder();
        svg.Append($"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 500" width="800" height="500" font-family="Helvetica, Arial, sans-serif" font-size="12" data-kind="{Escape(chart.Kind ?? "chart")}">""").Append('\n');
        svg.Append($"<title>{Escape(chart.Title)}</title>\n");
        svg.Append($"""<rect width="800" height="500" fill="#ffffff"/>""").Append('\n');
        // Named by its rectangle: SVGs inlined in one page share one id space, and equal ids then mean equal clips.
        string clip = string.Create(CultureInfo.InvariantCulture, $"plot-area-{l.Left:F0}-{l.Top:F0}-{l.Right:F0}-{l.Bottom:F0}");
        svg.Append($"""<defs><clipPath id="{clip}"><rect x="{N(l.Left)}" y="{N(l.Top)}" width="{N(l.Right - l.Left)}" height="{N(l.Bottom - l.Top)}"/></clipPath></defs>""").Append('\n');
        svg.Append($"""<text class="title" x="{N((l.Left + l.Right) / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{Escape(chart.Title)}</text>""").Append('\n');

        Axes(svg, chart, l);
        svg.Append($"""<g class="data" clip-path="url(#{clip})">""").Append('\n');
        for (int i = 0; i < chart.Series.Count; i++) Draw(svg, chart.Series[i], i, l);
        svg.Append("</g>\n");
        Markers(svg, chart, l);
        if (l.Legend) Legend(svg, chart, l);
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Axes(StringBuilder svg, Chart chart, ChartLayout l)
    {
        var (x, y) = (l.X, l.Y);
        svg.Append($"""<rect class="frame" x="{N(l.Left)}" y="{N(l.Top)}" width="{N(l.Right - l.Left)}" height="{N(l.Bottom - l.Top)}" fill="none" stroke="#333333" data-x-min="{R(x.Min)}" data-x-max="{R(x.Max)}" data-x-scale="{Name(x.Kind)}" data-x-reversed="{(x.From > x.To ? "true" : "false")}" data-y-min="{R(y.Min)}" data-y-max="{R(y.Max)}" data-y-scale="{Name(y.Kind)}"/>""").Append('\n');
        var xLabels = Ticks.Labels(l.XTicks, x.Kind);
        for (int i = 0; i < l.XTicks.Length; i++)
        {
            double px = x.Map(l.XTicks[i]);
            svg.Append($"""<g class="tick-x" data-value="{R(l.XTicks[i])}"><line x1="{N(px)}" y1="{N(l.Top)}" x2="{N(px)}" y2="{N(l.Bottom)}" stroke="#e5e5e5"/><line x1="{N(px)}" y1="{N(l.Bottom)}" x2="{N(px)}" y2="{N(l.Bottom + 5)}" stroke="#333333"/><text x="{N(px)}" y="{N(l.Bottom + 18)}" text-anchor="middle">{Escape(xLabels[i])}</text></g>""").Append('\n');
        }
        var yLabels = Ticks.Labels(l.YTicks, y.Kind);
        for (int i = 0; i < l.YTicks.Length; i++)
        {
            double py = y.Map(l.YTicks[i]);
            svg.Append($"""<g class="tick-y" data-value="{R(l.YTicks[i])}"><line x1="{N(l.Left)}" y1="{N(py)}" x2="{N(l.Right)}" y2="{N(py)}" stroke="#e5e5e5"/><line x1="{N(l.Left - 5)}" y1="{N(py)}" x2="{N(l.Left)}" y2="{N(py)}" stroke="#333333"/><text x="{N(l.Left - 8)}" y="{N(py + 4)}" text-anchor="end">{Escape(yLabels[i])}</text></g>""").Append('\n');
        }
        svg.Append($"""<text class="axis-title-x" x="{N((l.Left + l.Right) / 2)}" y="{N(Height - 14)}" text-anchor="middle" font-size="13">{Escape(chart.X.Title)}</text>""").Append('\n');
        double cy = (l.Top + l.Bottom) / 2;
        svg.Append($"""<text class="axis-title-y" x="18" y="{N(cy)}" text-anchor="middle" font-size="13" transform="rotate(-90 18 {N(cy)})">{Escape(chart.Y.Title)}</text>""").Append('\n');

        if (chart.Top is { } topLabels)
        {
            svg.Append($"""<text class="axis-title-top" x="{N((l.Left + l.Right) / 2)}" y="44" text-anchor="middle" font-size="11" fill="#555555">{Escape(topLabels.Title)}</text>""").Append('\n');
            for (int i = 0; i < topLabels.X.Count; i++)
                if (x.Accepts(topLabels.X[i]))
                {
                    double px = x.Map(topLabels.X[i]);
                    svg.Append($"""<text class="top-label" data-value="{R(topLabels.X[i])}" x="{N(px)}" y="{N(l.Top - 6)}" text-anchor="middle" font-size="11">{Escape(topLabels.Labels[i])}</text>""").Append('\n');
                }
        }
    }

    private static void Draw(StringBuilder svg, Series s, int index, ChartLayout l)
    {
        string color = Palette[(s.Color ?? index) % Palette.Length];
        int n = Math.Min(s.X.Count, s.Y.Count);
        bool Drawable(int i) => l.X.Accepts(s.X[i]) && l.Y.Accepts(s.Y[i]);
        svg.Append($"""<g class="series" data-name="{Escape(s.Name)}" data-points="{Enumerable.Range(0, n).Count(Drawable).ToString(CultureInfo.InvariantCulture)}">""").Append('\n');

        if (s.Low is { } low && s.High is { } high)
        {
            bool Spans(int i) => i < low.Count && i < high.Count && l.X.Accepts(s.X[i]) && l.Y.Accepts(low[i]) && l.Y.Accepts(high[i]);
            if (s.Band)
                foreach (var run in Runs(n, Spans))
                {
                    var outline = run.Select(i => (l.X.Map(s.X[i]), l.Y.Map(high[i]))).Concat(run.AsEnumerable().Reverse().Select(i => (l.X.Map(s.X[i]), l.Y.Map(low[i]))));
                    svg.Append($"""<polygon class="band" points="{Points(outline)}" fill="{color}" fill-opacity="0.15" stroke="none"/>""").Append('\n');
                }
            else
                for (int i = 0; i < n; i++)
                    if (Spans(i))
                    {
                        double px = l.X.Map(s.X[i]), lo = l.Y.Map(low[i]), hi = l.Y.Map(high[i]);
                        svg.Append($"""<path class="error-bar" d="M{N(px)} {N(lo)}V{N(hi)}M{N(px - 3)} {N(lo)}H{N(px + 3)}M{N(px - 3)} {N(hi)}H{N(px + 3)}" stroke="#999999" fill="none"/>""").Append('\n');
                    }
        }
        if (s.Style is SeriesStyle.Line or SeriesStyle.LineAndMarkers)
            foreach (var run in Runs(n, Drawable).Where(r => r.Length > 1))
                svg.Append($"""<polyline class="line" points="{Points(run.Select(i => (l.X.Map(s.X[i]), l.Y.Map(s.Y[i]))))}" fill="none" stroke="{color}" stroke-width="1.6"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>""").Append('\n');
        if (s.Style is SeriesStyle.Markers or SeriesStyle.LineAndMarkers)
            for (int i = 0; i < n; i++)
                if (Drawable(i))
                    svg.Append($"""<circle class="point" cx="{N(l.X.Map(s.X[i]))}" cy="{N(l.Y.Map(s.Y[i]))}" r="2.6" fill="{color}"/>""").Append('\n');
        svg.Append("</g>\n");
    }

    private static void Markers(StringBuilder svg, Chart chart, ChartLayout l)
    {
        double middle = (l.Left + l.Right) / 2;
        for (int i = 0; i < chart.Markers.Count; i++)
        {
            var m = chart.Markers[i];
            if (!l.X.Accepts(m.X)) continue;
            double px = l.X.Map(m.X), py = l.Top + 14 + 14 * i;
            bool leftOfMiddle = px < middle;
            svg.Append($"""<g class="marker" data-value="{R(m.X)}"><line x1="{N(px)}" y1="{N(l.Top)}" x2="{N(px)}" y2="{N(l.Bottom)}" stroke="#444444" stroke-width="1.2" stroke-dasharray="3 3"/><text x="{N(leftOfMiddle ? px + 4 : px - 4)}" y="{N(py)}" text-anchor="{(leftOfMiddle ? "start" : "end")}" font-size="11" fill="#222222" stroke="#ffffff" stroke-width="3" paint-order="stroke">{Escape(m.Label)}</text></g>""").Append('\n');
        }
    }

    private static void Legend(StringBuilder svg, Chart chart, ChartLayout l)
    {
        double x = l.Right + 12, y = l.Top;
        var entries = chart.Series.Select((s, i) => (s, i)).Where(e => e.s.InLegend).ToList();
        int room = (int)Math.Floor((l.Bottom - l.Top - chart.Notes.Count * NoteHeight) / EntryHeight);
        int shown = entries.Count <= room ? entries.Count : Math.Max(0, room - 1);
        svg.Append("""<g class="legend">""").Append('\n');
        foreach (var (s, i) in entries.Take(shown))
        {
            string color = Palette[(s.Color ?? i) % Palette.Length];
            double cy = y + EntryHeight / 2;
            svg.Append($"""<g class="legend-entry" data-name="{Escape(s.Name)}">""");
            if (s.Style is SeriesStyle.Line or SeriesStyle.LineAndMarkers)
                svg.Append($"""<line x1="{N(x)}" y1="{N(cy)}" x2="{N(x + 22)}" y2="{N(cy)}" stroke="{color}" stroke-width="2"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>""");
            if (s.Style is SeriesStyle.Markers or SeriesStyle.LineAndMarkers)
                svg.Append($"""<circle cx="{N(x + 11)}" cy="{N(cy)}" r="3" fill="{color}"/>""");
            svg.Append($"""<text x="{N(x + 28)}" y="{N(cy + 4)}">{Escape(Shorten(s.Name, 20))}</text></g>""").Append('\n');
            y += EntryHeight;
        }
        if (shown < entries.Count)
        {
            svg.Append($"""<text class="legend-more" x="{N(x)}" y="{N(y + 12)}" fill="#555555">… and {(entries.Count - shown).ToString(CultureInfo.InvariantCulture)} more</text>""").Append('\n');
            y += EntryHeight;
        }
        foreach (var note in chart.Notes)
        {
            svg.Append($"""<text class="note" x="{N(x)}" y="{N(y + 12)}" fill="#222222">{Escape(note)}</text>""").Append('\n');
            y += NoteHeight;
        }
        svg.Append("</g>\n");
    }

    /// <summary>Maximal runs of consecutive indices that pass <paramref name="keep"/>.</summary>
    private static IEnumerable<int[]> Runs(int n, Func<int, bool> keep)
    {
        var run = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (keep(i)) run.Add(i);
            else if (run.Count > 0)
            {
                yield return [.. run];
                run.Clear();
            }
        }
        if (run.Count > 0) yield return [.. run];
    }

    private static string Points(IEnumerable<(double X, double Y)> points) => string.Join(" ", points.Select(p => $"{N(p.X)},{N(p.Y)}"));

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string Name(AxisScale kind) => kind == AxisScale.Log10 ? "log10" : "linear";

    /// <summary>A coordinate: two fixed decimals, invariant culture, never "-0.00".</summary>
    public static string N(double v) => (Math.Round(v, 2, MidpointRounding.AwayFromZero) + 0.0).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>A data value as it round-trips (for data-* attributes).</summary>
    public static string R(double v) => (v + 0.0).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Text for element content or an attribute: &amp; &lt; &gt; " ' escaped; characters XML cannot carry become U+FFFD.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else sb.Append(XmlConvert.IsXmlChar(c) ? c : '\uFFFD');
                    break;
            }
        }
        return sb.ToString();
    }
}
