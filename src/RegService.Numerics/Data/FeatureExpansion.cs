using RegService.Numerics.Fitting;

namespace RegService.Numerics.Data;

// PLACEHOLDER (replaced by the feature-expansion work).
public static class FeatureExpansion
{
    /// <summary>The expanded matrix [expanded features..., target] and the spec that fits it.</summary>
    public static (DenseMatrix X, FitSpec Spec) Apply(DenseMatrix x, FitSpec spec) =>
        throw new ArgumentException("polynomial expansion is not available yet");
}
