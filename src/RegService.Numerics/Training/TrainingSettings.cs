using System.Globalization;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Training;

/// <summary>A stochastic fit's settings, checked and with every default filled in.</summary>
internal sealed record TrainingSettings
{
    public const double DefaultSgdLearningRate = 0.01;
    public const double DefaultAdamLearningRate = 0.001;

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

    public string SolverName => Solver switch
    {
        SolverKind.Sgd => "sgd",
        SolverKind.Adam => "adam",
        _ => "adamW",
    };

    /// <summary>
    /// Checks <paramref name="spec"/> for a stochastic fit on <paramref name="rows"/> rows and resolves its defaults.
    /// Bad values throw <see cref="ArgumentException"/> naming the setting.
    /// </summary>
    public static TrainingSettings From(FitSpec spec, int rows)
    {
        var training = spec.Training ?? new TrainingSpec();
        var solver = spec.Solver switch
        {
            SolverKind.Sgd or SolverKind.Adam or SolverKind.AdamW => spec.Solver,
            SolverKind.Auto when spec.Model == ModelKind.Mlp => SolverKind.AdamW,
            _ => throw new ArgumentException(
                $"solver {spec.Solver} cannot fit an MLP: use sgd, adam or adamW (or auto, which takes adamW)", nameof(spec.Solver)),
        };
        if (spec.Path is not null)
            throw new ArgumentException("the stochastic solvers (sgd, adam, adamW) fit one lambda: give lambdas with one value, not a path", "path");
        double lambda = spec.Lambdas switch
        {
            null => spec.Penalty == Penalty.None ? 0
                : throw new ArgumentException("the stochastic solvers (sgd, adam, adamW) need one lambda", "lambdas"),
            [var one] => one,
            _ => throw new ArgumentException(
                $"the stochastic solvers (sgd, adam, adamW) fit one lambda; {spec.Lambdas.Length} were given", "lambdas"),
        };
        if (!double.IsFinite(lambda) || lambda < 0) throw new ArgumentException($"lambda {lambda} is not a finite non-negative number", "lambdas");
        if (spec.Penalty == Penalty.None && lambda != 0) throw new ArgumentException("penalty none takes lambda 0 only", "lambdas");
        if (spec.Validation != ValidationMethod.None)
            throw new ArgumentException(
                $"validation {spec.Validation} is not available with the stochastic solvers: use training.earlyStopping, whose held-out rows are scored",
                "validation");

        if (training.Epochs < 1) throw Bad("training.epochs", training.Epochs, "must be at least 1");
        if (training.BatchSize < 1) throw Bad("training.batchSize", training.BatchSize, "must be at least 1");
        if (training.LearningRate is { } lr && (!double.IsFinite(lr) || lr <= 0))
            throw Bad("training.learningRate", lr, "must be a positive number");
        if (!double.IsFinite(training.WeightDecay) || training.WeightDecay < 0)
            throw Bad("training.weightDecay", training.WeightDecay, "must be a finite number >= 0");

        var hidden = training.HiddenUnits ?? [];
        if (spec.Model == ModelKind.Mlp)
        {
            if (hidden.Length is < 1 or > 2) throw new ArgumentException($"training.hiddenUnits: an MLP has 1 or 2 hidden layers; {hidden.Length} were given", "training.hiddenUnits");
            foreach (var h in hidden)
                if (h is < 1 or > 4096) throw Bad("training.hiddenUnits", h, "must be between 1 and 4096 units per layer");
        }
        else if (hidden.Length > 0)
            throw new ArgumentException("training.hiddenUnits is for the MLP (model mlp); the linear model has no hidden layer", "training.hiddenUnits");

        double[]? dropout = null;
        var rates = training.Dropout ?? [];
        if (rates.Length > 0)
        {
            if (spec.Model != ModelKind.Mlp) throw new ArgumentException("training.dropout applies to hidden layers: it needs model mlp", "training.dropout");
            if (rates.Length != 1 && rates.Length != hidden.Length)
                throw new ArgumentException($"training.dropout: give one rate, or one per hidden layer ({hidden.Length}); {rates.Length} were given", "training.dropout");
            foreach (var r in rates)
                if (!(r >= 0 && r < 1)) throw Bad("training.dropout", r, "must be in [0, 1)");
            dropout = [.. Enumerable.Range(0, hidden.Length).Select(l => rates.Length == 1 ? rates[0] : rates[l])];
            if (dropout.All(r => r == 0)) dropout = null;
        }

        if (training.EarlyStopping is { } early)
        {
            if (early.Patience < 1) throw Bad("training.earlyStopping.patience", early.Patience, "must be at least 1");
            if (!double.IsFinite(early.MinDelta) || early.MinDelta < 0) throw Bad("training.earlyStopping.minDelta", early.MinDelta, "must be a finite number >= 0");
            if (!(early.ValidationFraction > 0 && early.ValidationFraction < 1))
                throw Bad("training.earlyStopping.validationFraction", early.ValidationFraction, "must be in (0, 1)");
            if (rows < 3) throw new ArgumentException($"training.earlyStopping needs at least 3 rows (1 to validate, 2 to train); there are {rows}", "training.earlyStopping");
        }
        double sigma = 0;
        int copies = 1;
        if (training.Augmentation is { } augmentation)
        {
            if (!double.IsFinite(augmentation.GaussianNoise) || augmentation.GaussianNoise < 0)
                throw Bad("training.augmentation.gaussianNoise", augmentation.GaussianNoise, "must be a finite number >= 0");
            if (augmentation.Copies is < 1 or > 1000) throw Bad("training.augmentation.copies", augmentation.Copies, "must be between 1 and 1000");
            sigma = augmentation.GaussianNoise;
            copies = augmentation.Copies;
        }
        if (rows < 1) throw new ArgumentException("no rows to train on");

        return new TrainingSettings
        {
            Family = spec.Family,
            Solver = solver,
            Lambda = lambda,
            Alpha = spec.Penalty switch { Penalty.Lasso => 1.0, Penalty.ElasticNet => spec.L1Ratio, _ => 0.0 },
            PenaltyFactors = LambdaGrid.RescalePenaltyFactors(spec.PenaltyFactors, spec.FeatureColumns.Length),
            Epochs = training.Epochs,
            BatchSize = training.BatchSize,
            LearningRate = training.LearningRate ?? (solver == SolverKind.Sgd ? DefaultSgdLearningRate : DefaultAdamLearningRate),
            WeightDecay = training.WeightDecay,
            Seed = training.Seed,
            Hidden = spec.Model == ModelKind.Mlp ? hidden : [],
            Dropout = dropout,
            EarlyStopping = training.EarlyStopping,
            NoiseSigma = sigma,
            Copies = copies,
            FitIntercept = spec.FitIntercept,
            Standardize = spec.Standardize,
            MaxThreads = spec.MaxThreads,
        };
    }

    private static ArgumentException Bad(string setting, double value, string rule) =>
        new($"{setting} {rule}; got {value.ToString(CultureInfo.InvariantCulture)}", setting);
}
