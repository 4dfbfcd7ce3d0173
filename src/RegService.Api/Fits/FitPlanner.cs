using System.Globalization;
using RegService.Api.Datasets;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;

namespace RegService.Api.Fits;

/// <summary>
/// Checks a fit request against its data set and turns it into the engine's <see cref="FitSpec"/>.
/// Errors are keyed by the request field at fault, with messages that give both sides of a mismatch.
/// </summary>
public static class FitPlanner
{
    public const double DefaultHoldoutFraction = 0.2;
    public const int DefaultFolds = 10;
    public const int DefaultPathCount = 100;
    public const int MaxPathCount = 1000;

    /// <summary>Hidden units of an MLP given no hiddenUnits (scikit-learn's MLP default).</summary>
    public const int DefaultHiddenUnits = 100;
    public const int MaxEpochs = 100_000;
    public const int MaxPolynomialDegree = FeatureExpansion.MaxDegree;

    /// <summary>Most features an expansion may produce, and most values (rows x columns) its matrix may hold.</summary>
    public const int MaxExpandedFeatures = 20_000;
    public const long MaxExpandedValues = FeatureExpansion.MaxValues;

    /// <summary>scikit-learn's ElasticNet default, used when elasticNet comes without l1Ratio.</summary>
    public const double DefaultElasticNetL1Ratio = 0.5;

    /// <summary>Field checks that need no data set.</summary>
    public static Dictionary<string, string[]> CheckShape(FitRequest request, int maxNameLength = int.MaxValue)
    {
        var errors = new Errors();
        CheckNameLengths(errors, request, maxNameLength);
        if (string.IsNullOrWhiteSpace(request.DatasetId)) errors.Add("datasetId", "is required: the id returned by POST /v1/datasets");
        if (string.IsNullOrWhiteSpace(request.Target)) errors.Add("target", "is required: the name of the target column");
        CheckL1Ratio(errors, request);
        CheckLambdas(errors, request);
        CheckPenaltyFactors(errors, request, maxNameLength);
        if (request.Tolerance is { } tol && (!double.IsFinite(tol) || tol <= 0)) errors.Add("tolerance", $"must be a positive number; got {Show(tol)}");
        if (request.MaxIterations is { } max && max <= 0) errors.Add("maxIterations", $"must be positive; got {max}");
        CheckSolver(errors, request);
        CheckTraining(errors, request);
        CheckExpansion(errors, request);
        if (request.Validation is { } v && !Stochastic(request)) CheckValidation(errors, request, v);
        return errors.ToDictionary();
    }

    /// <summary>
    /// Checks against the data set and builds the engine spec. Returns errors or a spec.
    /// <paramref name="readColumn"/> reads one stored column (for the binomial target's values).
    /// </summary>
    public static (FitSpec? Spec, Dictionary<string, string[]> Errors) Plan(
        FitRequest request, Dataset dataset, int maxThreads, Func<int, double[]> readColumn)
    {
        var errors = new Errors();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < dataset.Columns.Count; c++) index[dataset.Columns[c].Name] = c;

        int target = -1;
        if (request.Target is { } targetName)
        {
            if (!index.TryGetValue(targetName, out target))
                errors.Add("target", $"'{targetName}' is not a column of data set {dataset.Id}; its columns are {List(dataset)}");
            else if (dataset.Columns[target].StdDev == 0)
                errors.Add("target", $"column '{targetName}' is constant (every value is {Show(dataset.Columns[target].Min)}); there is nothing to fit");
            else if (request.Family == FamilyName.Binomial && NotBinary(readColumn(target)) is { } values)
                errors.Add("target", $"'{targetName}' takes values {values}; binomial needs a target whose values are all 0 or 1");
        }

        var features = new List<int>();
        if (request.Features is { } names)
        {
            if (names.Length == 0) errors.Add("features", "must name at least one column, or be omitted for every column but the target");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < names.Length; i++)
            {
                var name = names[i];
                if (!index.TryGetValue(name ?? "", out int c))
                    errors.Add($"features[{i}]", $"'{name}' is not a column of data set {dataset.Id}; its columns are {List(dataset)}");
                else if (!seen.Add(name!))
                    errors.Add($"features[{i}]", $"'{name}' is named twice");
                else if (c == target)
                    errors.Add($"features[{i}]", $"'{name}' is the target; a column cannot be both");
                else
                    features.Add(c);
            }
        }
        else
        {
            for (int c = 0; c < dataset.Columns.Count; c++)
                if (c != target) features.Add(c);
            if (features.Count == 0 && target >= 0)
                errors.Add("features", $"data set {dataset.Id} has no column besides the target '{request.Target}'");
        }

        // With an expansion the fit's features are the expanded ones: penalty factors and defaults refer to them.
        var featureNames = features.Select(c => dataset.Columns[c].Name).ToArray();
        var expansion = Expansion(request);
        var fittedNames = featureNames;
        if (expansion is not null && features.Count > 0)
        {
            int q = FeatureExpansion.Count(features.Count, expansion);
            long values = (long)dataset.Rows * ((long)q + 1);
            if (q > MaxExpandedFeatures)
                errors.Add("expansion", $"degree {expansion.PolynomialDegree}{(expansion.Interactions ? " with interactions" : "")} of {features.Count} features makes {(q == int.MaxValue ? "over 2^31" : q.ToString(CultureInfo.InvariantCulture))} features; at most {MaxExpandedFeatures} are accepted: lower polynomialDegree, turn interactions off or choose fewer features");
            else if (values > MaxExpandedValues)
                errors.Add("expansion", $"{q} expanded features of {dataset.Rows} rows make {values} values; at most {MaxExpandedValues} are accepted: lower polynomialDegree, turn interactions off or choose fewer features");
            else
                fittedNames = FeatureExpansion.Names(featureNames, expansion);
        }
        var factors = PenaltyFactors(errors, request, dataset, index, target, features, fittedNames, expansion is not null);

        if (dataset.Rows < 2) errors.Add("datasetId", $"data set {dataset.Id} has {dataset.Rows} row; a fit needs at least 2");
        HoldoutSpec? holdout = null;
        KFoldSpec? kfold = null;
        switch (request.Validation)
        {
            case { Method: ValidationMethodName.Holdout } v:
            {
                double fraction = v.HoldoutFraction ?? DefaultHoldoutFraction;
                int held = Splits.HeldOutCount(dataset.Rows, fraction);
                if (fraction > 0 && fraction < 1 && (held < 1 || dataset.Rows - held < 2))
                    errors.Add("validation.holdoutFraction",
                        $"{Show(fraction)} of {dataset.Rows} rows holds out {held} and trains on {dataset.Rows - held}; at least 1 held out and 2 to train are needed");
                holdout = new HoldoutSpec(fraction, v.Seed ?? 0);
                break;
            }
            case { Method: ValidationMethodName.Kfold } v:
            {
                int folds = v.Folds ?? DefaultFolds;
                if (v.FoldIds is { } ids)
                {
                    folds = ids.Distinct().Count();
                    if (ids.Length != dataset.Rows)
                        errors.Add("validation.foldIds", $"has {ids.Length} labels but data set {dataset.Id} has {dataset.Rows} rows; give one fold label per row");
                }
                else if (folds >= 2 && folds > dataset.Rows)
                {
                    errors.Add("validation.folds",
                        $"{folds} folds of {dataset.Rows} rows would leave a fold empty; folds must be from 2 to {dataset.Rows} (the data set's rows)");
                }
                kfold = new KFoldSpec(folds, v.Seed ?? 0, v.FoldIds);
                break;
            }
        }

        if (errors.Count > 0) return (null, errors.ToDictionary());
        var spec = new FitSpec
        {
            FeatureColumns = [.. features],
            FeatureNames = featureNames,
            TargetColumn = target,
            Family = request.Family == FamilyName.Binomial ? Family.Binomial : Family.Gaussian,
            Penalty = request.Penalty switch
            {
                PenaltyName.None => Penalty.None,
                PenaltyName.Lasso => Penalty.Lasso,
                PenaltyName.ElasticNet => Penalty.ElasticNet,
                _ => Penalty.Ridge,
            },
            L1Ratio = L1Ratio(request),
            Lambdas = request.Lambdas ?? (request.Lambda is { } lambda ? [lambda] : request.Penalty == PenaltyName.None || Stochastic(request) ? [0.0] : null),
            Path = Stochastic(request) ? null : LambdaPath(request, dataset.Rows, fittedNames.Length),
            PenaltyFactors = factors,
            Standardize = request.Standardize,
            FitIntercept = request.FitIntercept,
            Validation = request.Validation?.Method switch
            {
                ValidationMethodName.Holdout => ValidationMethod.Holdout,
                ValidationMethodName.Kfold => ValidationMethod.KFold,
                ValidationMethodName.Loo => ValidationMethod.LeaveOneOut,
                ValidationMethodName.Gcv => ValidationMethod.Gcv,
                _ => ValidationMethod.None,
            },
            Holdout = holdout,
            KFold = kfold,
            Rule = request.Validation?.Rule == RuleName.OneStandardError ? SelectionRule.OneStandardError : SelectionRule.Min,
            ColumnShift = [.. dataset.Columns.Select(c => c.Mean)],
            MaxThreads = maxThreads,
            Solver = request.Solver switch
            {
                SolverName.ClosedForm => SolverKind.ClosedForm,
                SolverName.CoordinateDescent => SolverKind.CoordinateDescent,
                SolverName.ProximalNewton => SolverKind.ProximalNewton,
                SolverName.ProximalGradient => SolverKind.ProximalGradient,
                SolverName.Sgd => SolverKind.Sgd,
                SolverName.Adam => SolverKind.Adam,
                SolverName.AdamW => SolverKind.AdamW,
                _ => SolverKind.Auto,
            },
            Model = request.Model == ModelName.Mlp ? ModelKind.Mlp : ModelKind.Linear,
            Training = Stochastic(request) ? Training(request) : null,
            Expansion = expansion,
        };
        if (request.Tolerance is { } tolerance) spec = spec with { Tolerance = tolerance };
        if (request.MaxIterations is { } maxIterations) spec = spec with { MaxIterations = maxIterations };
        return (spec, []);
    }

    /// <summary>The l1Ratio a (valid) request fits with: implied by the penalty, or given for elasticNet.</summary>
    public static double L1Ratio(FitRequest request) => request.Penalty switch
    {
        PenaltyName.Lasso => 1,
        PenaltyName.ElasticNet => request.L1Ratio ?? DefaultElasticNetL1Ratio,
        _ => 0,
    };

    /// <summary>The generated path, if any: the one asked for, or the default one for a penalized fit given no lambda.</summary>
    private static LambdaPathSpec? LambdaPath(FitRequest request, int rows, int features)
    {
        var path = request.Path;
        if (path is null && request.Lambda is null && request.Lambdas is null && request.Penalty != PenaltyName.None)
            path = new PathRequest();
        return path is null
            ? null
            : new LambdaPathSpec(path.Count ?? DefaultPathCount, path.MinRatio ?? LambdaGrid.DefaultMinRatio(rows, features));
    }

    private static void CheckL1Ratio(Errors errors, FitRequest request)
    {
        if (request.L1Ratio is not { } ratio) return;
        var penalty = Camel(request.Penalty);
        if (!double.IsFinite(ratio) || ratio < 0 || ratio > 1)
            errors.Add("l1Ratio", $"must be in [0, 1]; got {Show(ratio)}");
        else if (request.Penalty is PenaltyName.Ridge or PenaltyName.None && ratio != 0)
            errors.Add("l1Ratio", $"{penalty} has l1Ratio 0; got {Show(ratio)} (use elasticNet for a mix)");
        else if (request.Penalty == PenaltyName.Lasso && ratio != 1)
            errors.Add("l1Ratio", $"lasso has l1Ratio 1; got {Show(ratio)} (use elasticNet for a mix)");
        else if (request.Penalty == PenaltyName.ElasticNet && ratio is 0 or 1)
            errors.Add("l1Ratio", $"elasticNet takes l1Ratio in (0, 1); got {Show(ratio)} (use {(ratio == 0 ? "ridge" : "lasso")} for {Show(ratio)})");
    }

    private static void CheckLambdas(Errors errors, FitRequest request)
    {
        int given = (request.Lambda is null ? 0 : 1) + (request.Lambdas is null ? 0 : 1) + (request.Path is null ? 0 : 1);
        if (given > 1) errors.Add("lambda", "give one of lambda, lambdas or path, not several");
        if (request.Lambda is { } lambda) CheckLambda(errors, "lambda", lambda, request.Penalty);
        if (request.Lambdas is { } lambdas)
        {
            if (lambdas.Length == 0) errors.Add("lambdas", "must hold at least one lambda");
            if (lambdas.Length > 10_000) errors.Add("lambdas", $"holds {lambdas.Length} lambdas; at most 10000 are accepted");
            for (int i = 0; i < lambdas.Length; i++) CheckLambda(errors, $"lambdas[{i}]", lambdas[i], request.Penalty);
        }
        if (request.Path is { } path)
        {
            if (request.Penalty == PenaltyName.None)
                errors.Add("path", "penalty none has no penalty strength to vary; give no lambda (or lambda 0)");
            if (path.Count is { } count && (count < 1 || count > MaxPathCount))
                errors.Add("path.count", $"must be from 1 to {MaxPathCount}; got {count}");
            if (path.MinRatio is { } ratio && !(double.IsFinite(ratio) && ratio > 0 && ratio < 1))
                errors.Add("path.minRatio", $"must be in (0, 1): the smallest lambda as a fraction of lambda_max; got {Show(ratio)}");
        }
    }

    private static void CheckLambda(Errors errors, string field, double lambda, PenaltyName penalty)
    {
        if (!double.IsFinite(lambda)) errors.Add(field, $"must be a finite number; got {Show(lambda)}");
        else if (lambda < 0) errors.Add(field, $"must be >= 0; got {Show(lambda)}");
        else if (penalty == PenaltyName.None && lambda != 0) errors.Add(field, $"penalty none takes no lambda (or 0); got {Show(lambda)}");
    }

    /// <summary>True when every column name in the request (target, features, penaltyFactors keys) is within <paramref name="maxNameLength"/>.</summary>
    public static bool NamesFit(FitRequest request, int maxNameLength) =>
        (request.Target?.Length ?? 0) <= maxNameLength
        && (request.Features ?? []).All(f => (f?.Length ?? 0) <= maxNameLength)
        && (request.PenaltyFactors?.Keys ?? Enumerable.Empty<string>()).All(k => k.Length <= maxNameLength);

    /// <summary>A name longer than any column's (Datasets:MaxNameLength) is an error named by its field, and is not echoed whole.</summary>
    private static void CheckNameLengths(Errors errors, FitRequest request, int max)
    {
        string TooLong(int length) => $"is {length} characters long; a column name has at most {max} (Datasets:MaxNameLength)";
        if (request.Target is { Length: var t } && t > max) errors.Add("target", TooLong(t));
        if (request.Features is { } features)
            for (int i = 0; i < features.Length; i++)
                if (features[i] is { Length: var f } && f > max) errors.Add($"features[{i}]", TooLong(f));
        if (request.PenaltyFactors is { } factors)
            foreach (var key in factors.Keys.Where(k => k.Length > max))
                errors.Add("penaltyFactors", $"the key starting '{key[..Math.Min(40, key.Length)]}…' {TooLong(key.Length)}");
    }

    private static void CheckPenaltyFactors(Errors errors, FitRequest request, int maxNameLength)
    {
        if (request.PenaltyFactors is not { } factors) return;
        if (request.Penalty == PenaltyName.None)
            errors.Add("penaltyFactors", "penalty none has no penalty to weigh; drop penaltyFactors or choose a penalty");
        foreach (var (name, factor) in factors)
            if (name.Length <= maxNameLength && (!double.IsFinite(factor) || factor < 0))
                errors.Add($"penaltyFactors.{name}", $"must be a finite number >= 0 (0 leaves '{name}' unpenalized); got {Show(factor)}");
    }

    /// <summary>Penalty factors in feature order (null when none are given), checking every name against the features.</summary>
    private static double[]? PenaltyFactors(
        Errors errors, FitRequest request, Dataset dataset, Dictionary<string, int> index, int target, List<int> features,
        string[] fittedNames, bool expanded)
    {
        if (request.PenaltyFactors is not { } given || request.Penalty == PenaltyName.None) return null;
        if (expanded) return ExpandedPenaltyFactors(errors, given, fittedNames);
        var position = new Dictionary<int, int>();
        for (int j = 0; j < features.Count; j++) position[features[j]] = j;
        var factors = new double[features.Count];
        Array.Fill(factors, 1.0);
        foreach (var (name, factor) in given)
        {
            var field = $"penaltyFactors.{name}";
            if (!index.TryGetValue(name, out int c))
                errors.Add(field, $"'{name}' is not a column of data set {dataset.Id}; its columns are {List(dataset)}");
            else if (c == target)
                errors.Add(field, $"'{name}' is the target, not a feature");
            else if (!position.TryGetValue(c, out int j))
                errors.Add(field, $"'{name}' is not among the features of this fit ({string.Join(", ", request.Features?.Select(f => $"'{f}'") ?? [])})");
            else
                factors[j] = factor;
        }
        if (features.Count > 0 && factors.All(f => f == 0))
            errors.Add("penaltyFactors", "every feature has factor 0, so nothing is penalized; give at least one feature a positive factor (unlisted features get 1)");
        return factors;
    }

    /// <summary>Penalty factors keyed by expanded feature name (x1, x1^2, x1*x2, ...).</summary>
    private static double[] ExpandedPenaltyFactors(Errors errors, Dictionary<string, double> given, string[] names)
    {
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int j = 0; j < names.Length; j++) position[names[j]] = j;
        var factors = new double[names.Length];
        Array.Fill(factors, 1.0);
        foreach (var (name, factor) in given)
        {
            if (position.TryGetValue(name, out int j)) factors[j] = factor;
            else
                errors.Add($"penaltyFactors.{name}",
                    $"'{name}' is not an expanded feature of this fit; with an expansion, penalty factors name expanded features ({string.Join(", ", names.Take(10).Select(n => $"'{n}'"))}{(names.Length > 10 ? $" and {names.Length - 10} more" : "")})");
        }
        if (names.Length > 0 && factors.All(f => f == 0))
            errors.Add("penaltyFactors", "every feature has factor 0, so nothing is penalized; give at least one feature a positive factor (unlisted features get 1)");
        return factors;
    }

    /// <summary>True when the request trains by sgd, adam or adamW (named, or implied by an MLP).</summary>
    public static bool Stochastic(FitRequest request) =>
        request.Solver is SolverName.Sgd or SolverName.Adam or SolverName.AdamW || request.Model == ModelName.Mlp;

    private static ExpansionSpec? Expansion(FitRequest request) =>
        request.Expansion is { PolynomialDegree: > 1 and <= MaxPolynomialDegree } e ? new ExpansionSpec(e.PolynomialDegree.Value, e.Interactions) : null;

    private static TrainingSpec Training(FitRequest request)
    {
        var defaults = new TrainingSpec();
        return new TrainingSpec
        {
            Epochs = request.Epochs ?? defaults.Epochs,
            BatchSize = request.BatchSize ?? defaults.BatchSize,
            LearningRate = request.LearningRate,
            WeightDecay = request.WeightDecay ?? 0,
            Seed = request.Seed ?? 0,
            HiddenUnits = request.Model == ModelName.Mlp ? request.HiddenUnits ?? [DefaultHiddenUnits] : [],
            Dropout = request.Dropout ?? [],
            EarlyStopping = request.EarlyStopping is { } e
                ? new EarlyStoppingSpec(e.Patience ?? 10, e.MinDelta ?? 0, e.ValidationFraction ?? 0.1)
                : null,
            Augmentation = request.Augmentation is { } a ? new AugmentationSpec(a.GaussianNoise ?? 0, a.Copies ?? 1) : null,
        };
    }

    /// <summary>The stochastic solvers' settings: given only with sgd, adam or adamW, each in its range.</summary>
    private static void CheckTraining(Errors errors, FitRequest request)
    {
        bool stochastic = Stochastic(request), mlp = request.Model == ModelName.Mlp;
        var solver = Camel(request.Solver);
        void NotHere(string field) => errors.Add(field,
            $"applies to the stochastic solvers (solver sgd, adam or adamW, or model mlp); solver is {solver}");
        if (request.LearningRate is { } lr)
        {
            if (!stochastic) NotHere("learningRate");
            else if (!double.IsFinite(lr) || lr <= 0) errors.Add("learningRate", $"must be a positive number; got {Show(lr)}");
        }
        if (request.BatchSize is { } batch)
        {
            if (!stochastic) NotHere("batchSize");
            else if (batch < 1) errors.Add("batchSize", $"must be at least 1 row; got {batch}");
        }
        if (request.Epochs is { } epochs)
        {
            if (!stochastic) NotHere("epochs");
            else if (epochs < 1 || epochs > MaxEpochs) errors.Add("epochs", $"must be from 1 to {MaxEpochs}; got {epochs}");
        }
        if (request.WeightDecay is { } decay)
        {
            if (!stochastic) NotHere("weightDecay");
            else if (!double.IsFinite(decay) || decay < 0) errors.Add("weightDecay", $"must be a finite number >= 0; got {Show(decay)}");
        }
        if (request.Seed is not null && !stochastic) NotHere("seed");
        if (request.EarlyStopping is { } early)
        {
            if (!stochastic) NotHere("earlyStopping");
            if (early.Patience is { } patience && patience < 1)
                errors.Add("earlyStopping.patience", $"must be at least 1 epoch; got {patience}");
            if (early.MinDelta is { } delta && (!double.IsFinite(delta) || delta < 0))
                errors.Add("earlyStopping.minDelta", $"must be a finite number >= 0; got {Show(delta)}");
            if (early.ValidationFraction is { } fraction && !(double.IsFinite(fraction) && fraction > 0 && fraction < 1))
                errors.Add("earlyStopping.validationFraction", $"must be in (0, 1); got {Show(fraction)}");
        }
        if (request.Augmentation is { } augmentation)
        {
            if (!stochastic) NotHere("augmentation");
            if (augmentation.GaussianNoise is not { } sigma)
                errors.Add("augmentation.gaussianNoise", "is required: the noise's standard deviation on the standardized features");
            else if (!double.IsFinite(sigma) || sigma < 0)
                errors.Add("augmentation.gaussianNoise", $"must be a finite number >= 0; got {Show(sigma)}");
            if (augmentation.Copies is { } copies && (copies < 1 || copies > 1000))
                errors.Add("augmentation.copies", $"must be from 1 to 1000; got {copies}");
        }

        var layers = request.HiddenUnits ?? [DefaultHiddenUnits];
        if (request.HiddenUnits is { } hidden)
        {
            if (!mlp) errors.Add("hiddenUnits", "is for model mlp; the linear model has no hidden layer");
            else if (hidden.Length is < 1 or > 2) errors.Add("hiddenUnits", $"an MLP has 1 or 2 hidden layers; {hidden.Length} were given");
            for (int l = 0; l < hidden.Length; l++)
                if (hidden[l] is < 1 or > 4096) errors.Add($"hiddenUnits[{l}]", $"must be from 1 to 4096 units; got {hidden[l]}");
        }
        if (request.Dropout is { } dropout)
        {
            if (!mlp) errors.Add("dropout", "applies to the hidden layers of model mlp; the linear model has none");
            else if (dropout.Length != 1 && dropout.Length != layers.Length)
                errors.Add("dropout", $"give one rate, or one per hidden layer ({layers.Length}); {dropout.Length} were given");
            for (int l = 0; l < dropout.Length; l++)
                if (!(dropout[l] >= 0 && dropout[l] < 1))
                    errors.Add($"dropout[{l}]", $"must be in [0, 1): the fraction of units dropped while training; got {Show(dropout[l])}");
        }
        if (!stochastic) return;

        // The stochastic solvers fit one lambda, and early stopping is their validation.
        if (request.Path is not null)
            errors.Add("path", $"{(mlp ? "an MLP" : solver)} trains at one lambda; give lambda (default 0), not a path");
        if (request.Lambdas is { Length: > 1 } several)
            errors.Add("lambdas", $"{(mlp ? "an MLP" : solver)} trains at one lambda; {several.Length} were given");
        if (request.Validation is { Method: not ValidationMethodName.None } validation)
            errors.Add("validation.method", $"{Camel(validation.Method)} is not available with {(mlp ? "an MLP" : solver)}: use earlyStopping, whose held-out rows are scored");
    }

    private static void CheckExpansion(Errors errors, FitRequest request)
    {
        if (request.Expansion is not { } e) return;
        if (e.PolynomialDegree is not { } degree)
            errors.Add("expansion.polynomialDegree", $"is required: the highest power, 1 to {MaxPolynomialDegree}");
        else if (degree < 1 || degree > MaxPolynomialDegree)
            errors.Add("expansion.polynomialDegree", $"must be from 1 to {MaxPolynomialDegree}; got {degree}");
    }

    private static void CheckSolver(Errors errors, FitRequest request)
    {
        bool gaussian = request.Family == FamilyName.Gaussian;
        bool closedFormFits = gaussian && request.Penalty is PenaltyName.Ridge or PenaltyName.None && request.PenaltyFactors is null;
        var what = Describe(request);
        switch (request.Solver)
        {
            case SolverName.ClosedForm when !closedFormFits:
                errors.Add("solver", $"closedForm fits gaussian ridge or none without penaltyFactors; this request is {what}");
                break;
            case SolverName.CoordinateDescent when !gaussian:
                errors.Add("solver", "coordinateDescent fits the gaussian family; binomial fits use proximalNewton (or auto)");
                break;
            case SolverName.CoordinateDescent when closedFormFits:
                errors.Add("solver", $"{what} is solved exactly in closed form (closedForm or auto); coordinateDescent fits lasso, elasticNet, or ridge with penaltyFactors");
                break;
            case SolverName.ProximalNewton when gaussian:
                errors.Add("solver", $"proximalNewton fits the binomial family; this request is {what}");
                break;
            case SolverName.ClosedForm or SolverName.CoordinateDescent or SolverName.ProximalNewton or SolverName.ProximalGradient
                when request.Model == ModelName.Mlp:
                errors.Add("solver", $"model mlp is trained by sgd, adam or adamW (auto takes adamW); got {Camel(request.Solver)}");
                break;
        }
    }

    private static void CheckValidation(Errors errors, FitRequest request, ValidationRequest v)
    {
        var method = Camel(v.Method);
        bool holdout = v.Method == ValidationMethodName.Holdout, kfold = v.Method == ValidationMethodName.Kfold;
        if (v.HoldoutFraction is { } f)
        {
            if (!holdout) errors.Add("validation.holdoutFraction", $"applies to method holdout only; method is {method}");
            else if (!double.IsFinite(f) || f <= 0 || f >= 1) errors.Add("validation.holdoutFraction", $"must be in (0, 1); got {Show(f)}");
        }
        if (v.Folds is { } folds)
        {
            if (!kfold) errors.Add("validation.folds", $"applies to method kfold only; method is {method}");
            else if (folds < 2) errors.Add("validation.folds", $"must be at least 2; got {folds}");
        }
        if (v.FoldIds is { } ids)
        {
            int labels = ids.Distinct().Count();
            if (!kfold) errors.Add("validation.foldIds", $"applies to method kfold only; method is {method}");
            else if (labels < 2) errors.Add("validation.foldIds", $"has {labels} distinct label{(labels == 1 ? "" : "s")}; k-fold needs at least 2");
            else if (v.Folds is { } k && k != labels)
                errors.Add("validation.folds", $"is {k} but foldIds has {labels} distinct labels; give one of them, or both agreeing");
            if (kfold && v.Seed is not null)
                errors.Add("validation.seed", "applies to generated folds; foldIds fix the folds already");
        }
        if (v.Seed is not null && !holdout && !kfold)
            errors.Add("validation.seed", $"applies to methods holdout and kfold only; method is {method}");

        switch (v.Method)
        {
            case ValidationMethodName.None:
                if (v.Rule != RuleName.Min) errors.Add("validation.rule", "needs validation (holdout, kfold, loo or gcv) to choose among lambdas");
                return;
            case ValidationMethodName.Loo or ValidationMethodName.Gcv
                when request.Family != FamilyName.Gaussian || request.Penalty != PenaltyName.Ridge || request.PenaltyFactors is not null:
                errors.Add("validation.method",
                    $"{method} is for gaussian ridge without penaltyFactors only (exact from the closed form); this request is {Describe(request)}: use kfold or holdout");
                break;
            case ValidationMethodName.Loo or ValidationMethodName.Gcv when request.Solver is not (SolverName.Auto or SolverName.ClosedForm):
                errors.Add("validation.method", $"{method} is exact from the closed form; solver {Camel(request.Solver)} has no such shortcut: use kfold or holdout, or solver auto");
                break;
        }

        // Validation chooses a lambda: it needs several to choose among.
        string? single = request.Lambda is { } one ? $"lambda gives one ({Show(one)})"
            : request.Lambdas is { Length: 1 } list ? $"lambdas holds one ({Show(list[0])})"
            : request.Path is { Count: 1 } ? "a path of count 1 is one lambda"
            : request.Penalty == PenaltyName.None ? "penalty none has one (lambda 0)"
            : null;
        if (single is not null)
            errors.Add("validation.method", $"{method} chooses among several lambdas, but {single}: give lambdas or a path, or use method none");
    }

    private static string Describe(FitRequest request)
    {
        var what = $"{Camel(request.Family)} {Camel(request.Penalty)}";
        return request.PenaltyFactors is null ? what : what + " with penaltyFactors";
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

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string List(Dataset dataset)
    {
        var names = dataset.Columns.Take(20).Select(c => $"'{c.Name}'");
        return string.Join(", ", names) + (dataset.Columns.Count > 20 ? $" and {dataset.Columns.Count - 20} more" : "");
    }

    internal static string Camel<T>(T value) where T : struct, Enum
    {
        var s = value.ToString();
        return char.ToLowerInvariant(s[0]) + s[1..];
    }

    private sealed class Errors
    {
        private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);
        public int Count => _errors.Count;
        public void Add(string field, string message)
        {
            if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
            list.Add(message);
        }
        public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }
}
