using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The pass over the strip copy (<see cref="GradientKernels"/>): a thread's strips on the resolved tier, four row vectors at a
/// time, and the scalar twin that also takes a last, partial strip.
/// </summary>
public sealed partial class GradientKernels
{
    /// <summary>Thread <paramref name="t"/>'s strips from the copy (a pass that reads most of the columns).</summary>
    private void Range(int t, PassArgs a)
    {
        int q = _columns.Length;
        var lanes = _lanes[t];
        if (a.WithGradient) Array.Clear(lanes);
        // eta = c + sum_j w_j x_j over the columns with a nonzero weight.
        var nonzero = _nonzero[t];
        var weights = _nonzeroWeights[t];
        int nz = 0;
        for (int j = 0; j < q; j++)
            if (a.W[j] != 0)
            {
                nonzero[nz] = j;
                weights[nz++] = a.W[j];
            }
        int first = _bounds[t], end = _bounds[t + 1];
        // A last strip with fewer than 8 rows goes row by row (its padding must not count).
        int full = Math.Min(end, _rows / Strip);
        var sums = new Sums();
        switch (a.Path)
        {
            case KernelPath.Vector512: Strips<Simd512, Vector512<double>>(t, first, full, nz, a, ref sums); break;
            case KernelPath.Vector256: Strips<Simd256, Vector256<double>>(t, first, full, nz, a, ref sums); break;
            case KernelPath.Vector128: Strips<Simd128, Vector128<double>>(t, first, full, nz, a, ref sums); break;
            default: full = first; break;
        }
        for (int s = Math.Max(full, first); s < end; s++) StripScalar(t, s, nz, a, ref sums);
        var grad = _grad[t];
        if (a.WithGradient)
            foreach (int k in a.Active)
            {
                double g = 0;
                for (int h = 0; h < Strip; h++) g += lanes[k * Strip + h];
                grad[k] = g;
            }
        _loss[t] = sums.Loss;
        _lossB[t] = a.EtaPrev is null ? sums.Loss : sums.LossB;
        _sumR[t] = sums.SumR;
    }

    private struct Sums
    {
        public double Loss, LossB, SumR;
    }

    /// <summary>Strips [first, end), all full: per strip and sub-vector of its rows, eta, the residual, the lanes of the gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Strips<S, TV>(int t, int first, int end, int nz, PassArgs a, ref Sums sums) where S : ISimd<TV> where TV : struct
    {
        int q = _columns.Length, width = S.Count, active = a.Active.Length;
        ref double px = ref _packed[_origin];
        ref double yr = ref MemoryMarshal.GetArrayDataReference(a.Y);
        ref double lr = ref MemoryMarshal.GetArrayDataReference(_lanes[t]);
        ref int nzr = ref MemoryMarshal.GetArrayDataReference(_nonzero[t]);
        ref double wr = ref MemoryMarshal.GetArrayDataReference(_nonzeroWeights[t]);
        ref int ar = ref MemoryMarshal.GetArrayDataReference(a.Active);
        bool step = a.EtaPrev is not null, store = a.EtaOut is not null, binomial = a.Binomial, withGradient = a.WithGradient;
        ref double eo = ref store ? ref MemoryMarshal.GetArrayDataReference(a.EtaOut!) : ref Unsafe.NullRef<double>();
        ref double ep = ref step ? ref MemoryMarshal.GetArrayDataReference(a.EtaPrev!) : ref Unsafe.NullRef<double>();
        ref double rb = ref MemoryMarshal.GetArrayDataReference(_rowBuffers[t]);
        var acc = new Accumulators<TV>(S.Zero, S.Splat(a.M), S.Splat(0.5), step, binomial);
        // Four row vectors at a time (four strips of Vector512, two of Vector256, one of Vector128): eight independent
        // chains for eta, four residuals in flight, each column's gradient lanes loaded and stored once per four vectors.
        int perStrip = Strip / width, group = 4 / perStrip, s = first;
        if (perStrip == 2) s = Quads<S, TV>(t, first, end, nz, a, ref acc);
        nint o1 = Offset(1, perStrip, width, q), o2 = Offset(2, perStrip, width, q), o3 = Offset(3, perStrip, width, q);
        for (; s + group <= end; s += group)
        {
            ref double xs = ref Unsafe.Add(ref px, (nint)s * q * Strip);
            TV a0 = S.Splat(a.C), a1 = a0, a2 = a0, a3 = a0, b0 = S.Zero, b1 = b0, b2 = b0, b3 = b0;
            nint ahead = s + 2 * group <= end ? 4 * o1 : 0;   // Vector512: the next group's same column, when the thread has one
            int k = 0;
            for (; k + 2 <= nz; k += 2)
            {
                TV w0 = S.Splat(Unsafe.Add(ref wr, k)), w1 = S.Splat(Unsafe.Add(ref wr, k + 1));
                ref double c0 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k) * Strip);
                ref double c1 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k + 1) * Strip);
                if (perStrip == 1)
                {
                    Prefetch(ref Unsafe.Add(ref c0, ahead));
                    Prefetch(ref Unsafe.Add(ref c0, ahead + o1));
                    Prefetch(ref Unsafe.Add(ref c1, ahead));
                    Prefetch(ref Unsafe.Add(ref c1, ahead + o1));
                }
                a0 = S.MultiplyAdd(w0, S.Load(ref c0, 0), a0);
                a1 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o1), 0), a1);
                a2 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o2), 0), a2);
                a3 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o3), 0), a3);
                b0 = S.MultiplyAdd(w1, S.Load(ref c1, 0), b0);
                b1 = S.MultiplyAdd(w1, S.Load(ref Unsafe.Add(ref c1, o1), 0), b1);
                b2 = S.MultiplyAdd(w1, S.Load(ref Unsafe.Add(ref c1, o2), 0), b2);
                b3 = S.MultiplyAdd(w1, S.Load(ref Unsafe.Add(ref c1, o3), 0), b3);
            }
            if (k < nz)
            {
                TV w0 = S.Splat(Unsafe.Add(ref wr, k));
                ref double c0 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k) * Strip);
                a0 = S.MultiplyAdd(w0, S.Load(ref c0, 0), a0);
                a1 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o1), 0), a1);
                a2 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o2), 0), a2);
                a3 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o3), 0), a3);
            }
            // The group's rows are contiguous: its predictors go to the buffer, the residuals come back in it.
            S.Store(S.Add(a0, b0), ref rb, 0);
            S.Store(S.Add(a1, b1), ref rb, (nuint)width);
            S.Store(S.Add(a2, b2), ref rb, (nuint)(2 * width));
            S.Store(S.Add(a3, b3), ref rb, (nuint)(3 * width));
            Residuals<S, TV>(ref rb, 4 * width, (nuint)(s * Strip), ref yr, ref eo, ref ep, store, ref acc);
            if (!withGradient) continue;
            TV r0 = S.Load(ref rb, 0), r1 = S.Load(ref rb, (nuint)width), r2 = S.Load(ref rb, (nuint)(2 * width)), r3 = S.Load(ref rb, (nuint)(3 * width));
            // g_k's lanes += x_k r, column by column, the last columns first: eta read them last, so they are still in L1.
            for (int i = active - 1; i >= 0; i--)
            {
                nint c = (nint)Unsafe.Add(ref ar, i) * Strip;
                ref double x0 = ref Unsafe.Add(ref xs, c);
                ref double l = ref Unsafe.Add(ref lr, c);
                if (perStrip == 1)
                {
                    Prefetch(ref Unsafe.Add(ref x0, ahead + o2));
                    Prefetch(ref Unsafe.Add(ref x0, ahead + o3));
                    TV g = S.MultiplyAdd(S.Load(ref x0, 0), r0, S.Load(ref l, 0));
                    g = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o1), 0), r1, g);
                    g = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o2), 0), r2, g);
                    S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o3), 0), r3, g), ref l, 0);
                }
                else if (perStrip == 2)
                {
                    TV g = S.MultiplyAdd(S.Load(ref x0, 0), r0, S.Load(ref l, 0));
                    TV h = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o1), 0), r1, S.Load(ref l, (nuint)width));
                    S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o2), 0), r2, g), ref l, 0);
                    S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o3), 0), r3, h), ref l, (nuint)width);
                }
                else
                {
                    S.Store(S.MultiplyAdd(S.Load(ref x0, 0), r0, S.Load(ref l, 0)), ref l, 0);
                    S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o1), 0), r1, S.Load(ref l, (nuint)width)), ref l, (nuint)width);
                    S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o2), 0), r2, S.Load(ref l, (nuint)(2 * width))), ref l, (nuint)(2 * width));
                    S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o3), 0), r3, S.Load(ref l, (nuint)(3 * width))), ref l, (nuint)(3 * width));
                }
            }
        }
        // Strips left over (fewer than a group): one row vector at a time.
        for (; s < end; s++)
        {
            ref double xs = ref Unsafe.Add(ref px, (nint)s * q * Strip);
            for (int h = 0; h < Strip; h += width)
            {
                TV e0 = S.Splat(a.C), e1 = S.Zero, e2 = S.Zero, e3 = S.Zero;
                int k = 0;
                for (; k + 4 <= nz; k += 4)
                {
                    e0 = S.MultiplyAdd(S.Splat(Unsafe.Add(ref wr, k)), S.Load(ref xs, (nuint)(Unsafe.Add(ref nzr, k) * Strip + h)), e0);
                    e1 = S.MultiplyAdd(S.Splat(Unsafe.Add(ref wr, k + 1)), S.Load(ref xs, (nuint)(Unsafe.Add(ref nzr, k + 1) * Strip + h)), e1);
                    e2 = S.MultiplyAdd(S.Splat(Unsafe.Add(ref wr, k + 2)), S.Load(ref xs, (nuint)(Unsafe.Add(ref nzr, k + 2) * Strip + h)), e2);
                    e3 = S.MultiplyAdd(S.Splat(Unsafe.Add(ref wr, k + 3)), S.Load(ref xs, (nuint)(Unsafe.Add(ref nzr, k + 3) * Strip + h)), e3);
                }
                for (; k < nz; k++)
                    e0 = S.MultiplyAdd(S.Splat(Unsafe.Add(ref wr, k)), S.Load(ref xs, (nuint)(Unsafe.Add(ref nzr, k) * Strip + h)), e0);
                S.Store(S.Add(S.Add(e0, e1), S.Add(e2, e3)), ref rb, 0);
                Residuals<S, TV>(ref rb, width, (nuint)(s * Strip + h), ref yr, ref eo, ref ep, store, ref acc);
                if (!withGradient) continue;
                TV r = S.Load(ref rb, 0);
                for (int i = 0; i < active; i++)
                {
                    nuint at = (nuint)(Unsafe.Add(ref ar, i) * Strip + h);
                    S.Store(S.MultiplyAdd(S.Load(ref xs, at), r, S.Load(ref lr, at)), ref lr, at);
                }
            }
        }
        sums.Loss += S.Sum(acc.Loss);
        sums.LossB += S.Sum(acc.LossB);
        sums.SumR += S.Sum(acc.SumR);
    }

    /// <summary>
    /// Vector256 (two row vectors per strip): groups of four strips, eight row vectors, so that each column's two gradient
    /// lanes are loaded and stored once per 32 rows, as on Vector512. Returns the first strip not done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Quads<S, TV>(int t, int first, int end, int nz, PassArgs a, ref Accumulators<TV> acc) where S : ISimd<TV> where TV : struct
    {
        int q = _columns.Length, width = S.Count, active = a.Active.Length, s = first;
        ref double px = ref _packed[_origin];
        ref double yr = ref MemoryMarshal.GetArrayDataReference(a.Y);
        ref double lr = ref MemoryMarshal.GetArrayDataReference(_lanes[t]);
        ref int nzr = ref MemoryMarshal.GetArrayDataReference(_nonzero[t]);
        ref double wr = ref MemoryMarshal.GetArrayDataReference(_nonzeroWeights[t]);
        ref int ar = ref MemoryMarshal.GetArrayDataReference(a.Active);
        bool store = a.EtaOut is not null;
        ref double eo = ref store ? ref MemoryMarshal.GetArrayDataReference(a.EtaOut!) : ref Unsafe.NullRef<double>();
        ref double ep = ref a.EtaPrev is not null ? ref MemoryMarshal.GetArrayDataReference(a.EtaPrev!) : ref Unsafe.NullRef<double>();
        ref double rb = ref MemoryMarshal.GetArrayDataReference(_rowBuffers[t]);
        nint o = (nint)q * Strip;   // the next strip's same column
        for (; s + 4 <= end; s += 4)
        {
            ref double xs = ref Unsafe.Add(ref px, (nint)s * o);
            nint ahead = s + 8 <= end ? 4 * o : 0;   // the next group's same column, when the thread has one
            TV a0 = S.Splat(a.C), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int k = 0; k < nz; k++)
            {
                TV w0 = S.Splat(Unsafe.Add(ref wr, k));
                ref double c0 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k) * Strip);
                Prefetch(ref Unsafe.Add(ref c0, ahead));
                Prefetch(ref Unsafe.Add(ref c0, ahead + o));
                a0 = S.MultiplyAdd(w0, S.Load(ref c0, 0), a0);
                a1 = S.MultiplyAdd(w0, S.Load(ref c0, (nuint)width), a1);
                a2 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o), 0), a2);
                a3 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o), (nuint)width), a3);
                a4 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 2 * o), 0), a4);
                a5 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 2 * o), (nuint)width), a5);
                a6 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 3 * o), 0), a6);
                a7 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 3 * o), (nuint)width), a7);
            }
            nuint wd = (nuint)width;
            S.Store(a0, ref rb, 0);
            S.Store(a1, ref rb, wd);
            S.Store(a2, ref rb, 2 * wd);
            S.Store(a3, ref rb, 3 * wd);
            S.Store(a4, ref rb, 4 * wd);
            S.Store(a5, ref rb, 5 * wd);
            S.Store(a6, ref rb, 6 * wd);
            S.Store(a7, ref rb, 7 * wd);
            Residuals<S, TV>(ref rb, 8 * width, (nuint)(s * Strip), ref yr, ref eo, ref ep, store, ref acc);
            if (!a.WithGradient) continue;
            TV r0 = S.Load(ref rb, 0), r1 = S.Load(ref rb, wd), r2 = S.Load(ref rb, 2 * wd), r3 = S.Load(ref rb, 3 * wd);
            TV r4 = S.Load(ref rb, 4 * wd), r5 = S.Load(ref rb, 5 * wd), r6 = S.Load(ref rb, 6 * wd), r7 = S.Load(ref rb, 7 * wd);
            for (int i = active - 1; i >= 0; i--)
            {
                nint c = (nint)Unsafe.Add(ref ar, i) * Strip;
                ref double x0 = ref Unsafe.Add(ref xs, c);
                ref double l = ref Unsafe.Add(ref lr, c);
                Prefetch(ref Unsafe.Add(ref x0, ahead + 2 * o));
                Prefetch(ref Unsafe.Add(ref x0, ahead + 3 * o));
                TV g = S.MultiplyAdd(S.Load(ref x0, 0), r0, S.Load(ref l, 0));
                TV h = S.MultiplyAdd(S.Load(ref x0, (nuint)width), r1, S.Load(ref l, (nuint)width));
                g = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o), 0), r2, g);
                h = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, o), (nuint)width), r3, h);
                g = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, 2 * o), 0), r4, g);
                h = S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, 2 * o), (nuint)width), r5, h);
                S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, 3 * o), 0), r6, g), ref l, 0);
                S.Store(S.MultiplyAdd(S.Load(ref Unsafe.Add(ref x0, 3 * o), (nuint)width), r7, h), ref l, (nuint)width);
            }
        }
        return s;
    }

    /// <summary>Asks for the cache line at <paramref name="at"/> (a hint: x86 only, nothing elsewhere).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref double at)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref at));
    }

    /// <summary>Where row vector <paramref name="v"/> of a group starts, from the group's first: its strip, then its rows in the strip.</summary>
    private static nint Offset(int v, int perStrip, int width, int q) => (nint)(v / perStrip) * q * Strip + v % perStrip * width;

    /// <summary>The sums of a thread's row vectors, and what each residual needs.</summary>
    private struct Accumulators<TV>(TV zero, TV m, TV half, bool step, bool binomial) where TV : struct
    {
        public TV Loss = zero, LossB = zero, SumR = zero;
        public readonly TV M = m, Half = half;
        public readonly bool Step = step, Binomial = binomial;
    }

    /// <summary>
    /// The residuals mu - y of <paramref name="count"/> contiguous rows from <paramref name="row"/> on, whose predictors are
    /// in <paramref name="buffer"/> (stored to the eta output when there is one), or, for a step, at the extrapolated
    /// <c>e + m (e - etaPrev)</c>; the residuals replace the predictors in the buffer, and the losses and the residual sum
    /// are added to <paramref name="acc"/>. The strip loops hand their row vectors over in a buffer, not as arguments and
    /// results of a call per vector: a vector held in a register across a call is spilled (every vector register is
    /// caller-saved), and the JIT spilled the predictor chains inside the loop over the columns, a store and a load per
    /// column and vector. Not inlined: the logistic's exp and log would exhaust the JIT's inlining budget for the strip loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Residuals<S, TV>(ref double buffer, int count, nuint row, ref double yr, ref double eo, ref double ep, bool store,
                                         ref Accumulators<TV> acc)
        where S : ISimd<TV> where TV : struct
    {
        TV lossA = acc.Loss, lossB = acc.LossB, sumR = acc.SumR;
        for (int v = 0; v < count; v += S.Count)
        {
            nuint at = row + (nuint)v;
            TV e = S.Load(ref buffer, (nuint)v), yv = S.Load(ref yr, at), r, loss;
            if (store) S.Store(e, ref eo, at);
            if (acc.Step)
            {
                lossA = S.Add(lossA, acc.Binomial ? SimdMath.Logistic<S, TV>(e, yv, out _, out _, out _) : Square<S, TV>(S.Subtract(e, yv), acc.Half));
                e = S.MultiplyAdd(acc.M, S.Subtract(e, S.Load(ref ep, at)), e);
            }
            if (acc.Binomial)
            {
                loss = SimdMath.Logistic<S, TV>(e, yv, out var mu, out _, out _);
                r = S.Subtract(mu, yv);
            }
            else
            {
                r = S.Subtract(e, yv);
                loss = Square<S, TV>(r, acc.Half);
            }
            if (acc.Step) lossB = S.Add(lossB, loss);
            else lossA = S.Add(lossA, loss);
            sumR = S.Add(sumR, r);
            S.Store(r, ref buffer, (nuint)v);
        }
        acc.Loss = lossA;
        acc.LossB = lossB;
        acc.SumR = sumR;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Square<S, TV>(TV r, TV half) where S : ISimd<TV> where TV : struct => S.Multiply(half, S.Multiply(r, r));

    /// <summary>One strip row by row: the scalar tier, and a last strip of fewer than 8 rows.</summary>
    private void StripScalar(int t, int s, int nz, PassArgs a, ref Sums sums)
    {
        int q = _columns.Length;
        var lanes = _lanes[t];
        int baseIndex = _origin + s * q * Strip, height = Math.Min(Strip, _rows - s * Strip);
        var nonzero = _nonzero[t];
        var weights = _nonzeroWeights[t];
        for (int h = 0; h < height; h++)
        {
            int row = s * Strip + h;
            double e = a.C, yv = a.Y[row], r;
            for (int k = 0; k < nz; k++) e = double.MultiplyAddEstimate(weights[k], _packed[baseIndex + nonzero[k] * Strip + h], e);
            if (a.EtaOut is not null) a.EtaOut[row] = e;
            if (a.EtaPrev is not null)
            {
                sums.Loss += PointLoss(e, yv, a.Binomial, out _);
                e = double.MultiplyAddEstimate(a.M, e - a.EtaPrev[row], e);
                sums.LossB += PointLoss(e, yv, a.Binomial, out r);
            }
            else sums.Loss += PointLoss(e, yv, a.Binomial, out r);
            sums.SumR += r;
            if (!a.WithGradient) continue;
            foreach (int k in a.Active)
                lanes[k * Strip + h] = double.MultiplyAddEstimate(_packed[baseIndex + k * Strip + h], r, lanes[k * Strip + h]);
        }
    }
}
