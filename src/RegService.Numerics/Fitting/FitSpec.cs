namespace RegService.Numerics.Fitting;

/// <summary>Distribution of the target.</summary>
public enum Family { Gaussian, Binomial }

/// <summary>Which penalty P(b) the objective carries.</summary>
public enum Penalty { None, Ridge, Lasso, ElasticNet }

/// <summary>How the penalty strength is chosen when several lambdas are fitted.</summary>
public enum ValidationMethod { None, Holdout }

/// <summary>Selection rule over the validation curve.</summary>
public enum SelectionRule { Min, OneStandardError }

/// <summary>Outcome of a fit, as data: a fit that did not converge still returns its coefficients.</summary>
public enum FitStatus { Converged, NotConverged, Canceled }

/// <summary>Holdout validation: a seeded random fraction of rows is kept out of training.</summary>
public sealed record HoldoutSpec(double Fraction, int Seed);

/// <summary>
/// One fit, as the engine sees it. Columns are indices into the data set's matrix.
/// The objective (glmnet's), for n rows:
/// <code>
/// gaussian: (1/2n) sum_i (y_i - b0 - x_i.b)^2 + lambda * P(b)
/// P(b) = sum_j [ (1 - l1Ratio)/2 * b_j^2 + l1Ratio * |b_j| ]
/// </code>
/// </summary>
public sealed record FitSpec
{
    public required int[] FeatureColumns { get; init; }
    public required string[] FeatureNames { get; init; }
    public required int TargetColumn { get; init; }
    public Family Family { get; init; } = Family.Gaussian;
    public Penalty Penalty { get; init; } = Penalty.Ridge;
    public double L1Ratio { get; init; }

    /// <summary>Penalty strengths, fitted in the order given.</summary>
    public required double[] Lambdas { get; init; }
    public bool Standardize { get; init; } = true;
    public bool FitIntercept { get; init; } = true;
    public HoldoutSpec? Holdout { get; init; }
    public SelectionRule Rule { get; init; } = SelectionRule.Min;

    /// <summary>
    /// Per-column shift used to center the Gram pass (for example the data set's column means);
    /// any value near the mean keeps the one-pass Gram accurate. Indexed like the matrix columns.
    /// </summary>
    public double[]? ColumnShift { get; init; }

    /// <summary>Threads the kernels may use; 0 means all processors.</summary>
    public int MaxThreads { get; init; }
}

/// <summary>Progress of a running fit: a fraction in [0, 1] and the stage in words.</summary>
public readonly record struct FitProgress(double Fraction, string Stage);
