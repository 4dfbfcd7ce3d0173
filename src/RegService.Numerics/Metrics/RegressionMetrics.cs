using System.Buffers;
using System.Runtime.CompilerServices;

namespace RegService.Numerics.Metrics;

/// <summary>Gaussian-family metrics on a set of rows; with observation weights, every mean is the weighted mean (the
/// weights normalized over the rows scored), so R^2 is the weighted deviance ratio.</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="Mse">Mean squared error.</param>
/// <param name="Rmse">Root of <paramref name="Mse"/>.</param>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="R2">1 - SSE/SST with SST about the mean of the same rows (scikit-learn's r2_score).</param>
/// <param name="MseStandardError">Standard error of <paramref name="Mse"/>: sd of the squared errors / sqrt(rows).</param>
public sealed record RegressionMetrics(int Rows, double Mse, double Rmse, double Mae, double R2, double MseStandardError) : IFitMetrics
{
    double IFitMetrics.Loss => Mse;
    double IFitMetrics.LossStandardError => MseStandardError;

    /// <summary>For the gaussian family the deviance ratio is R^2.</summary>
    public double DevianceRatio => R2;

    /// <summary>Metrics of predictions <c>b0 + X[rows, features] b</c> against <c>y</c>, weighted by
    /// <paramref name="weights"/> (indexed like the rows of <paramref name="x"/>) when given.</summary>
    public static RegressionMetrics Compute(
        DenseMatrix x, ReadOnlySpan<int> features, int target, double intercept, ReadOnlySpan<double> coef, int[]? rows, double[]? weights = null)
    {
        int m = rows?.Length ?? x.Rows;
        if (m == 0) return new RegressionMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var prediction = new double[m];
        Predict(x, features, intercept, coef, rows, prediction);
        return FromPredictions(x.Column(target), prediction, rows, weights);
    }

    /// <summary>Metrics of <paramref name="prediction"/> (one per scored row; overwritten) against y[rows] (all of y when rows is
    /// null), weighted by <paramref name="weights"/> (indexed like y) when given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static RegressionMetrics FromPredictions(ReadOnlySpan<double> y, double[] prediction, int[]? rows = null, double[]? weights = null)
    {
        int m = prediction.Length;
        if (m == 0) return new RegressionMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        // Unweighted rows count 1 (no weight array: 1 * v is v, so the sums are those with ones); weights are normalized to sum
        // to m over the rows scored, so the means divide by m.
        // The normalized weight of row i is weights[row] * (m / total), formed where it is used (no array of m weights).
        double scale = 1;
        if (weights is not null)
        {
            double total = 0;
            for (int i = 0; i < m; i++) total += weights[rows is null ? i : rows[i]];
            if (!(total > 0)) return new RegressionMetrics(m, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
            scale = m / total;
        }
        double mean = 0;
        for (int i = 0; i < m; i++) mean += Weight(weights, rows, i, scale) * y[rows is null ? i : rows[i]];
        mean /= m;
        double sse = 0, sae = 0, sst = 0;
        for (int i = 0; i < m; i++)
        {
            double wi = Weight(weights, rows, i, scale);
            double yi = y[rows is null ? i : rows[i]];
            double e = yi - prediction[i];
            prediction[i] = e * e;   // keep the squared error for its standard error
            sse += wi * e * e;
            sae += wi * Math.Abs(e);
            sst += wi * (yi - mean) * (yi - mean);
        }
        double mse = sse / m, spread = 0;
        for (int i = 0; i < m; i++) spread += Weight(weights, rows, i, scale) * (prediction[i] - mse) * (prediction[i] - mse);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;
        return new RegressionMetrics(m, mse, Math.Sqrt(mse), sae / m, sst > 0 ? 1 - sse / sst : double.NaN, se);
    }

    /// <summary>Row i's normalized weight (1 without weights): the same product the normalized copy held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Weight(double[]? weights, int[]? rows, int i, double scale) =>
        weights is null ? 1.0 : weights[rows is null ? i : rows[i]] * scale;

    /// <summary>prediction = b0 + X[rows, features] b, one column at a time (contiguous reads).</summary>
    /// <summary>Multiply-adds from which a prediction over all rows is split between threads.</summary>
    internal const long ParallelPredictMinWork = 1L << 21;

    /// <summary>
    /// prediction = intercept + X[rows, features] coef. Over all rows, with <paramref name="threads"/> &gt; 1 and enough work, the rows
    /// are split into that many contiguous ranges (starting at multiples of 64, so each value gets the same operations in the same
    /// order as one axpy per column over all rows: the result does not depend on the thread count), each range one axpy per column
    /// (a range is a long stream per column; slices of a few KB per column defeat the stream prefetcher).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Predict(
        DenseMatrix x, ReadOnlySpan<int> features, double intercept, ReadOnlySpan<double> coef, int[]? rows, Span<double> prediction,
        int threads = 1)
    {
        prediction.Fill(intercept);
        if (rows is null)
        {
            int n = prediction.Length, nonZero = 0;
            for (int j = 0; j < coef.Length; j++)
                if (coef[j] != 0) nonZero++;
            int parts = threads > 1 && (long)n * nonZero >= ParallelPredictMinWork ? Math.Min(threads, Math.Max(1, n / 4096)) : 1;
            if (parts == 1)
            {
                AddColumns(x, features, coef, 0, prediction);
                return;
            }
            int[] cols = features.ToArray();
            double[] b = coef.ToArray();
            unsafe
            {
                fixed (double* p = prediction)
                {
                    nint at = (nint)p;
                    Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
                    {
                        int start = (int)((long)n * t / parts) & ~63, end = t == parts - 1 ? n : (int)((long)n * (t + 1) / parts) & ~63;
                        AddColumns(x, cols, b, start, new Span<double>((double*)at + start, end - start));
                    });
                }
            }
            return;
        }
        for (int j = 0; j < features.Length; j++)
        {
            double b = coef[j];
            if (b == 0) continue;
            var column = x.Column(features[j]);
            for (int i = 0; i < rows.Length; i++)
                prediction[i] += b * column[rows[i]];
        }
    }

    /// <summary>
    /// Out-of-fold linear predictors: <c>eta[i] = intercepts[k] + X[i, features] coefs[k]</c> for the rows i of each fold k
    /// (<paramref name="foldRows"/>[k], ascending; other rows are left as they are), bit for bit <see cref="Predict"/> over each
    /// fold's rows (the same products added in column order, each fold's zero coefficients skipped), column by column over all
    /// folds: a column is read for every fold while it is in cache (fold by fold, every fold read the whole matrix again).
    /// With <paramref name="threads"/> &gt; 1 each thread takes a range of the rows of every fold.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PredictByFold(DenseMatrix x, int[] features, int[][] foldRows, double[] intercepts, double[][] coefs, double[] eta,
        int threads = 1)
    {
        int folds = foldRows.Length;
        if (intercepts.Length != folds || coefs.Length != folds) throw new ArgumentException("one intercept and one coefficient vector per fold");
        long work = 0;
        for (int k = 0; k < folds; k++)
        {
            int nonZero = 0;
            foreach (double b in coefs[k]) if (b != 0) nonZero++;
            work += (long)nonZero * foldRows[k].Length;
        }
        int parts = threads > 1 && work >= ParallelPredictMinWork ? threads : 1;
        if (parts == 1) AddByFold(x, features, foldRows, intercepts, coefs, eta, 0, int.MaxValue);
        else
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
                AddByFold(x, features, foldRows, intercepts, coefs, eta, (int)((long)eta.Length * t / parts),
                    t == parts - 1 ? int.MaxValue : (int)((long)eta.Length * (t + 1) / parts)));
    }

    /// <summary>The rows in [<paramref name="from"/>, <paramref name="to"/>) of every fold of <see cref="PredictByFold"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddByFold(DenseMatrix x, int[] features, int[][] foldRows, double[] intercepts, double[][] coefs, double[] eta,
        int from, int to)
    {
        int folds = foldRows.Length;
        // Each fold's predictions side by side in one buffer (contiguous adds), scattered to eta at the end.
        var first = new int[folds + 1];
        var end = new int[folds];
        var start = new int[folds + 1];
        for (int k = 0; k < folds; k++)
        {
            first[k] = LowerBound(foldRows[k], from);
            end[k] = LowerBound(foldRows[k], to);
            start[k + 1] = start[k] + end[k] - first[k];
        }
        var buffer = ArrayPool<double>.Shared.Rent(Math.Max(start[folds], 1));
        try
        {
            for (int k = 0; k < folds; k++) buffer.AsSpan(start[k], end[k] - first[k]).Fill(intercepts[k]);
            for (int j = 0; j < features.Length; j++)
            {
                var column = x.Column(features[j]);
                for (int k = 0; k < folds; k++)
                {
                    double b = coefs[k][j];
                    if (b == 0) continue;
                    var rows = foldRows[k].AsSpan(first[k], end[k] - first[k]);
                    var part = buffer.AsSpan(start[k], rows.Length);
                    for (int r = 0; r < rows.Length; r++) part[r] += b * column[rows[r]];
                }
            }
            for (int k = 0; k < folds; k++)
            {
                var rows = foldRows[k].AsSpan(first[k], end[k] - first[k]);
                var part = buffer.AsSpan(start[k], rows.Length);
                for (int r = 0; r < rows.Length; r++) eta[rows[r]] = part[r];
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>The first index of the ascending <paramref name="rows"/> whose value is at least <paramref name="value"/>.</summary>
    private static int LowerBound(int[] rows, int value)
    {
        int lo = 0, hi = rows.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (rows[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// prediction += X[start .. start + prediction.Length, features] coef over the nonzero coefficients, bit for bit one
    /// <see cref="Kernels.Vec.Axpy"/> per column: the whole vectors four columns per sweep of the prediction
    /// (<see cref="Kernels.ColumnKernels.AddScaled"/>: the prediction is loaded and stored once per four columns instead of once
    /// per column, each value still one fused multiply-add per column in column order, as the axpy's vector loop), the last
    /// values that fill no vector (and everything on the scalar tier) one axpy per column, whose scalar tail they are.
    /// </summary>
    private static void AddColumns(DenseMatrix x, ReadOnlySpan<int> features, ReadOnlySpan<double> coef, int start, Span<double> prediction)
    {
        int nonZero = 0;
        for (int j = 0; j < features.Length; j++)
            if (coef[j] != 0) nonZero++;
        if (nonZero == 0) return;
        var path = Kernels.KernelIsa.Current;
        int width = Kernels.KernelIsa.Lanes(path);
        int n = prediction.Length, body = path == Kernels.KernelPath.Scalar ? 0 : n - n % width;
        var offsets = ArrayPool<long>.Shared.Rent(nonZero);
        var a = ArrayPool<double>.Shared.Rent(nonZero);
        try
        {
            int q = 0;
            for (int j = 0; j < features.Length; j++)
            {
                if (coef[j] == 0) continue;
                offsets[q] = (long)features[j] * x.Rows + start;
                a[q++] = coef[j];
            }
            if (body > 0) Kernels.ColumnKernels.AddScaled(x.Data, offsets.AsSpan(0, q), a.AsSpan(0, q), prediction[..body]);
            if (body < n)
                for (int c = 0; c < q; c++)
                    Kernels.Vec.Axpy(a[c], x.Data.AsSpan((int)offsets[c] + body, n - body), prediction[body..]);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(offsets);
            ArrayPool<double>.Shared.Return(a);
        }
    }
}
