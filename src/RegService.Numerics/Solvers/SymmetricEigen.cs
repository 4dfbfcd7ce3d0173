using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Symmetric eigendecomposition that checks a <see cref="CancellationToken"/> as it goes: Householder reduction to
/// tridiagonal form and implicit QL (the EISPACK tred2/tql2 algorithms, as in JAMA and the managed provider of
/// MathNet.Numerics), written on the transpose of the eigenvector matrix so that every inner loop runs over a
/// contiguous row and is vectorized.
/// </summary>
/// <remarks>
/// The token is checked once per column of the reduction and of the accumulation of the transformations (O(k²) work
/// each) and once per QL iteration (at most k plane rotations of rows of length k). At k = 4000 one such step is a few
/// tens of milliseconds, so a cancel is seen well within a second at any size the service allows (measured on a loaded
/// 2-core machine: k = 4000 takes 87 s in all, k = 2000 7 s, k = 1000 0.7 s against 1.5 s for MathNet's managed solver;
/// a cancel at k = 4000 was honoured in 20-30 ms). The QL rotations sweep the whole k x k matrix once per iteration and are
/// bound by memory traffic; a divide-and-conquer solver would be the next step for speed.
/// </remarks>
internal static class SymmetricEigen
{
    /// <summary>QL iterations allowed per eigenvalue before the decomposition is declared failed.</summary>
    private const int MaxIterationsPerValue = 60;

    /// <summary>
    /// Decomposes the symmetric k x k matrix held row-major in <paramref name="w"/> (overwritten). On return row i of
    /// <paramref name="w"/> is the unit eigenvector of the returned eigenvalue i (not sorted).
    /// </summary>
    /// <exception cref="NumericalBreakdownException">The QL iteration did not converge.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was canceled.</exception>
    public static double[] Decompose(double[] w, int k, CancellationToken ct)
    {
        if (w.LongLength != (long)k * k)
            throw new ArgumentException($"w has {w.LongLength} values but a {k} x {k} matrix needs {(long)k * k}", nameof(w));
        var d = new double[k];
        var e = new double[k];
        if (k == 0) return d;
        Tridiagonalize(w, k, d, e, ct);
        Diagonalize(w, k, d, e, ct);
        return d;
    }

    /// <summary>
    /// The Householder reduction alone (tred2, no QL): the symmetric k x k matrix held row-major in <paramref name="w"/> is
    /// overwritten by Vᵀ, where A = V T Vᵀ with V orthogonal and T tridiagonal (row j of <paramref name="w"/> is column j of V).
    /// Returns T's diagonal and its off-diagonal, <c>Offdiagonal[j]</c> = T[j, j − 1] for j ≥ 1 (<c>Offdiagonal[0]</c> = 0).
    /// About a third of <see cref="Decompose"/>'s work at k = 200: the QL iterations rotate whole rows of Vᵀ.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was canceled.</exception>
    public static (double[] Diagonal, double[] Offdiagonal) Tridiagonal(double[] w, int k, CancellationToken ct)
    {
        if (w.LongLength < (long)k * k)
            throw new ArgumentException($"w has {w.LongLength} values but a {k} x {k} matrix needs {(long)k * k}", nameof(w));
        var d = new double[k];
        var e = new double[k];
        if (k > 0) Tridiagonalize(w, k, d, e, ct);
        return (d, e);
    }

    /// <summary>
    /// The Householder reduction without forming V: A = V T Vᵀ with V = H_{k−1} ⋯ H_1 kept as its reflectors (see
    /// <see cref="Reflect"/>, <see cref="ReflectBack"/>), the k x k row-major <paramref name="w"/> overwritten by them. Returns
    /// T's diagonal, its off-diagonal (<c>Offdiagonal[j]</c> = T[j, j − 1], <c>Offdiagonal[0]</c> = 0) and the reflectors'
    /// scalars. Half of <see cref="Tridiagonal"/>'s work: applying V to a vector costs what multiplying by it does.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was canceled.</exception>
    public static (double[] Diagonal, double[] Offdiagonal, double[] Scalars) Householder(double[] w, int k, CancellationToken ct)
    {
        if (w.LongLength < (long)k * k)
            throw new ArgumentException($"w has {w.LongLength} values but a {k} x {k} matrix needs {(long)k * k}", nameof(w));
        var h = new double[k];
        var e = new double[k];
        var diagonal = new double[k];
        if (k == 0) return (diagonal, e, h);
        Reduce(w, k, h, e, ct);
        for (int i = 0; i < k; i++) diagonal[i] = w[(long)i * k + i];
        e[0] = 0.0;
        return (diagonal, e, h);
    }

    /// <summary>y ← Vᵀ y = H_1 ⋯ H_{k−1} y for the reflectors of <see cref="Householder"/>.</summary>
    public static void Reflect(double[] w, int k, double[] h, Span<double> y)
    {
        for (int i = k - 1; i >= 1; i--) ApplyReflector(w, k, h, i, y);
    }

    /// <summary>y ← V y = H_{k−1} ⋯ H_1 y for the reflectors of <see cref="Householder"/>.</summary>
    public static void ReflectBack(double[] w, int k, double[] h, Span<double> y)
    {
        for (int i = 1; i < k; i++) ApplyReflector(w, k, h, i, y);
    }

    /// <summary>y[0, i) −= u (uᵀ y[0, i)) / h_i with u row i of <paramref name="w"/>, columns [0, i).</summary>
    private static void ApplyReflector(double[] w, int k, double[] h, int i, Span<double> y)
    {
        if (h[i] == 0.0) return;
        var u = Row(w, k, i, 0, i);
        var head = y[..i];
        double g = Vec.Dot(u, head) / h[i];
        Vec.Axpy(-g, u, head);
    }

    /// <summary>Row <paramref name="i"/> of the k x k row-major matrix, columns [from, to).</summary>
    private static Span<double> Row(double[] w, int k, int i, int from, int to) => w.AsSpan((int)((long)i * k + from), to - from);

    /// <summary>
    /// tred2 on W = Vᵀ (W[j, c] = V[c, j]): Householder reduction to the tridiagonal (d, e), accumulating the
    /// orthogonal transformation in W.
    /// </summary>
    private static void Tridiagonalize(double[] w, int n, double[] d, double[] e, CancellationToken ct)
    {
        Reduce(w, n, d, e, ct);
        Accumulate(w, n, d, e, ct);
    }

    /// <summary>
    /// The first half of tred2, the reduction: on return T's diagonal is on the diagonal of <paramref name="w"/>, its
    /// off-diagonal in <paramref name="e"/> (e[i] = T[i, i − 1], e[0] not yet cleared), and for i ≥ 1 the Householder step i,
    /// H_i = I − u uᵀ / h acting on coordinates [0, i), has u in row i of <paramref name="w"/>, columns [0, i), and h in
    /// <paramref name="d"/>[i] (0: H_i is the identity). A = V T Vᵀ with V = H_{n−1} ⋯ H_1.
    /// </summary>
    private static void Reduce(double[] w, int n, double[] d, double[] e, CancellationToken ct)
    {
        for (int j = 0; j < n; j++) d[j] = w[(long)j * n + n - 1];

        for (int i = n - 1; i > 0; i--)
        {
            ct.ThrowIfCancellationRequested();
            double scale = TensorPrimitives.SumOfMagnitudes<double>(d.AsSpan(0, i));
            double h = 0.0;
            if (scale == 0.0)
            {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++)
                {
                    d[j] = w[(long)j * n + i - 1];
                    w[(long)i * n + j] = 0.0;
                    w[(long)j * n + i] = 0.0;
                }
            }
            else
            {
                var di = d.AsSpan(0, i);
                TensorPrimitives.Divide(di, scale, di);
                h = TensorPrimitives.SumOfSquares<double>(di);
                double f = d[i - 1];
                double g = Math.Sqrt(h);
                if (f > 0) g = -g;
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                e.AsSpan(0, i).Clear();

                // Apply the similarity transformation to the remaining columns.
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    w[(long)i * n + j] = f;
                    g = e[j] + w[(long)j * n + j] * f;
                    if (j + 1 < i)
                    {
                        var wj = Row(w, n, j, j + 1, i);
                        g += TensorPrimitives.Dot<double>(wj, d.AsSpan(j + 1, i - j - 1));
                        var ej = e.AsSpan(j + 1, i - j - 1);
                        TensorPrimitives.MultiplyAdd<double>(wj, f, ej, ej);
                    }
                    e[j] = g;
                }
                f = 0.0;
                for (int j = 0; j < i; j++)
                {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    g = e[j];
                    SubtractTwo(Row(w, n, j, j, i), f, e.AsSpan(j, i - j), g, d.AsSpan(j, i - j));
                    d[j] = w[(long)j * n + i - 1];
                    w[(long)j * n + i] = 0.0;
                }
            }
            d[i] = h;
        }
    }

    /// <summary>
    /// The second half of tred2: the transformations (row i of <paramref name="w"/>, columns [0, i), the Householder vector of
    /// step i, with its scalar in <paramref name="d"/>[i]) accumulated into W = Vᵀ, and T's diagonal moved into <paramref name="d"/>.
    /// </summary>
    private static void Accumulate(double[] w, int n, double[] d, double[] e, CancellationToken ct)
    {
        for (int i = 0; i < n - 1; i++)
        {
            ct.ThrowIfCancellationRequested();
            w[(long)i * n + n - 1] = w[(long)i * n + i];
            w[(long)i * n + i] = 1.0;
            double h = d[i + 1];
            var next = Row(w, n, i + 1, 0, i + 1);
            if (h != 0.0)
            {
                var dk = d.AsSpan(0, i + 1);
                TensorPrimitives.Divide(next, h, dk);
                for (int j = 0; j <= i; j++)
                {
                    var wj = Row(w, n, j, 0, i + 1);
                    double g = TensorPrimitives.Dot<double>(next, wj);
                    TensorPrimitives.MultiplyAdd<double>(dk, -g, wj, wj);
                }
            }
            next.Clear();
        }
        for (int j = 0; j < n; j++)
        {
            d[j] = w[(long)j * n + n - 1];
            w[(long)j * n + n - 1] = 0.0;
        }
        w[(long)(n - 1) * n + n - 1] = 1.0;
        e[0] = 0.0;
    }

    /// <summary>tql2 on W = Vᵀ: implicit QL with shifts on the tridiagonal (d, e), rotating the rows of W.</summary>
    private static void Diagonalize(double[] w, int n, double[] d, double[] e, CancellationToken ct)
    {
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0.0;

        double f = 0.0, tst1 = 0.0;
        const double eps = 2.220446049250313e-16; // 2^-52
        for (int l = 0; l < n; l++)
        {
            // Find a small subdiagonal element.
            tst1 = Math.Max(tst1, Math.Abs(d[l]) + Math.Abs(e[l]));
            int m = l;
            while (m < n)
            {
                if (Math.Abs(e[m]) <= eps * tst1) break;
                m++;
            }
            if (m == n) m = n - 1; // e[n - 1] is 0; guards against a NaN tst1

            if (m > l)
            {
                int iterations = 0;
                do
                {
                    ct.ThrowIfCancellationRequested();
                    if (++iterations > MaxIterationsPerValue)
                        throw new NumericalBreakdownException($"Symmetric eigendecomposition did not converge at eigenvalue {l} of {n}.");
                    // Compute the implicit shift.
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2.0 * e[l]);
                    double r = Hypot(p, 1.0);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;

                    // Implicit QL transformation.
                    p = d[m];
                    double c = 1.0, c2 = c, c3 = c;
                    double el1 = e[l + 1];
                    double s = 0.0, s2 = 0.0;
                    for (int i = m - 1; i >= l; i--)
                    {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        Rotate(Row(w, n, i, 0, n), Row(w, n, i + 1, 0, n), c, s);
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                    if (!double.IsFinite(e[l]) || !double.IsFinite(d[l]))
                        throw new NumericalBreakdownException($"Symmetric eigendecomposition broke down at eigenvalue {l} of {n} (a value is not finite).");
                }
                while (Math.Abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0.0;
        }
    }

    /// <summary>sqrt(a² + b²) without overflow or destructive underflow.</summary>
    private static double Hypot(double a, double b)
    {
        double x = Math.Abs(a), y = Math.Abs(b);
        if (x < y) (x, y) = (y, x);
        if (x == 0) return 0;
        double t = y / x;
        return x * Math.Sqrt(1 + t * t);
    }

    /// <summary>row -= f·e + g·d, element by element (plain multiplies and adds: the same bits on every tier).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SubtractTwo(Span<double> row, double f, ReadOnlySpan<double> e, double g, ReadOnlySpan<double> d)
    {
        if (e.Length < row.Length || d.Length < row.Length) throw new ArgumentException("e and d must be as long as row");
        int i = KernelIsa.Current switch
        {
            KernelPath.Vector512 => SubtractTwo<Simd512, Vector512<double>>(row, f, e, g, d),
            KernelPath.Vector256 => SubtractTwo<Simd256, Vector256<double>>(row, f, e, g, d),
            KernelPath.Vector128 => SubtractTwo<Simd128, Vector128<double>>(row, f, e, g, d),
            _ => 0,
        };
        for (; i < row.Length; i++) row[i] -= f * e[i] + g * d[i];
    }

    /// <summary>The plane rotation (a, b) ← (c·a − s·b, s·a + c·b) of two rows (plain multiplies and adds, as <see cref="SubtractTwo"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rotate(Span<double> a, Span<double> b, double c, double s)
    {
        if (b.Length != a.Length) throw new ArgumentException("the rows must be as long as each other");
        int i = KernelIsa.Current switch
        {
            KernelPath.Vector512 => Rotate<Simd512, Vector512<double>>(a, b, c, s),
            KernelPath.Vector256 => Rotate<Simd256, Vector256<double>>(a, b, c, s),
            KernelPath.Vector128 => Rotate<Simd128, Vector128<double>>(a, b, c, s),
            _ => 0,
        };
        for (; i < a.Length; i++)
        {
            double h = b[i];
            b[i] = s * a[i] + c * h;
            a[i] = c * a[i] - s * h;
        }
    }

    /// <summary>The whole vectors of <see cref="SubtractTwo(Span{double}, double, ReadOnlySpan{double}, double, ReadOnlySpan{double})"/>; returns where the tail starts.</summary>
    private static int SubtractTwo<S, TV>(Span<double> row, double f, ReadOnlySpan<double> e, double g, ReadOnlySpan<double> d)
        where S : ISimd<TV> where TV : struct
    {
        ref double r = ref MemoryMarshal.GetReference(row);
        ref double re = ref MemoryMarshal.GetReference(e);
        ref double rd = ref MemoryMarshal.GetReference(d);
        TV vf = S.Splat(f), vg = S.Splat(g);
        int i = 0;
        for (; i <= row.Length - S.Count; i += S.Count)
        {
            var fe = S.Multiply(vf, S.Load(ref re, (nuint)i));
            var gd = S.Multiply(vg, S.Load(ref rd, (nuint)i));
            S.Store(S.Subtract(S.Load(ref r, (nuint)i), S.Add(fe, gd)), ref r, (nuint)i);
        }
        return i;
    }

    /// <summary>The whole vectors of <see cref="Rotate(Span{double}, Span{double}, double, double)"/>; returns where the tail starts.</summary>
    private static int Rotate<S, TV>(Span<double> a, Span<double> b, double c, double s) where S : ISimd<TV> where TV : struct
    {
        ref double ra = ref MemoryMarshal.GetReference(a);
        ref double rb = ref MemoryMarshal.GetReference(b);
        TV vc = S.Splat(c), vs = S.Splat(s);
        int i = 0;
        for (; i <= a.Length - S.Count; i += S.Count)
        {
            TV va = S.Load(ref ra, (nuint)i), vb = S.Load(ref rb, (nuint)i);
            S.Store(S.Subtract(S.Multiply(vc, va), S.Multiply(vs, vb)), ref ra, (nuint)i);
            S.Store(S.Add(S.Multiply(vs, va), S.Multiply(vc, vb)), ref rb, (nuint)i);
        }
        return i;
    }
}
