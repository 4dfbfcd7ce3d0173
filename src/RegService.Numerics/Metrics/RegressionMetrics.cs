using RegService.Numerics.Data;

namespace RegService.Numerics.Metrics;

/// <summary>Gaussian-family metrics on a set of rows.</summary>
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

    /// <summary>Metrics of predictions <c>b0 + X[rows, features] b</c> against <c>y</c>.</summary>
    public static RegressionMetrics Compute(
        DenseMatrix x, ReadOnlySpan<int> features, int target, double intercept, ReadOnlySpan<double> coef, int[]? rows)
    {
        int m = rows?.Length ?? x.Rows;
        if (m == 0) return new RegressionMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var prediction = new double[m];
        Predict(x, features, intercept, coef, rows, prediction);
        return FromPredictions(x.Column(target), prediction, rows);
    }

    /// <summary>Metrics of <paramref name="prediction"/> (one per scored row; overwritten) against y[rows] (all of y when rows is null).</summary>
    public static RegressionMetrics FromPredictions(ReadOnlySpan<double> y, double[] prediction, int[]? rows = null)
    {
        int m = prediction.Length;
        if (m == 0) return new RegressionMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        double mean = 0;
        for (int i = 0; i < m; i++) mean += y[rows is null ? i : rows[i]];
        mean /= m;
        double sse = 0, sae = 0, sst = 0;
        for (int i = 0; i < m; i++)
        {
            double yi = y[rows is null ? i : rows[i]];
            double e = yi - prediction[i];
            prediction[i] = e * e;   // keep the squared error for its standard error
            sse += e * e;
            sae += Math.Abs(e);
            sst += (yi - mean) * (yi - mean);
        }
        double mse = sse / m, spread = 0;
        for (int i = 0; i < m; i++) spread += (prediction[i] - mse) * (prediction[i] - mse);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;
        return new RegressionMetrics(m, mse, Math.Sqrt(mse), sae / m, sst > 0 ? 1 - sse / sst : double.NaN, se);
    }

    /// <summary>prediction = b0 + X[rows, features] b, one column at a time (contiguous reads).</summary>
    public static void Predict(
        DenseMatrix x, ReadOnlySpan<int> features, double intercept, ReadOnlySpan<double> coef, int[]? rows, Span<double> prediction)
    {
        prediction.Fill(intercept);
        for (int j = 0; j < features.Length; j++)
        {
            double b = coef[j];
            if (b == 0) continue;
            var column = x.Column(features[j]);
            if (rows is null)
            {
                Kernels.Vec.Axpy(b, column, prediction);
            }
            else
            {
                for (int i = 0; i < rows.Length; i++)
                    prediction[i] += b * column[rows[i]];
            }
        }
    }
}
