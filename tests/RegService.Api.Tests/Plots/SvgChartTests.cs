using System.Globalization;
using System.Xml.Linq;
using RegService.Api.Plots;
using RegService.Numerics.Metrics;

namespace RegService.Api.Tests.Plots;

/// <summary>The SVG chart writer: tick choice, scaling, escaping, structure and deterministic output.</summary>
public sealed class SvgChartTests
{
    internal static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void LinearTicksAreNiceStepsInsideTheRangeWithoutRoundingNoise()
    {
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1], Ticks.Linear(0, 1));
        Assert.Equal([0, 0.5, 1, 1.5, 2], Ticks.Linear(-0.37, 2.1));
        Assert.Equal([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], Ticks.Linear(0, 0.6));   // 0.3, not 0.30000000000000004
        Assert.Equal([-200, -100, 0, 100, 200, 300], Ticks.Linear(-230, 310));
        Assert.Equal([1.2e-7, 1.4e-7, 1.6e-7, 1.8e-7, 2e-7], Ticks.Linear(1.1e-7, 2.05e-7), new Tolerance(1e-20));
        Assert.Equal(2, Ticks.Step(11));
        Assert.Equal(5, Ticks.Step(25));
        Assert.Equal(10, Ticks.Step(45));
        Assert.All(Ticks.Linear(-1, 1), t => Assert.False(double.IsNegative(t) && t == 0, "no -0 tick"));
    }

    [Fact]
    public void LogTicksArePowersOfTenThenMultiplesThenLinear()
    {
        Assert.Equal([1e-4, 1e-3, 1e-2, 1e-1, 1, 10], Ticks.Log10(5e-5, 20));
        // 13 decades: every second power, so the labels do not crowd.
        Assert.Equal([1e-8, 1e-6, 1e-4, 1e-2, 1, 100], Ticks.Log10(1e-9, 1e3));
        // Less than a decade: 1, 2 and 5 times the powers of ten.
        Assert.Equal([0.5, 1, 2], Ticks.Log10(0.3, 4));
        // Too narrow for those: linear ticks.
        Assert.Equal(Ticks.Linear(3.1, 3.9), Ticks.Log10(3.1, 3.9));
        Assert.Equal([3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9], Ticks.Log10(3.1, 3.9));
    }

    [Fact]
    public void LabelsUseTheStepsDecimalsOrScientificNotationInTheInvariantCulture()
    {
        Assert.Equal(["0", "0.5", "1.0", "1.5"], Ticks.Labels([0, 0.5, 1, 1.5], AxisScale.Linear));
        Assert.Equal(["-100", "0", "100"], Ticks.Labels([-100, 0, 100], AxisScale.Linear));
        Assert.Equal(["0.001", "0.01", "0.1", "1", "10", "1e+05"], Ticks.Labels([1e-3, 1e-2, 1e-1, 1, 10, 1e5], AxisScale.Log10));
        Assert.Equal(["1e-05", "2.5e-05"], Ticks.Labels([1e-5, 2.5e-5], AxisScale.Linear));
        Assert.Equal("0.00", SvgChart.N(-0.001));
        Assert.Equal("12.35", SvgChart.N(12.3456));
        Assert.Equal("0.1", SvgChart.R(0.1));
    }

    [Fact]
    public void ScalesMapLinearlyOrByLogAndRangesPadTheData()
    {
        var log = new Scale(0.01, 100, 0, 400, AxisScale.Log10);
        Assert.Equal(200, log.Map(1), 10);
        Assert.Equal(100, log.Map(0.1), 10);
        Assert.False(log.Accepts(0));
        var down = new Scale(0, 10, 450, 50, AxisScale.Linear);   // SVG's y grows downward
        Assert.Equal(450, down.Map(0), 10);
        Assert.Equal(250, down.Map(5), 10);
        var (min, max) = Ticks.Range(2, 12, AxisScale.Linear);
        Assert.Equal((1.6, 12.4), (Math.Round(min, 12), Math.Round(max, 12)));
        var (lo, hi) = Ticks.Range(1e-3, 10, AxisScale.Log10);
        Assert.True(lo < 1e-3 && hi > 10);
        Assert.Equal(Math.Log10(1e-3) - Math.Log10(lo), Math.Log10(hi) - Math.Log10(10), 10);
        Assert.Equal((4.5, 5.5), Ticks.Range(5, 5, AxisScale.Linear));
    }

    [Fact]
    public void TextIsEscapedAndCharactersXmlCannotCarryAreReplaced()
    {
        Assert.Equal("a&lt;b &amp; &quot;c&quot; &#39;d&#39; \uFFFD ok😀", SvgChart.Escape("a<b & \"c\" 'd' \u0001 ok😀"));
        var chart = Sample() with { Title = "</title><script>alert(1)</script> & more" };
        var doc = XDocument.Parse(SvgChart.Render(chart));
        Assert.Equal("</title><script>alert(1)</script> & more", doc.Root!.Element(Svg + "title")!.Value);
        Assert.Empty(doc.Descendants(Svg + "script"));
        Assert.Contains(doc.Descendants(Svg + "g"), g => (string?)g.Attribute("data-name") == "x<1> & \"quoted\"");
    }

    [Fact]
    public void TheSvgHasTheViewBoxSeriesMarkersAndRangesThatCoverTheData()
    {
        var chart = Sample();
        var layout = SvgChart.Layout(chart);
        var doc = XDocument.Parse(SvgChart.Render(chart));
        var root = doc.Root!;
        Assert.Equal(Svg + "svg", root.Name);
        Assert.Equal("0 0 800 500", (string?)root.Attribute("viewBox"));
        Assert.Equal("sample", (string?)root.Attribute("data-kind"));

        var series = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series").ToList();
        Assert.Equal(3, series.Count);
        // The data are clipped to the plot area by a clip path the document defines.
        var clip = (string)doc.Descendants(Svg + "clipPath").Single().Attribute("id")!;
        Assert.Equal($"url(#{clip})", (string?)series[0].Parent!.Attribute("clip-path"));
        // The NaN splits the first series' line in two; the third has error bars at its finite points.
        Assert.Equal(2, series[0].Elements(Svg + "polyline").Count());
        Assert.Equal("4", (string?)series[0].Attribute("data-points"));
        Assert.Equal(3, series[2].Elements(Svg + "path").Count(p => (string?)p.Attribute("class") == "error-bar"));
        Assert.Equal(3, series[2].Elements(Svg + "circle").Count());

        var frame = doc.Descendants(Svg + "rect").Single(r => (string?)r.Attribute("class") == "frame");
        double Attr(string name) => double.Parse((string)frame.Attribute(name)!, CultureInfo.InvariantCulture);
        Assert.Equal("log10", (string?)frame.Attribute("data-x-scale"));
        Assert.True(Attr("data-x-min") <= 0.001 && Attr("data-x-max") >= 10, "the x range covers the data and the marker");
        Assert.True(Attr("data-y-min") <= -2.5 && Attr("data-y-max") >= 4.5, "the y range covers the error bars");

        // The marker's line sits where the scale puts its value, as do the ticks.
        var marker = doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "marker");
        Assert.Equal("0.05", (string?)marker.Attribute("data-value"));
        Assert.Equal(layout.X.Map(0.05), X1(marker), 0.006);
        Assert.Equal("λ = 0.05", marker.Element(Svg + "text")!.Value);
        var ticks = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "tick-x").ToList();
        Assert.Equal(["0.001", "0.01", "0.1", "1", "10"], ticks.Select(t => t.Element(Svg + "text")!.Value));
        foreach (var tick in ticks)
            Assert.Equal(layout.X.Map(double.Parse((string)tick.Attribute("data-value")!, CultureInfo.InvariantCulture)), X1(tick), 0.006);
        Assert.Equal(4, doc.Descendants(Svg + "text").Count(t => (string?)t.Attribute("class") == "top-label"));
        Assert.Equal(3, doc.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "legend-entry"));
        Assert.Equal("note one", doc.Descendants(Svg + "text").Single(t => (string?)t.Attribute("class") == "note").Value);
    }

    [Fact]
    public void AReversedAxisPutsTheLargestValueAtTheLeft()
    {
        var chart = Sample() with { X = new Axis("lambda", AxisScale.Log10, Reversed: true) };
        var layout = SvgChart.Layout(chart);
        Assert.True(layout.X.Map(10) < layout.X.Map(0.001));
        Assert.Equal(layout.Left, layout.X.Map(layout.X.Max), 6);
    }

    [Fact]
    public void TheSameChartGivesTheSameBytesAndADifferentChartDifferentOnes()
    {
        var first = SvgChart.Render(Sample());
        Assert.Equal(first, SvgChart.Render(Sample()));
        Assert.NotEqual(first, SvgChart.Render(Sample() with { Markers = [new VerticalMarker(0.06, "λ = 0.06")] }));
        Assert.DoesNotContain("NaN", first);
        Assert.DoesNotContain("E+", first);
    }

    [Fact]
    public void ALegendTooLongForTheChartSaysHowManyItLeftOut()
    {
        double[] x = [1, 2, 3];
        var chart = new Chart("many", new Axis("x"), new Axis("y"))
        {
            Series = [.. Enumerable.Range(0, 60).Select(k => new Series($"feature {k}", x, [k, k + 1, k + 2]))],
        };
        var doc = XDocument.Parse(SvgChart.Render(chart));
        int entries = doc.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "legend-entry");
        var more = doc.Descendants(Svg + "text").Single(t => (string?)t.Attribute("class") == "legend-more").Value;
        Assert.InRange(entries, 10, 59);
        Assert.Equal($"… and {60 - entries} more", more);
        Assert.Equal(60, doc.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "series"));
    }

    [Fact]
    public void TheRocCurveStepsThroughTiesAndItsAreaIsTheMannWhitneyAuc()
    {
        double[] y = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0];
        double[] p = [0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.4, 0.3, 0.3, 0.1];
        var (fpr, tpr, auc) = FitPlots.RocCurve(y, p);
        Assert.Equal(0, fpr[0]);
        Assert.Equal(1, fpr[^1]);
        Assert.Equal(1, tpr[^1]);
        Assert.Equal(8, fpr.Length);   // the origin and seven distinct thresholds
        var eta = p.Select(v => Math.Log(v / (1 - v))).ToArray();
        Assert.Equal(ClassificationMetrics.FromLinearPredictor(y, eta).Auc, auc, 12);
        Assert.True(double.IsNaN(FitPlots.RocCurve([1, 1], [0.2, 0.4]).Auc));
    }

    private static double X1(XElement element) =>
        double.Parse((string)element.Descendants(Svg + "line").First().Attribute("x1")!, CultureInfo.InvariantCulture);

    /// <summary>Three series on a log x axis: a line with a gap, a dashed line, markers with error bars.</summary>
    internal static Chart Sample() => new("Sample", new Axis("lambda", AxisScale.Log10), new Axis("value"))
    {
        Kind = "sample",
        Series =
        [
            new Series("x<1> & \"quoted\"", [0.001, 0.01, 0.1, 1, 10], [1, 2, double.NaN, 3, 4]),
            new Series("dashed", [0.001, 10], [0, 0]) { Dashed = true },
            new Series("bars", [0.01, 0.1, 1], [1, 2, 3]) { Style = SeriesStyle.Markers, Low = [0.5, 1.5, -2.5], High = [1.5, 2.5, 4.5] },
        ],
        Markers = [new VerticalMarker(0.05, "λ = 0.05")],
        Top = new TopLabels("count", [0.001, 0.01, 0.1, 1], ["0", "1", "2", "3"]),
        Notes = ["note one"],
    };

    private sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(double v) => 0;
    }
}
