using System.Globalization;
using System.Text.Json.Serialization;
using RegService.Numerics.Data;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;
using static RegService.Numerics.Fitting.SpecNames;

namespace RegService.Numerics.Fitting;

/// <summary>The spec's rules: every check of a spec against the data, its defaults and the choice of solver, in one place.</summary>
public sealed partial record FitSpec
{
    /// <summary>Most lambdas a spec may list.</summary>
    public const int MaxLambdas = 10_000;

    /// <summary>Most lambdas of a generated path.</summary>
    public const int MaxPathCount = 1000;

    /// <summary>Most features a polynomial expansion may produce.</summary>
    public const int MaxExpandedFeatures = 20_000;

    /// <summary>scikit-learn's ElasticNet default, used when elasticNet comes without l1Ratio.</summary>
    public const double DefaultElasticNetL1Ratio = 0.5;

    /// <summary>
    /// True when the closed form solves this spec exactly: gaussian, ridge or none, no penalty factors, no coefficient bounds (a Cholesky or an
    /// eigendecomposition of the Gram matrix, or of the n x n dual when features exceed rows). The one statement of it:
    /// the solver rules, the choice of <see cref="SolverKind.Auto"/> and the leave-one-out/GCV gate read it.
    /// </summary>
    [JsonIgnore]
    public bool ClosedFormFits => Family == Family.Gaussian && Penalty is Penalty.Ridge or Penalty.None && PenaltyFactors is null && !Bounded;

    /// <summary>True when a stochastic solver fits the spec: sgd, adam or adamW named, or an MLP (which only they train).</summary>
    [JsonIgnore]
    public bool Stochastic => Model == ModelKind.Mlp || Solver is SolverKind.Sgd or SolverKind.Adam or SolverKind.AdamW;

    /// <summary>
    /// The solver that fits the spec: the one named, or for <see cref="SolverKind.Auto"/> adamW for an MLP, the closed form
    /// where it fits (<see cref="ClosedFormFits"/>), else coordinate descent (gaussian) or proximal Newton (binomial).
    /// </summary>
    [JsonIgnore]
    public SolverKind ChosenSolver => Solver switch
    {
        SolverKind.Auto when Model == ModelKind.Mlp => SolverKind.AdamW,
        SolverKind.Auto when ClosedFormFits => SolverKind.ClosedForm,
        SolverKind.Auto when Family == Family.Gaussian => SolverKind.CoordinateDescent,
        SolverKind.Auto => SolverKind.ProximalNewton,
        var named => named,
    };

    /// <summary>
    /// The names of the features fitted: with a polynomial expansion the expanded ones (x1, x1^2, x1*x2, ...), which penalty
    /// factors follow; null when the expansion is at fault (<see cref="Check"/> says why).
    /// </summary>
    public string[]? FittedFeatureNames(int rows)
    {
        if (Expansion is not { } e || e.PolynomialDegree == 1 || FeatureColumns.Length == 0) return FeatureNames;
        if (e.PolynomialDegree is < 1 or > FeatureExpansion.MaxDegree) return null;
        int q = FeatureExpansion.Count(FeatureColumns.Length, e);
        return q > MaxExpandedFeatures || (long)rows * ((long)q + 1) > FeatureExpansion.MaxValues ? null : FeatureExpansion.Names(FeatureNames, e);
    }

    /// <summary>
    /// Every fault of the spec on <paramref name="data"/>, empty when it can be fitted. Leave-one-out and GCV need the
    /// closed form and a ridge penalty (their shortcut is the ridge hat matrix; penalty none has no lambda to choose).
    /// </summary>
    public IReadOnlyList<SpecFault> Check(DataShape data)
    {
        var faults = new List<SpecFault>();
        void Add(string path, string message) => faults.Add(new SpecFault(path, message));

        int p = FeatureColumns.Length, rows = data.Rows;
        CheckColumns(data, Add);
        if (rows < 2) Add("data", $"{data.Name} has {rows} row{(rows == 1 ? "" : "s")}; a fit needs at least 2");

        if (L1Ratio is { } ratio)
        {
            // Only elasticNet reads it; the other penalties imply their own (resolution writes it).
            if (!(ratio >= 0 && ratio <= 1)) Add("l1Ratio", $"must be in [0, 1]; got {Show(ratio)}");
            else if (Penalty == Penalty.ElasticNet && ratio is 0 or 1)
                Add("l1Ratio", $"elasticNet takes l1Ratio in (0, 1); got {Show(ratio)} (use {(ratio == 0 ? "ridge" : "lasso")} for {Show(ratio)})");
        }
        CheckLambdas(Add);

        // With an expansion the fitted features are the expanded ones: penalty factors and the path's defaults refer to them.
        if (Expansion is { } e)
        {
            if (e.PolynomialDegree is < 1 or > FeatureExpansion.MaxDegree)
                Add("expansion.polynomialDegree", $"must be from 1 to {FeatureExpansion.MaxDegree}; got {e.PolynomialDegree}");
            else if (e.PolynomialDegree > 1 && p > 0)
            {
                int q = FeatureExpansion.Count(p, e);
                long values = (long)rows * ((long)q + 1);
                if (q > MaxExpandedFeatures)
                    Add("expansion", $"degree {e.PolynomialDegree}{(e.Interactions ? " with interactions" : "")} of {p} features makes {(q == int.MaxValue ? "over 2^31" : q.ToString(CultureInfo.InvariantCulture))} features; at most {MaxExpandedFeatures} are accepted: lower polynomialDegree, turn interactions off or choose fewer features");
                else if (values > FeatureExpansion.MaxValues)
                    Add("expansion", $"{q} expanded features of {rows} rows make {values} values; at most {FeatureExpansion.MaxValues} are accepted: lower polynomialDegree, turn interactions off or choose fewer features");
            }
        }
        CheckPenaltyFactors(FittedFeatureNames(rows), Add);

        if (!(Tolerance > 0) || !double.IsFinite(Tolerance)) Add("tolerance", $"must be a positive number; got {Show(Tolerance)}");
        if (Stopping == StoppingRule.DualityGap && (Family != Family.Gaussian || Solver is not (SolverKind.Auto or SolverKind.CoordinateDescent)))
            Add("stopping", "dualityGap is coordinate descent's rule for the gaussian family (the other iterative solvers have their own criterion; docs/engine.md)");
        if (MaxIterations < 1) Add("maxIterations", $"must be positive; got {MaxIterations}");
        CheckSolver(Add);
        CheckValidation(data, Add);
        CheckTraining(rows, Add);
        CheckBayesian(FittedFeatureNames(rows)?.Length ?? p, Add);
        CheckWeights(rows, FittedFeatureNames(rows)?.Length ?? p, Add);
        CheckPoisson(Add);
        CheckOffset(rows, Add);
        CheckRelax(Add);
        CheckMultinomial(data, Add);
        CheckLimits(FittedFeatureNames(rows), Add);
        return faults;
    }

    /// <summary>
    /// The spec checked (<see cref="Check"/>) and resolved: l1Ratio, lambdas or the path (its minRatio: 1e-4 when rows exceed
    /// the fitted features, else 1e-2, as glmnet), the solver (<see cref="ChosenSolver"/>), the holdout and k-fold settings
    /// (fold count from fold ids), the training settings of a stochastic solver (<see cref="TrainingSpec.Resolved"/>). A
    /// resolved spec resolves to itself. Either the spec or the faults.
    /// </summary>
    public (FitSpec? Spec, IReadOnlyList<SpecFault> Faults) Resolve(DataShape data)
    {
        var faults = Check(data);
        if (faults.Count > 0) return (null, faults);
        var solver = ChosenSolver;
        var expansion = Expansion is { PolynomialDegree: > 1 } e ? e : null;
        int fitted = expansion is null ? FeatureColumns.Length : FeatureExpansion.Count(FeatureColumns.Length, expansion);
        bool bayesian = Model == ModelKind.BayesianRidge;
        bool single = Penalty == Penalty.None || Stochastic;
        // Bayesian ridge chooses its precisions by evidence: it has no lambdas (its result reports the equivalent one).
        var path = Lambdas is null && !single && !bayesian ? Path ?? new LambdaPathSpec() : null;
        return (this with
        {
            L1Ratio = Alpha,
            Lambdas = Lambdas ?? (single && !bayesian ? [0.0] : null),
            Path = path is null ? null : path with { MinRatio = path.MinRatio ?? LambdaGrid.DefaultMinRatio(data.Rows, fitted) },
            Solver = solver,
            Measure = Validation == ValidationMethod.None ? null : Measure ?? GlmFamily.For(Family).Measures[0],
            Holdout = Validation == ValidationMethod.Holdout ? Holdout ?? new HoldoutSpec() : null,
            KFold = Validation == ValidationMethod.KFold
                ? KFold is { FoldIds: { } ids } k ? k with { Folds = ids.Distinct().Count() } : KFold ?? new KFoldSpec()
                : null,
            Training = Stochastic ? (Training ?? new TrainingSpec()).Resolved(solver, Model) : null,
            Expansion = expansion,
            Bayesian = bayesian ? (Bayesian ?? new BayesianSpec()) : null,
            Relax = Relax is { } relax ? relax with { Gammas = [.. (relax.Gammas ?? RelaxSpec.DefaultGammas).Order()] } : null,
            Classes = Family != Family.Multinomial ? null
                : Classes ?? (data.ReadColumn(TargetColumn) is { } target ? ClassLabels(target).Length : null),
        }, []);
    }

    /// <summary><see cref="Resolve"/>, throwing <see cref="FitSpecException"/> with every fault.</summary>
    public FitSpec ResolveOrThrow(DataShape data)
    {
        var (spec, faults) = Resolve(data);
        return spec ?? throw new FitSpecException(faults);
    }

    private string Target => TargetName is null ? $"column {TargetColumn}" : $"'{TargetName}'";

    /// <summary>"gaussian lasso", "binomial ridge with penaltyFactors".</summary>
    private string Describe() =>
        $"{Of(Family)} {Of(Penalty)}{(PenaltyFactors is null ? "" : " with penaltyFactors")}{(Bounded ? " with lowerLimits/upperLimits" : "")}";

    private void CheckColumns(DataShape data, Action<string, string> add)
    {
        int p = FeatureColumns.Length;
        if (FeatureNames.Length != p) add("featureNames", $"has {FeatureNames.Length} names for {p} feature columns; give one per column");
        if (p == 0) add("featureColumns", "must hold at least one feature column");
        bool targetInside = (uint)TargetColumn < (uint)data.Columns;
        if (!targetInside) add("targetColumn", $"column {TargetColumn} is outside the {data.Columns} columns of {data.Name}");
        var seen = new HashSet<int>();
        for (int i = 0; i < p; i++)
        {
            int c = FeatureColumns[i];
            string name = i < FeatureNames.Length ? $"'{FeatureNames[i]}'" : $"column {c}";
            if ((uint)c >= (uint)data.Columns) add($"featureColumns[{i}]", $"column {c} is outside the {data.Columns} columns of {data.Name}");
            else if (!seen.Add(c)) add($"featureColumns[{i}]", $"{name} is named twice");
            else if (c == TargetColumn) add($"featureColumns[{i}]", $"{name} is the target; a column cannot be both");
        }
        if (!targetInside || data.ReadColumn(TargetColumn) is not { Length: > 0 } y) return;
        double min = y.Min(), max = y.Max();
        if (min == max) add("targetColumn", $"{Target} is constant (every value is {Show(min)}); there is nothing to fit");
        else if (Family == Family.Binomial && NotBinary(y) is { } values)
            add("targetColumn", $"{Target} takes values {values}; binomial needs a target whose values are all 0 or 1");
        else if (Family == Family.Poisson)
            for (int i = 0; i < y.Length; i++)
                if (GlmFamily.Poisson.TargetFault(y[i]) is { } fault)
                {
                    add("targetColumn", $"{Target} on row {i + 1}: {fault}; poisson needs counts (whole numbers >= 0)");
                    break;
                }
    }

    private void CheckLambdas(Action<string, string> add)
    {
        if (Lambdas is not null && Path is not null) add("path", "give lambdas or a path, not both");
        if (Lambdas is { } lambdas)
        {
            if (lambdas.Length == 0) add("lambdas", "must hold at least one lambda");
            if (lambdas.Length > MaxLambdas) add("lambdas", $"holds {lambdas.Length} lambdas; at most {MaxLambdas} are accepted");
            for (int i = 0; i < lambdas.Length; i++)
            {
                double lambda = lambdas[i];
                if (!double.IsFinite(lambda)) add($"lambdas[{i}]", $"must be a finite number; got {Show(lambda)}");
                else if (lambda < 0) add($"lambdas[{i}]", $"must be >= 0; got {Show(lambda)}");
                else if (Penalty == Penalty.None && lambda != 0) add($"lambdas[{i}]", $"penalty none takes no lambda (or 0); got {Show(lambda)}");
            }
        }
        if (Path is { } path)
        {
            if (Penalty == Penalty.None) add("path", "penalty none has no penalty strength to vary; give no lambda (or lambda 0)");
            if (path.Count is < 1 or > MaxPathCount) add("path.count", $"must be from 1 to {MaxPathCount}; got {path.Count}");
            if (path.MinRatio is { } r && !(double.IsFinite(r) && r > 0 && r < 1))
                add("path.minRatio", $"must be in (0, 1): the smallest lambda as a fraction of lambda_max; got {Show(r)}");
        }
    }

    /// <summary>Penalty factors against the fitted features (<paramref name="names"/>; null when the expansion is at fault).</summary>
    private void CheckPenaltyFactors(string[]? names, Action<string, string> add)
    {
        if (PenaltyFactors is not { } factors) return;
        if (Penalty == Penalty.None)
        {
            add("penaltyFactors", "penalty none has no penalty to weigh; drop penaltyFactors or choose a penalty");
            return;
        }
        if (names is null || FeatureNames.Length != FeatureColumns.Length) return;
        if (factors.Length != names.Length)
        {
            add("penaltyFactors", $"has {factors.Length} factors for {names.Length} {(Expansion is { PolynomialDegree: > 1 } ? "expanded " : "")}features; give one per feature");
            return;
        }
        for (int j = 0; j < names.Length; j++)
            if (!double.IsFinite(factors[j]) || factors[j] < 0)
                add($"penaltyFactors[{j}]", $"must be a finite number >= 0 (0 leaves '{names[j]}' unpenalized); got {Show(factors[j])}");
        if (names.Length > 0 && factors.All(f => f == 0))
            add("penaltyFactors", "every feature has factor 0, so nothing is penalized; give at least one feature a positive factor");
    }

    private void CheckSolver(Action<string, string> add)
    {
        bool gaussian = Family == Family.Gaussian;
        if (Model == ModelKind.BayesianRidge)
        {
            // One eigendecomposition of the Gram serves every iteration: the closed form's machinery (CheckBayesian has the rest).
            if (Solver is not (SolverKind.Auto or SolverKind.ClosedForm))
                add("solver", $"model bayesianRidge is fitted from one eigendecomposition of the Gram (auto or closedForm); solver {Of(Solver)} does not fit it");
            return;
        }
        switch (Solver)
        {
            case SolverKind.ClosedForm or SolverKind.CoordinateDescent or SolverKind.ProximalNewton or SolverKind.ProximalGradient
                when Model == ModelKind.Mlp:
                add("solver", $"solver {Of(Solver)} cannot fit an MLP: model mlp is trained by sgd, adam or adamW (auto takes adamW)");
                break;
            case SolverKind.ClosedForm when !ClosedFormFits:
                add("solver", $"closedForm fits gaussian ridge or none without penaltyFactors; this request is {Describe()}");
                break;
            case SolverKind.CoordinateDescent when !gaussian:
                add("solver", $"coordinateDescent fits the gaussian family; {Of(Family)} fits use proximalNewton (or auto)");
                break;
            case SolverKind.CoordinateDescent when ClosedFormFits:
                add("solver", $"{Describe()} is solved exactly in closed form (closedForm or auto); coordinateDescent fits lasso, elasticNet, or ridge with penaltyFactors");
                break;
            case SolverKind.ProximalNewton when gaussian:
                add("solver", $"proximalNewton fits the binomial family and the poisson family; this request is {Describe()}");
                break;
        }
    }

    private void CheckValidation(DataShape data, Action<string, string> add)
    {
        var method = Of(Validation);
        int rows = data.Rows;
        if (Stochastic && Validation != ValidationMethod.None)
            add("validation", $"{method} is not available with {Trainer}: use earlyStopping, whose held-out rows are scored");
        else if (Validation is ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)
        {
            // The one gate: the exact shortcut is the closed form's hat matrix at each ridge lambda.
            if (!ClosedFormFits || Penalty != Penalty.Ridge)
                add("validation", $"{method} is for gaussian ridge without penaltyFactors only (exact from the closed form); this request is {Describe()}: use kfold or holdout");
            else if (Solver is not (SolverKind.Auto or SolverKind.ClosedForm))
                add("validation", $"{method} is exact from the closed form; solver {Of(Solver)} has no such shortcut: use kfold or holdout, or solver auto");
        }
        if (Validation == ValidationMethod.None && Rule != SelectionRule.Min)
            add("rule", "needs validation (holdout, kfold, loo or gcv) to choose among lambdas");
        if (Measure is { } measure)
        {
            // cv.glmnet warns and scores its family's default instead of a measure that does not fit; here it is a fault.
            var measures = GlmFamily.For(Family).Measures;
            if (Validation == ValidationMethod.None)
                add("measure", "needs validation (holdout or kfold) to score lambdas by");
            else if (!measures.Contains(measure))
                add("measure", $"{Of(measure)} does not fit family {Of(Family)}; it takes {string.Join(", ", measures.Select(Of))} (cv.glmnet's type.measure; the first is the default)");
            else if (Validation is ValidationMethod.LeaveOneOut or ValidationMethod.Gcv && measure is not (ValidationMeasure.Mse or ValidationMeasure.Deviance))
                add("measure", $"{method} scores the squared error (mse, the gaussian deviance); {Of(measure)} needs kfold or holdout");
        }

        if (Holdout is { } holdout)
        {
            if (Validation != ValidationMethod.Holdout) add("holdout", $"applies to validation holdout only; validation is {method}");
            else if (!(double.IsFinite(holdout.Fraction) && holdout.Fraction > 0 && holdout.Fraction < 1))
                add("holdout.fraction", $"must be in (0, 1); got {Show(holdout.Fraction)}");
            else if (Splits.HeldOutCount(rows, holdout.Fraction) is var held && (held < 1 || rows - held < 2))
                add("holdout.fraction", $"{Show(holdout.Fraction)} of {rows} rows holds out {held} and trains on {rows - held}; at least 1 held out and 2 to train are needed");
        }
        if (KFold is { } kfold)
        {
            if (Validation != ValidationMethod.KFold) add("kFold", $"applies to validation kfold only; validation is {method}");
            else if (kfold.FoldIds is { } ids)
            {
                if (ids.Length != rows) add("kFold.foldIds", $"has {ids.Length} labels but {data.Name} has {rows} rows; give one fold label per row");
                int labels = ids.Distinct().Count();
                if (labels < 2) add("kFold.foldIds", $"has {labels} distinct label{(labels == 1 ? "" : "s")}; k-fold needs at least 2");
            }
            else if (kfold.Folds < 2) add("kFold.folds", $"must be at least 2; got {kfold.Folds}");
            else if (kfold.Folds > rows)
                add("kFold.folds", $"{kfold.Folds} folds of {rows} rows would leave a fold empty; folds must be from 2 to {rows} (the rows of {data.Name})");
        }
    }

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

    /// <summary>
    /// Observation weights: one per row, finite, non-negative, not all zero (the first row at fault is named, 1-based).
    /// They are fitted by the gaussian Gram route (coordinate descent in covariance form and closed-form ridge, both from
    /// the weighted Gram X'WX) and by proximal Newton (binomial, poisson, multinomial: the working weights times the observation weights),
    /// with k-fold or holdout validation weighted as cv.glmnet; the other solvers and models, and leave-one-out and GCV,
    /// do not take them yet, and say so.
    /// </summary>
    private void CheckWeights(int rows, int fitted, Action<string, string> add)
    {
        if (Weights is not { } w) return;
        if (w.Length != rows)
        {
            add("weights", $"has {w.Length} values but the data has {rows} rows; give one weight per row");
            return;
        }
        for (int i = 0; i < w.Length; i++)
            if (!(double.IsFinite(w[i]) && w[i] >= 0))
            {
                add("weights", $"row {i + 1} has weight {Show(w[i])}; every weight must be a finite number >= 0");
                return;
            }
        if (w.All(v => v == 0))
        {
            add("weights", "every weight is 0, so no row would be fitted; give at least one row a positive weight");
            return;
        }
        const string Yet = "weights are fitted by the gaussian family's closed form and coordinate descent (from the weighted Gram X'WX) and by proximalNewton (binomial, poisson, multinomial)";
        if (Model != ModelKind.Linear) add("weights", $"{Yet}; model {Of(Model)} does not take weights yet");
        else if (Stochastic || Solver == SolverKind.ProximalGradient) add("weights", $"{Yet}; solver {Of(ChosenSolver)} does not take weights yet");
        else if (Family == Family.Gaussian && (fitted >= rows || fitted > FitEngine.MaxCovarianceFeatures))
            // Proximal Newton (binomial, poisson, multinomial) multiplies its working weights by the observation weights: no such limit.
            add("weights", $"{Yet}, which needs more rows than features and at most {FitEngine.MaxCovarianceFeatures} features; this data has {rows} rows and {fitted} features");
        if (Validation is ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)
            add("weights", $"validation {Of(Validation)} does not take weights yet; use kfold or holdout (weighted as cv.glmnet)");
        else if (ValidationFolds(rows) is { } folds)
            for (int k = 0; k < folds.Count; k++)
            {
                // A fold of zero weight scores nothing (its loss is 0/0); one whose complement has zero weight trains on nothing.
                string which = folds.IsHoldout ? "the held-out rows" : $"fold {folds.Labels[k]}";
                if (folds.Rows[k].All(i => w[i] == 0))
                    add("weights", $"every row of {which} has weight 0, so it cannot be scored; give it a row of positive weight or choose other folds");
                else if (folds.TrainingRows(k).All(i => w[i] == 0))
                    add("weights", $"every row outside {which} has weight 0, so its training fit has no data; give those rows positive weight or choose other folds");
                else continue;
                return;
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
    /// An offset: one finite value per row, added to the linear predictor; the proximal-Newton families (binomial, poisson)
    /// take it in eta, the gaussian family's closed form and coordinate descent fit y - offset (glmnet's elnet). The
    /// stochastic solvers, proximal gradient and the other models do not take one.
    /// </summary>
    private void CheckOffset(int rows, Action<string, string> add)
    {
        if (Offset is not { } o) return;
        if (o.Length != rows)
        {
            add("offset", $"has {o.Length} values but the data has {rows} rows; give one offset per row");
            return;
        }
        for (int i = 0; i < o.Length; i++)
            if (!double.IsFinite(o[i]))
            {
                add("offset", $"row {i + 1} has offset {Show(o[i])}; every offset must be a finite number");
                return;
            }
        if (Model != ModelKind.Linear || Stochastic || ChosenSolver == SolverKind.ProximalGradient)
            add("offset", $"an offset is fitted by proximalNewton (binomial, poisson) and by the gaussian closedForm and coordinateDescent (on y - offset); {(Model != ModelKind.Linear ? $"model {Of(Model)}" : $"solver {Of(ChosenSolver)}")} does not take one");
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

    /// <summary>
    /// Coefficient bounds (glmnet's lower.limits and upper.limits): one per fitted feature (<paramref name="names"/>; null when
    /// the expansion is at fault), not NaN, lower ≤ 0 ≤ upper as glmnet demands (it refuses a positive lower or a negative
    /// upper limit; infinite means unbounded), the feature named in each fault. Fitted by coordinate descent (gaussian),
    /// proximal Newton (binomial, poisson; multinomial, every class alike) and proximal gradient; the closed form, the stochastic solvers, the MLP
    /// and Bayesian ridge do not take them (the duality-gap stopping rule does: its gap is the box-constrained problem's).
    /// </summary>
    private void CheckLimits(string[]? names, Action<string, string> add)
    {
        if (LowerLimits is null && UpperLimits is null) return;
        void Each(string field, double[] limits, bool lower)
        {
            if (names is null) return;
            if (limits.Length != names.Length)
            {
                add(field, $"has {limits.Length} limits for {names.Length} {(Expansion is { PolynomialDegree: > 1 } ? "expanded " : "")}features; give one per feature");
                return;
            }
            for (int j = 0; j < limits.Length; j++)
            {
                double b = limits[j];
                if (lower && UpperLimits is { } upper && upper.Length == limits.Length && b > upper[j])
                    add($"{field}[{j}]", $"the lower limit of '{names[j]}' ({Show(b)}) is above its upper limit ({Show(upper[j])})");
                if (double.IsNaN(b)) add($"{field}[{j}]", $"the limit of '{names[j]}' is NaN; give a number (or none for unbounded)");
                else if (lower && b > 0)
                    add($"{field}[{j}]", $"the lower limit of '{names[j]}' is {Show(b)}; lower limits must be <= 0 (as glmnet's lower.limits: 0 keeps the coefficient non-negative)");
                else if (!lower && b < 0)
                    add($"{field}[{j}]", $"the upper limit of '{names[j]}' is {Show(b)}; upper limits must be >= 0 (as glmnet's upper.limits: 0 keeps the coefficient non-positive)");
            }
        }
        if (LowerLimits is { } lo) Each("lowerLimits", lo, lower: true);
        if (UpperLimits is { } hi) Each("upperLimits", hi, lower: false);
        if (!Bounded) return;
        const string Takes = "coefficient bounds are fitted by coordinateDescent (gaussian), proximalNewton (binomial, poisson, multinomial) and proximalGradient";
        string field0 = LowerLimits is not null && LowerLimits.Any(double.IsFinite) ? "lowerLimits" : "upperLimits";
        if (Model != ModelKind.Linear) add(field0, $"{Takes}; model {Of(Model)} does not take them");
        else if (Stochastic) add(field0, $"{Takes}; solver {Of(ChosenSolver)} does not take them");
    }

    /// <summary>The validation folds the engine will make (as FitEngine does), or null without k-fold or holdout or while they are invalid.</summary>
    private Folds? ValidationFolds(int rows)
    {
        try
        {
            return Validation switch
            {
                ValidationMethod.KFold when KFold?.FoldIds is { } ids => ids.Length == rows && ids.Distinct().Count() >= 2 ? Folds.FromIds(ids) : null,
                ValidationMethod.KFold when (KFold ?? new KFoldSpec()) is { Folds: var k } spec && k >= 2 && k <= rows => Folds.Random(rows, k, spec.Seed),
                ValidationMethod.Holdout when (Holdout ?? new HoldoutSpec()) is { } h && h.Fraction is > 0 and < 1 => Folds.Holdout(rows, h.Fraction, h.Seed),
                _ => null,
            };
        }
        catch (ArgumentException)
        {
            return null;   // the validation's own check names the fault
        }
    }

    /// <summary>Most fitted features of model bayesianRidge (its posterior covariance is stored, p² values).</summary>
    public const int MaxBayesianFeatures = 1000;

    /// <summary>How messages name the stochastic trainer: "an MLP", or the solver.</summary>
    private string Trainer => Model == ModelKind.Mlp ? "an MLP" : Of(ChosenSolver);

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

    /// <summary>Null when every value is 0 or 1; else the distinct values, smallest first (a few of them).</summary>
    private static string? NotBinary(double[] values)
    {
        const int Shown = 5, Kept = 64;
        bool binary = true, more = false;
        var distinct = new SortedSet<double>();
        foreach (double y in values)
        {
            if (y != 0 && y != 1) binary = false;
            if (distinct.Count < Kept) distinct.Add(y);
            else if (!distinct.Contains(y)) more = true;
        }
        if (binary) return null;
        var shown = string.Join(", ", distinct.Take(Shown).Select(Show));
        return distinct.Count > Shown || more ? shown + " (and more)" : shown;
    }
}
