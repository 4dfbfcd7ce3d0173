using System.Runtime.CompilerServices;

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
public sealed partial class GradientKernels
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
    private readonly double[][] _lanes, _grad, _nonzeroWeights, _rowBuffers;
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
        _rowBuffers = new double[_threads][];
        for (int t = 0; t < _threads; t++)
        {
            _rowBuffers[t] = new double[4 * Strip];
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
