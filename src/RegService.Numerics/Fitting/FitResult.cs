using RegService.Numerics.Metrics;

namespace RegService.Numerics.Fitting;

/// <summary>The model at one lambda.</summary>
public sealed record PathPoint(
    double Lambda,
    double Intercept,
    double[] Coefficients,
    double[] StandardizedCoefficients,
    int NonZero,
    RegressionMetrics? Validation);

/// <summary>What a fit returns. Coefficients are on the original scale, in FitSpec.FeatureNames order.</summary>
public sealed record FitResult
{
    public required FitStatus Status { get; init; }
    public required string Solver { get; init; }
    public required double Lambda { get; init; }
    public required double Intercept { get; init; }
    public required double[] Coefficients { get; init; }
    public required double[] StandardizedCoefficients { get; init; }
    public required string[] FeatureNames { get; init; }
    public required RegressionMetrics TrainMetrics { get; init; }
    public RegressionMetrics? ValidationMetrics { get; init; }
    public required PathPoint[] Path { get; init; }
    /// <summary>With validation: the lambda of least validation loss, and the largest within one standard error of it.</summary>
    public double? LambdaMin { get; init; }
    public double? Lambda1se { get; init; }
    public int TrainRows { get; init; }
    public int ValidationRows { get; init; }
    public int Iterations { get; init; }
    public double? DualityGap { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Feature means and scales used for standardization (scale 1 when standardize is off).</summary>
    public required double[] FeatureMeans { get; init; }
    public required double[] FeatureScales { get; init; }

    /// <summary>Named timings in seconds (gram, solve, metrics, total).</summary>
    public IReadOnlyDictionary<string, double> Timings { get; init; } = new Dictionary<string, double>();
}
