using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The Newton directions of <see cref="LogisticPathSolver"/>: the quadratic model of the loss at the current point,
/// minimized with the penalty over the working set by the shared coordinate-descent loop (<see cref="CoordinateDescent"/>),
/// on the weighted Gram matrix when rows outnumber features and on weighted residuals when they do not.
/// </summary>
internal sealed partial class LogisticPathSolver
{

    /// <summary>
    /// The quadratic model on the Gram matrix of the working set, solved by covariance coordinate descent:
    /// minimize (1/2) b'Ab - c'b + lambda P(b) with A = Z'WZ/n - u u'/W (the intercept eliminated) and
    /// c = g - u g0 / W + A beta.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (CdOutcome Outcome, double D0, double Measure) GramStep(int[] idx, double[] newBeta, double lambda, double screenLambda, int budget,
                                                                    bool ahead, out Pair? pair)
    {
        pair = null;
        int q = idx.Length;
        if (_h is null || _hStale || !_h.Set.AsSpan().SequenceEqual(idx) || Drift() > DriftLimit)
        {
            if (_h is not null && !_hStale && idx.Length > _h.Set.Length && idx.AsSpan(0, _h.Set.Length).SequenceEqual(_h.Set)
                && Drift() <= ExtendDriftLimit)
                ExtendHessian(idx);
            else
                BuildHessian(idx);
        }
        var h = _h!;
        var c = new double[q];
        var start = new double[q];
        var v = new double[q];
        double shiftG0 = _intercept && h.W > 0 ? _g0 / h.W : 0.0;
        for (int a = 0; a < q; a++)
        {
            start[a] = _beta[idx[a]];
            v[a] = _v[idx[a]];
            c[a] = _grad[idx[a]] - h.U[a] * shiftG0;
        }
        for (int b = 0; b < q; b++)
        {
            if (start[b] == 0) continue;
            for (int a = 0; a < q; a++) c[a] += h.A[a * q + b] * start[b];
        }
        var cd = new CovarianceCd(h.A, c, q, v, _alpha, start, _limits?.Restrict(idx));
        var outcome = cd.Solve(lambda, screenLambda, _thr * _d.Family.NewtonInnerFactor, budget, _ct);
        double ud = 0, measure = 0;
        for (int a = 0; a < q; a++)
        {
            newBeta[a] = cd.Beta[a];
            double d = newBeta[a] - start[a];
            ud += h.U[a] * d;
            measure = Math.Max(measure, MeasureWeight(h.Xv[a], idx[a]) * d * d);
        }
        double d0 = _intercept && h.W > 0 ? (_g0 - ud) / h.W : 0.0;
        measure = Math.Max(measure, Math.Max(h.W, WeightFloor) * d0 * d0);
        // Which lambda a point ahead is for: after a step that takes a pass and leaves this lambda to be confirmed from the
        // point it reaches, the next; after one below the threshold from a point on the model (the pass confirms this
        // lambda, and the next most likely ends on the model from its point), the one after.
        int skip = !ahead ? 0 : measure >= _thr ? 1 : !_exactPoint && _following.Length > 1 ? 2 : 0;
        double aheadLambda = skip > 0 ? _following.Span[skip - 1] : double.NaN;
        if (double.IsFinite(aheadLambda) && outcome.Converged && budget > outcome.Passes)
        {
            // The next lambda's minimizer of the same model (the linear term does not change along it), warm from this one.
            var next = cd.Solve(aheadLambda, lambda, _thr * _d.Family.NewtonInnerFactor, budget - outcome.Passes, _ct);
            if (next.Converged)
            {
                var beta = (double[])cd.Beta.Clone();
                double ud2 = 0;
                for (int a = 0; a < q; a++) ud2 += h.U[a] * (beta[a] - start[a]);
                pair = new Pair(skip, aheadLambda, beta, _intercept && h.W > 0 ? (_g0 - ud2) / h.W : 0.0);
            }
        }
        return (outcome, d0, measure);
    }

    /// <summary>
    /// The weight of a coefficient change in the convergence measure: H_jj, but as if every w_i were at least
    /// <see cref="WeightFloor"/> (glmnet floors the probabilities), so that vanishing weights (separation) cannot pass
    /// a large step off as converged.
    /// </summary>
    private double MeasureWeight(double xv, int j) => Math.Max(xv, WeightFloor * _d.Norms[j] * _d.Norms[j]);

    private const double WeightFloor = 1e-5;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildHessian(int[] idx)
    {
        _ct.ThrowIfCancellationRequested();
        int q = idx.Length;
        var gram = new double[ArraySizes.Square(q, "the Hessian")];
        var sums = new double[q];
        if (q > 0)
        {
            var cols = new int[q];
            var shift = new double[q];
            for (int a = 0; a < q; a++)
            {
                cols[a] = _d.SourceColumns[idx[a]];
                shift[a] = _d.Means[idx[a]];
            }
            GramKernel.WeightedShiftedGram(_d.Source, cols, shift, _pass.Weight, null, gram, sums, _threads, _ct);
        }
        double total = _wsum * _n;
        bool center = _intercept && total > 0;
        var weightRef = _h?.WeightRef ?? new double[_n];
        _pass.Weight.CopyTo(weightRef, 0);
        var h = new Hessian(idx, new double[ArraySizes.Square(q, "the Hessian")], new double[q], total / _n, new double[q], weightRef, total);
        for (int a = 0; a < q; a++)
        {
            double sa = _d.Scales[idx[a]];
            h.U[a] = sums[a] / (_n * sa);
            h.Xv[a] = gram[a * q + a] / (_n * sa * sa);
            for (int b = 0; b < q; b++)
            {
                double sb = _d.Scales[idx[b]];
                double g = center ? gram[a * q + b] - sums[a] * sums[b] / total : gram[a * q + b];
                h.A[a * q + b] = g / (_n * sa * sb);
            }
        }
        _h = h;
        _hStale = false;
    }

    /// <summary>
    /// The Gram matrix of a working set that grew by <paramref name="idx"/>'s last members, at the weights it was built with
    /// (<see cref="Hessian.WeightRef"/>, still within <see cref="DriftLimit"/>): the old members' block is kept and only the new
    /// members' rows and columns are computed (<see cref="GramKernel.WeightedShiftedGramFrom"/>), so the matrix is the one
    /// <see cref="BuildHessian"/> would make at those weights. On poisson_path_50k_200 the set grows at 13 of 23 builds
    /// (86 -> 200 members the largest), with the weights 0.2-4% from the reference.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ExtendHessian(int[] idx)
    {
        _ct.ThrowIfCancellationRequested();
        var old = _h!;
        int q0 = old.Set.Length, q = idx.Length;
        var gram = new double[ArraySizes.Square(q, "the Hessian")];
        var sums = new double[q];
        var cols = new int[q];
        var shift = new double[q];
        for (int a = 0; a < q; a++)
        {
            cols[a] = _d.SourceColumns[idx[a]];
            shift[a] = _d.Means[idx[a]];
        }
        GramKernel.WeightedShiftedGramFrom(_d.Source, cols, shift, old.WeightRef, null, q0, gram, sums, _threads, _ct);
        double total = old.WeightSum;
        bool center = _intercept && total > 0;
        var h = new Hessian(idx, new double[ArraySizes.Square(q, "the Hessian")], new double[q], old.W, new double[q], old.WeightRef, total);
        for (int a = 0; a < q; a++)
        {
            double sa = _d.Scales[idx[a]];
            if (a < q0)
            {
                h.U[a] = old.U[a];
                h.Xv[a] = old.Xv[a];
                old.A.AsSpan(a * q0, q0).CopyTo(h.A.AsSpan(a * q, q0));
            }
            else
            {
                h.U[a] = sums[a] / (_n * sa);
                h.Xv[a] = gram[a * q + a] / (_n * sa * sa);
            }
            for (int b = q0; b < q; b++)
            {
                double sb = _d.Scales[idx[b]];
                double g = center ? gram[a * q + b] - sums[a] * sums[b] / total : gram[a * q + b];
                h.A[a * q + b] = g / (_n * sa * sb);
            }
            if (a >= q0)
            {
                for (int b = 0; b < q0; b++)
                    h.A[a * q + b] = h.A[b * q + a];
            }
        }
        _h = h;
    }

    /// <summary>sum |w - w_ref| / sum w_ref: how far the weights moved since the Gram matrix was built.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Drift()
    {
        var h = _h!;
        if (!(h.WeightSum > 0)) return double.PositiveInfinity;
        return LogisticKernels.AbsoluteDistance(_pass.Weight, h.WeightRef) / h.WeightSum;
    }

    /// <summary>
    /// The quadratic model by naive weighted coordinate descent on residuals (features outnumber rows): the weighted
    /// residual r = v (t - eta) with v = w/n starts at (y - p)/n; each coordinate moves with the intercept
    /// (the feature weighted-centered), so one dot and one update of r over the rows per coordinate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (CdOutcome Outcome, double D0, double Measure) NaiveStep(int[] idx, double[] newBeta, double lambda, int budget)
    {
        int q = idx.Length;
        var r = _naiveResidual ??= new double[_n];
        var vw = _naiveWeight ??= new double[_n];
        for (int i = 0; i < _n; i++)
        {
            r[i] = _pass.Resid[i] / _n;
            vw[i] = _pass.Weight[i] / _n;
        }
        double total = _wsum;
        bool center = _intercept && total > 0;
        double b0 = _b0, measure = 0;
        if (center)
        {
            double d0 = 0;
            for (int i = 0; i < _n; i++) d0 += r[i];
            d0 /= total;
            for (int i = 0; i < _n; i++) r[i] -= d0 * vw[i];
            b0 += d0;
        }
        var h = new double[q];
        var zbar = new double[q];
        for (int a = 0; a < q; a++)
        {
            int j = idx[a];
            newBeta[a] = _beta[j];
            zbar[a] = center ? _wm[j] / total : 0.0;
            h[a] = center ? _xv[j] - _wm[j] * zbar[a] : _xv[j];
        }
        var v = new double[q];
        for (int a = 0; a < q; a++) v[a] = _v[idx[a]];
        var cd = new CoordinateDescent(q, v, _alpha) { Bounds = _limits?.Restrict(idx) };
        for (int a = 0; a < q; a++)
            if (newBeta[a] != 0) cd.MarkActive(a);
        var model = new WeightedResidual(this, idx, newBeta, h, zbar, r, vw, b0);
        var coordinates = new WeightedNaiveCoordinates(model);
        var outcome = cd.Solve(ref coordinates, lambda, lambda, _thr, budget, _ct, screen: false);
        b0 = model.B0;
        for (int a = 0; a < q; a++)
        {
            double d = newBeta[a] - _beta[idx[a]];
            measure = Math.Max(measure, MeasureWeight(_xv[idx[a]], idx[a]) * d * d);
        }
        double step0 = b0 - _b0;
        measure = Math.Max(measure, Math.Max(total, WeightFloor) * step0 * step0);
        return (outcome, step0, measure);
    }

    /// <summary>The naive Newton subproblem's state: the weighted residual r = v (t - eta), the intercept moving with each coordinate.</summary>
    private sealed class WeightedResidual(LogisticPathSolver owner, int[] idx, double[] beta, double[] h, double[] zbar, double[] r, double[] vw, double b0)
    {
        public readonly LogisticPathSolver Owner = owner;
        public readonly int[] Idx = idx;
        public readonly double[] Beta = beta, H = h, Zbar = zbar, R = r, Vw = vw;
        public readonly double[] Gradient = new double[idx.Length];
        public double B0 = b0;
    }

    /// <summary>
    /// Coordinates of the naive Newton subproblem (features outnumber rows): g_a = z_j'r with z_j weighted-centered,
    /// one dot and one update of r over the rows per coordinate; every working-set feature is in every round.
    /// </summary>
    private readonly struct WeightedNaiveCoordinates(WeightedResidual m) : ICoordinates
    {
        public double[] Beta => m.Beta;
        public double[] Gradient => m.Gradient;
        public void Begin(int first) { }

        public double GradientAt(int a)
        {
            var d = m.Owner._d;
            int j = m.Idx[a];
            return LogisticKernels.DotShifted(d.Column(j), d.Means[j], m.R) / d.Scales[j];
        }

        public double Curvature(int a) => m.H[a];
        public double ChangeWeight(int a) => m.Owner._xv[m.Idx[a]];
        public void Stay(int a, double g, int next) { }

        // r -= delta v z_j (z_j centered at the weighted mean), and the intercept moves with it
        public void Move(int a, double delta, double g, int next)
        {
            var d = m.Owner._d;
            int j = m.Idx[a];
            double sj = d.Scales[j];
            LogisticKernels.SubtractWeightedShifted(delta / sj, m.Vw, d.Column(j), d.Means[j] + sj * m.Zbar[a], m.R);
            m.B0 -= delta * m.Zbar[a];
        }

        public void BeforeKkt(bool[] inStrong, double lambda) { }
        public void Finish(List<int> strong) { }
        public double Smooth(List<int> active) => double.NaN;
    }

    /// <summary>
    /// The quadratic model of the Gram mode over the working set <see cref="Set"/>: A (centered, row-major),
    /// u = Z'w/n, W = sum w / n, the uncentered diagonal Xv = diag(Z'WZ/n), and the weights it was built with.
    /// </summary>
    private sealed record Hessian(int[] Set, double[] A, double[] U, double W, double[] Xv, double[] WeightRef, double WeightSum);
}
