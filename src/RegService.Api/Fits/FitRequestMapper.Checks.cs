using System.Globalization;
using System.Text.Json;
using RegService.Numerics.Fitting;

namespace RegService.Api.Fits;

/// <summary>The request's own rules, checked before and beside the engine's: fields that need no data set (<see cref="CheckShape"/>),
/// name lengths, the validation object's fields, l1Ratio beside a penalty that implies it, and several lambdas for validation.</summary>
public static partial class FitRequestMapper
{
    /// <summary>The largest timeLimitSeconds (and Limits:MaxFitSeconds): 30 days, within what a timer can wait.</summary>
    public const double MaxTimeLimitSeconds = 30 * 24 * 3600;

    public const string MaxTimeLimitText = "2592000 (30 days)";

    /// <summary>Field checks that need no data set: the wire's own rules.</summary>
    public static Dictionary<string, string[]> CheckShape(FitRequest request, int maxNameLength = int.MaxValue)
    {
        var errors = new Errors();
        CheckNameLengths(errors, request, maxNameLength);
        if (string.IsNullOrWhiteSpace(request.DatasetId)) errors.Add("datasetId", "is required: the id returned by POST /v1/datasets");
        if (string.IsNullOrWhiteSpace(request.Target)) errors.Add("target", "is required: the name of the target column");
        int given = (request.Lambda is null ? 0 : 1) + (request.Lambdas is null ? 0 : 1) + (request.Path is null ? 0 : 1);
        if (given > 1) errors.Add("lambda", "give one of lambda, lambdas or path, not several");
        if (request.Augmentation is { GaussianNoise: null })
            errors.Add("augmentation.gaussianNoise", "is required: the noise's standard deviation on the standardized features");
        if (request.Expansion is { PolynomialDegree: null })
            errors.Add("expansion.polynomialDegree", $"is required: the highest power, 1 to {Numerics.Data.FeatureExpansion.MaxDegree}");
        if (request.Validation is { } v) CheckValidation(errors, v);
        if (request.TimeLimitSeconds is { } limit && !(limit > 0 && limit <= MaxTimeLimitSeconds))
            errors.Add("timeLimitSeconds", $"must be a number of seconds > 0 and at most {MaxTimeLimitText}; got {limit.ToString(CultureInfo.InvariantCulture)}");
        if (request.Model == ModelName.BayesianRidge)
        {
            // Said twice: bayesianRidge's own iteration limit and tolerance are under bayesian (the defaults are the engine's).
            if (request.Tolerance is not null) errors.Add("tolerance", $"is the path solvers' threshold; model bayesianRidge takes bayesian.tolerance (default {Show(BayesianSpec.DefaultTolerance)})");
            if (request.MaxIterations is not null) errors.Add("maxIterations", $"is the path solvers' limit; model bayesianRidge takes bayesian.maxIterations (default {BayesianSpec.DefaultMaxIterations})");
        }
        return errors.ToDictionary();
    }

    /// <summary>True when every column name in the request (target, features, penaltyFactors and limits keys) is within <paramref name="maxNameLength"/>.</summary>
    public static bool NamesFit(FitRequest request, int maxNameLength) =>
        (request.Target?.Length ?? 0) <= maxNameLength
        && (request.Weights?.Length ?? 0) <= maxNameLength
        && (request.Offset?.Length ?? 0) <= maxNameLength
        && (request.ClassOffsets ?? []).All(o => o.Key.Length <= maxNameLength && (o.Value?.Length ?? 0) <= maxNameLength)
        && (request.Features ?? []).All(f => (f?.Length ?? 0) <= maxNameLength)
        && (request.PenaltyFactors?.Keys ?? Enumerable.Empty<string>()).All(k => k.Length <= maxNameLength)
        && LimitNames(request.LowerLimits).Concat(LimitNames(request.UpperLimits)).All(k => k.Length <= maxNameLength);

    /// <summary>The feature names of lowerLimits or upperLimits given as an object.</summary>
    private static IEnumerable<string> LimitNames(JsonElement? limits) =>
        limits is { ValueKind: JsonValueKind.Object } o ? o.EnumerateObject().Select(m => m.Name) : [];

    /// <summary>A name longer than any column's (Datasets:MaxNameLength) is an error named by its field, and is not echoed whole.</summary>
    private static void CheckNameLengths(Errors errors, FitRequest request, int max)
    {
        string TooLong(int length) => $"is {length} characters long; a column name has at most {max} (Datasets:MaxNameLength)";
        if (request.Target is { Length: var t } && t > max) errors.Add("target", TooLong(t));
        if (request.Weights is { Length: var wl } && wl > max) errors.Add("weights", TooLong(wl));
        if (request.Offset is { Length: var ol } && ol > max) errors.Add("offset", TooLong(ol));
        foreach (var (key, name) in request.ClassOffsets ?? [])
            if (key.Length > max) errors.Add("classOffsets", $"the key starting '{key[..Math.Min(40, key.Length)]}…' {TooLong(key.Length)}");
            else if (name is { Length: var cl } && cl > max) errors.Add($"classOffsets.{key}", TooLong(cl));
        if (request.Features is { } features)
            for (int i = 0; i < features.Length; i++)
                if (features[i] is { Length: var f } && f > max) errors.Add($"features[{i}]", TooLong(f));
        if (request.PenaltyFactors is { } factors)
            foreach (var key in factors.Keys.Where(k => k.Length > max))
                errors.Add("penaltyFactors", $"the key starting '{key[..Math.Min(40, key.Length)]}…' {TooLong(key.Length)}");
    }

    /// <summary>The validation object's own rules: each field belongs to a method, and folds agree with foldIds.</summary>
    private static void CheckValidation(Errors errors, ValidationRequest v)
    {
        var method = Camel(v.Method);
        bool holdout = v.Method == ValidationMethodName.Holdout, kfold = v.Method == ValidationMethodName.Kfold;
        if (v.HoldoutFraction is not null && !holdout) errors.Add("validation.holdoutFraction", $"applies to method holdout only; method is {method}");
        if (v.Folds is not null && !kfold) errors.Add("validation.folds", $"applies to method kfold only; method is {method}");
        if (v.FoldIds is { } ids)
        {
            int labels = ids.Distinct().Count();
            if (!kfold) errors.Add("validation.foldIds", $"applies to method kfold only; method is {method}");
            else if (v.Folds is { } k && labels >= 2 && k != labels)
                errors.Add("validation.folds", $"is {k} but foldIds has {labels} distinct labels; give one of them, or both agreeing");
            if (kfold && v.Seed is not null)
                errors.Add("validation.seed", "applies to generated folds; foldIds fix the folds already");
        }
        if (v.Seed is not null && !holdout && !kfold)
            errors.Add("validation.seed", $"applies to methods holdout and kfold only; method is {method}");
    }

    /// <summary>
    /// l1Ratio beside a penalty that implies its own (ridge and none 0, lasso 1: the engine's <see cref="FitSpec.Alpha"/>)
    /// says the same thing twice; it must agree. The engine checks the range, and elasticNet's.
    /// </summary>
    private static void CheckImpliedL1Ratio(Errors errors, FitRequest request, FitSpec spec)
    {
        if (request.L1Ratio is not (>= 0 and <= 1 and var ratio) || spec.Penalty == Penalty.ElasticNet) return;
        double implied = (spec with { L1Ratio = null }).Alpha;
        if (ratio != implied)
            errors.Add("l1Ratio", $"{Camel(request.Penalty)} has l1Ratio {Show(implied)}; got {Show(ratio)} (use elasticNet for a mix)");
    }

    /// <summary>
    /// Validation chooses a lambda: the service asks for several to choose among (the engine fits one with validation
    /// too, and refuses validation to the stochastic solvers itself).
    /// </summary>
    private static void CheckSeveralLambdas(Errors errors, FitRequest request, FitSpec spec)
    {
        if (request.Validation is not { Method: not ValidationMethodName.None } v || spec.Stochastic) return;
        var method = Camel(v.Method);
        string? single = request.Lambda is { } one ? $"lambda gives one ({Show(one)})"
            : request.Lambdas is { Length: 1 } list ? $"lambdas holds one ({Show(list[0])})"
            : request.Path is { Count: 1 } ? "a path of count 1 is one lambda"
            : request.Penalty == PenaltyName.None ? "penalty none has one (lambda 0)"
            : null;
        if (single is not null)
            errors.Add("validation.method", $"{method} chooses among several lambdas, but {single}: give lambdas or a path, or use method none");
    }
}
