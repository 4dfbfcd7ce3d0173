using System.Globalization;

namespace RegService.Api.Plots;

/// <summary>
/// Maps data values in [<see cref="Min"/>, <see cref="Max"/>] to pixels in [<see cref="From"/>, <see cref="To"/>]
/// (To may be less than From: SVG's y grows downward), linearly or by log10.
/// </summary>
public sealed record Scale(double Min, double Max, double From, double To, AxisScale Kind)
{
    private double T(double v) => Kind == AxisScale.Log10 ? Math.Log10(v) : v;

    /// <summary>The pixel of a data value (values outside the range map outside the pixel range).</summary>
    public double Map(double value)
    {
        double lo = T(Min), hi = T(Max);
        return From + (T(value) - lo) / (hi - lo) * (To - From);
    }

    /// <summary>Whether a value can be drawn on this scale (finite, and positive on a log scale).</summary>
    public bool Accepts(double value) => double.IsFinite(value) && (Kind == AxisScale.Linear || value > 0);
}

/// <summary>Axis ranges and "nice" ticks (1, 2 or 5 times a power of ten), and their labels.</summary>
public static class Ticks
{
    /// <summary>About this many ticks on an axis.</summary>
    public const int Target = 6;

    /// <summary>
    /// The range an axis shows for data in [<paramref name="lo"/>, <paramref name="hi"/>]: 4% of the span added at each
    /// end (of the log span on a log axis), and a unit (a factor of 10 on a log axis) around a single value.
    /// </summary>
    public static (double Min, double Max) Range(double lo, double hi, AxisScale kind)
    {
        if (kind == AxisScale.Log10)
        {
            var (a, b) = Range(Math.Log10(lo), Math.Log10(hi), AxisScale.Linear);
            return (Math.Pow(10, a), Math.Pow(10, b));
        }
        if (lo == hi)
        {
            double half = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            return (lo - half, hi + half);
        }
        double pad = (hi - lo) * 0.04;
        return (lo - pad, hi + pad);
    }

    /// <summary>A nice step for about <paramref name="count"/> intervals over <paramref name="span"/>: 1, 2 or 5 times a power of ten.</summary>
    public static double Step(double span, int count = Target)
    {
        double raw = span / Math.Max(1, count);
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / power;
        double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
        return nice * power;
    }

    /// <summary>Linear ticks: the multiples of a nice step inside [min, max].</summary>
    public static double[] Linear(double min, double max)
    {
        double step = Step(max - min);
        var ticks = new List<double>();
        for (double k = Math.Ceiling(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
            ticks.Add(Clean(k * step, step));
        return [.. ticks];
    }

    /// <summary>
    /// Log ticks inside [min, max] (both positive): the powers of ten (every k-th when there are many decades); when fewer
    /// than two fall inside, 1, 2 and 5 times the powers of ten; when still fewer than two, linear ticks.
    /// </summary>
    public static double[] Log10(double min, double max)
    {
        double a = Math.Log10(min), b = Math.Log10(max);
        int first = (int)Math.Ceiling(a - 1e-9), last = (int)Math.Floor(b + 1e-9);
        int decades = last - first + 1;
        if (decades >= 2)
        {
            int every = (int)Math.Ceiling(decades / (double)(Target + 2));
            return [.. Enumerable.Range(0, decades).Where(k => (first + k) % every == 0).Select(k => Power(first + k))];
        }
        var multiples = new List<double>();
        for (int e = first - 1; e <= last; e++)
            foreach (var m in new[] { 1.0, 2.0, 5.0 })
            {
                double v = m * Power(e);
                if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) multiples.Add(v);
            }
        return multiples.Count >= 2 ? [.. multiples] : Linear(min, max).Where(v => v > 0).ToArray();
    }

    /// <summary>The ticks of a range on a scale kind.</summary>
    public static double[] For(double min, double max, AxisScale kind) => kind == AxisScale.Log10 ? Log10(min, max) : Linear(min, max);

    /// <summary>
    /// A tick's label: plain decimals with as many places as the step needs, or scientific notation (1e-05, 2.5e+06)
    /// for very large or very small values. Invariant culture; the same value gives the same label.
    /// </summary>
    public static string Label(double value, double step)
    {
        if (value == 0) return "0";
        double magnitude = Math.Abs(value);
        if (magnitude >= 1e5 || magnitude < 1e-3) return value.ToString("0.##e+00", CultureInfo.InvariantCulture);
        int places = Math.Clamp((int)Math.Ceiling(-Math.Log10(step) - 1e-9), 0, 6);
        return value.ToString("F" + places.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>The labels of a set of ticks (on a log axis each is labelled by its own magnitude).</summary>
    public static string[] Labels(IReadOnlyList<double> ticks, AxisScale kind)
    {
        if (kind == AxisScale.Log10) return [.. ticks.Select(t => Label(t, Math.Pow(10, Math.Floor(Math.Log10(t)))))];
        double step = ticks.Count > 1 ? ticks[1] - ticks[0] : Math.Abs(ticks.FirstOrDefault(1));
        return [.. ticks.Select(t => Label(t, step))];
    }

    private static double Power(int e) => double.Parse("1e" + e.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>k * step without the last-bit noise of the product (0.1 * 3 = 0.30000000000000004), and never -0.</summary>
    private static double Clean(double v, double step)
    {
        int places = (int)Math.Ceiling(-Math.Log10(step)) + 2;
        return places > 15 ? v + 0.0 : Math.Round(v, Math.Max(0, places)) + 0.0;
    }
}
