using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using RegService.Numerics.Data;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The loss of a generalized linear model and its gradient over all rows in one fused pass over the column-major
/// matrix: for each block of rows, <c>eta = c + sum_j x_j w_j</c>, the residual <c>r = mu(eta) - y</c> (gaussian
/// <c>mu = eta</c>; binomial <c>mu = 1 / (1 + e^-eta)</c>), the loss, then <c>g_j += x_j' r</c> over the same block
/// while it is still in cache, so the matrix is read from memory once; both sweeps prefetch the next block of their
/// columns (<see cref="ColumnKernels"/>), whose runs of a block's length are too short for the hardware prefetcher. Row blocks are split across threads, each
/// with its own accumulators, reduced in a fixed order at the end.
/// </summary>
/// <remarks>
/// Loss: gaussian <c>sum_i r_i^2 / 2</c>, binomial <c>sum_i [log(1 + e^eta_i) - y_i eta_i]</c> (the negative
/// log-likelihood, computed without overflow). Standardization is folded into <c>w</c> and <c>c</c> by the caller
/// (w_j = beta_j / s_j, c = b0 - sum_j m_j w_j), so no standardized copy of the data is made.
/// </remarks>
public sealed class GradientKernels
{
    /// <summary>Values of a row block (over all columns) at most: 256 KB, well inside L2, so the second read hits cache.</summary>
    private const int BlockValues = 32768;

    private readonly DenseMatrix _x;
    private readonly int[] _columns;
    private readonly int _threads, _block;
    private readonly int[] _bounds;
    private readonly double[][] _eta, _grad;
    private readonly long[][] _etaOffsets, _gradOffsets;   // per thread: the block's columns with a nonzero weight, the gradient's columns
    private readonly double[][] _nonzeroWeights, _dots;
    private readonly int[][] _nonzero;
    private readonly double[] _loss, _lossB, _sumR;
    private readonly int[] _all;

    /// <param name="x">The data, column-major.</param>
    /// <param name="columns">The feature columns; w_j multiplies column <paramref name="columns"/>[j].</param>
    /// <param name="threads">Threads the pass may use (row ranges split across them).</param>
    public GradientKernels(DenseMatrix x, int[] columns, int threads)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(columns);
        foreach (int c in columns)
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        _x = x;
        _columns = columns;
        int p = Math.Max(columns.Length, 1);
        _block = Math.Clamp((BlockValues / p) & ~7, 64, 8192);
        _threads = Math.Max(1, Math.Min(threads, (x.Rows + _block - 1) / _block));
        _bounds = new int[_threads + 1];
        for (int t = 0; t <= _threads; t++) _bounds[t] = (int)((long)x.Rows * t / _threads);
        _eta = new double[_threads][];
        _grad = new double[_threads][];
        _etaOffsets = new long[_threads][];
        _gradOffsets = new long[_threads][];
        _nonzeroWeights = new double[_threads][];
        _dots = new double[_threads][];
        _nonzero = new int[_threads][];
        for (int t = 0; t < _threads; t++)
        {
            _eta[t] = new double[2 * _block];
            _grad[t] = new double[columns.Length];
            _etaOffsets[t] = new long[columns.Length];
            _gradOffsets[t] = new long[columns.Length];
            _nonzeroWeights[t] = new double[columns.Length];
            _dots[t] = new double[columns.Length];
            _nonzero[t] = new int[columns.Length];
        }
        _loss = new double[_threads];
        _lossB = new double[_threads];
        _sumR = new double[_threads];
        _all = [.. Enumerable.Range(0, columns.Length)];
    }

    public int Rows => _x.Rows;

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
        if (etaOut.Length != _x.Rows || etaPrev.Length != _x.Rows) throw new ArgumentException($"eta buffers need {_x.Rows} rows");
        return Pass(w, c, y, binomial, etaOut, etaPrev, m, gradient, gradientColumns, out sumR, out lossB);
    }

    private double Pass(double[] w, double c, double[] y, bool binomial, double[]? etaOut, double[]? etaPrev, double m,
                        Span<double> gradient, int[]? gradientColumns, out double sumR, out double lossB)
    {
        if (w.Length != _columns.Length) throw new ArgumentException($"{w.Length} weights for {_columns.Length} columns");
        if (y.Length != _x.Rows) throw new ArgumentException($"{y.Length} targets for {_x.Rows} rows");
        bool withGradient = !gradient.IsEmpty;
        if (withGradient && gradient.Length != _columns.Length) throw new ArgumentException("the gradient needs one entry per column");
        var active = gradientColumns ?? _all;
        if (_threads == 1) Range(0, w, c, y, binomial, etaOut, etaPrev, m, withGradient, active);
        else Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads },
            t => Range(t, w, c, y, binomial, etaOut, etaPrev, m, withGradient, active));
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Range(int t, double[] w, double c, double[] y, bool binomial, double[]? etaOut, double[]? etaPrev, double m,
                       bool withGradient, int[] active)
    {
        int p = _columns.Length, n = _x.Rows;
        var eta = _eta[t].AsSpan(0, _block);
        var r = _eta[t].AsSpan(_block, _block);
        var grad = _grad[t];
        if (withGradient) Array.Clear(grad);
        double loss = 0, lossB = 0, sumR = 0;
        var data = _x.Data;
        // eta = c + sum_j w_j x_j over the columns with a nonzero weight; the gradient's dot products over `active`.
        var nonzero = _nonzero[t];
        var weights = _nonzeroWeights[t];
        int nz = 0;
        for (int j = 0; j < p; j++)
            if (w[j] != 0)
            {
                nonzero[nz] = _columns[j];
                weights[nz++] = w[j];
            }
        var etaOffsets = _etaOffsets[t].AsSpan(0, nz);
        var gradOffsets = _gradOffsets[t].AsSpan(0, active.Length);
        var dots = _dots[t].AsSpan(0, active.Length);
        dots.Clear();
        for (int start = _bounds[t]; start < _bounds[t + 1]; start += _block)
        {
            int len = Math.Min(_block, _bounds[t + 1] - start);
            // Both sweeps hint the next block of their columns (none past this thread's rows).
            int ahead = start + _block < _bounds[t + 1] ? _block : 0;
            var e = etaOut is null ? eta[..len] : etaOut.AsSpan(start, len);
            var res = r[..len];
            e.Fill(c);
            for (int k = 0; k < nz; k++) etaOffsets[k] = (long)nonzero[k] * n + start;
            ColumnKernels.AddScaled(data, etaOffsets, weights.AsSpan(0, nz), e, ahead);
            var yy = y.AsSpan(start, len);
            if (etaPrev is null)
            {
                double blockLoss = Residual(e, yy, res, binomial, ref sumR);
                loss += blockLoss;
                lossB += blockLoss;
            }
            else
            {
                // The extrapolated point's predictor, in the block buffer; then its residual.
                loss += Loss(e, yy, binomial);
                var eb = eta[..len];
                var prev = etaPrev.AsSpan(start, len);
                for (int i = 0; i < len; i++) eb[i] = e[i] + m * (e[i] - prev[i]);
                lossB += Residual(eb, yy, res, binomial, ref sumR);
            }
            if (!withGradient) continue;
            for (int k = 0; k < active.Length; k++) gradOffsets[k] = (long)_columns[active[k]] * n + start;
            ColumnKernels.AddDots(data, gradOffsets, res, dots, ahead);
        }
        if (withGradient)
            for (int k = 0; k < active.Length; k++) grad[active[k]] = dots[k];
        _loss[t] = loss;
        _lossB[t] = lossB;
        _sumR[t] = sumR;
    }

    /// <summary>The loss of one block at predictor <paramref name="e"/>, its residuals into <paramref name="res"/>, their sum added to <paramref name="sumR"/>.</summary>
    private static double Residual(ReadOnlySpan<double> e, ReadOnlySpan<double> yy, Span<double> res, bool binomial, ref double sumR)
    {
        if (binomial) return LogisticKernels.Residual(e, yy, res, ref sumR);
        TensorPrimitives.Subtract(e, yy, res);   // r = eta - y
        sumR += TensorPrimitives.Sum<double>(res);
        return 0.5 * TensorPrimitives.SumOfSquares<double>(res);
    }

    /// <summary>The loss of one block at predictor <paramref name="e"/>.</summary>
    private static double Loss(ReadOnlySpan<double> e, ReadOnlySpan<double> yy, bool binomial) =>
        binomial ? LogisticKernels.Loss(e, yy) : 0.5 * SpanOps.Sum<Terms.CenteredSquare>(e, yy, 0);

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
