using System.Numerics;
using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The last two residuals at which a naive coordinate descent screened every feature, with each feature's
/// screened (single-precision) gradient there: a bound of |g_j(r)| at a later residual r that follows the residual's drift.
/// </summary>
/// <remarks>
/// Along a lasso path the residual moves mostly along one direction (between two knots of the path it is linear in lambda),
/// so r is written as r = c1 r1 + c0 r0 + e with c1 + c0 = 1, the newest snapshot r1, the older r0, and c0 fitted by least
/// squares (c0 = 0 with one snapshot). Then g_j(r) = z_j'r/n = c1 g_j(r1) + c0 g_j(r0) + z_j'e/n, and
/// <code>|g_j(r)| ≤ |c1 s1_j + c0 s0_j| + (|c1| E1 + |c0| E0) w_j + sqrt(z_j'z_j/n) ||e|| / sqrt(n)</code>
/// where s_j are the screened gradients and E w_j their error bounds (w_j ≥ ||ẑ_j|| for a single-precision copy ẑ_j; the
/// naive form's 16-bit copy adds its quantization error, <see cref="NaiveCd.ShadowWeight"/>). The Cauchy–Schwarz bound from one
/// reference residual charges the whole distance ||r - r1||; this one only the part off the line through r0 and r1,
/// which on the wide workloads halved the features left to screen (docs/engine.md, "Screening").
/// </remarks>
internal sealed class ResidualSnapshots(int features, int rows)
{
    private const double Unit = 1.0 / (1L << 53);

    private readonly double[][] _gradients = [new double[features], new double[features]];
    private readonly double[][] _residuals = [new double[rows], new double[rows]];
    private readonly double[] _errors = new double[2];
    private readonly double[] _squares = new double[2];   // each residual's sum of squares
    private int _count, _newest = 1;

    /// <summary>Snapshots kept (0, 1 or 2).</summary>
    public int Count => _count;

    /// <summary>
    /// Keeps residual <paramref name="r"/> with every feature's gradient, <paramref name="dots"/>[j] / n (a screened
    /// z_j'r), whose error is at most <paramref name="error"/> w_j; the older of two snapshots is dropped.
    /// </summary>
    public void Take(ReadOnlySpan<double> dots, double[] r, double error)
    {
        if (dots.Length < features) throw new ArgumentException("a snapshot needs every feature's gradient", nameof(dots));
        var g = _gradients[1 - _newest];
        double n = rows;
        for (int j = 0; j < features; j++) g[j] = dots[j] / n;
        Keep(r, error);
    }

    /// <summary>
    /// Keeps residual <paramref name="r"/> with every feature's gradient <paramref name="gradients"/>[j] (already divided by n),
    /// each within <paramref name="error"/> w_j of z_j'r/n; the older of two snapshots is dropped.
    /// </summary>
    public void TakeGradients(ReadOnlySpan<double> gradients, double[] r, double error)
    {
        if (gradients.Length < features) throw new ArgumentException("a snapshot needs every feature's gradient", nameof(gradients));
        gradients[..features].CopyTo(_gradients[1 - _newest]);
        Keep(r, error);
    }

    /// <summary>Completes the snapshot whose gradients were written to the older slot: its residual and error, now the newest.</summary>
    private void Keep(double[] r, double error)
    {
        int slot = 1 - _newest;
        r.CopyTo(_residuals[slot], 0);
        _squares[slot] = SpanOps.Sum<Terms.SquaredDeviation>(r, r, 0.0);
        _errors[slot] = error;
        _newest = slot;
        _count = Math.Min(2, _count + 1);
    }

    /// <summary>The bound's coefficients for residual <paramref name="r"/>, or null before the first snapshot.</summary>
    public Line? Extrapolate(double[] r)
    {
        if (_count == 0) return null;
        bool two = _count > 1;
        var r1 = _residuals[_newest];
        var r0 = two ? _residuals[1 - _newest] : r1;   // one snapshot: the line is the point r1 (a = 0)
        var (along, step, rr) = LineKernels.Project(r, r1, r0);
        double a = step > 0 ? along / step : 0;
        // r = c1 r1 + c0 r0 + e holds exactly for these two doubles and the exact e; e is computed with at most a few
        // roundings of its largest term per entry, which the allowance below covers.
        double c1 = 1 + a, c0 = -a;
        double ee = LineKernels.Off(r, r1, r0, c1, c0);
        double rr1 = _squares[_newest], rr0 = two ? _squares[1 - _newest] : 0;
        double allowance = 4 * Unit * (Math.Sqrt(rr) + Math.Abs(c1) * Math.Sqrt(rr1) + Math.Abs(c0) * Math.Sqrt(rr0));
        double radius = (Math.Sqrt(ee) * (1 + 1e-9) + allowance * (1 + 1e-9)) / Math.Sqrt(rows);
        if (double.IsNaN(radius)) radius = double.PositiveInfinity;   // a residual not finite: the bound says nothing
        double error = Math.Abs(c1) * _errors[_newest] + (two ? Math.Abs(c0) * _errors[1 - _newest] : 0);
        return new Line(c1, two ? c0 : 0, _gradients[_newest], _gradients[1 - _newest], error, radius);
    }

    /// <summary>The bound at one residual: <see cref="Bound"/> per feature.</summary>
    public readonly struct Line(double c1, double c0, double[] s1, double[] s0, double error, double radius)
    {
        /// <summary>
        /// An upper bound of |g_j(r)|, given <paramref name="norm"/> = sqrt(z_j'z_j/n) and <paramref name="shadowNorm"/> = w_j, the feature's weight in the snapshots' error bounds (≥ ||ẑ_j||)
        /// (the last factor covers the roundings of the few double operations here).
        /// </summary>
        public double Bound(int j, double norm, double shadowNorm) =>
            (Math.Abs(c1 * s1[j] + c0 * s0[j]) + error * shadowNorm + norm * radius) * (1 + 1e-12);

        /// <summary>
        /// <c>upper[j] = min(upper[j], Bound(j, norms[j], shadowNorms[j]))</c> for every feature, vectorized (<see cref="Vector{T}"/>;
        /// every element is the same few operations in the same order as <see cref="TightenScalar"/>, so the two agree bit for bit).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Tighten(ReadOnlySpan<double> norms, ReadOnlySpan<double> shadowNorms, Span<double> upper)
        {
            int q = upper.Length, i = 0;
            if (norms.Length < q || shadowNorms.Length < q || s1.Length < q || s0.Length < q)
                throw new ArgumentException("a bound needs every feature's norm, weight and snapshot gradients");
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<double>.Count;
                var a1 = new Vector<double>(c1);
                var a0 = new Vector<double>(c0);
                var e = new Vector<double>(error);
                var rad = new Vector<double>(radius);
                var up = new Vector<double>(1 + 1e-12);
                for (; i + w <= q; i += w)
                {
                    var g = Vector.Abs(a1 * new Vector<double>(s1.AsSpan(i)) + a0 * new Vector<double>(s0.AsSpan(i)));
                    var b = (g + e * new Vector<double>(shadowNorms[i..]) + new Vector<double>(norms[i..]) * rad) * up;
                    Vector.Min(new Vector<double>(upper[i..]), b).CopyTo(upper[i..]);
                }
            }
            for (; i < q; i++) upper[i] = Math.Min(upper[i], Bound(i, norms[i], shadowNorms[i]));
        }

        /// <summary>The scalar twin of <see cref="Tighten"/>.</summary>
        public void TightenScalar(ReadOnlySpan<double> norms, ReadOnlySpan<double> shadowNorms, Span<double> upper)
        {
            for (int j = 0; j < upper.Length; j++) upper[j] = Math.Min(upper[j], Bound(j, norms[j], shadowNorms[j]));
        }
    }
}
