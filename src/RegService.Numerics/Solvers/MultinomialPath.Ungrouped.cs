namespace RegService.Numerics.Solvers;

/// <summary>
/// The ungrouped Newton step of <see cref="MultinomialPathSolver"/>: glmnet's partial Newton, one class at a time
/// (<see cref="UngroupedSteps"/>), each class's quadratic model solved on its weighted Gram matrix of the working set
/// (<see cref="GramClassStep"/>, the matrix kept while the weights drift little) or, for a working set above n/2 or
/// <see cref="GramLimit"/> features, by naive coordinate descent over the rows (<see cref="ClassPass"/>).
/// </summary>
internal sealed partial class MultinomialPathSolver
{
    /// <summary>One partial Newton step per class in turn; returns the largest weighted squared change proposed.</summary>
    private double UngroupedSteps(double lambda, ref int passes)
    {
        double change = 0;
        var rowStep = new double[_classes][];
        var set = WorkingSet();   // the KKT checks between Newton steps change it, a class step does not
        bool gram = UseGram(set.Length);
        for (int k = 0; k < _classes; k++)
        {
            Array.Clear(_d[k]);
            _d0[k] = 0;
            double inner = Math.Max(_threshold, 1e-300);
            if (gram) passes += GramClassStep(k, set, lambda, inner, passes);
            else
            {
                Weights(k);
                // glmnet's active-set cycling: a pass over the working set, then passes over the nonzero coefficients until they
                // settle, then a full pass again; done when a full pass moves less than the threshold.
                for (int round = 0; round < 1000; round++)
                {
                    passes++;
                    if (ClassPass(k, lambda, nonZeroOnly: false) < inner) break;
                    for (int pass = 0; pass < 1000; pass++)
                    {
                        passes++;
                        if (ClassPass(k, lambda, nonZeroOnly: true) < inner) break;
                    }
                }
            }
            double size = Size(k, gram ? _classWeightSum : null);
            change = Math.Max(change, size);
            if (size == 0) continue;
            // The class's step in the linear predictor: taken, then halved (taken back by half) while it raises the objective; a step below the threshold is kept whole:
            // it cannot raise the objective by more than rounding. In Gram mode the step, the refresh and the next class's
            // gradient are one pass over blocks of rows (StepAndPrepare); the next class's gradient is used if the step stays whole.
            // After the last class it prepares the next Newton step's first class (the symmetrization between does not move
            // the probabilities) and, once per round of Newton steps at a lambda (Converge), recomputes the softmax from the linear
            // predictors: the one-class updates in between renormalize every row (each divides by the new sum), so their
            // rounding does not build up in the sum, only in the ratios, by about 1e-16 per update.
            double before = _loss + ClassPenalty(lambda, k, 0);
            double t = 1;
            double[]? s = null;
            double after;
            bool recompute = k + 1 == _classes && _recomputeDue;
            if (recompute) _recomputeDue = false;
            // The last class of a Newton step whose every class step is below the threshold: the step ends the round (Converge),
            // so its pass makes the KKT gradient outside the working set instead of the next Newton step's first class.
            bool last = k + 1 == _classes && change < _threshold;
            if (gram) after = StepAndPrepare(k, (k + 1) % _classes, set, recompute, kkt: last);
            else
            {
                s = StepVector(k, rowStep[k] ??= new double[_n]);
                Vec.Axpy(1, s, _eta[k]);
                after = Refresh();
            }
            after += ClassPenalty(lambda, k, t);
            for (int halving = 0; halving < 30; halving++)
            {
                if (halving > 0) after = Refresh() + ClassPenalty(lambda, k, t);
                if (size < _threshold || after <= before + 1e-12 * Math.Abs(before)) break;
                _prepared = null;
                s ??= StepVector(k, rowStep[k] ??= new double[_n]);
                t /= 2;
                Vec.Axpy(-t, s, _eta[k]);
            }
            _b0[k] += t * _d0[k];
            for (int j = 0; j < _p; j++) _b[k][j] += t * _d[k][j];
        }
        return change;
    }

    /// <summary>Sum w of the weights of the last Gram-mode class step (<see cref="GramClassStep"/>).</summary>
    private double _classWeightSum;

    /// <summary>Whether the softmax is still to be recomputed from the linear predictors at this lambda (<see cref="Converge"/>
    /// sets it; the last class step of the next Newton step does it and clears it).</summary>
    private bool _recomputeDue;

    /// <summary>The working features in order.</summary>
    private int[] WorkingSet() => _outer.Sorted();

    /// <summary>Working sets up to this size (and at most half the rows) solve the quadratic model on its Gram matrix.</summary>
    internal const int GramLimit = 2048;

    /// <summary>The Gram mode pays n q² / 2 once per class step and then q per coordinate update, against n per update of the
    /// naive mode: worth it while the rows clearly outnumber the working features.</summary>
    private bool UseGram(int q) => q > 0 && q <= GramLimit && 2 * q <= _n;

    /// <summary>
    /// Class k's quadratic model solved on the weighted Gram matrix of the working set (as <see cref="LogisticPathSolver"/>'s
    /// Gram step): with w_i = max(p_ik (1 - p_ik), 1e-5), minimize (1/2) d'Ad - c'd + lambda P(b + d) by
    /// <see cref="CovarianceCd"/>, A = Z'WZ/n - u u'/W with the intercept eliminated (u = Z'w/n, W = sum w / n),
    /// c = g - u g0 / W + A b (g = Z'(y_k - p_k)/n, g0 = sum (y_k - p_k) / n); the intercept's step is (g0 - u'd)/W.
    /// Fills _d[k], _d0[k] and _h (the uncentered diagonal, for the step's size); returns the passes.
    /// </summary>
    private int GramClassStep(int k, int[] set, double lambda, double tolerance, int passesSoFar)
    {
        int q = set.Length;
        // The weights, working residual and raw gradient z_j'(y_k - p_k), from the previous class's fused pass when it made them.
        var prep = _prepared is { } ready && ready.Class == k && ready.Set.AsSpan().SequenceEqual(set) ? ready : PrepareClass(k, set);
        _prepared = null;
        var w = _w[k];
        double wsum = _classWeightSum = prep.WeightSum, g0 = prep.ResidualSum;
        var cached = _hessians[k];
        if (cached is null || !ReferenceEquals(prep.Reference, cached) || !(cached.WeightSum > 0) || prep.Drift / cached.WeightSum > DriftLimit)
            cached = _hessians[k] = BuildHessian(set, w, wsum, cached?.WeightRef);
        else if (cached.Set.Length != q) cached = _hessians[k] = GrowHessian(cached, set);   // the working set grew: add the new features
        var gram = (double[])cached.Gram.Clone();
        var sums = cached.Sums;
        bool center = _intercept;
        double total = cached.WeightSum, W = total / _n;
        var u = new double[q];
        var c = new double[q];
        var start = new double[q];
        var v = new double[q];
        Array.Clear(_h);
        for (int a = 0; a < q; a++)
        {
            int j = set[a];
            double sa = _scales[j];
            u[a] = sums[a] / (_n * sa);
            _h[j] = gram[a * q + a] / (_n * sa * sa);
            for (int b = 0; b < q; b++)
            {
                double g = center ? gram[a * q + b] - sums[a] * sums[b] / total : gram[a * q + b];
                gram[a * q + b] = g / (_n * sa * _scales[set[b]]);
            }
            start[a] = _b[k][j];
            v[a] = _v[j];
            c[a] = prep.Dots[a] / _n - (center ? u[a] * g0 / _n / W : 0);
        }
        for (int b = 0; b < q; b++)
        {
            if (start[b] == 0) continue;
            for (int a = 0; a < q; a++) c[a] += gram[a * q + b] * start[b];
        }
        // At lambda = infinity only unpenalized features are in the working set: any finite lambda is the same model.
        double l = double.IsPositiveInfinity(lambda) ? 0 : lambda;
        var cd = new CovarianceCd(gram, c, q, v, _alpha, start, _limits?.Restrict(set));
        var outcome = cd.Solve(l, l, tolerance, Math.Max(_budget - passesSoFar, 1));
        double ud = 0;
        for (int a = 0; a < q; a++)
        {
            double d = cd.Beta[a] - start[a];
            _d[k][set[a]] = d;
            ud += u[a] * d;
        }
        _d0[k] = center ? (g0 / _n - ud) / W : 0;
        return outcome.Passes;
    }

    /// <summary>
    /// A class's weighted Gram matrix stays while its working set does and its weights moved by at most this fraction
    /// (sum |w - w_ref| / sum w_ref): the Newton model is then slightly off, the gradient stays exact, so the fixed point and
    /// the stopping rule are the same. 0.1 rather than <see cref="LogisticPathSolver"/>'s 0.05: on the 20k x 100, 5-class
    /// path it halves the rebuilds (91 to 47, sum q² 183 000 to 85 000) for 261 Newton steps instead of 257 (0.2: 25 rebuilds,
    /// 278 steps).
    /// </summary>
    private const double DriftLimit = 0.1;

    private readonly ClassHessian?[] _hessians;

    /// <summary>Z'WZ (raw, on the shifted columns), Z'w and sum w of one class's working set, with the weights they came from.</summary>
    internal sealed record ClassHessian(int[] Set, double[] Gram, double[] Sums, double[] WeightRef, double WeightSum);

    /// <summary>The class Gram matrix of the working set <paramref name="set"/> with the working weights <paramref name="w"/>
    /// (summing to <paramref name="wsum"/>) from the raw columns, shifted by their means; a copy of w kept as its reference
    /// (in <paramref name="reuse"/> when given).</summary>
    internal ClassHessian BuildHessian(int[] set, double[] w, double wsum, double[]? reuse)
    {
        int q = set.Length;
        var cols = new int[q];
        var shift = new double[q];
        for (int a = 0; a < q; a++)
        {
            cols[a] = _sourceCols[set[a]];
            shift[a] = _means[set[a]];
        }
        var gram = new double[ArraySizes.Square(q, "the Hessian")];
        var sums = new double[q];
        GramKernel.WeightedShiftedGram(_source, cols, shift, w, null, gram, sums, _threads);
        var weightRef = reuse ?? new double[_n];
        w.CopyTo(weightRef, 0);
        return new ClassHessian(set, gram, sums, weightRef, wsum);
    }

    /// <summary>One coordinate-descent pass of class k's quadratic model (the intercept, then the working features, or only
    /// those nonzero); returns the largest weighted squared change.</summary>
    private double ClassPass(int k, double lambda, bool nonZeroOnly)
    {
        double moved = InterceptUpdate(k);
        var b = _b[k];
        var d = _d[k];
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) continue;
            double old = b[j] + d[j];
            if (nonZeroOnly && old == 0) continue;
            double a = _h[j];
            if (a == 0) continue;
            var z = Z(j);
            double u = LogisticKernels.DotShifted(z, 0, _q[k]) / _n + a * old;
            double pen = Pen(j, lambda);
            double fresh = double.IsPositiveInfinity(pen) ? 0 : Soft(u, _alpha * pen) / (a + (1 - _alpha) * pen);
            if (_limits is { } limits) fresh = limits.Clamp(j, fresh);   // glmnet: max(cl_1j, min(cl_2j, b_kj))
            double delta = fresh - old;
            if (delta == 0) continue;
            d[j] += delta;
            SpanOps.Update<Terms.SubtractWeightedShifted>(_q[k], z, _w[k], delta, 0);
            moved = Math.Max(moved, a * delta * delta);
        }
        return moved;
    }

    private double ClassPenalty(double lambda, int k, double t)
    {
        if (double.IsPositiveInfinity(lambda)) return 0;
        double sum = 0;
        for (int j = 0; j < _p; j++)
            if (_working[j]) sum += PenaltyOf(j, lambda, c => _b[c][j] + (c == k ? t * _d[k][j] : 0));
        return sum;
    }
}
