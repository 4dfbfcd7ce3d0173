using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The operations the span kernels need from one vector width. A kernel is written once, generic over
/// <c>S : ISimd&lt;TV&gt;</c>, and instantiated for <see cref="Simd512"/>, <see cref="Simd256"/> and <see cref="Simd128"/>:
/// the JIT compiles one specialized body per width (static abstract members on a struct are resolved and inlined),
/// so nothing is paid for the abstraction. <see cref="KernelIsa"/> picks the instantiation.
/// </summary>
internal interface ISimd<TV> where TV : struct
{
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV Splat(double a);
    static abstract TV Load(ref double source, nuint index);
    static abstract void Store(TV value, ref double destination, nuint index);
    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);
    static abstract TV Divide(TV a, TV b);
    /// <summary>a b + c, fused (one rounding) where the tier has FMA.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);
    static abstract TV Abs(TV a);
    static abstract TV Max(TV a, TV b);
    /// <summary>Per lane: t ≥ 0 ? ifTrue : ifFalse.</summary>
    static abstract TV SelectNonNegative(TV t, TV ifTrue, TV ifFalse);
    /// <summary>Per lane: t &lt; limit ? 0 : v.</summary>
    static abstract TV ZeroBelow(TV t, double limit, TV v);
    /// <summary>2^k from <c>k + 1.5·2^52</c> (an integer k rounded by adding the shifter): the shifter's low bits hold k.</summary>
    static abstract TV Pow2FromShifted(TV shifted);
    static abstract double Sum(TV v);
    static abstract TV Exp(TV x);
    static abstract TV Log(TV x);
    static abstract TV Min(TV a, TV b);
    /// <summary>Per lane: a == c ? ifTrue : ifFalse.</summary>
    static abstract TV WhereEqual(TV a, double c, TV ifTrue, TV ifFalse);
    /// <summary>The smallest lane.</summary>
    static abstract double Smallest(TV a);
}

/// <summary>AVX-512 (8 doubles).</summary>
internal readonly struct Simd512 : ISimd<Vector512<double>>
{
    public static int Count => Vector512<double>.Count;
    public static Vector512<double> Zero => Vector512<double>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Splat(double a) => Vector512.Create(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Load(ref double s, nuint i) => Vector512.LoadUnsafe(ref s, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<double> v, ref double d, nuint i) => v.StoreUnsafe(ref d, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Add(Vector512<double> a, Vector512<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Subtract(Vector512<double> a, Vector512<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Multiply(Vector512<double> a, Vector512<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Divide(Vector512<double> a, Vector512<double> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> MultiplyAdd(Vector512<double> a, Vector512<double> b, Vector512<double> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Abs(Vector512<double> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Max(Vector512<double> a, Vector512<double> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> SelectNonNegative(Vector512<double> t, Vector512<double> ifTrue, Vector512<double> ifFalse)
        => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(t, Vector512<double>.Zero), ifTrue, ifFalse);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> ZeroBelow(Vector512<double> t, double limit, Vector512<double> v)
        => Vector512.ConditionalSelect(Vector512.LessThan(t, Vector512.Create(limit)), Vector512<double>.Zero, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Pow2FromShifted(Vector512<double> shifted)
        => Vector512.ShiftLeft(shifted.AsInt64() + Vector512.Create(SimdMath.ExponentFromShifted), 52).AsDouble();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector512<double> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Exp(Vector512<double> x) => Vector512.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Log(Vector512<double> x) => Vector512.Log(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Min(Vector512<double> a, Vector512<double> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> WhereEqual(Vector512<double> a, double c, Vector512<double> t, Vector512<double> f) =>
        Vector512.ConditionalSelect(Vector512.Equals(a, Vector512.Create(c)), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Smallest(Vector512<double> a) => Math.Min(Simd256.Smallest(a.GetLower()), Simd256.Smallest(a.GetUpper()));
}

/// <summary>AVX2 with FMA (4 doubles).</summary>
internal readonly struct Simd256 : ISimd<Vector256<double>>
{
    public static int Count => Vector256<double>.Count;
    public static Vector256<double> Zero => Vector256<double>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Splat(double a) => Vector256.Create(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Load(ref double s, nuint i) => Vector256.LoadUnsafe(ref s, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<double> v, ref double d, nuint i) => v.StoreUnsafe(ref d, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Subtract(Vector256<double> a, Vector256<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Multiply(Vector256<double> a, Vector256<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Divide(Vector256<double> a, Vector256<double> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> MultiplyAdd(Vector256<double> a, Vector256<double> b, Vector256<double> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Abs(Vector256<double> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Max(Vector256<double> a, Vector256<double> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> SelectNonNegative(Vector256<double> t, Vector256<double> ifTrue, Vector256<double> ifFalse)
        => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(t, Vector256<double>.Zero), ifTrue, ifFalse);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> ZeroBelow(Vector256<double> t, double limit, Vector256<double> v)
        => Vector256.ConditionalSelect(Vector256.LessThan(t, Vector256.Create(limit)), Vector256<double>.Zero, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Pow2FromShifted(Vector256<double> shifted)
        => Vector256.ShiftLeft(shifted.AsInt64() + Vector256.Create(SimdMath.ExponentFromShifted), 52).AsDouble();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector256<double> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Exp(Vector256<double> x) => Vector256.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Log(Vector256<double> x) => Vector256.Log(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Min(Vector256<double> a, Vector256<double> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> WhereEqual(Vector256<double> a, double c, Vector256<double> t, Vector256<double> f) =>
        Vector256.ConditionalSelect(Vector256.Equals(a, Vector256.Create(c)), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Smallest(Vector256<double> a) => Math.Min(Simd128.Smallest(a.GetLower()), Simd128.Smallest(a.GetUpper()));
}

/// <summary>SSE2 / AdvSimd (2 doubles); multiply-adds fused only where the hardware has FMA.</summary>
internal readonly struct Simd128 : ISimd<Vector128<double>>
{
    public static int Count => Vector128<double>.Count;
    public static Vector128<double> Zero => Vector128<double>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Splat(double a) => Vector128.Create(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Load(ref double s, nuint i) => Vector128.LoadUnsafe(ref s, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<double> v, ref double d, nuint i) => v.StoreUnsafe(ref d, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Add(Vector128<double> a, Vector128<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Subtract(Vector128<double> a, Vector128<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Multiply(Vector128<double> a, Vector128<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Divide(Vector128<double> a, Vector128<double> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> MultiplyAdd(Vector128<double> a, Vector128<double> b, Vector128<double> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Abs(Vector128<double> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Max(Vector128<double> a, Vector128<double> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> SelectNonNegative(Vector128<double> t, Vector128<double> ifTrue, Vector128<double> ifFalse)
        => Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(t, Vector128<double>.Zero), ifTrue, ifFalse);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> ZeroBelow(Vector128<double> t, double limit, Vector128<double> v)
        => Vector128.ConditionalSelect(Vector128.LessThan(t, Vector128.Create(limit)), Vector128<double>.Zero, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> Pow2FromShifted(Vector128<double> shifted)
        => Vector128.ShiftLeft(shifted.AsInt64() + Vector128.Create(SimdMath.ExponentFromShifted), 52).AsDouble();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector128<double> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Exp(Vector128<double> x) => Vector128.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Log(Vector128<double> x) => Vector128.Log(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Min(Vector128<double> a, Vector128<double> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> WhereEqual(Vector128<double> a, double c, Vector128<double> t, Vector128<double> f) =>
        Vector128.ConditionalSelect(Vector128.Equals(a, Vector128.Create(c)), t, f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Smallest(Vector128<double> a) => Math.Min(a.GetElement(0), a.GetElement(1));
}

/// <summary>Elementary functions on any vector width, for the logistic link and loss.</summary>
internal static class SimdMath
{
    /// <summary>1.5 · 2^52: adding and subtracting it rounds a double (|x| &lt; 2^51) to an integer.</summary>
    internal const double Shifter = 6755399441055744.0;

    /// <summary>Added to the bits of <c>k + Shifter</c> gives <c>k + 1023</c>, the biased exponent of 2^k.</summary>
    internal const long ExponentFromShifted = 1023L - 0x4338000000000000L;

    /// <summary>e^x for x ≤ 0 (0 below −708): x = k ln2 + f, |f| ≤ ln2/2, e^f by its Taylor polynomial of degree 13.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNonPositive<S, TV>(TV x) where S : ISimd<TV> where TV : struct
        => S.ZeroBelow(x, -708.0, Exp<S, TV>(S.Max(x, S.Splat(-708.0))));

    /// <summary>e^x for |x| ≤ 708 (no checks): x = k ln2 + f, |f| ≤ ln2/2, e^f by its Taylor polynomial of degree 13.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<S, TV>(TV x) where S : ISimd<TV> where TV : struct
    {
        const double Log2E = 1.4426950408889634, Ln2Hi = 0.6931471803691238, Ln2Lo = 1.9082149292705877e-10;
        // Separate multiplies and adds (not fused): the results stored by earlier versions are reproduced bit for bit.
        var shifted = S.Add(S.Multiply(x, S.Splat(Log2E)), S.Splat(Shifter));
        var k = S.Subtract(shifted, S.Splat(Shifter));
        var f = S.Subtract(S.Subtract(x, S.Multiply(k, S.Splat(Ln2Hi))), S.Multiply(k, S.Splat(Ln2Lo)));
        var q = S.Splat(1.0 / 6227020800.0);                                  // 1/13!
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 479001600.0));                 // 1/12!
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 39916800.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 3628800.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 362880.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 40320.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 5040.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 720.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 120.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 24.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0 / 6.0));
        q = S.MultiplyAdd(q, f, S.Splat(0.5));
        q = S.MultiplyAdd(q, f, S.Splat(1.0));
        q = S.MultiplyAdd(q, f, S.Splat(1.0));
        return S.Multiply(q, S.Pow2FromShifted(shifted));
    }

    /// <summary>log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e/(2 + e) in [0, 1/3], by its series to s^31 (error below 2e-17).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log1pUnit<S, TV>(TV e) where S : ISimd<TV> where TV : struct
    {
        var s = S.Divide(e, S.Add(S.Splat(2.0), e));
        var s2 = S.Multiply(s, s);
        var q = S.Splat(1.0 / 31);
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 29));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 27));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 25));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 23));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 21));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 19));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 17));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 15));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 13));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 11));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 9));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 7));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 5));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0 / 3));
        q = S.MultiplyAdd(q, s2, S.Splat(1.0));
        return S.Multiply(S.Multiply(S.Splat(2.0), s), q);
    }

    /// <summary>
    /// The logistic loss term and probability of one vector of predictors t with targets y:
    /// <c>max(t, 0) − y t + log(1 + e^−|t|)</c> (no overflow), p = 1/(1 + e^−t), and e = e^−|t|, inv = 1/(1 + e).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Logistic<S, TV>(TV t, TV y, out TV p, out TV e, out TV inv) where S : ISimd<TV> where TV : struct
    {
        e = ExpNonPositive<S, TV>(S.Subtract(S.Zero, S.Abs(t)));
        inv = S.Divide(S.Splat(1.0), S.Add(S.Splat(1.0), e));
        p = S.SelectNonNegative(t, inv, S.Multiply(e, inv));
        return S.Add(S.Subtract(S.Max(t, S.Zero), S.Multiply(y, t)), Log1pUnit<S, TV>(e));
    }
}
