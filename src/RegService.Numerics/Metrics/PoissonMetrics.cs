namespace RegService.Numerics.Metrics;

/// <summary>Poisson-family metrics on a set of rows (a count target, predicted mean mu = e^eta); with observation weights,
/// every mean is the weighted mean (the weights normalized to sum to the rows scored).</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="Deviance">The deviance 2 sum w [y log(y/mu) - (y - mu)] (y log y = 0 at y = 0).</param>
/// <param name="MeanDeviance">Mean poisson deviance per row (scikit-learn's mean_poisson_deviance; cv.glmnet's type.measure "deviance").</param>
/// <param name="DevianceRatio">1 - deviance / null deviance, the null model predicting the (weighted) mean count of the same
/// rows (without an offset; the path's deviance ratio, glmnet's dev.ratio, takes the null model with the offset).</param>
/// <param name="Mae">Mean absolute error of the mean mu.</param>
/// <param name="Rmse">Root mean squared error of the mean mu.</param>
/// <param name="DevianceStandardError">Standard error of <paramref name="MeanDeviance"/>: sd of the per-row deviances / sqrt(rows).</param>
public sealed record PoissonMetrics(int Rows, double Deviance, double MeanDeviance, double DevianceRatio, double Mae, double Rmse,
    double DevianceStandardError) : IFitMetrics
{
    double IFitMetrics.Loss => MeanDeviance;
    double IFitMetrics.LossStandardError => DevianceStandardError;

    /// <summary>Metrics of linear predictors <paramref name="eta"/> against counts <paramref name="y"/>, weighted by <paramref name="weights"/> (indexed like y) when given.</summary>
    public static PoissonMetrics FromLinearPredictor(ReadOnlySpan<double> y, ReadOnlySpan<double> eta, double[]? weights = null)
    {
        if (y.Length != eta.Length) throw new ArgumentException("y and eta differ in length");
        int m = y.Length;
        var nan = new PoissonMetrics(m, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        if (m == 0) return nan;
        var w = ClassificationMetrics.Normalized(weights, m);
        if (w is null) return nan;
        var family = Fitting.GlmFamily.Poisson;
        double mean = 0;
        for (int i = 0; i < m; i++) mean += w[i] * y[i];
        mean /= m;
        var rowDeviance = new double[m];
        double deviance = 0, nullDeviance = 0, sae = 0, sse = 0;
        for (int i = 0; i < m; i++)
        {
            double mu = family.Mean(eta[i]);
            rowDeviance[i] = 2 * (XLogX(y[i]) - y[i] * Math.Log(mu) - (y[i] - mu));
            deviance += w[i] * rowDeviance[i];
            nullDeviance += w[i] * 2 * (XLogX(y[i]) - y[i] * Math.Log(mean) - (y[i] - mean));
            sae += w[i] * Math.Abs(y[i] - mu);
            sse += w[i] * (y[i] - mu) * (y[i] - mu);
        }
        double meanDeviance = deviance / m, spread = 0;
        for (int i = 0; i < m; i++) spread += w[i] * (rowDeviance[i] - meanDeviance) * (rowDeviance[i] - meanDeviance);
        double se = m > 1 ? Math.Sqrt(spread / (m - 1) / m) : double.NaN;
        return new PoissonMetrics(m, deviance, meanDeviance, nullDeviance > 0 ? 1 - deviance / nullDeviance : double.NaN,
            sae / m, Math.Sqrt(sse / m), se);
    }

    private static double XLogX(double y) => y > 0 ? y * Math.Log(y) : 0.0;
}
