namespace RegService.Numerics.Paths;

/// <summary>How one solution path is fitted: penalty, lambdas and solver settings, family-independent.</summary>
public sealed record PathSettings
{
    /// <summary>l1Ratio: 1 lasso, 0 ridge, between elastic net.</summary>
    public required double Alpha { get; init; }

    /// <summary>Penalty factors per feature, already rescaled to sum to the number of features.</summary>
    public required double[] PenaltyFactors { get; init; }

    /// <summary>
    /// Coefficient bounds per feature on the original scale (glmnet's lower.limits / upper.limits): lower ≤ 0 ≤ upper,
    /// infinite for none; null is unbounded. Solvers clamp the standardized coefficient at bound × scale.
    /// </summary>
    public double[]? LowerLimits { get; init; }

    /// <inheritdoc cref="LowerLimits"/>
    public double[]? UpperLimits { get; init; }

    /// <summary>True when some coefficient has a finite bound.</summary>
    public bool Bounded => CoefficientBounds.AnyFinite(LowerLimits) || CoefficientBounds.AnyFinite(UpperLimits);

    /// <summary>
    /// The deviance-ratio gain below which a generated path stops (glmnet's fdev), adjusted as glmnet does for bounds: with a bound at 0 glmnet
    /// sets fdev to 0 (a coefficient held at 0 leaves the deviance unchanged, which would end the path), so only a falling
    /// deviance ratio or one past 0.999 stops it.
    /// </summary>
    public double DevianceStep => CoefficientBounds.AnyZero(LowerLimits) || CoefficientBounds.AnyZero(UpperLimits) ? 0 : LambdaGrid.DevianceStep;

    /// <summary>
    /// Where the solve starts instead of the intercept-only model: an original-scale intercept and coefficients (one per
    /// feature, inside the bounds), as the relaxed lasso's refits start from the fit they refit (<see cref="RelaxedPath"/>).
    /// Taken by proximal Newton; the null deviance is still the intercept-only model's.
    /// </summary>
    public PathStart? Start { get; init; }

    /// <summary>Explicit lambdas, fitted in order without early stop; or null to generate <see cref="Generate"/>.</summary>
    public double[]? Lambdas { get; init; }
    public LambdaPathSpec? Generate { get; init; }
    public bool Standardize { get; init; } = true;
    public bool FitIntercept { get; init; } = true;

    /// <summary>glmnet's thresh: the largest weighted squared coefficient change per pass, relative to the null deviance per row.</summary>
    public double Tolerance { get; init; } = FitSpec.DefaultTolerance;

    /// <summary>What ends a coordinate-descent solve at one lambda: glmnet's rule (default) or the duality gap.</summary>
    public StoppingRule Stopping { get; init; } = StoppingRule.Glmnet;

    /// <summary>Limit on passes over the whole path (glmnet's maxit).</summary>
    public int MaxIterations { get; init; } = FitSpec.DefaultMaxIterations;
    public int MaxThreads { get; init; }

    /// <summary>
    /// Keep the completed prefix instead of throwing work away (<see cref="PathDriver"/>): a cancellation after at least one
    /// lambda returns the lambdas finished so far, and a path-spanning budget (<see cref="IPointSolver.BudgetSpansPath"/>) that
    /// runs out after at least one lambda ends the path at the last lambda fitted within it (glmnet's maxit: the fit up to
    /// lambda k - 1). Off, a cancellation throws and a spent budget leaves the remaining lambdas unconverged.
    /// </summary>
    public bool KeepPartial { get; init; }

    /// <summary>
    /// The checks a path solver makes of these settings for <paramref name="features"/> feature columns with
    /// <paramref name="names"/> names (the engine's callers have checked the spec; these guard direct use).
    /// </summary>
    internal void CheckFor(int features, int names)
    {
        if (names != features) throw new ArgumentException("one name per feature column is needed");
        if (PenaltyFactors.Length != features)
            throw new ArgumentException($"{PenaltyFactors.Length} penalty factors for {features} features");
        if (!(Alpha >= 0 && Alpha <= 1)) throw new ArgumentException("alpha (l1Ratio) must be in [0, 1]");
        if (!(Tolerance > 0)) throw new ArgumentException("tolerance must be positive");
    }
}

/// <summary>A starting point of a path solve (<see cref="PathSettings.Start"/>): original-scale intercept and coefficients.</summary>
public sealed record PathStart(double Intercept, double[] Coefficients);

/// <summary>Why a path (and the fit built on it) ended before its last lambda: only with <see cref="PathSettings.KeepPartial"/>.</summary>
public enum PartialReason
{
    /// <summary>The fit's cancellation token fired (a cancel, or a time limit the caller enforces through it).</summary>
    Canceled,

    /// <summary>The path-spanning iteration budget ran out.</summary>
    MaxIterations,
}

/// <summary>A fitted path on one set of rows. Points carry original-scale coefficients and no validation.</summary>
public sealed class PathFit
{
    public required double[] Lambdas { get; init; }
    public required PathPoint[] Points { get; init; }
    public required double[] FeatureMeans { get; init; }
    public required double[] FeatureScales { get; init; }

    /// <summary>Null deviance per row (gaussian: the target's variance about its mean; binomial: -2/n log-likelihood of the intercept-only model).</summary>
    public required double NullDeviance { get; init; }
    public required int Rows { get; init; }
    public List<string> Warnings { get; init; } = [];

    /// <summary>True when a generated path stopped before its count (deviance ratio saturated or stalled).</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>With <see cref="StoppedEarly"/>, what stopped it, in words (<see cref="LambdaGrid.StopReason"/>, or the solver's end).</summary>
    public string? StopReason { get; init; }

    /// <summary>Non-null when the path holds only the lambdas completed before a cancellation or a spent budget (<see cref="PathSettings.KeepPartial"/>).</summary>
    public PartialReason? Partial { get; init; }

    public int Iterations => Points.Sum(p => p.Iterations);
}
