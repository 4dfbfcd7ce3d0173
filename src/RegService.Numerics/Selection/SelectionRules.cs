namespace RegService.Numerics.Selection;

/// <summary>cv.glmnet's choice of lambda from a validation curve.</summary>
public static class SelectionRules
{
    /// <summary>
    /// lambda.min: the lambda of least mean loss (ties go to the largest lambda); lambda.1se: the largest lambda whose mean is
    /// within one standard error (of the minimum's) of the minimum. Returns indices. With <paramref name="largerIsBetter"/>
    /// (auc) the means are negated first, as cv.glmnet's getOptcv: the largest mean, and the largest lambda within one standard
    /// error below it.
    /// </summary>
    public static (int Min, int OneSe) Select(IReadOnlyList<double> lambdas, IReadOnlyList<double> mean, IReadOnlyList<double> standardError,
        bool largerIsBetter = false)
    {
        if (largerIsBetter) mean = [.. mean.Select(m => -m)];
        int best = -1;
        for (int l = 0; l < lambdas.Count; l++)
        {
            if (double.IsNaN(mean[l])) continue;
            if (best < 0 || mean[l] < mean[best] || (mean[l] == mean[best] && lambdas[l] > lambdas[best])) best = l;
        }
        if (best < 0) throw new ArgumentException("the validation curve has no finite value");
        double se = standardError[best];
        double bound = mean[best] + (double.IsFinite(se) ? se : 0);
        int oneSe = best;
        for (int l = 0; l < lambdas.Count; l++)
            if (mean[l] <= bound && lambdas[l] > lambdas[oneSe]) oneSe = l;
        return (best, oneSe);
    }

    /// <summary>
    /// cv.glmnet's curve from per-fold mean losses (folds x lambdas) and fold sizes: the size-weighted mean,
    /// and sqrt(weighted mean of squared deviations / (K - 1)).
    /// </summary>
    public static (double[] Mean, double[] StandardError) KFoldCurve(double[][] foldLoss, int[] foldSize) =>
        KFoldCurve(foldLoss, [.. foldSize.Select(s => (double)s)]);

    /// <summary>The curve with each fold weighed by <paramref name="foldSize"/> (cv.glmnet with observation weights: the
    /// sum of the fold's weights). A fold whose loss is NaN at a lambda (auc of a fold holding one class) is left out of that
    /// lambda's weighted means, as cv.glmnet's cvstats (<c>na.rm = TRUE</c>; its N - 1 still counts every fold).</summary>
    public static (double[] Mean, double[] StandardError) KFoldCurve(double[][] foldLoss, double[] foldSize)
    {
        int folds = foldLoss.Length, count = foldLoss[0].Length;
        var mean = new double[count];
        var se = new double[count];
        for (int l = 0; l < count; l++)
        {
            double m = 0, total = 0;
            for (int k = 0; k < folds; k++)
                if (!double.IsNaN(foldLoss[k][l]))
                {
                    m += foldSize[k] * foldLoss[k][l];
                    total += foldSize[k];
                }
            m /= total;
            double spread = 0;
            for (int k = 0; k < folds; k++)
                if (!double.IsNaN(foldLoss[k][l])) spread += foldSize[k] * (foldLoss[k][l] - m) * (foldLoss[k][l] - m);
            mean[l] = m;
            se[l] = folds > 1 ? Math.Sqrt(spread / total / (folds - 1)) : double.NaN;
        }
        return (mean, se);
    }
}
