namespace RegService.Numerics.Training;

/// <summary>A stochastic fit's settings, every default filled in, as the trainer reads them.</summary>
internal sealed record TrainingSettings
{
    public required Family Family { get; init; }
    public required SolverKind Solver { get; init; }
    public required double Lambda { get; init; }
    public required double Alpha { get; init; }

    /// <summary>Penalty factors rescaled to sum to the number of features (glmnet's convention).</summary>
    public required double[] PenaltyFactors { get; init; }
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required double WeightDecay { get; init; }
    public required int Seed { get; init; }

    /// <summary>Units per hidden layer; empty for the linear model.</summary>
    public required int[] Hidden { get; init; }

    /// <summary>Dropout rate per hidden layer (null when no layer drops).</summary>
    public required double[]? Dropout { get; init; }
    public required EarlyStoppingSpec? EarlyStopping { get; init; }
    public required double NoiseSigma { get; init; }
    public required int Copies { get; init; }
    public required bool FitIntercept { get; init; }
    public required bool Standardize { get; init; }
    public required int MaxThreads { get; init; }

    public string SolverName => SpecNames.Of(Solver);

    /// <summary>
    /// The settings of <paramref name="spec"/>, a stochastic fit that passed <see cref="FitSpec.Check"/> (FitEngine resolves
    /// every spec first); defaults come from <see cref="FitSpec.ChosenSolver"/> and <see cref="TrainingSpec.Resolved"/>.
    /// </summary>
    public static TrainingSettings From(FitSpec spec, int rows)
    {
        var solver = spec.ChosenSolver;
        if (!spec.Stochastic) throw new ArgumentException($"solver {SpecNames.Of(solver)} is not a stochastic solver", nameof(spec));
        var training = (spec.Training ?? new TrainingSpec()).Resolved(solver, spec.Model);
        var hidden = spec.Model == ModelKind.Mlp ? training.HiddenUnits! : [];
        var perLayer = training.DropoutPerLayer(hidden.Length);
        double[]? dropout = perLayer.Any(r => r != 0) ? perLayer : null;
        return new TrainingSettings
        {
            Family = spec.Family,
            Solver = solver,
            Lambda = spec.Lambdas is [var one] ? one : 0,
            Alpha = spec.Alpha,
            PenaltyFactors = LambdaGrid.RescalePenaltyFactors(spec.PenaltyFactors, spec.FeatureColumns.Length),
            Epochs = training.Epochs!.Value,
            BatchSize = training.BatchSize!.Value,
            LearningRate = training.LearningRate!.Value,
            WeightDecay = training.WeightDecay!.Value,
            Seed = training.Seed!.Value,
            Hidden = hidden,
            Dropout = dropout,
            EarlyStopping = training.EarlyStopping,
            NoiseSigma = training.Augmentation?.GaussianNoise ?? 0,
            Copies = training.Augmentation?.Copies ?? 1,
            FitIntercept = spec.FitIntercept,
            Standardize = spec.Standardize,
            MaxThreads = spec.MaxThreads,
        };
    }
}
