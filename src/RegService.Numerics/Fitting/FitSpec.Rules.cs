using System.Globalization;
using System.Text.Json.Serialization;
using static RegService.Numerics.Fitting.SpecNames;

namespace RegService.Numerics.Fitting;

/// <summary>The spec's rules: every check of a spec against the data, its defaults and the choice of solver. <see cref="Check"/>
/// runs them all; by concern, the models' and trainers' rules are in FitSpec.Rules.Models.cs, those of weights, the offset and
/// bounds in FitSpec.Rules.Inputs.cs, the multinomial family's in MultinomialRules.cs.</summary>
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
                : Classes ?? (data.ReadColumn(TargetColumn) is { } target ? ClassLabels(target.Span).Length : null),
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
        if (!targetInside || data.ReadColumn(TargetColumn) is not { Length: > 0 } column) return;
        var y = column.Span;
        double min = y[0], max = y[0];
        foreach (double v in y)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
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

    /// <summary>Null when every value is 0 or 1; else the distinct values, smallest first (a few of them).</summary>
    private static string? NotBinary(ReadOnlySpan<double> values)
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
