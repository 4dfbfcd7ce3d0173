using System.Numerics;
using System.Runtime.InteropServices;

namespace RegService.Numerics.Data;

/// <summary>
/// Count, mean, sum of squared deviations (M2), min and max of a set of values.
/// A block's statistics come from the corrected two-pass algorithm; blocks are combined with
/// the pairwise update of Chan, Golub and LeVeque, which stays accurate for long columns and
/// for columns with a large offset.
/// </summary>
internal struct ColumnStats
{
    public long Count;
    public double Mean;
    public double M2;
    public double Min;
    public double Max;

    public static ColumnStats Empty => new() { Min = double.PositiveInfinity, Max = double.NegativeInfinity };

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static ColumnStats Of(ReadOnlySpan<double> values)
    {
        ColumnStats s = Empty;
        int n = values.Length;
        if (n == 0) return s;

        // Pass 1: a first estimate of the mean.
        double sum = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var acc = Vector<double>.Zero;
            var vectors = MemoryMarshal.Cast<double, Vector<double>>(values);
            foreach (var v in vectors) acc += v;
            sum = Vector.Sum(acc);
            i = vectors.Length * Vector<double>.Count;
        }
        for (; i < n; i++) sum += values[i];
        double m0 = sum / n;

        // Pass 2: deviations from the estimate; the sum of deviations corrects the mean and M2.
        double sd = 0, sdd = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var vm = new Vector<double>(m0);
            var vsd = Vector<double>.Zero;
            var vsdd = Vector<double>.Zero;
            var vmin = new Vector<double>(double.PositiveInfinity);
            var vmax = new Vector<double>(double.NegativeInfinity);
            var vectors = MemoryMarshal.Cast<double, Vector<double>>(values);
            foreach (var v in vectors)
            {
                var dev = v - vm;
                vsd += dev;
                vsdd += dev * dev;
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);
            }
            sd = Vector.Sum(vsd);
            sdd = Vector.Sum(vsdd);
            for (int k = 0; k < Vector<double>.Count; k++)
            {
                min = Math.Min(min, vmin[k]);
                max = Math.Max(max, vmax[k]);
            }
            i = vectors.Length * Vector<double>.Count;
        }
        for (; i < n; i++)
        {
            double v = values[i];
            double dev = v - m0;
            sd += dev;
            sdd += dev * dev;
            if (v < min) min = v;
            if (v > max) max = v;
        }

        s.Count = n;
        s.Mean = m0 + sd / n;
        s.M2 = Math.Max(0, sdd - sd * sd / n);
        s.Min = min;
        s.Max = max;
        return s;
    }

    public void Merge(in ColumnStats other)
    {
        if (other.Count == 0) return;
        if (Count == 0)
        {
            this = other;
            return;
        }
        double na = Count, nb = other.Count, n = na + nb;
        double delta = other.Mean - Mean;
        Mean += delta * (nb / n);
        M2 += other.M2 + delta * delta * (na * nb / n);
        Count += other.Count;
        if (other.Min < Min) Min = other.Min;
        if (other.Max > Max) Max = other.Max;
    }

    public readonly ColumnSummary ToSummary(string name) =>
        Count == 0
            ? new ColumnSummary(name, double.NaN, double.NaN, double.NaN, double.NaN)
            : new ColumnSummary(name, Mean, Math.Sqrt(M2 / Count), Min, Max);
}
