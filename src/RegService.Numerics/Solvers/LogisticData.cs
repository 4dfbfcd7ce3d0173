using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The rows a binomial fit uses: each feature as one contiguous column (the data set's own column when all rows
/// are fitted, else a compact copy of the selected rows), the 0/1 target, and the standardization
/// (glmnet's: means and 1/n standard deviations with an intercept, root mean squares without, scale 1 when
/// standardize is off). The standardized feature is z_j = (x_j - Means[j]) / Scales[j]; zero-variance features
/// (with an intercept) are excluded.
/// </summary>
internal sealed class LogisticData
{
    private LogisticData(DenseMatrix source, int[] sourceColumns, double[] y, double[] means, double[] scales,
                         double[] norms, bool[] excluded, List<string> warnings)
    {
        Source = source;
        SourceColumns = sourceColumns;
        Y = y;
        Means = means;
        Scales = scales;
        Norms = norms;
        Excluded = excluded;
        Warnings = warnings;
    }

    public DenseMatrix Source { get; }

    /// <summary>Column of <see cref="Source"/> holding feature j over the rows fitted.</summary>
    public int[] SourceColumns { get; }

    public int Rows => Y.Length;
    public int Features => Means.Length;
    public double[] Y { get; }
    public double[] Means { get; }
    public double[] Scales { get; }

    /// <summary>||z_j|| / sqrt(n): 1 for a standardized feature.</summary>
    public double[] Norms { get; }
    public bool[] Excluded { get; }
    public List<string> Warnings { get; }

    public ReadOnlySpan<double> Column(int j) => Source.Column(SourceColumns[j]);

    public static LogisticData Create(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames, PathSettings settings)
    {
        int n = rows?.Length ?? x.Rows, p = featureCols.Length;
        if (rows is not null)
        {
            for (int i = 0; i < rows.Length; i++)
                if ((uint)rows[i] >= (uint)x.Rows) throw new ArgumentException($"rows[{i}] = {rows[i]} is outside [0, {x.Rows})");
        }
        if (n == 0) throw new ArgumentException("no rows to fit");

        var y = new double[n];
        var target = x.Column(targetCol);
        int ones = 0;
        for (int i = 0; i < n; i++)
        {
            int r = rows is null ? i : rows[i];
            double v = target[r];
            if (v != 0 && v != 1) throw new ArgumentException($"the binomial target must be 0 or 1; row {r} has {v}");
            y[i] = v;
            if (v == 1) ones++;
        }
        if (ones == 0 || ones == n)
            throw new ArgumentException($"the binomial target has only one class ({(ones == 0 ? 0 : 1)}) on the {n} rows fitted");

        var (source, sourceCols) = FittedRows.Features(x, featureCols, rows);

        var means = new double[p];
        var scales = new double[p];
        var norms = new double[p];
        var excluded = new bool[p];
        var warnings = new List<string>();
        var ones1 = new double[n];
        Array.Fill(ones1, 1.0);
        for (int j = 0; j < p; j++)
        {
            var c = source.Column(sourceCols[j]);
            double mean = 0;
            for (int i = 0; i < n; i++) mean += c[i];
            mean /= n;
            // Two passes: the variance about the mean (and the mean square, about 0, without an intercept).
            double variance = Math.Max(LogisticKernels.WeightedMoments(c, mean, ones1).Second / n, 0.0);
            double? meanSquare = settings.FitIntercept ? null : LogisticKernels.WeightedMoments(c, 0.0, ones1).Second / n;
            var scale = Standardization.Of(mean, variance, settings.FitIntercept, settings.Standardize, GlmFamily.Binomial.Scale, meanSquare);
            means[j] = scale.Center;
            scales[j] = scale.Scale;
            if (scale.Excluded)
            {
                excluded[j] = true;
                warnings.Add(Standardization.ZeroVarianceWarning(featureNames[j]));
                continue;
            }
            norms[j] = Math.Sqrt(scale.Spread) / scales[j];
        }
        return new LogisticData(source, sourceCols, y, means, scales, norms, excluded, warnings);
    }
}
