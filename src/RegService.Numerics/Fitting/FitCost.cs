using System.Globalization;

namespace RegService.Numerics.Fitting;

/// <summary>One part of a cost estimate: what is held in memory and how many bytes.</summary>
public sealed record CostItem(string What, long Bytes);

/// <summary>
/// What a fit will cost before it runs, from its shape alone (rows, the data set's columns, features after the
/// expansion, lambdas, folds, solver, hidden units): an upper bound of the peak memory and an order of magnitude of the
/// floating point operations. <see cref="Estimate"/> follows the engine's routing (<see cref="FitEngine.Fit"/>), so the
/// <see cref="Route"/> named is the one the fit takes.
/// </summary>
/// <param name="PeakBytes">
/// Upper bound of the fit's peak memory, managed and native, over the process's baseline: the loaded data set matrix
/// plus <see cref="Margin"/> times the fit's own working memory plus <see cref="Overhead"/>.
/// </param>
/// <param name="Work">Floating point operations, an order of magnitude (assumed passes and iterations; see docs/engine.md).</param>
/// <param name="Route">How the engine fits it: "closedForm primal gram", "closedForm dual kernel", "covariance cd",
/// "naive cd", "proximal newton gram", "proximal newton naive", "proximal gradient", "stochastic" or "mlp".</param>
/// <param name="Breakdown">The parts held at the peak, largest first, before the margin (bytes each).</param>
public sealed partial record FitCost(long PeakBytes, double Work, string Route, IReadOnlyList<CostItem> Breakdown)
{
    /// <summary>Factor on the fit's working memory for allocator and garbage-collector slack.</summary>
    public const double Margin = 1.25;

    /// <summary>Bytes added for the runtime's own overhead while a fit runs (thread stacks, JIT, small objects).</summary>
    public const long Overhead = 32L << 20;

    /// <summary>Coordinate-descent passes assumed per lambda (work only).</summary>
    public const int AssumedPasses = 5;

    /// <summary>Newton steps assumed per lambda of a binomial path (work only).</summary>
    public const int AssumedNewtonSteps = 4;

    /// <summary>Proximal-gradient iterations assumed per lambda (work only).</summary>
    public const int AssumedGradientIterations = 100;

    /// <summary>Bytes of the loaded data set matrix (rows x every column of the data set; part of <see cref="PeakBytes"/>).</summary>
    public long LoadedBytes { get; init; }

    /// <summary>Bytes of the fit's own working memory before the margin (<see cref="PeakBytes"/> without the loaded matrix is
    /// <c>Margin * WorkingBytes + Overhead</c>).</summary>
    public long WorkingBytes { get; init; }

    /// <summary>Rows fitted.</summary>
    public int Rows { get; init; }

    /// <summary>Features fitted (after the expansion).</summary>
    public int Features { get; init; }

    /// <summary>Lambdas fitted (at most; a generated path may stop early).</summary>
    public int Lambdas { get; init; }

    /// <summary>Validation fits besides the fit on all rows (k folds, 1 holdout, 0 otherwise).</summary>
    public int ValidationFits { get; init; }

    /// <summary>
    /// One line for people: "about 2.7 GB peak (closedForm primal gram of 8,000 features: Gram matrices 512 MB,
    /// eigendecomposition 2.4 GB, ...) and 1e12 flops".
    /// </summary>
    public string Summary
    {
        get
        {
            var parts = Breakdown.Where(b => b.Bytes >= 1 << 20).Take(4).Select(b => $"{b.What}: {FormatBytes(b.Bytes)}").ToList();
            if (parts.Count == 0) parts.Add("every part under 1 MB");
            var c = CultureInfo.InvariantCulture;
            string shape = string.Format(c, "{0}, {1:N0} rows x {2:N0} features, {3:N0} lambda{4}", Route, Rows, Features, Lambdas, Lambdas == 1 ? "" : "s");
            if (ValidationFits > 0) shape += string.Format(c, ", {0} validation fit{1}", ValidationFits, ValidationFits == 1 ? "" : "s");
            return string.Format(c, "about {0} peak ({1}; {2}) and about {3:0.#e+0} flops", FormatBytes(PeakBytes), shape, string.Join("; ", parts), Work);
        }
    }

    public override string ToString() => Summary;

    /// <summary>
    /// The default memory limit for one fit: a quarter of the memory the runtime may use
    /// (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: the machine's memory, or the container's limit).
    /// </summary>
    public static long DefaultMemoryLimit() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    /// <summary>Bytes in binary units: "512 MB", "2.7 GB".</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
        double value = bytes;
        int u = 0;
        while (Math.Abs(value) >= 1024 && u < units.Length - 1)
        {
            value /= 1024;
            u++;
        }
        return u == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes")
            : string.Create(CultureInfo.InvariantCulture, $"{(value >= 100 ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.#", CultureInfo.InvariantCulture))} {units[u]}");
    }

    /// <summary>
    /// The cost of fitting <paramref name="spec"/> on <paramref name="rows"/> rows of a data set of
    /// <paramref name="datasetColumns"/> columns (the worker loads the whole matrix). Does not validate the spec beyond
    /// what it needs; nothing is allocated in proportion to the data.
    /// </summary>
    /// <param name="spec">The fit, as the API builds it (features are data set columns; the expansion not yet applied).</param>
    /// <param name="rows">Rows of the data set.</param>
    /// <param name="datasetColumns">Columns of the data set (all are loaded).</param>
    /// <param name="averageNameLength">Average feature name length for the result document; null computes it from the spec.</param>
    public static FitCost Estimate(FitSpec spec, int rows, int datasetColumns, double? averageNameLength = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(datasetColumns);
        return new Estimator(spec, rows, datasetColumns, averageNameLength).Run();
    }
}
