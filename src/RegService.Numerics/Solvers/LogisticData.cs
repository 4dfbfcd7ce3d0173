namespace RegService.Numerics.Solvers;

/// <summary>
/// The rows a proximal-Newton fit uses: each feature as one contiguous column (the data set's own column when all rows
/// are fitted, else a compact copy of the selected rows), the target (checked by the family), the observation weights
/// rescaled to sum to the rows fitted (glmnet's, so a fold fit rescales its own), the offset, and the standardization
/// (glmnet's lognet and fishnet: centered at the weighted mean with an intercept, at 0 without; scaled by the 1/n weighted
/// standard deviation about the mean, with or without an intercept; scale 1 when standardize is off). The standardized
/// feature is z_j = (x_j - Means[j]) / Scales[j]; zero-variance features are excluded.
/// </summary>
internal sealed class LogisticData
{
    private LogisticData(GlmFamily family, DenseMatrix source, int[] sourceColumns, double[] y, double[]? weight, double[]? offset,
                         double[] means, double[] scales, double[] norms, double[] boundNorms, bool[] excluded, List<string> warnings)
    {
        Family = family;
        Weight = weight;
        Offset = offset;
        BoundNorms = boundNorms;
        double constant = 0;
        for (int i = 0; i < y.Length; i++) constant += (weight?[i] ?? 1.0) * family.SaturatedLoss(y[i]);
        LossConstant = constant / y.Length;
        Source = source;
        SourceColumns = sourceColumns;
        Y = y;
        Means = means;
        Scales = scales;
        Norms = norms;
        Excluded = excluded;
        Warnings = warnings;
    }

    public GlmFamily Family { get; }

    /// <summary>Observation weights v over the rows fitted, summing to <see cref="Rows"/>; null when every row weighs 1.</summary>
    public double[]? Weight { get; }

    /// <summary>The offset added to each fitted row's linear predictor, or null.</summary>
    public double[]? Offset { get; }

    /// <summary>(1/n) sum v <see cref="GlmFamily.SaturatedLoss"/>(y): added to the loss, it makes the loss half the deviance per row.</summary>
    public double LossConstant { get; }

    public DenseMatrix Source { get; }

    /// <summary>Column of <see cref="Source"/> holding feature j over the rows fitted.</summary>
    public int[] SourceColumns { get; }

    public int Rows => Y.Length;
    public int Features => Means.Length;
    public double[] Y { get; }
    public double[] Means { get; }
    public double[] Scales { get; }

    /// <summary>sqrt(sum v z_j^2 / n): 1 for a standardized feature.</summary>
    public double[] Norms { get; }

    /// <summary>||z_j|| / sqrt(n), unweighted (what bounds a gradient change from a change of the residuals).</summary>
    public double[] BoundNorms { get; }
    public bool[] Excluded { get; }
    public List<string> Warnings { get; }

    public ReadOnlySpan<double> Column(int j) => Source.Column(SourceColumns[j]);

    /// <summary>The rows <paramref name="rows"/> of <paramref name="x"/> (all when null) with the observation weights and the offset
    /// (each indexed like the rows of <paramref name="x"/>, or null); the target checked by <paramref name="family"/>.</summary>
    public static LogisticData Create(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames, PathSettings settings,
                                      GlmFamily family, double[]? weights, double[]? offset)
    {
        int n = rows?.Length ?? x.Rows, p = featureCols.Length;
        if (rows is not null)
        {
            for (int i = 0; i < rows.Length; i++)
                if ((uint)rows[i] >= (uint)x.Rows) throw new ArgumentException($"rows[{i}] = {rows[i]} is outside [0, {x.Rows})");
        }
        if (n == 0) throw new ArgumentException("no rows to fit");
        if (weights is not null && weights.Length != x.Rows) throw new ArgumentException($"{weights.Length} weights for {x.Rows} rows");
        if (offset is not null && offset.Length != x.Rows) throw new ArgumentException($"{offset.Length} offsets for {x.Rows} rows");

        var y = new double[n];
        var v = new double[n];
        var off = offset is null ? null : new double[n];
        var target = x.Column(targetCol);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            int r = rows is null ? i : rows[i];
            double value = target[r];
            if (family.TargetFault(value) is { } fault) throw new ArgumentException($"the {Name(family)} target on row {r}: {fault}");
            double wi = weights?[r] ?? 1.0;
            if (!(double.IsFinite(wi) && wi >= 0)) throw new ArgumentException($"the weight of row {r} is {wi}; weights must be finite and >= 0");
            if (off is not null)
            {
                off[i] = offset![r];
                if (!double.IsFinite(off[i])) throw new ArgumentException($"the offset of row {r} is {off[i]}; offsets must be finite");
            }
            y[i] = value;
            v[i] = wi;
            total += wi;
        }
        if (!(total > 0)) throw new ArgumentException($"every weight is 0 on the {n} rows fitted");
        for (int i = 0; i < n; i++) v[i] *= n / total;   // glmnet rescales the weights to sum to the rows fitted
        double positive = 0, mass = 0;
        for (int i = 0; i < n; i++)
        {
            if (v[i] == 0) continue;
            mass += v[i];
            positive += v[i] * y[i];
        }
        if (family.Kind == Fitting.Family.Binomial && (positive == 0 || positive == mass))
            throw new ArgumentException($"the binomial target has only one class ({(positive == 0 ? 0 : 1)}) on the {n} rows fitted");
        if (family.Kind == Fitting.Family.Poisson && positive == 0)
            throw new ArgumentException($"the poisson target is 0 on every row fitted (of positive weight); there is nothing to fit");

        var (source, sourceCols) = FittedRows.Features(x, featureCols, rows);

        // Each feature's weighted moments, the features spread over the fit's threads (each column's sums alone: the same
        // values on any thread count).
        var moments = new (double Mean, double Variance, double? MeanSquare)[p];
        int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
        Parallel.For(0, p, new ParallelOptions { MaxDegreeOfParallelism = (long)n * p >= 1L << 20 ? threads : 1 }, j =>
        {
            var c = source.Column(sourceCols[j]);
            // Two passes: the sums about 0 (the mean, and the mean square without an intercept), then the variance about the mean.
            var (sum, squares) = LogisticKernels.WeightedMoments(c, 0.0, v);
            double mean = sum / n;
            double variance = Math.Max(LogisticKernels.WeightedMoments(c, mean, v).Second / n, 0.0);
            double? meanSquare = settings.FitIntercept ? null : squares / n;
            moments[j] = (mean, variance, meanSquare);
        });
        var standardized = Standardization.Features(featureNames, settings.FitIntercept, settings.Standardize, j => moments[j]);
        var (means, scales, excluded) = (standardized.Means, standardized.Scales, standardized.Excluded);
        var norms = new double[p];
        var boundNorms = new double[p];
        var ones = new double[n];
        Array.Fill(ones, 1.0);
        for (int j = 0; j < p; j++)
        {
            if (excluded[j]) continue;
            norms[j] = Math.Sqrt(standardized.Spreads[j]) / scales[j];
            boundNorms[j] = weights is null ? norms[j] : Math.Sqrt(LogisticKernels.WeightedMoments(source.Column(sourceCols[j]), means[j], ones).Second / n) / scales[j];
        }
        return new LogisticData(family, source, sourceCols, y, weights is null ? null : v, off, means, scales, norms, boundNorms, excluded,
                                standardized.Warnings);
    }

    private static string Name(GlmFamily family) => family.Kind.ToString().ToLowerInvariant();
}
