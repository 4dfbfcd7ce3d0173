namespace RegService.Numerics.Selection;

/// <summary>
/// What validation scores each lambda by: cv.glmnet's <c>type.measure</c>. Which measures a family takes, and its default
/// (the first), is the family's (<see cref="GlmFamily.Measures"/>); the per-row losses too (<see cref="GlmFamily.RowLoss"/>).
/// </summary>
public enum ValidationMeasure
{
    /// <summary>Mean deviance per row (gaussian: the squared error, cv.glmnet's deviance for elnet; binomial and multinomial with
    /// probabilities clamped to [1e-5, 1 - 1e-5]).</summary>
    Deviance,

    /// <summary>Mean squared error of the mean response (binomial: (y - p)^2 over both classes, 2 (y - p)^2; multinomial: the
    /// sum over the classes of (y_k - p_k)^2).</summary>
    Mse,

    /// <summary>Mean absolute error of the mean response (binomial: 2 |y - p|; multinomial: the sum over the classes of |y_k - p_k|).</summary>
    Mae,

    /// <summary>Misclassification rate (binomial: class 1 when p &gt; 0.5, as cv.glmnet; multinomial: the most probable class, the first of ties).</summary>
    Class,

    /// <summary>Area under the ROC curve per fold (binomial): the larger the better.</summary>
    Auc,
}

/// <summary>cv.glmnet's rules about the measures that are not one family's: which direction is best, and auc's fallback.</summary>
public static class ValidationMeasures
{
    /// <summary>cv.glmnet's least number of rows per fold for auc (cv.lognet: fewer, and it scores by deviance instead).</summary>
    public const int MinAucRowsPerFold = 10;

    /// <summary>True for the measures where the largest value is best (auc: cv.glmnet's getOptcv negates it).</summary>
    public static bool LargerIsBetter(ValidationMeasure measure) => measure == ValidationMeasure.Auc;

    /// <summary>
    /// The measure a fit scores by and why it is not the one asked for: the spec's (its family's default when none), except
    /// that auc falls back to deviance as cv.lognet does when the rows are fewer than <see cref="MinAucRowsPerFold"/> per fold
    /// (rows / folds; a holdout: the held-out rows), or when a holdout's held-out rows hold one class (their AUC is undefined).
    /// </summary>
    public static (ValidationMeasure Measure, string? Warning) Effective(FitSpec spec, Folds? folds, ReadOnlySpan<double> y)
    {
        var measure = spec.Measure ?? GlmFamily.For(spec.Family).Measures[0];
        if (measure != ValidationMeasure.Auc || folds is null) return (measure, null);
        int rows = folds.IsHoldout ? folds.Rows[0].Length : y.Length;
        if (rows < MinAucRowsPerFold * folds.Count)
            return (ValidationMeasure.Deviance, folds.IsHoldout
                ? $"measure auc needs at least {MinAucRowsPerFold} held-out rows (cv.glmnet's rule per fold); {rows} are held out, so validation scored deviance instead"
                : $"measure auc needs at least {MinAucRowsPerFold} rows per fold (cv.glmnet's rule); {y.Length} rows in {folds.Count} folds have {(double)y.Length / folds.Count:G3}, so validation scored deviance instead (as cv.glmnet); use fewer folds");
        if (folds.IsHoldout)
        {
            var held = folds.Rows[0];
            double first = y[held[0]];
            bool one = true;
            foreach (int i in held) one &= y[i] == first;
            if (one)
                return (ValidationMeasure.Deviance,
                    $"measure auc needs both classes among the held-out rows; all {held.Length} are {first}, so validation scored deviance instead");
        }
        return (measure, null);
    }

    /// <summary>
    /// The standard error of an AUC from <paramref name="positives"/> and <paramref name="negatives"/> rows (weighted counts):
    /// Hanley and McNeil (1982), sqrt((A(1 - A) + (n1 - 1)(Q1 - A^2) + (n0 - 1)(Q2 - A^2)) / (n1 n0)), Q1 = A / (2 - A),
    /// Q2 = 2A^2 / (1 + A). A holdout's standard error of auc (k-fold takes the spread of the folds' AUCs, as cv.glmnet).
    /// </summary>
    public static double AucStandardError(double auc, double positives, double negatives)
    {
        if (!double.IsFinite(auc) || !(positives > 0) || !(negatives > 0)) return double.NaN;
        double q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc), a2 = auc * auc;
        double v = (auc * (1 - auc) + (positives - 1) * (q1 - a2) + (negatives - 1) * (q2 - a2)) / (positives * negatives);
        return Math.Sqrt(Math.Max(v, 0));
    }
}
