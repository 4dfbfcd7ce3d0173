using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The start of an ungrouped lambda extrapolated from the last two solutions along the path (<see cref="Extrapolate"/>).
/// </summary>
internal sealed partial class MultinomialPathSolver
{
    // The solution at the lambda before the previous one (null until two lambdas are solved), and that lambda.
    private double[][]? _earlierB;
    private double[]? _earlierB0;
    private double _earlierLambda = double.NaN;

    /// <summary>
    /// Moves the start of lambda <paramref name="lambda"/> from the previous solution b(l1) along the line through the one
    /// before it, b(l0): b + f (b(l1) - b(l0)) with f = log(l1 / lambda) / log(l0 / l1) (1 on a geometric grid), for the
    /// coefficients nonzero at l1 (one that would change sign stops at 0; bounds clamp), the intercepts likewise. Kept only
    /// when it lowers the penalized objective at <paramref name="lambda"/>; the Newton steps then start from there.
    /// </summary>
    private void Extrapolate(double lambda, double previousLambda)
    {
        int K = _classes;
        double earlier = _earlierLambda;
        bool ready = _earlierB is not null && earlier > previousLambda && previousLambda > lambda && double.IsFinite(earlier);
        double f = ready ? Math.Log(previousLambda / lambda) / Math.Log(earlier / previousLambda) : 0;
        bool any = false;
        if (ready)
        {
            for (int k = 0; k < K; k++)
            {
                Array.Clear(_d[k]);
                _d0[k] = _intercept ? f * (_b0[k] - _earlierB0![k]) : 0;
                any |= _d0[k] != 0;
                var b = _b[k];
                var e = _earlierB![k];
                for (int j = 0; j < _p; j++)
                {
                    if (b[j] == 0 || !_working[j]) continue;
                    double moved = b[j] + f * (b[j] - e[j]);
                    if (moved * b[j] < 0) moved = 0;
                    if (_limits is { } limits) moved = limits.Clamp(j, moved);
                    _d[k][j] = moved - b[j];
                    any |= _d[k][j] != 0;
                }
            }
        }
        // The previous solution becomes the earlier one.
        _earlierB ??= Jagged(K, _p);
        _earlierB0 ??= new double[K];
        for (int k = 0; k < K; k++) _b[k].CopyTo(_earlierB[k], 0);
        _b0.CopyTo(_earlierB0, 0);
        _earlierLambda = previousLambda;
        if (!any) return;
        double before = _loss + Penalty(lambda, 0, false);
        _prepared = null;
        // The pass also prepares the first Newton step's first class (its weights, residual and working-set gradient) at the
        // extrapolated point, while the block's rows are in cache; undone with the move.
        var set = WorkingSet();
        var first = UseGram(set.Length) ? set : null;
        double after = MoveAll(1, first) + Penalty(lambda, 1, true);
        if (!(after < before))
        {
            _prepared = null;
            MoveAll(-1);
            return;
        }
        for (int k = 0; k < K; k++)
        {
            _b0[k] += _d0[k];
            for (int j = 0; j < _p; j++) _b[k][j] += _d[k][j];
        }
        Symmetrize();   // moves no probability: the prepared class stays exact
    }

    /// <summary>eta_k += <paramref name="scale"/> (Δb0_k + Z Δb_k) for every class, then the softmax recomputed from the linear
    /// predictors, in one pass over blocks of rows; returns the mean negative log-likelihood. With <paramref name="prepare"/> (the
    /// working set) the pass also makes class 0's weights, residual and working-set gradient there (<see cref="_prepared"/>,
    /// the bits of <see cref="PrepareClass"/>).</summary>
    private double MoveAll(double scale, int[]? prepare = null)
    {
        int K = _classes;
        var columns = new int[K][];
        var coefficients = new double[K][];
        long stepWork = 0;
        for (int k = 0; k < K; k++)
        {
            int nz = StepColumns(k);
            columns[k] = _stepColumns.AsSpan(0, nz).ToArray();
            coefficients[k] = _stepCoefficients.AsSpan(0, nz).ToArray();
            TensorPrimitives.Multiply(coefficients[k], scale, coefficients[k]);
            stepWork += nz;
        }
        int q = prepare?.Length ?? 0, segments = Segments(prepare is null ? 2 : q + 3);
        var sums = new double[5 * segments];   // per run: loss, smallest observed probability; prepared: sum w, sum r, sum |w - w_ref|
        sums.AsSpan(segments, segments).Fill(1);
        var dotParts = new double[segments * q];
        var (reference, hessian) = prepare is null ? (null, null) : Reference(0, prepare);
        Indicator(0);   // made before the threads read it
        ForBlocks(segments, (long)_n * (stepWork + 4 * K + q), (g, b, scratch) =>
        {
            int i0 = b * RowBlock, len = Math.Min(RowBlock, _n - i0);
            var sb = scratch.Step.AsSpan(0, len);
            for (int k = 0; k < K; k++)
            {
                if (columns[k].Length == 0 && _d0[k] == 0) continue;
                sb.Fill(scale * _d0[k]);
                var offsets = scratch.StepOffsets.AsSpan(0, columns[k].Length);
                BlockOffsets(columns[k], i0, offsets);
                ColumnKernels.AddScaled(_zData, offsets, coefficients[k], sb);
                var e = _eta[k].AsSpan(i0, len);
                TensorPrimitives.Add(e, sb, e);
            }
            sums[g] += RefreshRows(i0, len, scratch.Max, scratch.Sum, ref sums[segments + g]);
            if (prepare is null) return;
            ClassRows(0, i0, len, reference, ref sums[2 * segments + g], ref sums[3 * segments + g], ref sums[4 * segments + g]);
            var gradOffsets = scratch.GradOffsets.AsSpan(0, q);
            BlockOffsets(prepare, i0, gradOffsets);
            ColumnKernels.AddDots(_zData, gradOffsets, _q[0].AsSpan(i0, len), dotParts.AsSpan(g * q, q));
        });
        _separated = Smallest(sums.AsSpan(segments, segments)) > 1 - 1e-9;
        if (prepare is not null)
        {
            var dots = new double[q];
            AddParts(dotParts, segments, dots);
            double wsum = SumParts(sums.AsSpan(2 * segments, segments)), rsum = SumParts(sums.AsSpan(3 * segments, segments));
            double drift = SumParts(sums.AsSpan(4 * segments, segments));
            _prepared = new ClassPrep(0, prepare, dots, wsum, rsum, reference is null ? double.PositiveInfinity : drift, hessian);
        }
        return _loss = SumParts(sums.AsSpan(0, segments)) / _n;
    }
}
