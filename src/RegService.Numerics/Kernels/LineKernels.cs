using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The sums with which <see cref="Solvers.ResidualSnapshots"/> writes a residual r on the line through two earlier ones,
/// r = c1 r1 + c0 r0 + e: the projection's sums (<see cref="Project"/>) and the size of what is left off the line
/// (<see cref="Off"/>), one sweep each over the three vectors, on every tier, each with its scalar twin.
/// </summary>
/// <remarks>
/// A vector sum keeps two accumulators per output, added at the end, then the scalar tail: its additions are in another
/// order than the twin's, so the last bits can differ. Each term of <see cref="Off"/> is computed with the twin's operations
/// (r − c1·r1, then − c0·r0: two products and two subtractions, no fused step), so the per-entry rounding that
/// <see cref="Solvers.ResidualSnapshots"/>' allowance covers is the same on every tier.
/// </remarks>
internal static class LineKernels
{
    /// <summary>Σ (r − r1)(r1 − r0), Σ (r1 − r0)² and Σ r².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double Along, double Step, double Norm) Project(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0)
    {
        Check(r, r1, r0);
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Project<Simd512, Vector512<double>>(r, r1, r0),
            KernelPath.Vector256 => Project<Simd256, Vector256<double>>(r, r1, r0),
            KernelPath.Vector128 => Project<Simd128, Vector128<double>>(r, r1, r0),
            _ => ProjectScalar(r, r1, r0),
        };
    }

    /// <summary>Scalar twin of <see cref="Project"/>: one entry at a time, in order.</summary>
    public static (double Along, double Step, double Norm) ProjectScalar(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0)
    {
        Check(r, r1, r0);
        double along = 0, step = 0, norm = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double d = r[i] - r1[i], s = r1[i] - r0[i];
            along += d * s;
            step += s * s;
            norm += r[i] * r[i];
        }
        return (along, step, norm);
    }

    /// <summary>Σ e_i² with e_i = r_i − c1 r1_i − c0 r0_i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Off(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0, double c1, double c0)
    {
        Check(r, r1, r0);
        return KernelIsa.Current switch
        {
            KernelPath.Vector512 => Off<Simd512, Vector512<double>>(r, r1, r0, c1, c0),
            KernelPath.Vector256 => Off<Simd256, Vector256<double>>(r, r1, r0, c1, c0),
            KernelPath.Vector128 => Off<Simd128, Vector128<double>>(r, r1, r0, c1, c0),
            _ => OffScalar(r, r1, r0, c1, c0),
        };
    }

    /// <summary>Scalar twin of <see cref="Off"/>: one entry at a time, in order.</summary>
    public static double OffScalar(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0, double c1, double c0)
    {
        Check(r, r1, r0);
        double sum = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double e = r[i] - c1 * r1[i] - c0 * r0[i];
            sum += e * e;
        }
        return sum;
    }

    private static void Check(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0)
    {
        if (r1.Length != r.Length || r0.Length != r.Length) throw new ArgumentException("the residuals differ in length");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double, double, double) Project<S, TV>(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0)
        where S : ISimd<TV> where TV : struct
    {
        ref double a = ref MemoryMarshal.GetReference(r);
        ref double b = ref MemoryMarshal.GetReference(r1);
        ref double c = ref MemoryMarshal.GetReference(r0);
        int n = r.Length, w = S.Count, i = 0;
        TV along0 = S.Zero, along1 = along0, step0 = along0, step1 = along0, norm0 = along0, norm1 = along0;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            var x0 = S.Load(ref a, (nuint)i);
            var y0 = S.Load(ref b, (nuint)i);
            var s0 = S.Subtract(y0, S.Load(ref c, (nuint)i));
            along0 = S.MultiplyAdd(S.Subtract(x0, y0), s0, along0);
            step0 = S.MultiplyAdd(s0, s0, step0);
            norm0 = S.MultiplyAdd(x0, x0, norm0);
            var x1 = S.Load(ref a, (nuint)(i + w));
            var y1 = S.Load(ref b, (nuint)(i + w));
            var s1 = S.Subtract(y1, S.Load(ref c, (nuint)(i + w)));
            along1 = S.MultiplyAdd(S.Subtract(x1, y1), s1, along1);
            step1 = S.MultiplyAdd(s1, s1, step1);
            norm1 = S.MultiplyAdd(x1, x1, norm1);
        }
        double along = S.Sum(S.Add(along0, along1)), step = S.Sum(S.Add(step0, step1)), norm = S.Sum(S.Add(norm0, norm1));
        for (; i < n; i++)
        {
            double x = Unsafe.Add(ref a, i), y = Unsafe.Add(ref b, i), s = y - Unsafe.Add(ref c, i);
            along += (x - y) * s;
            step += s * s;
            norm += x * x;
        }
        return (along, step, norm);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Off<S, TV>(ReadOnlySpan<double> r, ReadOnlySpan<double> r1, ReadOnlySpan<double> r0, double c1, double c0)
        where S : ISimd<TV> where TV : struct
    {
        ref double a = ref MemoryMarshal.GetReference(r);
        ref double b = ref MemoryMarshal.GetReference(r1);
        ref double c = ref MemoryMarshal.GetReference(r0);
        int n = r.Length, w = S.Count, i = 0;
        var v1 = S.Splat(c1);
        var v0 = S.Splat(c0);
        TV sum0 = S.Zero, sum1 = sum0;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            var e0 = S.Subtract(S.Subtract(S.Load(ref a, (nuint)i), S.Multiply(v1, S.Load(ref b, (nuint)i))), S.Multiply(v0, S.Load(ref c, (nuint)i)));
            sum0 = S.MultiplyAdd(e0, e0, sum0);
            var e1 = S.Subtract(S.Subtract(S.Load(ref a, (nuint)(i + w)), S.Multiply(v1, S.Load(ref b, (nuint)(i + w)))),
                                S.Multiply(v0, S.Load(ref c, (nuint)(i + w))));
            sum1 = S.MultiplyAdd(e1, e1, sum1);
        }
        double sum = S.Sum(S.Add(sum0, sum1));
        for (; i < n; i++)
        {
            double e = Unsafe.Add(ref a, i) - c1 * Unsafe.Add(ref b, i) - c0 * Unsafe.Add(ref c, i);
            sum += e * e;
        }
        return sum;
    }
}
