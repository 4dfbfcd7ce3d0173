namespace RegService.Numerics.Fitting;

/// <summary>
/// Early stopping: a seeded <see cref="ValidationFraction"/> of the rows is held out; training stops once the
/// validation loss has not improved by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs in a
/// row, and the weights of the best epoch are restored.
/// </summary>
public sealed record EarlyStoppingSpec(
    int Patience = EarlyStoppingSpec.DefaultPatience, double MinDelta = 0, double ValidationFraction = EarlyStoppingSpec.DefaultValidationFraction)
{
    public const int DefaultPatience = 10;
    public const double DefaultValidationFraction = 0.1;
}

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
/// Hutter). The L1 part of the penalty is applied by a proximal step. A null setting takes its default
/// (<see cref="Resolved"/>); a setting given to a solver that does not use it is a fault of the spec.
/// </summary>
public sealed record TrainingSpec
{
    public const int DefaultEpochs = 100;
    public const int MaxEpochs = 100_000;
    public const int DefaultBatchSize = 32;
    public const double DefaultSgdLearningRate = 0.01;
    public const double DefaultAdamLearningRate = 0.001;

    /// <summary>Units of the one hidden layer of an MLP given none (scikit-learn's MLPRegressor default).</summary>
    public const int DefaultHiddenUnits = 100;
    public const int MaxHiddenUnits = 4096;
    public const int MaxCopies = 1000;

    /// <summary>Passes over the training rows, 1 to <see cref="MaxEpochs"/>; default <see cref="DefaultEpochs"/>.</summary>
    public int? Epochs { get; init; }

    /// <summary>Rows per mini-batch, >= 1; default <see cref="DefaultBatchSize"/>.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Step size; null takes the solver's default (0.01 for sgd, 0.001 for adam and adamW).</summary>
    public double? LearningRate { get; init; }

    /// <summary>Weight decay, >= 0; default 0.</summary>
    public double? WeightDecay { get; init; }

    /// <summary>Seed of the row shuffles, dropout masks, noise and early-stopping split; default 0.</summary>
    public int? Seed { get; init; }

    /// <summary>MLP: units per hidden layer (one or two layers); default one layer of <see cref="DefaultHiddenUnits"/>.</summary>
    public int[]? HiddenUnits { get; init; }

    /// <summary>MLP: dropout rate per hidden layer, in [0, 1) (one value applies to every layer); null or empty means none.</summary>
    public double[]? Dropout { get; init; }

    public EarlyStoppingSpec? EarlyStopping { get; init; }
    public AugmentationSpec? Augmentation { get; init; }

    /// <summary>The dropout rate of each of <paramref name="hiddenLayers"/> hidden layers: one rate given applies to every
    /// layer, none given is 0 everywhere.</summary>
    public double[] DropoutPerLayer(int hiddenLayers)
    {
        var rates = Dropout ?? [];
        return [.. Enumerable.Range(0, hiddenLayers).Select(l => rates.Length == 0 ? 0 : rates.Length == 1 ? rates[0] : rates[l])];
    }

    /// <summary>Every null setting replaced by its default for <paramref name="solver"/> (sgd, adam or adamW) and <paramref name="model"/>.</summary>
    public TrainingSpec Resolved(SolverKind solver, ModelKind model) => this with
    {
        Epochs = Epochs ?? DefaultEpochs,
        BatchSize = BatchSize ?? DefaultBatchSize,
        LearningRate = LearningRate ?? (solver == SolverKind.Sgd ? DefaultSgdLearningRate : DefaultAdamLearningRate),
        WeightDecay = WeightDecay ?? 0,
        Seed = Seed ?? 0,
        HiddenUnits = HiddenUnits ?? (model == ModelKind.Mlp ? [DefaultHiddenUnits] : []),
        Dropout = Dropout ?? [],
    };
}
