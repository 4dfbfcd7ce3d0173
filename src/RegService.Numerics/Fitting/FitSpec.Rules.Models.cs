using static RegService.Numerics.Fitting.SpecNames;

namespace RegService.Numerics.Fitting;

/// <summary>The spec's rules for what a model or family takes beyond the linear path: model bayesianRidge, the stochastic
/// solvers' training settings, family poisson's solver and the relaxed lasso (FitSpec.Rules.cs runs them all).</summary>
public sealed partial record FitSpec
{
    /// <summary>Most fitted features of model bayesianRidge (its posterior covariance is stored, p² values).</summary>
    public const int MaxBayesianFeatures = 1000;

    /// <summary>How messages name the stochastic trainer: "an MLP", or the solver.</summary>
    private string Trainer => Model == ModelKind.Mlp ? "an MLP" : Of(ChosenSolver);

    /// <summary>
    /// Model bayesianRidge: gaussian, the ridge prior (penalty ridge, the default) without penalty factors, no lambdas, path
    /// or validation (evidence chooses the precisions), at most <see cref="MaxBayesianFeatures"/> fitted features (the
    /// posterior covariance is stored with the fit); its settings in range. The settings belong to that model only.
    /// </summary>
    private void CheckBayesian(int fitted, Action<string, string> add)
    {
        if (Model != ModelKind.BayesianRidge)
        {
            if (Bayesian is not null) add("bayesian", $"applies to model bayesianRidge only; model is {Of(Model)}");
            return;
        }
        const string Why = "model bayesianRidge chooses the weight precision (its lambda) by evidence";
        if (Family != Family.Gaussian)
            add("family", $"model bayesianRidge is a gaussian model (scikit-learn's BayesianRidge); family is {Of(Family)}: use model linear for {Of(Family)}");
        if (Penalty != Penalty.Ridge)
            add("penalty", $"model bayesianRidge puts a Gaussian (ridge) prior on the weights; penalty {Of(Penalty)} does not apply (omit it, or give ridge)");
        if (Lambdas is not null) add("lambdas", $"{Why}; give no lambda");
        if (Path is not null) add("path", $"{Why}; give no path");
        if (PenaltyFactors is not null) add("penaltyFactors", "model bayesianRidge has one weight precision for every feature; drop penaltyFactors");
        if (Validation != ValidationMethod.None) add("validation", $"{Why}, not by validation; use validation none");
        if (fitted > MaxBayesianFeatures)
            add("featureColumns", $"model bayesianRidge fits at most {MaxBayesianFeatures} features (its {fitted} x {fitted} posterior covariance is kept with the fit); got {fitted}");
        if (Bayesian is not { } b) return;
        void Hyper(string name, double value)
        {
            if (!(double.IsFinite(value) && value >= 0))
                add($"bayesian.{name}", $"must be a finite number >= 0 (a Gamma hyperprior's shape or rate; scikit-learn's default 1e-6); got {Show(value)}");
        }
        Hyper("alpha1", b.Alpha1);
        Hyper("alpha2", b.Alpha2);
        Hyper("lambda1", b.Lambda1);
        Hyper("lambda2", b.Lambda2);
        if (b.MaxIterations is < 1 or > BayesianSpec.MaxIterationsLimit)
            add("bayesian.maxIterations", $"must be from 1 to {BayesianSpec.MaxIterationsLimit}; got {b.MaxIterations}");
        if (!(double.IsFinite(b.Tolerance) && b.Tolerance > 0))
            add("bayesian.tolerance", $"must be a positive number (the sum of absolute coefficient changes that stops the iteration); got {Show(b.Tolerance)}");
    }

    private void CheckTraining(int rows, Action<string, string> add)
    {
        if (Stochastic)
        {
            // The stochastic solvers fit one lambda, and early stopping is their validation.
            if (Path is not null) add("path", $"{Trainer} trains at one lambda; give one lambda (default 0), not a path");
            if (Lambdas is { Length: > 1 } several) add("lambdas", $"{Trainer} trains at one lambda; {several.Length} were given");
        }
        if (Training is not { } t) return;
        bool mlp = Model == ModelKind.Mlp;
        if (!Stochastic)
        {
            var why = $"applies to the stochastic solvers (solver sgd, adam or adamW, or model mlp); solver is {Of(Solver)}";
            if (t.Epochs is not null) add("training.epochs", why);
            if (t.BatchSize is not null) add("training.batchSize", why);
            if (t.LearningRate is not null) add("training.learningRate", why);
            if (t.WeightDecay is not null) add("training.weightDecay", why);
            if (t.Seed is not null) add("training.seed", why);
            if (t.EarlyStopping is not null) add("training.earlyStopping", why);
            if (t.Augmentation is not null) add("training.augmentation", why);
        }
        if (t.Epochs is { } epochs && epochs is < 1 or > TrainingSpec.MaxEpochs)
            add("training.epochs", $"must be from 1 to {TrainingSpec.MaxEpochs}; got {epochs}");
        if (t.BatchSize is < 1) add("training.batchSize", $"must be at least 1 row; got {t.BatchSize}");
        if (t.LearningRate is { } lr && !(double.IsFinite(lr) && lr > 0)) add("training.learningRate", $"must be a positive number; got {Show(lr)}");
        if (t.WeightDecay is { } decay && !(double.IsFinite(decay) && decay >= 0)) add("training.weightDecay", $"must be a finite number >= 0; got {Show(decay)}");

        int layers = mlp ? t.HiddenUnits?.Length ?? 1 : 0;
        if (t.HiddenUnits is { } hidden)
        {
            if (!mlp && hidden.Length > 0) add("training.hiddenUnits", "is for model mlp; the linear model has no hidden layer");
            else if (mlp && hidden.Length is < 1 or > 2) add("training.hiddenUnits", $"an MLP has 1 or 2 hidden layers; {hidden.Length} were given");
            for (int l = 0; l < hidden.Length; l++)
                if (hidden[l] is < 1 or > TrainingSpec.MaxHiddenUnits)
                    add($"training.hiddenUnits[{l}]", $"must be from 1 to {TrainingSpec.MaxHiddenUnits} units; got {hidden[l]}");
        }
        if (t.Dropout is { Length: > 0 } dropout)
        {
            if (!mlp) add("training.dropout", "applies to the hidden layers of model mlp; the linear model has none");
            else if (dropout.Length != 1 && dropout.Length != layers)
                add("training.dropout", $"give one rate, or one per hidden layer ({layers}); {dropout.Length} were given");
            for (int l = 0; l < dropout.Length; l++)
                if (!(dropout[l] >= 0 && dropout[l] < 1))
                    add($"training.dropout[{l}]", $"must be in [0, 1): the fraction of units dropped while training; got {Show(dropout[l])}");
        }
        if (t.EarlyStopping is { } early)
        {
            if (early.Patience < 1) add("training.earlyStopping.patience", $"must be at least 1 epoch; got {early.Patience}");
            if (!(double.IsFinite(early.MinDelta) && early.MinDelta >= 0))
                add("training.earlyStopping.minDelta", $"must be a finite number >= 0; got {Show(early.MinDelta)}");
            if (!(double.IsFinite(early.ValidationFraction) && early.ValidationFraction > 0 && early.ValidationFraction < 1))
                add("training.earlyStopping.validationFraction", $"must be in (0, 1); got {Show(early.ValidationFraction)}");
            if (rows < 3) add("training.earlyStopping", $"needs at least 3 rows (1 to validate, 2 to train); there are {rows}");
        }
        if (t.Augmentation is { } augmentation)
        {
            if (!(double.IsFinite(augmentation.GaussianNoise) && augmentation.GaussianNoise >= 0))
                add("training.augmentation.gaussianNoise", $"must be a finite number >= 0; got {Show(augmentation.GaussianNoise)}");
            if (augmentation.Copies is < 1 or > TrainingSpec.MaxCopies)
                add("training.augmentation.copies", $"must be from 1 to {TrainingSpec.MaxCopies}; got {augmentation.Copies}");
        }
    }

    /// <summary>
    /// Family poisson is fitted by proximal Newton only (its path, glmnet's fishnet): not by the closed form, coordinate
    /// descent, proximal gradient or the stochastic solvers, nor as an MLP or Bayesian ridge.
    /// </summary>
    private void CheckPoisson(Action<string, string> add)
    {
        if (Family != Family.Poisson) return;
        if (Model != ModelKind.Linear)
            add("model", $"family poisson is fitted as a linear model by proximalNewton; model {Of(Model)} does not take it");
        else if (Solver is SolverKind.ProximalGradient || Stochastic)
            add("solver", $"family poisson is fitted by proximalNewton (or auto); solver {Of(Solver)} does not take it");
        // closedForm and coordinateDescent are refused for every non-gaussian family (CheckSolver).
    }

    /// <summary>
    /// The relaxed lasso (glmnet's relax = TRUE): a lasso or elastic net (glmnet relaxes any alpha > 0) of the gaussian or
    /// binomial family, fitted along a path by coordinate descent or proximal Newton, the solvers whose lambda-0 fit on an
    /// active set is the refit; gammas in [0, 1], distinct, at least one. Resolved, the gammas are in increasing order (as
    /// cv.glmnet sorts them).
    /// </summary>
    private void CheckRelax(Action<string, string> add)
    {
        if (Relax is not { } relax) return;
        if (Model != ModelKind.Linear) add("relax", $"relaxes a linear lasso or elastic-net path; model {Of(Model)} has none");
        else if (Penalty is not (Penalty.Lasso or Penalty.ElasticNet))
            add("relax", $"refits each lambda's active set without penalty, so it needs a penalty that selects (lasso or elasticNet, glmnet's alpha > 0); penalty is {Of(Penalty)}");
        else if (Family is not (Family.Gaussian or Family.Binomial))
            add("relax", $"is fitted for the gaussian and binomial families; family is {Of(Family)}");
        else if (ChosenSolver is not (SolverKind.CoordinateDescent or SolverKind.ProximalNewton))
            add("relax", $"refits with the path solvers (coordinateDescent, proximalNewton, or auto); solver {Of(ChosenSolver)} does not");
        if (relax.Gammas is not { } gammas) return;
        if (gammas.Length == 0) add("relax.gamma", "must hold at least one gamma in [0, 1] (omit it for glmnet's 0, 0.25, 0.5, 0.75, 1)");
        if (gammas.Length > RelaxedPath.MaxGammas) add("relax.gamma", $"holds {gammas.Length} gammas; at most {RelaxedPath.MaxGammas} are accepted");
        var seen = new HashSet<double>();
        for (int i = 0; i < gammas.Length; i++)
        {
            double g = gammas[i];
            if (!(g >= 0 && g <= 1)) add($"relax.gamma[{i}]", $"must be in [0, 1] (0 the unpenalized refit, 1 the penalized fit); got {Show(g)}");
            else if (!seen.Add(g)) add($"relax.gamma[{i}]", $"{Show(g)} is given twice; gammas must be distinct");
        }
    }
}
