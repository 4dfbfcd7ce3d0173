namespace RegService.Numerics.Solvers;

/// <summary>One feature's standardization: z = (x - Center) / Scale, with Spread = (1/n) sum (x - Center)^2.</summary>
public readonly record struct FeatureScale(double Center, double Scale, double Spread, bool Excluded);

/// <summary>Every feature's <see cref="FeatureScale"/> of a fit (<see cref="Standardization.Features"/>): the centers, the
/// scales, the spreads (0 when excluded), the features left out and a warning for each.</summary>
public sealed record StandardizedFeatures(double[] Means, double[] Scales, double[] Spreads, bool[] Excluded, List<string> Warnings);

/// <summary>
/// The one standardization of the engine's solvers (glmnet's): features centered at their mean with an intercept
/// (at 0 without), divided by the 1/n standard deviation about the mean with <c>standardize</c> (1 without), with or
/// without an intercept and for every family (glmnet 4.1-6's Standardize1, LStandardize1 and MultLStandardize1: elnet,
/// lognet and fishnet alike; tests/fixtures/make_nointercept.R), and a feature whose variance is zero on the rows fitted
/// (relative to its mean: variance ≤ 1e-26 max(1, mean²)) left out with a warning, as glmnet's chkvars leaves out a
/// constant column with or without an intercept.
/// </summary>
public static class Standardization
{
    /// <summary>A variance at most this times max(1, mean²) is zero: the feature is constant up to rounding.</summary>
    public const double ZeroVariance = 1e-26;

    /// <summary>True when a feature with this mean and (1/n) variance is constant on the rows fitted.</summary>
    public static bool IsConstant(double mean, double variance) => variance <= ZeroVariance * Math.Max(1.0, mean * mean);

    /// <summary>The warning for a feature left out.</summary>
    public static string ZeroVarianceWarning(string feature) => $"feature '{feature}' has zero variance on the rows fitted; its coefficient is 0";

    /// <summary>
    /// A feature's center and scale from its mean and (1/n) variance about the mean. <paramref name="meanSquare"/>,
    /// (1/n) sum x^2, is used without an intercept when the caller has it summed directly (else variance + mean²).
    /// </summary>
    public static FeatureScale Of(double mean, double variance, bool fitIntercept, bool standardize, double? meanSquare = null)
    {
        double center = fitIntercept ? mean : 0.0;
        double spread = fitIntercept ? variance : meanSquare ?? variance + mean * mean;
        if (IsConstant(mean, variance)) return new FeatureScale(center, 1.0, spread, Excluded: true);
        double scale = standardize ? Math.Sqrt(variance) : 1.0;
        return new FeatureScale(center, scale > 0 ? scale : 1.0, spread, Excluded: false);
    }

    /// <summary>
    /// <see cref="Of"/> for every feature of a fit, named by <paramref name="featureNames"/>, from its moments on the rows
    /// fitted (<paramref name="moments"/>(j): the mean, the (1/n) variance about it, and the mean square when summed directly,
    /// else null); a feature left out gets its warning, in feature order. Called once per fit.
    /// </summary>
    public static StandardizedFeatures Features(string[] featureNames, bool fitIntercept, bool standardize,
                                                Func<int, (double Mean, double Variance, double? MeanSquare)> moments)
    {
        int p = featureNames.Length;
        var result = new StandardizedFeatures(new double[p], new double[p], new double[p], new bool[p], []);
        for (int j = 0; j < p; j++)
        {
            var (mean, variance, meanSquare) = moments(j);
            var scale = Of(mean, variance, fitIntercept, standardize, meanSquare);
            result.Means[j] = scale.Center;
            result.Scales[j] = scale.Scale;
            if (scale.Excluded)
            {
                result.Excluded[j] = true;
                result.Warnings.Add(ZeroVarianceWarning(featureNames[j]));
                continue;
            }
            result.Spreads[j] = scale.Spread;
        }
        return result;
    }
}
