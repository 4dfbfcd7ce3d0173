namespace RegService.Numerics.Solvers;

/// <summary>
/// The grouped Newton step of <see cref="MultinomialPathSolver"/> (type.multinomial "grouped"): every class at once,
/// each feature's K coefficients updated as one block by the group soft threshold (with bounds, <see cref="GroupBox"/>).
/// </summary>
internal sealed partial class MultinomialPathSolver
{
    /// <summary>One Newton step of every class at once, each feature's block updated together; returns the largest weighted squared change proposed.</summary>
    private double GroupedStep(double lambda, ref int passes)
    {
        var hk = new double[_classes][];
        for (int k = 0; k < _classes; k++)
        {
            Weights(k);
            hk[k] = (double[])_h.Clone();
            Array.Clear(_d[k]);
            _d0[k] = 0;
        }
        double inner = Math.Max(_threshold, 1e-300);
        var u = new double[_classes];
        for (int round = 0; round < 1000; round++)
        {
            passes++;
            if (GroupedPass(lambda, hk, u, nonZeroOnly: false) < inner) break;
            for (int pass = 0; pass < 1000; pass++)
            {
                passes++;
                if (GroupedPass(lambda, hk, u, nonZeroOnly: true) < inner) break;
            }
        }
        double change = 0;
        var steps = new double[]?[_classes];
        for (int k = 0; k < _classes; k++)
        {
            Array.Copy(hk[k], _h, _p);
            double size = Size(k);
            change = Math.Max(change, size);
            if (size == 0) continue;
            steps[k] = StepVector(k, new double[_n]);
        }
        if (change == 0) return 0;
        double before = _loss + Penalty(lambda, 0, true);
        double t = 1;
        for (int halving = 0; halving < 30 && change >= _threshold; halving++, t /= 2)
        {
            double after = LossAt(steps, t) + Penalty(lambda, t, true);
            if (after <= before + 1e-12 * Math.Abs(before)) break;
        }
        for (int k = 0; k < _classes; k++)
        {
            if (steps[k] is not { } s) continue;
            _b0[k] += t * _d0[k];
            for (int j = 0; j < _p; j++) _b[k][j] += t * _d[k][j];
            Vec.Axpy(t, s, _eta[k]);
        }
        Refresh();
        return change;
    }

    /// <summary>One pass of the grouped model: the intercepts, then each working feature's block (or only the nonzero blocks).</summary>
    private double GroupedPass(double lambda, double[][] hk, double[] u, bool nonZeroOnly)
    {
        double moved = 0;
        for (int k = 0; k < _classes; k++) moved = Math.Max(moved, InterceptUpdate(k));
        for (int j = 0; j < _p; j++)
        {
            if (!_working[j]) continue;
            if (nonZeroOnly)
            {
                bool zero = true;
                for (int k = 0; k < _classes && zero; k++) zero = _b[k][j] + _d[k][j] == 0;
                if (zero) continue;
            }
            double bound = 0;
            for (int k = 0; k < _classes; k++) bound = Math.Max(bound, hk[k][j]);
            if (bound == 0) continue;
            var z = Z(j);
            double norm = 0;
            for (int k = 0; k < _classes; k++)
            {
                u[k] = LogisticKernels.DotShifted(z, 0, _q[k]) / _n + bound * (_b[k][j] + _d[k][j]);
                norm += u[k] * u[k];
            }
            norm = Math.Sqrt(norm);
            double pen = Pen(j, lambda);
            double factor = double.IsPositiveInfinity(pen) || norm <= _alpha * pen ? 0 : (1 - _alpha * pen / norm) / (bound + (1 - _alpha) * pen);
            // With bounds the block's minimizer is the group shrinkage with the box inside (GroupBox); u then holds it.
            bool boxed = _limits is { } box && GroupBox.Binds(u, factor, box.Lower[j], box.Upper[j]);
            if (boxed) GroupBox.Shrink(u, bound + (1 - _alpha) * pen, _alpha * pen, _limits!.Lower[j], _limits.Upper[j], u);
            for (int k = 0; k < _classes; k++)
            {
                double old = _b[k][j] + _d[k][j];
                double delta = (boxed ? u[k] : u[k] * factor) - old;
                if (delta == 0) continue;
                _d[k][j] += delta;
                SpanOps.Update<Terms.SubtractWeightedShifted>(_q[k], z, _w[k], delta, 0);
                moved = Math.Max(moved, hk[k][j] * delta * delta);
            }
        }
        return moved;
    }
}
