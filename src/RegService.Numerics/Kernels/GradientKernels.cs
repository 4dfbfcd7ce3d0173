using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using RegService.Numerics.Data;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The loss of a generalized linear model and its gradient over all rows in one fused pass: for each strip of 8 rows,
/// <c>eta = c + sum_j x_j w_j</c>, the residual <c>r = mu(eta) - y</c> (gaussian <c>mu = eta</c>; binomial
/// <c>mu = 1 / (1 + e^-eta)</c>), the loss, then <c>g_j += x_j' r</c> over the same strips while they are still in L1, so
/// the data are read from memory once. The kernel reads its own copy of the columns, made once when it is built, in strips:
/// the 8 rows of a strip, column after column (one 64-byte cache line per column, the copy 64-byte aligned), strip after
/// strip. A thread's rows are then one sequential stream, which the hardware prefetcher follows as it follows a plain
/// array sum; a row block of the column-major matrix instead is hundreds of short runs, one per column, which it
/// follows worse (docs/benchmarks.md, "The gradient pass reads a strip copy"). The copy costs one more n p doubles.
/// Strips are split across threads, each with its own accumulators (the gradient per lane of a strip), reduced in a
/// fixed order at the end. Every tier of <see cref="KernelIsa"/> (a strip is one Vector512, two Vector256 or four
/// Vector128 per column); the scalar tier and a last, partial strip go row by row. A pass that touches fewer than a
/// quarter of the columns reads the column-major data instead, in row blocks (a strip is read whole).
/// </summary>
/// <remarks>
/// Loss: gaussian <c>sum_i r_i^2 / 2</c>, binomial <c>sum_i [log(1 + e^eta_i) - y_i eta_i]</c> (the negative
/// log-likelihood, computed without overflow). Standardization is folded into <c>w</c> and <c>c</c> by the caller
/// (w_j = beta_j / s_j, c = b0 - sum_j m_j w_j), so no standardized copy of the data is made.
/// </remarks>
public sealed class GradientKernels
{
    /// <summary>Rows per strip: one cache line of doubles.</summary>
    private const int Strip = 8;

    /// <summary>Values of a row block of the column-major pass (over its columns) at most: 256 KB, inside L2.</summary>
    private const int BlockValues = 32768;

    /// <summary>
    /// A pass that reads fewer than this share of the columns (weights not zero, or gradients asked for) reads them from
    /// the column-major data: a strip is read whole, and one column's run of a row block costs about 1.6 times its bytes
    /// read as a stream (docs/benchmarks.md, "The gradient pass reads a strip copy"). A quarter, not the break-even 0.6
    /// those figures suggest: the FISTA path, whose working sets average 90 of 200 columns, ran faster on strips alone.
    /// </summary>
    private const double StripShare = 0.25;

    private readonly DenseMatrix _x;
    private readonly int[] _columns;
    private readonly int _threads, _rows, _strips;
    private readonly int[] _bounds;   // strips of each thread: [_bounds[t], _bounds[t + 1])
    private readonly double[] _packed;
    private readonly int _origin;     // the first element of the copy: 64-byte aligned
    private readonly double[][] _lanes, _grad, _nonzeroWeights;
    private readonly int[][] _nonzero;
    private readonly double[] _loss, _lossB, _sumR;
    private readonly int[] _all;
    // The column-major pass, for passes that touch few of the columns (the copy's strips would be read whole).
    private readonly int _block;
    private readonly double[][] _blockBuffers, _dots;
    private readonly long[][] _etaOffsets, _gradOffsets;

    /// <param name="x">The data, column-major.</param>
    /// <param name="columns">The feature columns; w_j multiplies column <paramref name="columns"/>[j].</param>
    /// <param name="threads">Threads the pass may use (strips of rows split across them).</param>
    public GradientKernels(DenseMatrix x, int[] columns, int threads)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(columns);
        foreach (int c in columns)
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        _x = x;
        _columns = columns;
        _rows = x.Rows;
        int q = columns.Length;
        _strips = (_rows + Strip - 1) / Strip;
        _threads = Math.Max(1, Math.Min(threads, _strips));
        _bounds = new int[_threads + 1];
        for (int t = 0; t <= _threads; t++) _bounds[t] = (int)((long)_strips * t / _threads);
        _lanes = new double[_threads][];
        _grad = new double[_threads][];
        _nonzeroWeights = new double[_threads][];
        _nonzero = new int[_threads][];
        for (int t = 0; t < _threads; t++)
        {
            _lanes[t] = new double[q * Strip];
            _grad[t] = new double[q];
            _nonzeroWeights[t] = new double[q];
            _nonzero[t] = new int[q];
        }
        _loss = new double[_threads];
        _lossB = new double[_threads];
        _sumR = new double[_threads];
        _all = [.. Enumerable.Range(0, q)];
        _block = Math.Clamp((BlockValues / Math.Max(q, 1)) & ~7, 64, 8192);
        _blockBuffers = new double[_threads][];
        _dots = new double[_threads][];
        _etaOffsets = new long[_threads][];
        _gradOffsets = new long[_threads][];
        for (int t = 0; t < _threads; t++)
        {
            _blockBuffers[t] = new double[2 * _block];
            _dots[t] = new double[q];
            _etaOffsets[t] = new long[q];
            _gradOffsets[t] = new long[q];
        }
        // Pinned, so the aligned origin stays aligned; each thread copies its own strips.
        _packed = GC.AllocateUninitializedArray<double>(checked(_strips * q * Strip + Strip), pinned: true);
        _origin = AlignedOrigin(_packed);
        if (_threads == 1) Pack(0);
        else Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, Pack);
    }

    public int Rows => _rows;

    private static unsafe int AlignedOrigin(double[] pinned)
    {
        long address = (long)Unsafe.AsPointer(ref pinned[0]);
        return (int)((64 - (address & 63)) & 63) / sizeof(double);
    }

    /// <summary>Copies thread <paramref name="t"/>'s strips: row r of column k at <c>(strip · q + k) · 8 + r mod 8</c>, zeros below the last row.</summary>
    private void Pack(int t)
    {
        int q = _columns.Length;
        var data = _x.Data;
        for (int s = _bounds[t]; s < _bounds[t + 1]; s++)
        {
            int first = s * Strip, height = Math.Min(Strip, _rows - first);
            var strip = _packed.AsSpan(_origin + s * q * Strip, q * Strip);
            if (height < Strip) strip.Clear();
            for (int k = 0; k < q; k++)
                data.AsSpan((int)((long)_columns[k] * _rows + first), height).CopyTo(strip.Slice(k * Strip, height));
        }
    }

    /// <summary>
    /// The loss at <c>eta = c + X w</c>; when <paramref name="gradient"/> is not empty, also <c>X' r</c> into it and
    /// <c>sum_i r_i</c> into <paramref name="sumR"/>.
    /// </summary>
    public double Evaluate(double[] w, double c, double[] y, bool binomial, Span<double> gradient, out double sumR) =>
        Pass(w, c, y, binomial, null, null, 0, gradient, null, out sumR, out _);

    /// <summary>
    /// One pass for an accelerated gradient step. At the point a = (<paramref name="w"/>, <paramref name="c"/>): its loss
    /// (returned) and <c>eta_a = c + X w</c> (stored in <paramref name="etaOut"/>). At the extrapolated point b whose
    /// linear predictor is <c>eta_a + m (eta_a - etaPrev)</c> (eta is linear in the weights, so b = a + m (a - prev) needs
    /// no product with X): its loss (<paramref name="lossB"/>), <c>sum_i r_i</c> and <c>x_j' r</c> for the columns in
    /// <paramref name="gradientColumns"/> (indices into the kernel's columns; null: all; the others are set to 0).
    /// </summary>
    public double Step(double[] w, double c, double[] y, bool binomial, double[] etaOut, double[] etaPrev, double m,
                       Span<double> gradient, int[]? gradientColumns, out double sumR, out double lossB)
    {
        if (etaOut.Length != _rows || etaPrev.Length != _rows) throw new ArgumentException($"eta buffers need {_rows} rows");
        return Pass(w, c, y, binomial, etaOut, etaPrev, m, gradient, gradientColumns, out sumR, out lossB);
    }

    private double Pass(double[] w, double c, double[] y, bool binomial, double[]? etaOut, double[]? etaPrev, double m,
                        Span<double> gradient, int[]? gradientColumns, out double sumR, out double lossB)
    {
        if (w.Length != _columns.Length) throw new ArgumentException($"{w.Length} weights for {_columns.Length} columns");
        if (y.Length != _rows) throw new ArgumentException($"{y.Length} targets for {_rows} rows");
        bool withGradient = !gradient.IsEmpty;
        if (withGradient && gradient.Length != _columns.Length) throw new ArgumentException("the gradient needs one entry per column");
        var active = gradientColumns ?? _all;
        foreach (int k in active)
            if ((uint)k >= (uint)_columns.Length) throw new ArgumentException($"gradient column {k} is outside the kernel's {_columns.Length} columns");
        var pass = new PassArgs(w, c, y, binomial, etaOut, etaPrev, m, withGradient, active, KernelIsa.Current);
        int touched = 0;
        foreach (double v in w)
            if (v != 0) touched++;
        if (withGradient)
            foreach (int k in active)
                if (w[k] == 0) touched++;
        Action<int> range = touched >= StripShare * _columns.Length ? t => Range(t, pass) : t => ColumnRange(t, pass);
        if (_threads == 1) range(0);
        else Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, range);
        double loss = 0;
        sumR = 0;
        lossB = 0;
        for (int t = 0; t < _threads; t++)
        {
            loss += _loss[t];
            lossB += _lossB[t];
            sumR += _sumR[t];
        }
        if (withGradient)
        {
            gradient.Clear();
            foreach (int j in active)
                for (int t = 0; t < _threads; t++) gradient[j] += _grad[t][j];
        }
        return loss;
    }

    /// <summary>What one pass computes (the tier resolved once, on the calling thread).</summary>
    private sealed record PassArgs(double[] W, double C, double[] Y, bool Binomial, double[]? EtaOut, double[]? EtaPrev, double M,
                                   bool WithGradient, int[] Active, KernelPath Path);

    /// <summary>
    /// Thread <paramref name="t"/>'s rows from the column-major data, in row blocks: <c>eta</c> four columns per sweep
    /// (<see cref="ColumnKernels.AddScaled"/>), the residual, then the gradient's dot products over the same block while it
    /// is in L2 (<see cref="ColumnKernels.AddDots"/>), both prefetching the next block of their columns.
    /// </summary>
    private void ColumnRange(int t, PassArgs a)
    {
        int q = _columns.Length, n = _rows;
        int rowsFrom = _bounds[t] * Strip, rowsTo = Math.Min(_bounds[t + 1] * Strip, n);
        var eta = _blockBuffers[t].AsSpan(0, _block);
        var r = _blockBuffers[t].AsSpan(_block, _block);
        double loss = 0, lossB = 0, sumR = 0;
        var data = _x.Data;
        var nonzero = _nonzero[t];
        var weights = _nonzeroWeights[t];
        int nz = 0;
        for (int j = 0; j < q; j++)
            if (a.W[j] != 0)
            {
                nonzero[nz] = _columns[j];
                weights[nz++] = a.W[j];
            }
        var etaOffsets = _etaOffsets[t].AsSpan(0, nz);
        var gradOffsets = _gradOffsets[t].AsSpan(0, a.Active.Length);
        var dots = _dots[t].AsSpan(0, a.Active.Length);
        dots.Clear();
        for (int start = rowsFrom; start < rowsTo; start += _block)
        {
            int len = Math.Min(_block, rowsTo - start);
            int ahead = start + _block < rowsTo ? _block : 0;
            var e = a.EtaOut is null ? eta[..len] : a.EtaOut.AsSpan(start, len);
            var res = r[..len];
            e.Fill(a.C);
            for (int k = 0; k < nz; k++) etaOffsets[k] = (long)nonzero[k] * n + start;
            ColumnKernels.AddScaled(data, etaOffsets, weights.AsSpan(0, nz), e, ahead);
            var yy = a.Y.AsSpan(start, len);
            if (a.EtaPrev is null)
            {
                double blockLoss = BlockResidual(e, yy, res, a.Binomial, ref sumR);
                loss += blockLoss;
                lossB += blockLoss;
            }
            else
            {
                loss += a.Binomial ? LogisticKernels.Loss(e, yy) : 0.5 * SpanOps.Sum<Terms.CenteredSquare>(e, yy, 0);
                var eb = eta[..len];
                var prev = a.EtaPrev.AsSpan(start, len);
                for (int i = 0; i < len; i++) eb[i] = e[i] + a.M * (e[i] - prev[i]);
                lossB += BlockResidual(eb, yy, res, a.Binomial, ref sumR);
            }
            if (!a.WithGradient) continue;
            for (int k = 0; k < a.Active.Length; k++) gradOffsets[k] = (long)_columns[a.Active[k]] * n + start;
            ColumnKernels.AddDots(data, gradOffsets, res, dots, ahead);
        }
        if (a.WithGradient)
            for (int k = 0; k < a.Active.Length; k++) _grad[t][a.Active[k]] = dots[k];
        _loss[t] = loss;
        _lossB[t] = lossB;
        _sumR[t] = sumR;
    }

    /// <summary>The loss of one block at predictor <paramref name="e"/>, its residuals into <paramref name="res"/>, their sum added to <paramref name="sumR"/>.</summary>
    private static double BlockResidual(ReadOnlySpan<double> e, ReadOnlySpan<double> yy, Span<double> res, bool binomial, ref double sumR)
    {
        if (binomial) return LogisticKernels.Residual(e, yy, res, ref sumR);
        System.Numerics.Tensors.TensorPrimitives.Subtract(e, yy, res);   // r = eta - y
        sumR += System.Numerics.Tensors.TensorPrimitives.Sum<double>(res);
        return 0.5 * System.Numerics.Tensors.TensorPrimitives.SumOfSquares<double>(res);
    }

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
            int k = 0;
            for (; k + 2 <= nz; k += 2)
            {
                TV w0 = S.Splat(Unsafe.Add(ref wr, k)), w1 = S.Splat(Unsafe.Add(ref wr, k + 1));
                ref double c0 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k) * Strip);
                ref double c1 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k + 1) * Strip);
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
            nuint row = (nuint)(s * Strip);
            TV r0 = Residual<S, TV>(S.Add(a0, b0), row, ref yr, ref eo, ref ep, store, ref acc);
            TV r1 = Residual<S, TV>(S.Add(a1, b1), row + (nuint)width, ref yr, ref eo, ref ep, store, ref acc);
            TV r2 = Residual<S, TV>(S.Add(a2, b2), row + (nuint)(2 * width), ref yr, ref eo, ref ep, store, ref acc);
            TV r3 = Residual<S, TV>(S.Add(a3, b3), row + (nuint)(3 * width), ref yr, ref eo, ref ep, store, ref acc);
            if (!withGradient) continue;
            // g_k's lanes += x_k r, column by column, the last columns first: eta read them last, so they are still in L1.
            for (int i = active - 1; i >= 0; i--)
            {
                nint c = (nint)Unsafe.Add(ref ar, i) * Strip;
                ref double x0 = ref Unsafe.Add(ref xs, c);
                ref double l = ref Unsafe.Add(ref lr, c);
                if (perStrip == 1)
                {
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
                TV r = Residual<S, TV>(S.Add(S.Add(e0, e1), S.Add(e2, e3)), (nuint)(s * Strip + h), ref yr, ref eo, ref ep, store, ref acc);
                if (!withGradient) continue;
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
        nint o = (nint)q * Strip;   // the next strip's same column
        for (; s + 4 <= end; s += 4)
        {
            ref double xs = ref Unsafe.Add(ref px, (nint)s * o);
            TV a0 = S.Splat(a.C), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int k = 0; k < nz; k++)
            {
                TV w0 = S.Splat(Unsafe.Add(ref wr, k));
                ref double c0 = ref Unsafe.Add(ref xs, (nint)Unsafe.Add(ref nzr, k) * Strip);
                a0 = S.MultiplyAdd(w0, S.Load(ref c0, 0), a0);
                a1 = S.MultiplyAdd(w0, S.Load(ref c0, (nuint)width), a1);
                a2 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o), 0), a2);
                a3 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, o), (nuint)width), a3);
                a4 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 2 * o), 0), a4);
                a5 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 2 * o), (nuint)width), a5);
                a6 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 3 * o), 0), a6);
                a7 = S.MultiplyAdd(w0, S.Load(ref Unsafe.Add(ref c0, 3 * o), (nuint)width), a7);
            }
            nuint row = (nuint)(s * Strip), wd = (nuint)width;
            TV r0 = Residual<S, TV>(a0, row, ref yr, ref eo, ref ep, store, ref acc);
            TV r1 = Residual<S, TV>(a1, row + wd, ref yr, ref eo, ref ep, store, ref acc);
            TV r2 = Residual<S, TV>(a2, row + 2 * wd, ref yr, ref eo, ref ep, store, ref acc);
            TV r3 = Residual<S, TV>(a3, row + 3 * wd, ref yr, ref eo, ref ep, store, ref acc);
            TV r4 = Residual<S, TV>(a4, row + 4 * wd, ref yr, ref eo, ref ep, store, ref acc);
            TV r5 = Residual<S, TV>(a5, row + 5 * wd, ref yr, ref eo, ref ep, store, ref acc);
            TV r6 = Residual<S, TV>(a6, row + 6 * wd, ref yr, ref eo, ref ep, store, ref acc);
            TV r7 = Residual<S, TV>(a7, row + 7 * wd, ref yr, ref eo, ref ep, store, ref acc);
            if (!a.WithGradient) continue;
            for (int i = active - 1; i >= 0; i--)
            {
                nint c = (nint)Unsafe.Add(ref ar, i) * Strip;
                ref double x0 = ref Unsafe.Add(ref xs, c);
                ref double l = ref Unsafe.Add(ref lr, c);
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
    /// The residual mu - y of one row vector at predictor <paramref name="e"/> (stored to the eta output when there is one),
    /// or, for a step, at the extrapolated <c>e + m (e - etaPrev)</c>; adds the losses and the residual sum. Not inlined:
    /// five copies of the logistic's exp and log would exhaust the JIT's inlining budget for the strip loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static TV Residual<S, TV>(TV e, nuint row, ref double yr, ref double eo, ref double ep, bool store, ref Accumulators<TV> acc)
        where S : ISimd<TV> where TV : struct
    {
        TV yv = S.Load(ref yr, row), r;
        if (store) S.Store(e, ref eo, row);
        if (acc.Step)
        {
            acc.Loss = S.Add(acc.Loss, acc.Binomial ? SimdMath.Logistic<S, TV>(e, yv, out _, out _, out _) : Square<S, TV>(S.Subtract(e, yv), acc.Half));
            e = S.MultiplyAdd(acc.M, S.Subtract(e, S.Load(ref ep, row)), e);
        }
        TV loss;
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
        if (acc.Step) acc.LossB = S.Add(acc.LossB, loss);
        else acc.Loss = S.Add(acc.Loss, loss);
        acc.SumR = S.Add(acc.SumR, r);
        return r;
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

    /// <summary>The loss of one row at predictor <paramref name="e"/> and its residual mu - y.</summary>
    private static double PointLoss(double e, double y, bool binomial, out double r)
    {
        if (binomial)
        {
            double loss = LogisticKernels.LinkOne(e, y, out _, out _, out double yMinusMu);
            r = -yMinusMu;
            return loss;
        }
        r = e - y;
        return 0.5 * r * r;
    }

    /// <summary>Scalar twin of <see cref="Evaluate"/>: row by row, no blocks, no threads.</summary>
    public static double EvaluateScalar(DenseMatrix x, int[] columns, ReadOnlySpan<double> w, double c, ReadOnlySpan<double> y,
                                        bool binomial, Span<double> gradient, out double sumR)
    {
        double loss = 0;
        sumR = 0;
        gradient.Clear();
        for (int i = 0; i < x.Rows; i++)
        {
            double eta = c;
            for (int j = 0; j < columns.Length; j++) eta += x[i, columns[j]] * w[j];
            double r;
            if (binomial)
            {
                double mu = eta >= 0 ? 1 / (1 + Math.Exp(-eta)) : Math.Exp(eta) / (1 + Math.Exp(eta));
                loss += (eta > 0 ? eta + Math.Log(1 + Math.Exp(-eta)) : Math.Log(1 + Math.Exp(eta))) - y[i] * eta;
                r = mu - y[i];
            }
            else
            {
                r = eta - y[i];
                loss += 0.5 * r * r;
            }
            sumR += r;
            if (!gradient.IsEmpty)
                for (int j = 0; j < columns.Length; j++) gradient[j] += x[i, columns[j]] * r;
        }
        return loss;
    }
}
