namespace RegService.Numerics.Solvers;

/// <summary>
/// glmnet's multinomial offset in <see cref="MultinomialPathSolver"/>: an n x K matrix o, class k's column added to its linear
/// predictor, eta_ik = o_ik + b0_k + z_i.b_k. The solver keeps eta and moves it by each step, so the offset enters once, in the
/// null model (<see cref="OffsetNullModel"/>), and is then part of every Newton step, the KKT check's gradient, lambda_max, the
/// loss and the deviance ratio. A value common to a row's K offsets cancels in the softmax.
/// </summary>
internal sealed partial class MultinomialPathSolver
{
    /// <summary>Newton sweeps allowed for the intercepts of the null model with an offset (each converges in a few).</summary>
    private const int MaxNullSweeps = 200;

    /// <summary>The offset of the rows fitted, [class][row]; null without one.</summary>
    private readonly double[][]? _offset;

    /// <summary>The offsets (<paramref name="offsets"/>: [class][row of the data]) of the rows fitted (all when <paramref name="rows"/> is null).</summary>
    private double[][]? FittedOffsets(double[][]? offsets, int[]? rows)
    {
        if (offsets is null) return null;
        if (offsets.Length != _classes) throw new ArgumentException($"{offsets.Length} offset columns for {_classes} classes");
        var fitted = new double[_classes][];
        for (int k = 0; k < _classes; k++)
        {
            var o = offsets[k] ?? throw new ArgumentException($"no offset column for class {k}");
            if (rows is null)
            {
                if (o.Length != _n) throw new ArgumentException($"class {k}'s offset has {o.Length} values for {_n} rows");
                fitted[k] = o;
                continue;
            }
            var part = fitted[k] = new double[rows.Length];
            for (int i = 0; i < rows.Length; i++) part[i] = o[rows[i]];
        }
        return fitted;
    }

    /// <summary>
    /// The intercept-only model with the offset (glmnet's kazero): eta_k = o_k + b0_k, with an intercept the b0_k solving
    /// sum_i v_i (y_ik - p_ik) = 0 for every class (v the observation weights), by Newton's method one class at a time on the
    /// diagonal of the Hessian, sum_i v_i p_ik (1 - p_ik), from the class frequencies' intercepts in <see cref="_b0"/>, then
    /// centered (the symmetric parametrization). Without an intercept b0 = 0 and eta = o.
    /// </summary>
    private void OffsetNullModel()
    {
        var offset = _offset!;
        if (_intercept)
        {
            var e = _prob;   // scratch here: Refresh rewrites the probabilities from eta afterwards
            var sum = new double[_n];
            for (int sweep = 0; sweep < MaxNullSweeps; sweep++)
            {
                // e_ik = e^(o_ik + b0_k - m_i) and their sum over the classes, m_i the row's largest: p_ik = e_ik / sum_i.
                Exponentials(offset, e, sum);
                double largest = 0;
                for (int k = 0; k < _classes; k++)
                {
                    var ek = e[k];
                    double t = 0, u = 0;
                    for (int i = 0; i < _n; i++)
                    {
                        double v = _obs?[i] ?? 1.0;
                        if (v == 0) continue;
                        double p = ek[i] / sum[i];
                        t += v * ((_y[i] == k ? 1 : 0) - p);
                        u += v * p * (1 - p);
                    }
                    double d = t / u;
                    if (!(u > 0) || !double.IsFinite(d)) continue;
                    _b0[k] += d;
                    largest = Math.Max(largest, Math.Abs(d));
                    // Class k's terms move by e^d (glmnet's kazero updates them so).
                    double grow = Math.Exp(d);
                    for (int i = 0; i < _n; i++)
                    {
                        double before = ek[i];
                        ek[i] = before * grow;
                        sum[i] += ek[i] - before;
                    }
                }
                if (largest <= 1e-13 * Math.Max(1, _b0.Max(Math.Abs))) break;
            }
            double mean = _b0.Average();
            for (int k = 0; k < _classes; k++) _b0[k] -= mean;
        }
        for (int k = 0; k < _classes; k++)
        {
            var eta = _eta[k];
            var o = offset[k];
            double b0 = _b0[k];
            for (int i = 0; i < _n; i++) eta[i] = o[i] + b0;
        }
    }

    /// <summary>e_ik = e^(o_ik + b0_k - m_i) for every class and row, and sum_i = sum_k e_ik, m_i the row's largest o_ik + b0_k.</summary>
    private void Exponentials(double[][] offset, double[][] e, double[] sum)
    {
        Array.Fill(sum, 0.0);
        for (int i = 0; i < _n; i++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < _classes; k++) max = Math.Max(max, offset[k][i] + _b0[k]);
            for (int k = 0; k < _classes; k++) sum[i] += e[k][i] = Math.Exp(offset[k][i] + _b0[k] - max);
        }
    }
}
