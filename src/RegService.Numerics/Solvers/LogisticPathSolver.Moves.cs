namespace RegService.Numerics.Solvers;

/// <summary>
/// Moving the point of <see cref="LogisticPathSolver"/>: a Newton step applied with step halving while the penalized
/// objective rises (<see cref="Apply"/>), or ended on the quadratic model (<see cref="ApplyOnModel"/>); the pass that
/// evaluates the new point, and the linear predictor it reads.
/// </summary>
internal sealed partial class LogisticPathSolver
{
    /// <summary>
    /// Moves to beta + d, b0 + d0 and evaluates there; halves the step while the penalized objective rises.
    /// Returns the measure of the step taken.
    /// </summary>
    private double Apply(int[] idx, double[] newBeta, double d0, double lambda, double measure, Pair? pair = null)
    {
        bool moves = d0 != 0;
        for (int a = 0; a < idx.Length && !moves; a++) moves = newBeta[a] != _beta[idx[a]];
        if (!moves) return 0;
        double before = Objective(lambda);
        var old = new double[idx.Length];
        for (int a = 0; a < idx.Length; a++) old[a] = _beta[idx[a]];
        double oldB0 = _b0, t = 1;
        for (int halving = 0; ; halving++)
        {
            for (int a = 0; a < idx.Length; a++)
                _beta[idx[a]] = t == 1 ? newBeta[a] : old[a] + t * (newBeta[a] - old[a]);
            _b0 = oldB0 + t * d0;
            Evaluate(t == 1 && pair is not null ? AheadPredictor(idx, pair.Beta, oldB0 + pair.D0) : null);
            double after = Objective(lambda);
            if (after <= before + 1e-12 * Math.Abs(before) || halving >= MaxHalvings) break;
            t *= 0.5;
            _hStale = true;
        }
        if (t == 1 && pair is not null)
        {
            var grad = new double[idx.Length];
            for (int a = 0; a < idx.Length; a++) grad[a] = _gradAhead[idx[a]];
            _ahead = new Ahead(_index + pair.Skip, pair.Lambda, idx, pair.Beta, oldB0 + pair.D0, grad);
        }
        return measure * t * t;
    }

    /// <summary>
    /// Moves to beta + d, b0 + d0 without a pass: the loss and the gradient follow the quadratic model of the Gram
    /// matrix (exact to second order; the step is below the threshold), the weights stay those of the last pass.
    /// </summary>
    private void ApplyOnModel(int[] idx, double[] newBeta, double d0)
    {
        var h = _h!;
        int q = idx.Length;
        var delta = new double[q];
        double linear = _g0 * d0, ud = 0;
        for (int a = 0; a < q; a++)
        {
            delta[a] = newBeta[a] - _beta[idx[a]];
            linear += _grad[idx[a]] * delta[a];
            ud += h.U[a] * delta[a];
        }
        var ad = new double[q];
        for (int b = 0; b < q; b++)
        {
            if (delta[b] == 0) continue;
            for (int a = 0; a < q; a++) ad[a] += h.A[a * q + b] * delta[b];
        }
        double quadratic = 0;
        for (int a = 0; a < q; a++) quadratic += delta[a] * ad[a];
        double centered = _intercept && h.W > 0 ? ud + h.W * d0 : 0.0;   // u'd + W d0: the intercept direction
        if (_intercept && h.W > 0) quadratic += centered * centered / h.W;
        _loss += -linear + 0.5 * quadratic;
        for (int a = 0; a < q; a++)
        {
            int j = idx[a];
            _grad[j] -= ad[a] + (_intercept && h.W > 0 ? h.U[a] * centered / h.W : 0.0);
            _beta[j] = newBeta[a];
        }
        _g0 -= centered;
        _b0 += d0;
        _exactPoint = false;
        _shadows.Add((LinearPredictor(), -1));
    }

    private double Objective(double lambda)
    {
        double penalty = 0;
        foreach (int j in _set.Members)
        {
            double b = _beta[j];
            if (b == 0) continue;
            penalty += _v[j] * ((1 - _alpha) / 2 * b * b + _alpha * Math.Abs(b));
        }
        return _loss + lambda * penalty;
    }

    /// <summary>One pass over the rows at the current point (<see cref="LogisticPass"/>); the gradients of the working set become exact.</summary>
    private void Evaluate(Predictor? ahead = null)
    {
        _ahead = null;
        double[]? shadowLoss = _pass.Run([.. _set.Members], LinearPredictor(), _shadows.ConvertAll(s => s.Point), _grad,
                                         _naive ? _wm : null, _naive ? _xv : null, ahead, ahead is null ? null : _gradAhead);
        _bounds.Moved();
        _loss = _pass.Loss;
        _g0 = _pass.G0;
        _wsum = _pass.WeightSum;
        ResolvePending(shadowLoss);
        _exactPoint = true;
    }

    /// <summary>
    /// Whether a Newton step of this lambda that takes a pass may also take the next lambda's step on the same quadratic
    /// model and have the pass evaluate that point too (<see cref="Ahead"/>): the Gram mode, with every candidate in the
    /// working set (nothing outside whose bounds and references would have to follow two points).
    /// </summary>
    private bool Pairs(bool[] candidate) => !_naive && candidate == _all && _set.Outside == 0 && _following.Length > 0;

    /// <summary>
    /// The next lambda's point on the quadratic model of this lambda's step, <paramref name="beta"/> over
    /// <paramref name="idx"/> and the intercept <paramref name="b0"/>, as a linear predictor on the original features.
    /// </summary>
    private Predictor AheadPredictor(int[] idx, double[] beta, double b0)
    {
        var act = new List<int>();
        var coef = new List<double>();
        double offset = b0;
        for (int a = 0; a < idx.Length; a++)
        {
            if (beta[a] == 0) continue;
            int j = idx[a];
            double c = beta[a] / _d.Scales[j];
            act.Add(j);
            coef.Add(c);
            offset -= c * _d.Means[j];
        }
        return new Predictor([.. act], [.. coef], offset);
    }

    /// <summary>
    /// The next lambda starts at the point the last pass evaluated for it (<see cref="Ahead"/>): exact there (gradient,
    /// loss, weights), as after a pass of its own. A point ended on the model before it keeps its shadow for the next pass.
    /// </summary>
    private void TakeAhead(Ahead ahead)
    {
        if (!_set.Members.SequenceEqual(ahead.Idx)) return;
        for (int a = 0; a < ahead.Idx.Length; a++)
        {
            int j = ahead.Idx[a];
            _beta[j] = ahead.Beta[a];
            _grad[j] = ahead.Grad[a];
        }
        _b0 = ahead.B0;
        _pass.TakeSecond();
        _bounds.Moved();
        _loss = _pass.Loss;
        _g0 = _pass.G0;
        _wsum = _pass.WeightSum;
        _exactPoint = true;
        _modelMargin = 0;
        PointsAhead++;
    }

    /// <summary>The next lambda's step on the quadratic model of this one's (<see cref="GramStep"/>): its coefficients over the working set and intercept change.</summary>
    private sealed record Pair(int Skip, double Lambda, double[] Beta, double D0);

    /// <summary>A point of the next lambda that a pass evaluated beside the current one: its coefficients, intercept and exact gradients over the working set.</summary>
    private sealed record Ahead(int Index, double Lambda, int[] Idx, double[] Beta, double B0, double[] Grad);

    /// <summary>The current point as a linear predictor on the original features.</summary>
    private Predictor LinearPredictor()
    {
        var act = new List<int>();
        var coef = new List<double>();
        double offset = _b0;
        foreach (int j in _set.Members)
        {
            if (_beta[j] == 0) continue;
            double c = _beta[j] / _d.Scales[j];
            act.Add(j);
            coef.Add(c);
            offset -= c * _d.Means[j];
        }
        return new Predictor([.. act], [.. coef], offset);
    }
}
