using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Span primitives of the binomial solver: dot products and updates on a column centered on the fly
/// (<c>x - m</c>, so a column with a large mean loses no digits), and the logistic link of a block of rows.
/// Each has a plain scalar twin for tests.
/// </summary>
public static class LogisticKernels
{
    /// <summary>y += a x with regular stores (as <see cref="Vec.Axpy"/>, optimized from the first call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("x and y differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; i <= n - 8; i += 8)
                Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i <= n - 4; i += 4)
                (va * Vector256.LoadUnsafe(ref xr, (nuint)i) + Vector256.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref yr, i) += a * Unsafe.Add(ref xr, i);
    }

    /// <summary>Σ (a_i − b_i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumDifference(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("a and b differ in length");
        ref double ar = ref MemoryMarshal.GetReference(a);
        ref double br = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<double> s0 = default, s1 = default;
            for (; i <= n - 16; i += 16)
            {
                s0 += Vector512.LoadUnsafe(ref ar, (nuint)i) - Vector512.LoadUnsafe(ref br, (nuint)i);
                s1 += Vector512.LoadUnsafe(ref ar, (nuint)i + 8) - Vector512.LoadUnsafe(ref br, (nuint)i + 8);
            }
            sum = Vector512.Sum(s0 + s1);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref ar, i) - Unsafe.Add(ref br, i);
        return sum;
    }

    /// <summary>Σ (a_i − b_i − c)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double CenteredDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double c)
    {
        if (a.Length != b.Length) throw new ArgumentException("a and b differ in length");
        ref double ar = ref MemoryMarshal.GetReference(a);
        ref double br = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var vc = Vector512.Create(c);
            Vector512<double> s0 = default, s1 = default;
            for (; i <= n - 16; i += 16)
            {
                var d0 = Vector512.LoadUnsafe(ref ar, (nuint)i) - Vector512.LoadUnsafe(ref br, (nuint)i) - vc;
                var d1 = Vector512.LoadUnsafe(ref ar, (nuint)i + 8) - Vector512.LoadUnsafe(ref br, (nuint)i + 8) - vc;
                s0 = Vector512.FusedMultiplyAdd(d0, d0, s0);
                s1 = Vector512.FusedMultiplyAdd(d1, d1, s1);
            }
            sum = Vector512.Sum(s0 + s1);
        }
        for (; i < n; i++)
        {
            double d = Unsafe.Add(ref ar, i) - Unsafe.Add(ref br, i) - c;
            sum += d * d;
        }
        return sum;
    }

    /// <summary>Σ |a_i − b_i|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double AbsoluteDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("a and b differ in length");
        ref double ar = ref MemoryMarshal.GetReference(a);
        ref double br = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<double> s0 = default, s1 = default;
            for (; i <= n - 16; i += 16)
            {
                s0 += Vector512.Abs(Vector512.LoadUnsafe(ref ar, (nuint)i) - Vector512.LoadUnsafe(ref br, (nuint)i));
                s1 += Vector512.Abs(Vector512.LoadUnsafe(ref ar, (nuint)i + 8) - Vector512.LoadUnsafe(ref br, (nuint)i + 8));
            }
            sum = Vector512.Sum(s0 + s1);
        }
        for (; i < n; i++) sum += Math.Abs(Unsafe.Add(ref ar, i) - Unsafe.Add(ref br, i));
        return sum;
    }

    /// <summary>Σ (x_i − m) r_i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double DotShifted(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> r)
    {
        if (x.Length != r.Length) throw new ArgumentException("x and r differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double rr = ref MemoryMarshal.GetReference(r);
        int n = x.Length, i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 32)
        {
            var vm = Vector512.Create(m);
            Vector512<double> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i <= n - 32; i += 32)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i) - vm, Vector512.LoadUnsafe(ref rr, (nuint)i), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i + 8) - vm, Vector512.LoadUnsafe(ref rr, (nuint)i + 8), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i + 16) - vm, Vector512.LoadUnsafe(ref rr, (nuint)i + 16), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i + 24) - vm, Vector512.LoadUnsafe(ref rr, (nuint)i + 24), s3);
            }
            for (; i <= n - 8; i += 8)
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i) - vm, Vector512.LoadUnsafe(ref rr, (nuint)i), s0);
            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            var vm = Vector256.Create(m);
            Vector256<double> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i <= n - 16; i += 16)
            {
                s0 += (Vector256.LoadUnsafe(ref xr, (nuint)i) - vm) * Vector256.LoadUnsafe(ref rr, (nuint)i);
                s1 += (Vector256.LoadUnsafe(ref xr, (nuint)i + 4) - vm) * Vector256.LoadUnsafe(ref rr, (nuint)i + 4);
                s2 += (Vector256.LoadUnsafe(ref xr, (nuint)i + 8) - vm) * Vector256.LoadUnsafe(ref rr, (nuint)i + 8);
                s3 += (Vector256.LoadUnsafe(ref xr, (nuint)i + 12) - vm) * Vector256.LoadUnsafe(ref rr, (nuint)i + 12);
            }
            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; i < n; i++)
            sum += (Unsafe.Add(ref xr, i) - m) * Unsafe.Add(ref rr, i);
        return sum;
    }

    /// <summary>Scalar twin of <see cref="DotShifted"/>.</summary>
    public static double DotShiftedScalar(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> r)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += (x[i] - m) * r[i];
        return sum;
    }

    /// <summary>The weighted moments Σ w_i (x_i − m) and Σ w_i (x_i − m)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double First, double Second) WeightedMoments(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> w)
    {
        if (x.Length != w.Length) throw new ArgumentException("x and w differ in length");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double wr = ref MemoryMarshal.GetReference(w);
        int n = x.Length, i = 0;
        double first = 0, second = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var vm = Vector512.Create(m);
            Vector512<double> f0 = default, f1 = default, q0 = default, q1 = default;
            for (; i <= n - 16; i += 16)
            {
                var d0 = Vector512.LoadUnsafe(ref xr, (nuint)i) - vm;
                var d1 = Vector512.LoadUnsafe(ref xr, (nuint)i + 8) - vm;
                var wd0 = Vector512.LoadUnsafe(ref wr, (nuint)i) * d0;
                var wd1 = Vector512.LoadUnsafe(ref wr, (nuint)i + 8) * d1;
                f0 += wd0;
                f1 += wd1;
                q0 = Vector512.FusedMultiplyAdd(wd0, d0, q0);
                q1 = Vector512.FusedMultiplyAdd(wd1, d1, q1);
            }
            first = Vector512.Sum(f0 + f1);
            second = Vector512.Sum(q0 + q1);
        }
        for (; i < n; i++)
        {
            double d = Unsafe.Add(ref xr, i) - m, wd = Unsafe.Add(ref wr, i) * d;
            first += wd;
            second += wd * d;
        }
        return (first, second);
    }

    /// <summary>Scalar twin of <see cref="WeightedMoments"/>.</summary>
    public static (double First, double Second) WeightedMomentsScalar(ReadOnlySpan<double> x, double m, ReadOnlySpan<double> w)
    {
        double first = 0, second = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - m;
            first += w[i] * d;
            second += w[i] * d * d;
        }
        return (first, second);
    }

    /// <summary>r_i −= a · v_i · (x_i − c): the weighted-residual update of one coordinate step (regular stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SubtractWeightedShifted(double a, ReadOnlySpan<double> v, ReadOnlySpan<double> x, double c, Span<double> r)
    {
        if (x.Length != r.Length || v.Length != r.Length) throw new ArgumentException("v, x and r differ in length");
        ref double vr = ref MemoryMarshal.GetReference(v);
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double rr = ref MemoryMarshal.GetReference(r);
        int n = r.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(-a);
            var vc = Vector512.Create(c);
            for (; i <= n - 8; i += 8)
            {
                var t = Vector512.LoadUnsafe(ref vr, (nuint)i) * (Vector512.LoadUnsafe(ref xr, (nuint)i) - vc);
                Vector512.FusedMultiplyAdd(va, t, Vector512.LoadUnsafe(ref rr, (nuint)i)).StoreUnsafe(ref rr, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(-a);
            var vc = Vector256.Create(c);
            for (; i <= n - 4; i += 4)
            {
                var t = Vector256.LoadUnsafe(ref vr, (nuint)i) * (Vector256.LoadUnsafe(ref xr, (nuint)i) - vc);
                (va * t + Vector256.LoadUnsafe(ref rr, (nuint)i)).StoreUnsafe(ref rr, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref rr, i) -= a * (Unsafe.Add(ref vr, i) * (Unsafe.Add(ref xr, i) - c));
    }

    /// <summary>Scalar twin of <see cref="SubtractWeightedShifted"/>.</summary>
    public static void SubtractWeightedShiftedScalar(double a, ReadOnlySpan<double> v, ReadOnlySpan<double> x, double c, Span<double> r)
    {
        for (int i = 0; i < r.Length; i++) r[i] -= a * (v[i] * (x[i] - c));
    }

    /// <summary>
    /// The logistic link over a block of rows: from the linear predictor <paramref name="eta"/> and the 0/1
    /// target, the probability p = 1/(1 + e^−eta), the weight p(1 − p), the residual y − p, and
    /// Σ [log(1 + e^eta) − y eta] (the negative log-likelihood, computed without overflow from e^−|eta|).
    /// <paramref name="scratch"/> is not used (kept for callers that pass a buffer).
    /// </summary>
    /// <remarks>AVX-512: e^−|eta| and log(1 + e^−|eta|) by range reduction and polynomials, accurate to a few ulps.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Link(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> p, Span<double> w, Span<double> r, Span<double> scratch)
    {
        int n = eta.Length;
        if (y.Length != n || p.Length != n || w.Length != n || r.Length != n)
            throw new ArgumentException("the spans differ in length");
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(y);
        ref double pr = ref MemoryMarshal.GetReference(p);
        ref double wr = ref MemoryMarshal.GetReference(w);
        ref double rr = ref MemoryMarshal.GetReference(r);
        int i = 0;
        double loss = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var one = Vector512<double>.One;
            var zero = Vector512<double>.Zero;
            var acc = Vector512<double>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var t = Vector512.LoadUnsafe(ref er, (nuint)i);
                var yi = Vector512.LoadUnsafe(ref yr, (nuint)i);
                var e = ExpNonPositive(-Vector512.Abs(t));
                var inv = one / (one + e);
                var pi = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(t, zero), inv, e * inv);
                pi.StoreUnsafe(ref pr, (nuint)i);
                (e * inv * inv).StoreUnsafe(ref wr, (nuint)i);
                (yi - pi).StoreUnsafe(ref rr, (nuint)i);
                acc += Vector512.Max(t, zero) - yi * t + Log1pUnit(e);
            }
            loss = Vector512.Sum(acc);
        }
        for (; i < n; i++)
        {
            double t = Unsafe.Add(ref er, i), yi = Unsafe.Add(ref yr, i);
            double e = Math.Exp(-Math.Abs(t));
            double inv = 1.0 / (1.0 + e);
            double pi = t >= 0 ? inv : e * inv;
            Unsafe.Add(ref pr, i) = pi;
            Unsafe.Add(ref wr, i) = e * inv * inv;   // p(1 - p) = e^-|eta| / (1 + e^-|eta|)^2, no cancellation
            Unsafe.Add(ref rr, i) = yi - pi;
            loss += (t > 0 ? t : 0) - yi * t + Math.Log(1 + e);
        }
        return loss;
    }

    /// <summary>Σ [log(1 + e^eta) − y eta]: the negative log-likelihood alone (see <see cref="Link"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Loss(ReadOnlySpan<double> eta, ReadOnlySpan<double> y)
    {
        int n = eta.Length;
        if (y.Length != n) throw new ArgumentException("eta and y differ in length");
        ref double er = ref MemoryMarshal.GetReference(eta);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        double loss = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var zero = Vector512<double>.Zero;
            var acc = Vector512<double>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var t = Vector512.LoadUnsafe(ref er, (nuint)i);
                acc += Vector512.Max(t, zero) - Vector512.LoadUnsafe(ref yr, (nuint)i) * t + Log1pUnit(ExpNonPositive(-Vector512.Abs(t)));
            }
            loss = Vector512.Sum(acc);
        }
        for (; i < n; i++)
        {
            double t = Unsafe.Add(ref er, i);
            loss += (t > 0 ? t : 0) - Unsafe.Add(ref yr, i) * t + Math.Log(1 + Math.Exp(-Math.Abs(t)));
        }
        return loss;
    }

    /// <summary>e^x for x ≤ 0 (0 below −708): x = k ln2 + f, |f| ≤ ln2/2, e^f by its Taylor polynomial of degree 13.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> ExpNonPositive(Vector512<double> x)
    {
        const double Log2E = 1.4426950408889634, Ln2Hi = 0.6931471803691238, Ln2Lo = 1.9082149292705877e-10;
        const double Shifter = 6755399441055744.0; // 1.5 * 2^52: adding and subtracting rounds to an integer
        var tiny = Vector512.LessThan(x, Vector512.Create(-708.0));
        x = Vector512.Max(x, Vector512.Create(-708.0));
        var k = x * Vector512.Create(Log2E) + Vector512.Create(Shifter) - Vector512.Create(Shifter);
        var f = x - k * Vector512.Create(Ln2Hi) - k * Vector512.Create(Ln2Lo);
        var q = Vector512.Create(1.0 / 6227020800.0);                                  // 1/13!
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 479001600.0));     // 1/12!
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 39916800.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 3628800.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 362880.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 40320.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 5040.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 720.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 120.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 24.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(1.0 / 6.0));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(0.5));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512<double>.One);
        q = Vector512.FusedMultiplyAdd(q, f, Vector512<double>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt64(k) + Vector512.Create(1023L), 52).AsDouble();
        return Vector512.ConditionalSelect(tiny, Vector512<double>.Zero, q * scale);
    }

    /// <summary>log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e/(2 + e) in [0, 1/3], by its series to s^31 (error below 2e-17).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> Log1pUnit(Vector512<double> e)
    {
        var s = e / (Vector512.Create(2.0) + e);
        var s2 = s * s;
        var q = Vector512.Create(1.0 / 31);
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 29));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 27));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 25));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 23));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 21));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 19));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 17));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 15));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 13));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 11));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 9));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 7));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 5));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512.Create(1.0 / 3));
        q = Vector512.FusedMultiplyAdd(q, s2, Vector512<double>.One);
        return Vector512.Create(2.0) * s * q;
    }

    /// <summary>Scalar twin of <see cref="Link"/>, with Math.Exp and Math.Log.</summary>
    public static double LinkScalar(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, Span<double> p, Span<double> w, Span<double> r)
    {
        double loss = 0;
        for (int i = 0; i < eta.Length; i++)
        {
            double t = eta[i];
            double e = Math.Exp(-Math.Abs(t));
            double inv = 1.0 / (1.0 + e);
            double pi = t >= 0 ? inv : e * inv;
            p[i] = pi;
            w[i] = e * inv * inv;
            r[i] = y[i] - pi;
            loss += Math.Max(t, 0) - y[i] * t + Math.Log(1 + e);
        }
        return loss;
    }
}
