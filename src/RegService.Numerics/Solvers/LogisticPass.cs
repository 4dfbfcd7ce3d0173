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

    /// <summary>v_i mu_i at the point of the last pass (binomial without weights: the probabilities).</summary>
    public double[] Prob { get; } = new double[data.Rows];

    /// <summary>w_i = v_i b''(eta_i) (binomial: v p (1 - p); poisson: v mu).</summary>
    public double[] Weight { get; } = new double[data.Rows];

    /// <summary>v_i (y_i - mu_i).</summary>
    public double[] Resid { get; } = new double[data.Rows];

    /// <summary>Mean loss: (1/n) sum v [b(eta) - y eta] + the saturated model's constant (half the deviance per row).</summary>
    public double Loss { get; private set; }

    /// <summary>The intercept's gradient, sum v (y - mu) / n (0 without an intercept).</summary>
    public double G0 { get; private set; }

    /// <summary>sum w / n.</summary>
    public double WeightSum { get; private set; }

    /// <summary>max w.</summary>
    public double MaxWeight { get; private set; }

    /// <summary>
    /// Runs the pass at <paramref name="point"/>: for each feature j of <paramref name="features"/>, grad[j] = (1/n) z_j'(y - p)
    /// and, with <paramref name="wm"/> and <paramref name="xv"/>, sum w z_j / n and sum w z_j^2 / n. With
    /// <paramref name="shadow"/>, also returns the mean loss at that predictor (read from the same blocks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double? Run(int[] features, Predictor point, Predictor? shadow, double[] grad, double[]? wm, double[]? xv)
    {
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
        var partShadow = shadow is null ? null : new double[segments];

        var plan = new Plan(features, point, stats, partG, partF, partS, partLoss, partR, partW, partMax, shadow, partShadow)
        {
            Columns = [.. features.Select(ColumnStart)],
            GradientMeans = [.. features.Select(j => data.Means[j])],
            PointColumns = [.. point.Active.Select(ColumnStart)],
            ShadowColumns = shadow is null ? null : [.. shadow.Active.Select(ColumnStart)],
        };
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
        MaxWeight = wMax;
        Loss = lossSum / _n + data.LossConstant;
        G0 = intercept ? rSum / _n : 0.0;
        WeightSum = wSum / _n;
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
        double shadowSum = 0;
        for (int s = 0; s < segments; s++) shadowSum += partShadow[s];
        return shadowSum / _n + data.LossConstant;
    }

    /// <summary>Where feature j's column starts in the source data.</summary>
    private long ColumnStart(int j) => (long)data.SourceColumns[j] * data.Source.Rows;

    /// <summary>What one pass computes: gradient columns, the point and per-segment partial sums.</summary>
    private sealed record Plan(int[] Gradient, Predictor Point, bool Stats,
                               double[] PartG, double[]? PartF, double[]? PartS, double[] PartLoss, double[] PartR, double[] PartW, double[] PartMax,
                               Predictor? Shadow, double[]? PartShadow)
    {
        /// <summary>Where each gradient column starts in the source data, and its mean (the dots' shift).</summary>
        public long[] Columns { get; init; } = [];
        public double[] GradientMeans { get; init; } = [];

        /// <summary>Where each of the point's (and the shadow's) columns starts in the source data.</summary>
        public long[] PointColumns { get; init; } = [];
        public long[]? ShadowColumns { get; init; }
    }

    /// <summary>
    /// Rows of segment <paramref name="s"/>, block by block (every column's block stays in cache between its two uses): the
    /// linear predictor four columns per sweep (<see cref="ColumnKernels.AddScaled"/>), the family's link, then the gradient
    /// dots four columns per sweep (<see cref="ColumnKernels.AddShiftedDots"/>), which also prefetch the next block of every
    /// gradient column (a superset of the predictor's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Segment(Plan plan, int s)
    {
        int start = s * SegmentRows, end = Math.Min(_n, start + SegmentRows);
        int k = plan.Gradient.Length;
        Span<double> eta = stackalloc double[BlockRows];
        double loss = 0, sumR = 0, sumW = 0, maxW = 0, shadowLoss = 0;
        var shadow = plan.Shadow;
        var point = plan.Point;
        var family = data.Family;
        var source = data.Source.Data;
        var columns = plan.Columns;
        var pointOffsets = new long[point.Active.Length];
        var shadowOffsets = shadow is null ? null : new long[shadow.Active.Length];
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
            if (shadow is not null)
            {
                // The loss at the point the last lambda ended on (its columns are read again just below, from cache).
                e.Fill(shadow.Offset);
                Offsets(plan.ShadowColumns!, b, shadowOffsets!);
                ColumnKernels.AddScaled(source, shadowOffsets, shadow.Coef, e);
                if (!offset.IsEmpty) Vec.Axpy(1.0, offset, e);
                shadowLoss += family.NegativeLogLikelihood(e, data.Y.AsSpan(b, m), v);
            }
            e.Fill(point.Offset);
            Offsets(plan.PointColumns, b, pointOffsets);
            ColumnKernels.AddScaled(source, pointOffsets, point.Coef, e);
            if (!offset.IsEmpty) Vec.Axpy(1.0, offset, e);
            var r = Resid.AsSpan(b, m);
            var w = Weight.AsSpan(b, m);
            loss += family.Irls(e, data.Y.AsSpan(b, m), v, Prob.AsSpan(b, m), w, r);
            for (int i = 0; i < m; i++)
            {
                sumR += r[i];
                sumW += w[i];
                maxW = w[i] > maxW ? w[i] : maxW;
            }
            Offsets(columns, b, gradientOffsets);
            ColumnKernels.AddShiftedDots(source, gradientOffsets, plan.GradientMeans, r, partG, ahead);
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
        if (plan.PartShadow is not null) plan.PartShadow[s] = shadowLoss;
        plan.PartR[s] = sumR;
        plan.PartW[s] = sumW;
        plan.PartMax[s] = maxW;
    }

    /// <summary>Where row <paramref name="row"/> of each column starts in the source data (<paramref name="columnStarts"/>: row 0's).</summary>
    private static void Offsets(long[] columnStarts, int row, long[] offsets)
    {
        for (int c = 0; c < columnStarts.Length; c++) offsets[c] = columnStarts[c] + row;
    }
}
