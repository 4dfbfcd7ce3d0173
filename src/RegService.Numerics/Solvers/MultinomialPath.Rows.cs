using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The per-row quantities of <see cref="MultinomialPathSolver"/>'s passes on a block of rows: a class's Newton weights and
/// working residual, the class indicators and labels, the observed class's probability and linear predictor, and the
/// softmax after one class's predictor moved.
/// </summary>
internal sealed partial class MultinomialPathSolver
{
    /// <summary>Class k's weights w_i = v_i max(p_ik (1 - p_ik), 1e-5) and working residual v_i (y_ik - p_ik) on rows [i0, i0 + len)
    /// (v the observation weights, <see cref="_obs"/>; 1 without), adding their sums and (with <paramref name="reference"/>)
    /// sum |w - w_ref|.</summary>
    private void ClassRows(int k, int i0, int len, double[]? reference, ref double wsum, ref double rsum, ref double drift)
    {
        var p = _prob[k].AsSpan(i0, len);
        var w = _w[k].AsSpan(i0, len);
        var r = _q[k].AsSpan(i0, len);
        TensorPrimitives.Subtract(Indicator(k).AsSpan(i0, len), p, r);   // r = y_k - p_k
        TensorPrimitives.Subtract(1.0, p, w);
        TensorPrimitives.Multiply(w, p, w);                             // w = p_k (1 - p_k)
        TensorPrimitives.Max(w, MinWeight, w);
        if (_obs is { } obs)
        {
            var v = obs.AsSpan(i0, len);
            TensorPrimitives.Multiply(w, v, w);                         // w = v max(p_k (1 - p_k), 1e-5)
            TensorPrimitives.Multiply(r, v, r);                         // r = v (y_k - p_k)
        }
        wsum += TensorPrimitives.Sum<double>(w);
        rsum += TensorPrimitives.Sum<double>(r);
        if (reference is not null) drift += LogisticKernels.AbsoluteDistance(w, reference.AsSpan(i0, len));
    }

    private double[][]? _indicator;

    /// <summary>y_k: 1 on the rows of class k, else 0 (made on first use).</summary>
    private double[] Indicator(int k)
    {
        if (_indicator is null)
        {
            var indicator = new double[_classes][];
            for (int c = 0; c < _classes; c++) indicator[c] = new double[_n];
            for (int i = 0; i < _n; i++) indicator[_y[i]][i] = 1;
            _indicator = indicator;
        }
        return _indicator[k];
    }

    /// <summary>The smallest probability of the observed class on rows [i0, i0 + len) (<paramref name="scratch"/>: len values),
    /// rows of weight 0 left out (glmnet drops them; 1 when every row is).</summary>
    private double ObservedMin(int i0, Span<double> scratch)
    {
        int len = scratch.Length;
        scratch.Clear();
        for (int k = 0; k < _classes; k++)
            TensorPrimitives.FusedMultiplyAdd(Indicator(k).AsSpan(i0, len), _prob[k].AsSpan(i0, len), scratch, scratch);
        if (_weightless is { } none) TensorPrimitives.Max(scratch, none.AsSpan(i0, len), scratch);   // 1 on the rows of weight 0
        return TensorPrimitives.Min<double>(scratch);
    }

    /// <summary>sum_i v_i eta_{i,y_i} over rows [i0, i0 + len) (v the observation weights; 1 without). With weights
    /// <paramref name="scratch"/> (len values) holds eta_{i,y_i} on return.</summary>
    private double ObservedEta(int i0, Span<double> scratch)
    {
        int len = scratch.Length;
        double sum = 0;
        if (_obs is { } obs)
        {
            scratch.Clear();
            for (int k = 0; k < _classes; k++)
                TensorPrimitives.FusedMultiplyAdd(Indicator(k).AsSpan(i0, len), _eta[k].AsSpan(i0, len), scratch, scratch);
            return TensorPrimitives.Dot(scratch, obs.AsSpan(i0, len));
        }
        for (int k = 0; k < _classes; k++) sum += TensorPrimitives.Dot(Indicator(k).AsSpan(i0, len), _eta[k].AsSpan(i0, len));
        return sum;
    }

    /// <summary>sum_i v_i a_i over rows [i0, i0 + a.Length) (v the observation weights; the plain sum without).</summary>
    private double WeightedSum(int i0, ReadOnlySpan<double> a) =>
        _obs is { } obs ? TensorPrimitives.Dot(a, obs.AsSpan(i0, a.Length)) : TensorPrimitives.Sum(a);

    /// <summary>1 on the rows of weight 0, else 0; null when no row has weight 0.</summary>
    private double[]? _weightless;

    /// <summary>
    /// The softmax of rows [i0, i0 + len) after class k's linear predictor moved by <paramref name="s"/> (eta_k already moved):
    /// only e^s is new, p_l' = p_l / D (l != k), p_k' = p_k e^s / D with D = sum_{l != k} p_l + p_k e^s (a sum of positive terms).
    /// Returns the change of the rows' summed negative log-likelihood, sum_i v_i log D_i - sum_{y_i = k} v_i s_i (v the observation
    /// weights; 1 without); lowers
    /// <paramref name="worst"/> as <see cref="RefreshRows"/>. The caller keeps |s| small enough that e^s stays finite and positive.
    /// </summary>
    internal double ShiftClass(int k, int i0, ReadOnlySpan<double> s, ref double worst)
    {
        var shift = SoftmaxKernels.ShiftClass(_prob, i0, k, s, [], Labels().AsSpan(i0, s.Length), ObservationSpan(i0, s.Length), -1, [], [], []);
        worst = Math.Min(worst, shift.Worst);
        return shift.LossChange;
    }

    private double[]? _labels;

    /// <summary>Each row's class index as a double (<see cref="SoftmaxKernels"/>' labels; made on first use).</summary>
    private double[] Labels()
    {
        if (_labels is null)
        {
            var labels = new double[_n];
            for (int i = 0; i < _n; i++) labels[i] = _y[i];
            _labels = labels;
        }
        return _labels;
    }

    /// <summary>The observation weights of rows [i0, i0 + len), empty without them (every row 1).</summary>
    private ReadOnlySpan<double> ObservationSpan(int i0, int len) => _obs is { } obs ? obs.AsSpan(i0, len) : [];
}
