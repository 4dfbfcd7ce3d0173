using System.Globalization;
using System.Text.Json;
using RegService.Api.Datasets;
using RegService.Numerics.Fitting;
using RegService.Numerics.Selection;

namespace RegService.Api.Fits;

/// <summary>
/// A fit request to the engine's <see cref="FitSpec"/>, and the spec's faults back to the request's fields. The rules
/// of a fit (ranges, defaults, which solver fits what, leave-one-out and GCV, the target's values) are the engine's
/// (<see cref="FitSpec.Check"/>, <see cref="FitSpec.Resolve"/>); here are only the wire's own: names looked up in the
/// data set, fields that say one thing twice (lambda and lambdas, l1Ratio beside a penalty that implies it, folds beside
/// foldIds), fields of a validation method that is not the one asked for, and the service's choice that validation needs
/// several lambdas.
/// Errors are keyed by the request field at fault, with messages that give both sides of a mismatch. The wire's own
/// checks are in FitRequestMapper.Checks.cs; the mapping, and the faults back to fields, here.
/// </summary>
public static partial class FitRequestMapper
{
    /// <summary>
    /// Maps the request onto <paramref name="dataset"/> and has the engine check and resolve it: the resolved spec, or the
    /// errors by request field (the engine's faults translated, after the names that are not in the data set; a field the
    /// mapping already faulted is not faulted again by the engine). <paramref name="readColumn"/> reads one stored column
    /// (the engine reads the target's).
    /// </summary>
    public static (FitSpec? Spec, Dictionary<string, string[]> Errors) Resolve(
        FitRequest request, Dataset dataset, int maxThreads, Func<int, double[]> readColumn)
    {
        var errors = new Errors();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < dataset.Columns.Count; c++) index[dataset.Columns[c].Name] = c;

        int target = request.Target is { } targetName ? Column(errors, index, dataset, "target", targetName, "") : -1;
        int weights = request.Weights is { } weightsName
            ? Column(errors, index, dataset, "weights", weightsName, "the weights are another column", (target, "target"))
            : -1;
        int offset = request.Offset is { } offsetName
            ? Column(errors, index, dataset, "offset", offsetName, "the offset is another column", (target, "target"), (weights, "weights column"))
            : -1;

        var (classOffsetColumns, classOffsetLabels, classOffsetKeys) = ClassOffsetColumns(errors, request, dataset, index, target, weights, offset);

        // Features in spec order, and for each the position in the request's features (for the engine's faults).
        var features = new List<int>();
        var requestIndex = new List<int>();
        if (request.Features is { } names)
        {
            if (names.Length == 0) errors.Add("features", "must name at least one column, or be omitted for every column but the target");
            for (int i = 0; i < names.Length; i++)
            {
                if (index.TryGetValue(names[i] ?? "", out int c) && c == weights && weights >= 0)
                    errors.Add($"features[{i}]", $"'{names[i]}' is the weights column; a column cannot be both a feature and the weights");
                else if (index.TryGetValue(names[i] ?? "", out c) && c == offset && offset >= 0)
                    errors.Add($"features[{i}]", $"'{names[i]}' is the offset column; a column cannot be both a feature and the offset");
                else if (index.TryGetValue(names[i] ?? "", out c) && classOffsetColumns.Contains(c))
                    errors.Add($"features[{i}]", $"'{names[i]}' is a class offset column (classOffsets); a column cannot be both a feature and an offset");
                else if (index.TryGetValue(names[i] ?? "", out c))
                {
                    features.Add(c);
                    requestIndex.Add(i);
                }
                else errors.Add($"features[{i}]", $"'{names[i]}' is not a column of data set {dataset.Id}; its columns are {List(dataset)}");
            }
        }
        else
        {
            for (int c = 0; c < dataset.Columns.Count; c++)
                if (c != target && c != weights && c != offset && !classOffsetColumns.Contains(c)) features.Add(c);
        }

        var spec = Map(request, dataset, target, features, maxThreads) with
        {
            Weights = weights >= 0 ? readColumn(weights) : null,
            Offset = offset >= 0 ? readColumn(offset) : null,
            ClassOffsets = request.ClassOffsets is null ? null
                : [.. classOffsetColumns.Select((c, e) => new ClassOffset(classOffsetLabels[e], c >= 0 ? readColumn(c) : []))],
        };
        var fitted = spec.FittedFeatureNames(dataset.Rows);
        if (fitted is not null)
        {
            var fittedNames = new FittedNames(request, dataset, index, target, features, fitted);
            spec = spec with
            {
                PenaltyFactors = PenaltyFactors(errors, request, fittedNames),
                LowerLimits = Limits(errors, "lowerLimits", request.LowerLimits, double.NegativeInfinity, fittedNames),
                UpperLimits = Limits(errors, "upperLimits", request.UpperLimits, double.PositiveInfinity, fittedNames),
            };
        }

        var data = new DataShape(dataset.Rows, dataset.Columns.Count, readColumn, $"data set {dataset.Id}");
        var (resolved, faults) = spec.Resolve(data);
        if (request.MultinomialType == MultinomialTypeName.Ungrouped && request.Family != FamilyName.Multinomial)
            errors.Add("multinomialType", $"applies to family multinomial only; family is {Camel(request.Family)}");
        var mapped = errors.Fields();
        CheckImpliedL1Ratio(errors, request, spec);
        CheckSeveralLambdas(errors, request, spec);
        var limitFields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fault in faults)
        {
            var field = ToWire(fault.Path, request, requestIndex, fitted, classOffsetKeys);
            if (mapped.Contains(field)) continue;
            // One limit for every feature is one field: its first fault names the feature, the rest would repeat it.
            if (field is "lowerLimits" or "upperLimits" && !limitFields.Add(field)) continue;
            errors.Add(field, fault.Message);
        }
        return errors.Count > 0 ? (null, errors.ToDictionary()) : (resolved, []);
    }

    /// <summary>
    /// The class offset columns of family multinomial's classOffsets ({"class label": "column"}): per entry, in the request's
    /// order, its column (-1 after a fault here), its label as a number and its key (for the engine's faults, which name
    /// classOffsets[entry]). A key that is not a number, a name that is not a column of the data set, the target, the weights or
    /// the offset column is a fault named classOffsets.{key}; which labels are classes, and that every class is named, are the
    /// engine's rules.
    /// </summary>
    private static (List<int> Columns, List<double> Labels, List<string> Keys) ClassOffsetColumns(
        Errors errors, FitRequest request, Dataset dataset, Dictionary<string, int> index, int target, int weights, int offset)
    {
        var (columns, labels, keys) = (new List<int>(), new List<double>(), new List<string>());
        foreach (var (key, name) in request.ClassOffsets ?? [])
        {
            string field = $"classOffsets.{key}";
            int column = -1;
            if (!double.TryParse(key, NumberStyles.Float, CultureInfo.InvariantCulture, out double label) || !double.IsFinite(label))
                errors.Add(field, $"'{key}' is not a class label: the classes of a multinomial target are its values, numbers (as the result's classes.labels lists them)");
            else
                column = Column(errors, index, dataset, field, name ?? "", "a class offset is another column",
                    (target, "target"), (weights, "weights column"), (offset, "offset column"));
            columns.Add(column);
            labels.Add(double.IsFinite(label) ? label : double.NaN);
            keys.Add(key);
        }
        return (columns, labels, keys);
    }

    /// <summary>
    /// The data set's column <paramref name="name"/> for <paramref name="field"/>, or -1 after a fault on it: a name that is not
    /// a column, or the column of one of the other <paramref name="roles"/> (its column, -1 when not given, and what it is;
    /// <paramref name="another"/> says what this field needs instead).
    /// </summary>
    private static int Column(Errors errors, Dictionary<string, int> index, Dataset dataset, string field, string name, string another,
        params ReadOnlySpan<(int Column, string Role)> roles)
    {
        if (!index.TryGetValue(name, out int column))
        {
            errors.Add(field, $"'{name}' is not a column of data set {dataset.Id}; its columns are {List(dataset)}");
            return -1;
        }
        foreach (var (taken, role) in roles)
            if (taken >= 0 && taken == column)
            {
                errors.Add(field, $"'{name}' is the {role}; {another}");
                return -1;
            }
        return column;
    }

    /// <summary>The request as a spec, names already looked up (an unknown target is column -1).</summary>
    private static FitSpec Map(FitRequest request, Dataset dataset, int target, List<int> features, int maxThreads)
    {
        var spec = new FitSpec
        {
            FeatureColumns = [.. features],
            FeatureNames = [.. features.Select(c => dataset.Columns[c].Name)],
            TargetColumn = target,
            TargetName = request.Target,
            Family = request.Family switch
            {
                FamilyName.Binomial => Family.Binomial,
                FamilyName.Poisson => Family.Poisson,
                FamilyName.Multinomial => Family.Multinomial,
                _ => Family.Gaussian,
            },
            MultinomialGrouped = request.MultinomialType == MultinomialTypeName.Grouped,
            Penalty = request.Penalty switch
            {
                PenaltyName.None => Penalty.None,
                PenaltyName.Lasso => Penalty.Lasso,
                PenaltyName.ElasticNet => Penalty.ElasticNet,
                _ => Penalty.Ridge,
            },
            L1Ratio = request.L1Ratio,
            Lambdas = request.Lambdas ?? (request.Lambda is { } lambda ? [lambda] : null),
            Path = request.Path is { } path
                ? (path.Count is { } count ? new LambdaPathSpec(count) : new LambdaPathSpec()) with { MinRatio = path.MinRatio }
                : null,
            Standardize = request.Standardize,
            FitIntercept = request.FitIntercept,
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
            Model = request.Model switch
            {
                ModelName.Mlp => ModelKind.Mlp,
                ModelName.BayesianRidge => ModelKind.BayesianRidge,
                _ => ModelKind.Linear,
            },
            Bayesian = Bayesian(request.Bayesian),
            Training = Training(request),
            Expansion = request.Expansion is { PolynomialDegree: { } degree } e ? new ExpansionSpec(degree, e.Interactions) : null,
            Relax = request.Relax is { } relax ? relax.Gamma is { } gammas ? new RelaxSpec { Gammas = gammas } : new RelaxSpec() : null,
        };
        if (request.Validation is { } v)
        {
            spec = spec with
            {
                Validation = v.Method switch
                {
                    ValidationMethodName.Holdout => ValidationMethod.Holdout,
                    ValidationMethodName.Kfold => ValidationMethod.KFold,
                    ValidationMethodName.Loo => ValidationMethod.LeaveOneOut,
                    ValidationMethodName.Gcv => ValidationMethod.Gcv,
                    _ => ValidationMethod.None,
                },
                Rule = v.Rule == RuleName.OneStandardError ? SelectionRule.OneStandardError : SelectionRule.Min,
                // The engine judges the measure against the family and the method (FitSpec's CheckValidation).
                Measure = v.Measure switch
                {
                    null => null,
                    ValidationMeasureName.Mse => ValidationMeasure.Mse,
                    ValidationMeasureName.Mae => ValidationMeasure.Mae,
                    ValidationMeasureName.Class => ValidationMeasure.Class,
                    ValidationMeasureName.Auc => ValidationMeasure.Auc,
                    _ => ValidationMeasure.Deviance,
                },
            };
            // Only the asked method's fields (CheckShape faults the others); unset ones take the engine's defaults.
            if (v.Method == ValidationMethodName.Holdout)
            {
                var holdout = new HoldoutSpec();
                if (v.HoldoutFraction is { } fraction) holdout = holdout with { Fraction = fraction };
                if (v.Seed is { } seed) holdout = holdout with { Seed = seed };
                spec = spec with { Holdout = holdout };
            }
            else if (v.Method == ValidationMethodName.Kfold)
            {
                var kfold = new KFoldSpec { FoldIds = v.FoldIds };
                if (v.Folds is { } folds) kfold = kfold with { Folds = folds };
                if (v.Seed is { } seed) kfold = kfold with { Seed = seed };
                spec = spec with { KFold = kfold };
            }
        }
        if (request.Tolerance is { } tolerance) spec = spec with { Tolerance = tolerance };
        if (request.Stopping == StoppingName.DualityGap) spec = spec with { Stopping = StoppingRule.DualityGap };
        if (request.MaxIterations is { } maxIterations) spec = spec with { MaxIterations = maxIterations };
        return spec;
    }

    /// <summary>bayesianRidge's settings given (null when none are): the engine's defaults for those left out; the engine checks them.</summary>
    private static BayesianSpec? Bayesian(BayesianRequest? b)
    {
        if (b is null) return null;
        var spec = new BayesianSpec();
        return spec with
        {
            Alpha1 = b.Alpha1 ?? spec.Alpha1,
            Alpha2 = b.Alpha2 ?? spec.Alpha2,
            Lambda1 = b.Lambda1 ?? spec.Lambda1,
            Lambda2 = b.Lambda2 ?? spec.Lambda2,
            MaxIterations = b.MaxIterations ?? spec.MaxIterations,
            Tolerance = b.Tolerance ?? spec.Tolerance,
        };
    }

    /// <summary>The training settings given (null when none is): the engine says which solvers read them and fills the rest.</summary>
    private static TrainingSpec? Training(FitRequest r)
    {
        if (r is { Epochs: null, BatchSize: null, LearningRate: null, WeightDecay: null, Seed: null, HiddenUnits: null, Dropout: null,
                EarlyStopping: null, Augmentation: null })
            return null;
        EarlyStoppingSpec? early = null;
        if (r.EarlyStopping is { } e)
        {
            early = new EarlyStoppingSpec();
            if (e.Patience is { } patience) early = early with { Patience = patience };
            if (e.MinDelta is { } delta) early = early with { MinDelta = delta };
            if (e.ValidationFraction is { } fraction) early = early with { ValidationFraction = fraction };
        }
        AugmentationSpec? augmentation = null;
        if (r.Augmentation is { } a)
        {
            augmentation = new AugmentationSpec(a.GaussianNoise ?? 0);   // a missing gaussianNoise is CheckShape's fault
            if (a.Copies is { } copies) augmentation = augmentation with { Copies = copies };
        }
        return new TrainingSpec
        {
            Epochs = r.Epochs,
            BatchSize = r.BatchSize,
            LearningRate = r.LearningRate,
            WeightDecay = r.WeightDecay,
            Seed = r.Seed,
            HiddenUnits = r.HiddenUnits,
            Dropout = r.Dropout,
            EarlyStopping = early,
            Augmentation = augmentation,
        };
    }

    /// <summary>
    /// A spec path as the request's field: <c>targetColumn</c> is target, <c>featureColumns[i]</c> the request's features[k],
    /// <c>lambdas</c> is lambda when the request gave one, <c>penaltyFactors[j]</c> penaltyFactors.name, <c>holdout.fraction</c>
    /// validation.holdoutFraction, <c>training.epochs</c> epochs (the request's training settings are top-level).
    /// </summary>
    internal static string ToWire(string path, FitRequest request, IReadOnlyList<int> requestIndex, string[]? fitted,
        IReadOnlyList<string>? classOffsetKeys = null)
    {
        var (head, item) = Split(path);
        return head switch
        {
            "data" => "datasetId",
            "targetColumn" => "target",
            "featureColumns" when item is { } i && request.Features is not null => $"features[{requestIndex[i]}]",
            "featureColumns" or "featureNames" => "features",
            "lambdas" when request.Lambda is not null => "lambda",
            "penaltyFactors" when item is { } j && fitted is not null => $"penaltyFactors.{fitted[j]}",
            "lowerLimits" or "upperLimits" when item is { } j && fitted is not null
                && (head == "lowerLimits" ? request.LowerLimits : request.UpperLimits) is { ValueKind: JsonValueKind.Object } => $"{head}.{fitted[j]}",
            "lowerLimits" or "upperLimits" => head,
            "classOffsets" when item is { } e && classOffsetKeys is not null => $"classOffsets.{classOffsetKeys[e]}",
            "validation" => "validation.method",
            "rule" => "validation.rule",
            "measure" => "validation.measure",
            "holdout.fraction" => "validation.holdoutFraction",
            "kFold.folds" => "validation.folds",
            "kFold.foldIds" => "validation.foldIds",
            "holdout" or "holdout.seed" or "kFold" or "kFold.seed" => "validation." + (head.EndsWith(".seed", StringComparison.Ordinal) ? "seed" : "method"),
            _ when head.StartsWith("training.", StringComparison.Ordinal) => path["training.".Length..],
            _ => path,
        };
    }

    /// <summary>"lambdas[2]" as ("lambdas", 2); a path without an index as (path, null).</summary>
    private static (string Head, int? Item) Split(string path)
    {
        int open = path.LastIndexOf('[');
        return open > 0 && path.EndsWith(']') && int.TryParse(path.AsSpan(open + 1, path.Length - open - 2), CultureInfo.InvariantCulture, out int i)
            ? (path[..open], i)
            : (path, null);
    }

    /// <summary>The fitted features of a request and how to say why a name is not one of them.</summary>
    private sealed class FittedNames(FitRequest request, Dataset dataset, Dictionary<string, int> index, int target, List<int> features, string[] fitted)
    {
        private readonly Dictionary<string, int> _position = Positions(fitted);

        private static Dictionary<string, int> Positions(string[] fitted)
        {
            // A feature named twice is the engine's fault to report; the last position wins here.
            var position = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int j = 0; j < fitted.Length; j++) position[fitted[j]] = j;
            return position;
        }

        public int Count => fitted.Length;

        /// <summary>The position of <paramref name="name"/> among the fitted features, or -1 after a fault on <paramref name="field"/>
        /// naming what it is instead (<paramref name="what"/>: "penalty factors", "limits").</summary>
        public int Find(Errors errors, string field, string name, string what)
        {
            if (_position.TryGetValue(name, out int j)) return j;
            if (request.Expansion is not null)
                errors.Add(field, $"'{name}' is not an expanded feature of this fit; with an expansion, {what} name expanded features ({string.Join(", ", fitted.Take(10).Select(n => $"'{n}'"))}{(fitted.Length > 10 ? $" and {fitted.Length - 10} more" : "")})");
            else if (!index.TryGetValue(name, out int c))
                errors.Add(field, $"'{name}' is not a column of data set {dataset.Id}; its columns are {List(dataset)}");
            else if (c == target)
                errors.Add(field, $"'{name}' is the target, not a feature");
            else if (!features.Contains(c))
                errors.Add(field, $"'{name}' is not among the features of this fit ({string.Join(", ", request.Features?.Select(f => $"'{f}'") ?? [])})");
            else
                errors.Add(field, $"'{name}' is not a fitted feature");
            return -1;
        }
    }

    /// <summary>
    /// Penalty factors in the order of the fitted features (null when none are given), every name looked up: a data set
    /// column that is a feature of this fit (with an expansion, an expanded feature).
    /// </summary>
    private static double[]? PenaltyFactors(Errors errors, FitRequest request, FittedNames names)
    {
        if (request.PenaltyFactors is not { } given) return null;
        var factors = new double[names.Count];
        Array.Fill(factors, 1.0);
        foreach (var (name, factor) in given)
            if (names.Find(errors, $"penaltyFactors.{name}", name, "penalty factors") is var j and >= 0) factors[j] = factor;
        return factors;
    }

    /// <summary>
    /// lowerLimits or upperLimits (glmnet's lower.limits / upper.limits) in the order of the fitted features: a number for
    /// every fitted feature, or an object {feature: number} whose unlisted features, and those given null, are unbounded
    /// (<paramref name="none"/>, an infinity: JSON has none); with an expansion the names are the expanded features'.
    /// Null when the request gives none. The engine judges the values (FitSpec's CheckLimits).
    /// </summary>
    private static double[]? Limits(Errors errors, string field, JsonElement? given, double none, FittedNames names)
    {
        if (given is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        var limits = new double[names.Count];
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                Array.Fill(limits, element.GetDouble());
                return limits;
            case JsonValueKind.Object:
                Array.Fill(limits, none);
                foreach (var member in element.EnumerateObject())
                {
                    var at = $"{field}.{member.Name}";
                    if (member.Value.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null))
                        errors.Add(at, $"must be a number, or null for no limit; got {member.Value.ValueKind.ToString().ToLowerInvariant()}");
                    else if (names.Find(errors, at, member.Name, "limits") is var j and >= 0)
                        limits[j] = member.Value.ValueKind == JsonValueKind.Null ? none : member.Value.GetDouble();
                }
                return limits;
            default:
                errors.Add(field, $"must be a number (a limit for every feature) or an object {{\"feature\": number}}; got {element.ValueKind.ToString().ToLowerInvariant()}");
                return null;
        }
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string List(Dataset dataset)
    {
        var names = dataset.Columns.Take(20).Select(c => $"'{c.Name}'");
        return string.Join(", ", names) + (dataset.Columns.Count > 20 ? $" and {dataset.Columns.Count - 20} more" : "");
    }

    internal static string Camel<T>(T value) where T : struct, Enum => SpecNames.Camel(value);

    private sealed class Errors
    {
        private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);
        public int Count => _errors.Count;
        public HashSet<string> Fields() => [.. _errors.Keys];
        public void Add(string field, string message)
        {
            if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
            list.Add(message);
        }
        public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }
}
