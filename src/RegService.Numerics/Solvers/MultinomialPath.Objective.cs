using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The objective of <see cref="MultinomialPathSolver"/> and the pieces of its quadratic model shared by the ungrouped and
/// grouped Newton steps: the softmax and the loss from the linear predictors (<see cref="Refresh"/>), the penalty, a class's
/// Newton weights and diagonal Hessian, the intercept's update, a step's weighted size, and glmnet's symmetric
/// parametrization after every Newton step (<see cref="Symmetrize"/>).
/// </summary>
internal sealed partial class MultinomialPathSolver
{
    /// <summary>Probabilities from the linear predictors; returns the mean negative log-likelihood.</summary>
    /// <remarks>Vectorized over blocks of rows that stay in cache: the row maxima, then e^(eta - max) per class, their sum,
    /// the division, and the loss sum_i (max_i + log sum_i - eta_{i,y_i}).</remarks>
    internal double Refresh()
    {
        var (loss, worst) = RefreshBlocks();
        _separated = worst > 1 - 1e-9;
        return _loss = loss / _n;
    }

    /// <summary>Rows per block of <see cref="Refresh"/> and the fused passes (MultinomialPath.Passes.cs): a block of the
    /// working columns stays in cache between the passes over it.</summary>
    private const int RowBlock = 1024;

    /// <summary><see cref="Refresh"/> on rows [i0, i0 + len) (<paramref name="max"/>, <paramref name="sum"/>: scratch of len values):
    /// returns their summed negative log-likelihood and lowers <paramref name="worst"/> to their smallest probability of the observed class.</summary>
    private double RefreshRows(int i0, int len, double[] max, double[] sum, ref double worst)
    {
        double loss = 0;
        {
            var m = max.AsSpan(0, len);
            var t = sum.AsSpan(0, len);
            _eta[0].AsSpan(i0, len).CopyTo(m);
            for (int k = 1; k < _classes; k++) TensorPrimitives.Max(m, _eta[k].AsSpan(i0, len), m);
            t.Clear();
            for (int k = 0; k < _classes; k++)
            {
                var pk = _prob[k].AsSpan(i0, len);
                TensorPrimitives.Subtract(_eta[k].AsSpan(i0, len), m, pk);
                TensorPrimitives.Exp(pk, pk);
                TensorPrimitives.Add(t, pk, t);
            }
            for (int k = 0; k < _classes; k++)
            {
                var pk = _prob[k].AsSpan(i0, len);
                TensorPrimitives.Divide(pk, t, pk);
            }
            TensorPrimitives.Log(t, t);
            // Left to right: m is summed before ObservedEta (with weights) and ObservedMin use it as scratch.
            loss += WeightedSum(i0, m) + WeightedSum(i0, t) - ObservedEta(i0, m);
            worst = Math.Min(worst, ObservedMin(i0, m));
        }
        return loss;
    }

    /// <summary>The mean negative log-likelihood at linear predictors eta + step (the step [class][row]; null rows unchanged).</summary>
    private double LossAt(double[]?[] step, double scale)
    {
        double loss = 0;
        var e = new double[_classes];
        for (int i = 0; i < _n; i++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < _classes; k++)
            {
                e[k] = _eta[k][i] + (step[k] is { } s ? scale * s[i] : 0);
                max = Math.Max(max, e[k]);
            }
            double sum = 0;
            for (int k = 0; k < _classes; k++) sum += Math.Exp(e[k] - max);
            loss -= (_obs?[i] ?? 1.0) * (e[_y[i]] - max - Math.Log(sum));
        }
        return loss / _n;
    }

    private double PenaltyOf(int j, double lambda, Func<int, double> coefficient)
    {
        if (_v[j] == 0) return 0;
        double squares = 0, abs = 0;
        for (int k = 0; k < _classes; k++)
        {
            double b = coefficient(k);
            squares += b * b;
            abs += Math.Abs(b);
        }
        double l1 = _grouped ? Math.Sqrt(squares) : abs;
        return lambda * _v[j] * ((1 - _alpha) / 2 * squares + _alpha * l1);
    }

    private double Penalty(double lambda, double scale, bool withStep)
    {
        if (double.IsPositiveInfinity(lambda)) return 0;   // only unpenalized features move at lambda = infinity
        double sum = 0;
        for (int j = 0; j < _p; j++)
            if (_working[j]) sum += PenaltyOf(j, lambda, k => _b[k][j] + (withStep ? scale * _d[k][j] : 0));
        return sum;
    }

    private double Pen(int j, double lambda) => _v[j] == 0 ? 0 : lambda * _v[j];

    /// <summary>Class k's Newton weights w_i = v_i max(p(1 - p), 1e-5), working residual v_i (y - p) (v the observation weights), and
    /// each working feature's H_kj = (1/n) sum w z².</summary>
    private void Weights(int k)
    {
        double wsum = 0, rsum = 0, drift = 0;
        ClassRows(k, 0, _n, null, ref wsum, ref rsum, ref drift);
        var w = _w[k];
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) { _h[j] = 0; continue; }
            _h[j] = LogisticKernels.WeightedMoments(Z(j), 0, w).Second / _n;
        }
    }

    /// <summary>The intercept's Newton update for class k on the quadratic model; returns its weighted squared change.</summary>
    private double InterceptUpdate(int k)
    {
        if (!_intercept) return 0;
        var w = _w[k];
        var q = _q[k];
        double sw = 0, sq = 0;
        for (int i = 0; i < _n; i++)
        {
            sw += w[i];
            sq += q[i];
        }
        double delta = sq / sw;
        if (delta == 0) return 0;
        _d0[k] += delta;
        for (int i = 0; i < _n; i++) q[i] -= w[i] * delta;
        return sw / _n * delta * delta;
    }

    /// <summary>The weighted squared size of class k's proposed step: max(W Δb0², max_j H_kj Δb_kj²), W = sum w / n
    /// (<paramref name="weightSum"/>: sum w when known, as the Gram-mode step's weights, <see cref="ClassPrep.WeightSum"/>).</summary>
    private double Size(int k, double? weightSum = null)
    {
        double sw = 0;
        if (_intercept)
        {
            if (weightSum is { } known) sw = known;
            else
            {
                var w = _w[k];
                for (int i = 0; i < _n; i++) sw += w[i];
            }
            sw /= _n;
        }
        double size = sw * _d0[k] * _d0[k];
        for (int j = 0; j < _p; j++) size = Math.Max(size, _h[j] * _d[k][j] * _d[k][j]);
        return size;
    }

    private static double Soft(double u, double t) => u > t ? u - t : u < -t ? u + t : 0;

    /// <summary>
    /// glmnet's symmetric parametrization: intercepts centered, each feature's coefficients shifted by the c minimizing its
    /// penalty (the loss does not change: every class's linear predictor moves by the same c z_j).
    /// </summary>
    private void Symmetrize()
    {
        if (_intercept)
        {
            double c = _b0.Average();
            if (c != 0)
                for (int k = 0; k < _classes; k++)
                {
                    _b0[k] -= c;
                    // Vectorized, the bits of e[i] - c; by blocks of rows, so that no store is non-temporal (TensorPrimitives
                    // streams past the cache above 256 KB) and eta stays in cache for the next pass.
                    var e = _eta[k];
                    for (int i0 = 0; i0 < _n; i0 += RowBlock)
                    {
                        var block = e.AsSpan(i0, Math.Min(RowBlock, _n - i0));
                        TensorPrimitives.Subtract(block, c, block);
                    }
                }
        }
        var column = new double[_classes];
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) continue;
            bool zero = true;
            for (int k = 0; k < _classes; k++) zero &= (column[k] = _b[k][j]) == 0;
            // Every class at 0: the best shift is 0 (so is the clamped one while the bounds hold 0), most working features' case.
            if (zero && (_limits is not { } held || (held.Lower[j] <= 0 && held.Upper[j] >= 0))) continue;
            double c = _grouped || _v[j] == 0 || _alpha == 0 ? column.Average() : BestShift(column, _alpha);
            // With bounds, the best shift that keeps every class inside them (glmnet's elc): max_k(b_k - upper) <= c <= min_k(b_k - lower).
            if (_limits is { } limits) c = Math.Clamp(c, column.Max() - limits.Upper[j], column.Min() - limits.Lower[j]);
            if (c == 0) continue;
            for (int k = 0; k < _classes; k++)
            {
                _b[k][j] -= c;
                Vec.Axpy(-c, Z(j), _eta[k]);
            }
        }
    }

    /// <summary>The c minimizing sum_k (1 - alpha)/2 (b_k - c)² + alpha |b_k - c| (glmnet's elc): a stationary point between
    /// two sorted values, or one of the values.</summary>
    internal static double BestShift(double[] b, double alpha)
    {
        var s = (double[])b.Clone();
        Array.Sort(s);
        int K = s.Length;
        double total = s.Sum();
        double best = double.NaN, bestValue = double.PositiveInfinity;
        void Try(double c)
        {
            double f = 0;
            foreach (double v in s) f += (1 - alpha) / 2 * (v - c) * (v - c) + alpha * Math.Abs(v - c);
            if (f < bestValue) { bestValue = f; best = c; }
        }
        if (alpha < 1)
            for (int m = 0; m <= K; m++)
            {
                // m values below c: the derivative (1 - alpha)(K c - total) + alpha (2m - K) vanishes at c.
                double c = (total - alpha * (2 * m - K) / (1 - alpha)) / K;
                double lo = m == 0 ? double.NegativeInfinity : s[m - 1], hi = m == K ? double.PositiveInfinity : s[m];
                if (c >= lo && c <= hi) Try(c);
            }
        foreach (double v in s) Try(v);
        return best;
    }
}
