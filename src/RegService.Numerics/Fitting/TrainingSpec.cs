namespace RegService.Numerics.Fitting;

/// <summary>
/// Early stopping: a seeded <see cref="ValidationFraction"/> of the rows is held out; training stops once the
/// validation loss has not improved by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs in a
/// row, and the weights of the best epoch are restored.
/// </summary>
public sealed record EarlyStoppingSpec(int Patience = 10, double MinDelta = 0, double ValidationFraction = 0.1);

/// <summary>
/// Noise augmentation for the stochastic solvers: each epoch sees <see cref="Copies"/> copies of every training
/// row, each with independent N(0, GaussianNoise²) noise added to its standardized features.
/// </summary>
public sealed record AugmentationSpec(double GaussianNoise, int Copies = 1);

/// <summary>
/// Polynomial expansion of the features: every power x_j^k for k ≤ <see cref="PolynomialDegree"/>, and with
/// <see cref="Interactions"/> every product of distinct features of total degree ≤ PolynomialDegree
/// (names like <c>x1^2</c>, <c>x1*x2</c>, <c>x1^2*x2</c>).
/// </summary>
public sealed record ExpansionSpec(int PolynomialDegree = 1, bool Interactions = false);

/// <summary>
/// Settings of the stochastic solvers (<see cref="SolverKind.Sgd"/>, <see cref="SolverKind.Adam"/>,
/// <see cref="SolverKind.AdamW"/>) and of the MLP. The objective is the spec's (loss + lambda P(b), one lambda);
/// <see cref="WeightDecay"/> is the optimizer's own decay: added to the gradient as WeightDecay·w by sgd and adam
/// (an L2 penalty), applied after the step as w -= LearningRate·WeightDecay·w by adamW (decoupled, Loshchilov and
/// Hutter). The L1 part of the penalty is applied by a proximal step.
/// </summary>
public sealed record TrainingSpec
{
    public int Epochs { get; init; } = 100;
    public int BatchSize { get; init; } = 32;

    /// <summary>Step size; null takes the solver's default (0.01 for sgd, 0.001 for adam and adamW).</summary>
    public double? LearningRate { get; init; }

    public double WeightDecay { get; init; }

    /// <summary>Seed of the row shuffles, dropout masks, noise and early-stopping split.</summary>
    public int Seed { get; init; }

    /// <summary>MLP: units per hidden layer (one or two layers).</summary>
    public int[] HiddenUnits { get; init; } = [];

    /// <summary>MLP: dropout rate per hidden layer, in [0, 1) (one value applies to every layer); empty means none.</summary>
    public double[] Dropout { get; init; } = [];

    public EarlyStoppingSpec? EarlyStopping { get; init; }
    public AugmentationSpec? Augmentation { get; init; }
}
