using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>A linear predictor in original units: offset + sum_a Coef[a] x_{Active[a]}.</summary>
internal sealed record Predictor(int[] Active, double[] Coef, double Offset);

/// <summary>
/// One pass of the proximal-Newton path over the rows at a point, in row blocks: the linear predictor (plus the offset),
/// and from the family (<see cref="Fitting.GlmFamily.Irls"/>) the weighted means v mu, working weights w = v b''(eta),
/// residuals v (y - mu) and the loss (half the deviance per row); the exact gradient (1/n) z_j'v(y - mu) of each requested
/// feature, and in the naive mode its weighted moments. Fixed row segments, reduced in order: the result does not depend
/// on the thread count.
/// </summary>
internal sealed class LogisticPass(LogisticData data, bool intercept, int threads, CancellationToken ct)
{
    private const int SegmentRows = 4096;       // rows per parallel segment of a pass (fixed: results do not depend on threads)
    private const int BlockRows = 256;          // rows per block inside a segment (the block of every column stays in L2)

    private readonly int _n = data.Rows;

    /// <summary>The fit's helper threads for the segments (and <see cref="GradientBounds"/>' sweeps); null on one thread.</summary>
    public FitTeam? Team { get; } = threads > 1 ? new FitTeam(threads - 1) : null;

    private PointSums _point = new(data.Rows), _second = new(data.Rows);

    /// <summary>v_i mu_i at the point of the last pass (binomial without weights: the probabilities).</summary>
    public double[] Prob => _point.Prob;

    /// <summary>w_i = v_i b''(eta_i) (binomial: v p (1 - p); poisson: v mu).</summary>
    public double[] Weight => _point.Weight;

    /// <summary>v_i (y_i - mu_i).</summary>
    public double[] Resid => _point.Resid;

    /// <summary>Mean loss: (1/n) sum v [b(eta) - y eta] + the saturated model's constant (half the deviance per row).</summary>
    public double Loss => _point.Loss;

    /// <summary>The intercept's gradient, sum v (y - mu) / n (0 without an intercept).</summary>
    public double G0 => _point.G0;

    /// <summary>sum w / n.</summary>
    public double WeightSum => _point.WeightSum;

    /// <summary>max w.</summary>
    public double MaxWeight => _point.MaxWeight;

    /// <summary>What a pass leaves of one point: its per-row vectors and sums.</summary>
    private sealed class PointSums(int rows)
    {
        public readonly double[] Prob = new double[rows], Weight = new double[rows], Resid = new double[rows];
        public double Loss, G0, WeightSum, MaxWeight;
    }

    /// <summary>
    /// The second point of the last pass (<see cref="Run"/>'s <c>second</c>) becomes the point of the last pass: its
    /// per-row vectors and sums take the place of the first's (whose are kept as the second's, for reuse).
    /// </summary>
    public void TakeSecond() => (_point, _second) = (_second, _point);

    /// <summary>
    /// Runs the pass at <paramref name="point"/>: for each feature j of <paramref name="features"/>, grad[j] = (1/n) z_j'(y - p)
    /// and, with <paramref name="wm"/> and <paramref name="xv"/>, sum w z_j / n and sum w z_j^2 / n. With
    /// <paramref name="shadows"/>, also returns the mean loss at each of those predictors (read from the same blocks). With
    /// <paramref name="second"/> (not in the naive mode), the same pass evaluates that point too from the same blocks, its
    /// gradients into <paramref name="secondGrad"/> and its vectors and sums kept for <see cref="TakeSecond"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double[]? Run(int[] features, Predictor point, IReadOnlyList<Predictor>? shadows, double[] grad, double[]? wm, double[]? xv,
                         Predictor? second = null, double[]? secondGrad = null)
    {
        if (second is not null && (wm is not null || secondGrad is null)) throw new ArgumentException("a second point needs its gradient array and no moments");
        if (shadows is { Count: 0 }) shadows = null;
        ct.ThrowIfCancellationRequested();
        int k = features.Length;
        int segments = (_n + SegmentRows - 1) / SegmentRows;
        bool stats = wm is not null;
        var partG = new double[segments * k];
        var partF = stats ? new double[segments * k] : null;
        var partS = stats ? new double[segments * k] : null;
        var partLoss = new double[segments];
        var partR = new double[segments];
        var partW = new double[segments];
        var partMax = new double[segments];
        var partShadow = shadows is null ? null : new double[segments * shadows.Count];

        var plan = new Plan(features, point, stats, partG, partF, partS, partLoss, partR, partW, partMax, shadows, partShadow)
        {
            Columns = [.. features.Select(ColumnStart)],
            GradientMeans = [.. features.Select(j => data.Means[j])],
            PointColumns = [.. point.Active.Select(ColumnStart)],
            ShadowColumns = shadows is null ? null : [.. shadows.Select(sh => sh.Active.Select(ColumnStart).ToArray())],
            Target = _point,
        };
        if (second is not null)
        {
            plan.Second = second;
            plan.SecondColumns = [.. second.Active.Select(ColumnStart)];
            plan.SecondTarget = _second;
            plan.SecondSums = new double[segments * (k + 4)];
            var position = new Dictionary<int, int>(k);
            for (int t = 0; t < k; t++) position.TryAdd(features[t], t);
            double[]? Aligned(Predictor predictor)
            {
                var coef = new double[k];
                for (int a = 0; a < predictor.Active.Length; a++)
                {
                    if (!position.TryGetValue(predictor.Active[a], out int t)) return null;
                    coef[t] = predictor.Coef[a];
                }
                return coef;
            }
            var pointAligned = Aligned(point);
            var secondAligned = Aligned(second);
            var shadowsAligned = shadows?.Select(Aligned).ToArray() ?? [];
            if (pointAligned is not null && secondAligned is not null && shadowsAligned.All(a => a is not null))
            {
                plan.PointAligned = pointAligned;
                plan.SecondAligned = secondAligned;
                plan.ShadowsAligned = shadowsAligned!;
            }
        }
        long work = (long)_n * (k + point.Active.Length);
        if (Team is { } team && segments > 1 && work >= 1L << 20)
        {
            team.For(segments, s =>
            {
                ct.ThrowIfCancellationRequested();
                Segment(plan, s);
            });
        }
        else
        {
            for (int s = 0; s < segments; s++) Segment(plan, s);
        }

        double lossSum = 0, rSum = 0, wSum = 0, wMax = 0;
        for (int s = 0; s < segments; s++)
        {
            lossSum += partLoss[s];
            rSum += partR[s];
            wSum += partW[s];
            wMax = Math.Max(wMax, partMax[s]);
        }
        _point.MaxWeight = wMax;
        _point.Loss = lossSum / _n + data.LossConstant;
        _point.G0 = intercept ? rSum / _n : 0.0;
        _point.WeightSum = wSum / _n;
        if (plan.SecondSums is { } sums)
        {
            // Per segment: the k gradient dots, then the loss, sum r, sum w and max w.
            int stride = k + 4;
            double l2 = 0, r2 = 0, w2 = 0, m2 = 0;
            for (int s = 0; s < segments; s++)
            {
                l2 += sums[s * stride + k];
                r2 += sums[s * stride + k + 1];
                w2 += sums[s * stride + k + 2];
                m2 = Math.Max(m2, sums[s * stride + k + 3]);
            }
            _second.MaxWeight = m2;
            _second.Loss = l2 / _n + data.LossConstant;
            _second.G0 = intercept ? r2 / _n : 0.0;
            _second.WeightSum = w2 / _n;
            for (int t = 0; t < k; t++)
            {
                double g = 0;
                for (int s = 0; s < segments; s++) g += sums[s * stride + t];
                int j = features[t];
                secondGrad![j] = g / (_n * data.Scales[j]);
            }
        }
        for (int t = 0; t < k; t++)
        {
            double g = 0, f = 0, q = 0;
            for (int s = 0; s < segments; s++)
            {
                g += partG[s * k + t];
                if (stats)
                {
                    f += partF![s * k + t];
                    q += partS![s * k + t];
                }
            }
            int j = features[t];
            double sj = data.Scales[j];
            grad[j] = g / (_n * sj);
            if (stats)
            {
                wm![j] = f / (_n * sj);
                xv![j] = q / (_n * sj * sj);
            }
        }
        if (partShadow is null) return null;
        var shadowLoss = new double[shadows!.Count];
        for (int c = 0; c < shadowLoss.Length; c++)
        {
            double shadowSum = 0;
            for (int s = 0; s < segments; s++) shadowSum += partShadow[s * shadowLoss.Length + c];
            shadowLoss[c] = shadowSum / _n + data.LossConstant;
        }
        return shadowLoss;
    }

    /// <summary>Where feature j's column starts in the source data.</summary>
    private long ColumnStart(int j) => (long)data.SourceColumns[j] * data.Source.Rows;

    /// <summary>What one pass computes: gradient columns, the point and per-segment partial sums.</summary>
    private sealed record Plan(int[] Gradient, Predictor Point, bool Stats,
                               double[] PartG, double[]? PartF, double[]? PartS, double[] PartLoss, double[] PartR, double[] PartW, double[] PartMax,
                               IReadOnlyList<Predictor>? Shadows, double[]? PartShadow)
    {
        /// <summary>Where each gradient column starts in the source data, and its mean (the dots' shift).</summary>
        public long[] Columns { get; init; } = [];
        public double[] GradientMeans { get; init; } = [];

        /// <summary>Where each of the point's (and the shadow's) columns starts in the source data.</summary>
        public long[] PointColumns { get; init; } = [];
        public long[][]? ShadowColumns { get; init; }

        /// <summary>Where the point's vectors go.</summary>
        public PointSums Target { get; init; } = null!;

        /// <summary>A second point evaluated from the same blocks, where its vectors go, and its per-segment sums (k dots, loss, sum r, sum w, max w).</summary>
        public Predictor? Second { get; set; }
        public long[]? SecondColumns { get; set; }
        public PointSums? SecondTarget { get; set; }
        public double[]? SecondSums { get; set; }

        /// <summary>
        /// With a second point whose columns, the first's and the shadows' are all gradient columns: their coefficients over
        /// the gradient columns (0 where inactive), so two predictors are read in one sweep (<see cref="ColumnKernels.AddScaledPair"/>).
        /// </summary>
        public double[]? PointAligned { get; set; }
        public double[]? SecondAligned { get; set; }
        public double[][]? ShadowsAligned { get; set; }
    }

    /// <summary>
    /// Rows of segment <paramref name="s"/>, block by block (every column's block stays in cache between its two uses): the
    /// linear predictor four columns per sweep (<see cref="ColumnKernels.AddScaled"/>), the family's link, then the gradient
    /// dots four columns per sweep (<see cref="ColumnKernels.AddShiftedDots"/>), which also prefetch the next block of every
    /// gradient column (a superset of the predictor's). With a second point whose columns (and the shadows') are gradient
    /// columns, the predictors go two at a time (<see cref="ColumnKernels.AddScaledPair"/>) and the dots of both residuals in
    /// one sweep (<see cref="ColumnKernels.AddShiftedDotsPair"/>): each column's block is read once per pair, the sums the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Segment(Plan plan, int s)
    {
        int start = s * SegmentRows, end = Math.Min(_n, start + SegmentRows);
        int k = plan.Gradient.Length;
        Span<double> eta = stackalloc double[BlockRows];
        Span<double> eta2 = stackalloc double[plan.PointAligned is null ? 0 : BlockRows];
        double loss = 0, sumR = 0, sumW = 0, maxW = 0;
        var shadows = plan.Shadows;
        int shadowCount = shadows?.Count ?? 0;
        Span<double> shadowLoss = stackalloc double[shadowCount];
        shadowLoss.Clear();
        var point = plan.Point;
        var second = plan.Second;
        double loss2 = 0, sumR2 = 0, sumW2 = 0, maxW2 = 0;
        var secondOffsets = second is null ? null : new long[second.Active.Length];
        var partG2 = second is null ? default : plan.SecondSums.AsSpan(s * (k + 4), k);
        var family = data.Family;
        var source = data.Source.Data;
        var columns = plan.Columns;
        var pointOffsets = new long[point.Active.Length];
        var shadowOffsets = shadows is null ? null : shadows.Select(sh => new long[sh.Active.Length]).ToArray();
        var gradientOffsets = new long[k];
        var partG = plan.PartG.AsSpan(s * k, k);
        for (int b = start; b < end; b += BlockRows)
        {
            int m = Math.Min(BlockRows, end - b);
            // Prefetch the next block of this segment only (the last block's hints would fall in the next segment's rows).
            int ahead = b + BlockRows < end ? BlockRows : 0;
            var e = eta[..m];
            var v = data.Weight is { } weight ? weight.AsSpan(b, m) : default;
            var offset = data.Offset is { } o ? o.AsSpan(b, m) : default;
            if (plan.PointAligned is not null)
            {
                // Two points and their shadows: the predictors two at a time over the gradient columns, each column read
                // once per pair (the same sums as one at a time).
                var e2 = eta2[..m];
                var y = data.Y.AsSpan(b, m);
                Offsets(columns, b, gradientOffsets);
                int c = 0;
                for (; c + 1 < shadowCount; c += 2)
                {
                    e.Fill(shadows![c].Offset);
                    e2.Fill(shadows[c + 1].Offset);
                    ColumnKernels.AddScaledPair(source, gradientOffsets, plan.ShadowsAligned![c], plan.ShadowsAligned[c + 1], e, e2);
                    if (!offset.IsEmpty)
                    {
                        Vec.Axpy(1.0, offset, e);
                        Vec.Axpy(1.0, offset, e2);
                    }
                    shadowLoss[c] += family.NegativeLogLikelihood(e, y, v);
                    shadowLoss[c + 1] += family.NegativeLogLikelihood(e2, y, v);
                }
                if (c < shadowCount)
                {
                    e.Fill(shadows![c].Offset);
                    ColumnKernels.AddScaled(source, gradientOffsets, plan.ShadowsAligned![c], e);
                    if (!offset.IsEmpty) Vec.Axpy(1.0, offset, e);
                    shadowLoss[c] += family.NegativeLogLikelihood(e, y, v);
                }
                e.Fill(point.Offset);
                e2.Fill(second!.Offset);
                ColumnKernels.AddScaledPair(source, gradientOffsets, plan.PointAligned, plan.SecondAligned!, e, e2);
                if (!offset.IsEmpty)
                {
                    Vec.Axpy(1.0, offset, e);
                    Vec.Axpy(1.0, offset, e2);
                }
                var t1 = plan.Target;
                var r1 = t1.Resid.AsSpan(b, m);
                var w1 = t1.Weight.AsSpan(b, m);
                loss += family.Irls(e, y, v, t1.Prob.AsSpan(b, m), w1, r1);
                var t2 = plan.SecondTarget!;
                var r2 = t2.Resid.AsSpan(b, m);
                var w2 = t2.Weight.AsSpan(b, m);
                loss2 += family.Irls(e2, y, v, t2.Prob.AsSpan(b, m), w2, r2);
                AddRowSums(r1, w1, ref sumR, ref sumW, ref maxW);
                AddRowSums(r2, w2, ref sumR2, ref sumW2, ref maxW2);
                ColumnKernels.AddShiftedDotsPair(source, gradientOffsets, plan.GradientMeans, r1, r2, partG, partG2, ahead);
                continue;
            }
            for (int c = 0; c < shadowCount; c++)
            {
                // The loss at a point a lambda ended on (its columns are read again just below, from cache).
                var shadow = shadows![c];
                e.Fill(shadow.Offset);
                Offsets(plan.ShadowColumns![c], b, shadowOffsets![c]);
                ColumnKernels.AddScaled(source, shadowOffsets[c], shadow.Coef, e);
                if (!offset.IsEmpty) Vec.Axpy(1.0, offset, e);
                shadowLoss[c] += family.NegativeLogLikelihood(e, data.Y.AsSpan(b, m), v);
            }
            e.Fill(point.Offset);
            Offsets(plan.PointColumns, b, pointOffsets);
            ColumnKernels.AddScaled(source, pointOffsets, point.Coef, e);
            if (!offset.IsEmpty) Vec.Axpy(1.0, offset, e);
            var target = plan.Target;
            var r = target.Resid.AsSpan(b, m);
            var w = target.Weight.AsSpan(b, m);
            loss += family.Irls(e, data.Y.AsSpan(b, m), v, target.Prob.AsSpan(b, m), w, r);
            AddRowSums(r, w, ref sumR, ref sumW, ref maxW);
            Offsets(columns, b, gradientOffsets);
            if (second is not null)
            {
                // The second point from the same block (its columns still in cache); its dots prefetch the next block,
                // after the first's have read this one.
                var t2 = plan.SecondTarget!;
                e.Fill(second.Offset);
                Offsets(plan.SecondColumns!, b, secondOffsets!);
                ColumnKernels.AddScaled(source, secondOffsets, second.Coef, e);
                if (!offset.IsEmpty) Vec.Axpy(1.0, offset, e);
                var r2 = t2.Resid.AsSpan(b, m);
                var w2 = t2.Weight.AsSpan(b, m);
                loss2 += family.Irls(e, data.Y.AsSpan(b, m), v, t2.Prob.AsSpan(b, m), w2, r2);
                AddRowSums(r2, w2, ref sumR2, ref sumW2, ref maxW2);
                ColumnKernels.AddShiftedDotsPair(source, gradientOffsets, plan.GradientMeans, r, r2, partG, partG2, ahead);
            }
            else
            {
                ColumnKernels.AddShiftedDots(source, gradientOffsets, plan.GradientMeans, r, partG, ahead);
            }
            if (plan.Stats)
            {
                for (int t = 0; t < k; t++)
                {
                    int j = plan.Gradient[t];
                    var (f, q) = LogisticKernels.WeightedMoments(data.Column(j).Slice(b, m), data.Means[j], w);
                    plan.PartF![s * k + t] += f;
                    plan.PartS![s * k + t] += q;
                }
            }
        }
        plan.PartLoss[s] = loss;
        for (int c = 0; c < shadowCount; c++) plan.PartShadow![s * shadowCount + c] = shadowLoss[c];
        if (second is not null)
        {
            var sums = plan.SecondSums.AsSpan(s * (k + 4) + k, 4);
            sums[0] = loss2;
            sums[1] = sumR2;
            sums[2] = sumW2;
            sums[3] = maxW2;
        }
        plan.PartR[s] = sumR;
        plan.PartW[s] = sumW;
        plan.PartMax[s] = maxW;
    }

    /// <summary>A block's residuals and working weights added to a point's sums in row order, and the largest weight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRowSums(ReadOnlySpan<double> r, ReadOnlySpan<double> w, ref double sumR, ref double sumW, ref double maxW)
    {
        double sr = sumR, sw = sumW, mw = maxW;
        for (int i = 0; i < r.Length; i++)
        {
            sr += r[i];
            sw += w[i];
            mw = w[i] > mw ? w[i] : mw;
        }
        (sumR, sumW, maxW) = (sr, sw, mw);
    }

    /// <summary>Where row <paramref name="row"/> of each column starts in the source data (<paramref name="columnStarts"/>: row 0's).</summary>
    private static void Offsets(long[] columnStarts, int row, long[] offsets)
    {
        for (int c = 0; c < columnStarts.Length; c++) offsets[c] = columnStarts[c] + row;
    }
}
