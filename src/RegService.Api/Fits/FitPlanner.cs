using RegService.Api.Datasets;
using RegService.Numerics.Fitting;
using RegService.Numerics.Selection;

namespace RegService.Api.Fits;

/// <summary>
/// Checks a fit request against its data set and turns it into the engine's <see cref="FitSpec"/>.
/// Errors are keyed by the request field at fault, with messages that give both sides of a mismatch.
/// </summary>
public static class FitPlanner
{
    public const double DefaultHoldoutFraction = 0.2;

    /// <summary>Field checks that need no data set.</summary>
    public static Dictionary<string, string[]> CheckShape(FitRequest request)
    {
        var errors = new Errors();
        if (string.IsNullOrWhiteSpace(request.DatasetId)) errors.Add("datasetId", "is required: the id returned by POST /v1/datasets");
        if (string.IsNullOrWhiteSpace(request.Target)) errors.Add("target", "is required: the name of the target column");
        if (request.Family != FamilyName.Gaussian)
            errors.Add("family", $"{Camel(request.Family)} is not supported yet; this version fits the gaussian family");
        if (request.Penalty is not (PenaltyName.Ridge or PenaltyName.None))
            errors.Add("penalty", $"{Camel(request.Penalty)} is not supported yet; this version fits ridge (closed form) or none");
        if (request.L1Ratio is { } ratio)
        {
            if (!double.IsFinite(ratio) || ratio < 0 || ratio > 1) errors.Add("l1Ratio", $"must be in [0, 1]; got {ratio}");
            else if (request.Penalty is PenaltyName.Ridge or PenaltyName.None && ratio != 0)
                errors.Add("l1Ratio", $"{Camel(request.Penalty)} has l1Ratio 0; got {ratio}");
        }

        int given = (request.Lambda is null ? 0 : 1) + (request.Lambdas is null ? 0 : 1) + (request.Path is null ? 0 : 1);
        if (given > 1) errors.Add("lambda", "give one of lambda, lambdas or path, not several");
        if (request.Path is not null) errors.Add("path", "lambda paths arrive with coordinate descent; give lambda or lambdas");
        if (request.Lambda is { } lambda) CheckLambda(errors, "lambda", lambda, request.Penalty);
        if (request.Lambdas is { } lambdas)
        {
            if (lambdas.Length == 0) errors.Add("lambdas", "must hold at least one lambda");
            if (lambdas.Length > 10_000) errors.Add("lambdas", $"holds {lambdas.Length} lambdas; at most 10000 are accepted");
            for (int i = 0; i < lambdas.Length; i++) CheckLambda(errors, $"lambdas[{i}]", lambdas[i], request.Penalty);
        }
        if (given == 0 && request.Penalty != PenaltyName.None)
            errors.Add("lambda", "is required: give lambda (one value) or lambdas (a list); penalty none needs neither");

        if (request.PenaltyFactors is not null)
            errors.Add("penaltyFactors", "are not supported yet by the closed-form ridge");
        if (request.Tolerance is { } tol && (!double.IsFinite(tol) || tol <= 0)) errors.Add("tolerance", $"must be a positive number; got {tol}");
        if (request.MaxIterations is { } max && max <= 0) errors.Add("maxIterations", $"must be positive; got {max}");

        if (request.Validation is { } v)
        {
            switch (v.Method)
            {
                case ValidationMethodName.Kfold:
                    errors.Add("validation.method", "kfold arrives with coordinate descent; use holdout or none");
                    break;
                case ValidationMethodName.None when v.HoldoutFraction is not null:
                    errors.Add("validation.holdoutFraction", "applies to method holdout only");
                    break;
                case ValidationMethodName.None when v.Rule != RuleName.Min:
                    errors.Add("validation.rule", "needs validation (method holdout) to choose among lambdas");
                    break;
            }
            if (v.HoldoutFraction is { } f && (!double.IsFinite(f) || f <= 0 || f >= 1))
                errors.Add("validation.holdoutFraction", $"must be in (0, 1); got {f}");
            if (v.Folds is not null) errors.Add("validation.folds", "applies to kfold, which arrives with coordinate descent");
        }
        return errors.ToDictionary();
    }

    /// <summary>Checks against the data set and builds the engine spec. Returns errors or a spec.</summary>
    public static (FitSpec? Spec, Dictionary<string, string[]> Errors) Plan(FitRequest request, Dataset dataset, int maxThreads)
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
                errors.Add("target", $"column '{targetName}' is constant (every value is {dataset.Columns[target].Min}); there is nothing to fit");
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

        if (dataset.Rows < 2) errors.Add("datasetId", $"data set {dataset.Id} has {dataset.Rows} row; a fit needs at least 2");
        HoldoutSpec? holdout = null;
        if (request.Validation is { Method: ValidationMethodName.Holdout } v)
        {
            double fraction = v.HoldoutFraction ?? DefaultHoldoutFraction;
            int held = Splits.HeldOutCount(dataset.Rows, fraction);
            if (fraction > 0 && fraction < 1 && (held < 1 || dataset.Rows - held < 2))
                errors.Add("validation.holdoutFraction",
                    $"{fraction} of {dataset.Rows} rows holds out {held} and trains on {dataset.Rows - held}; at least 1 held out and 2 to train are needed");
            holdout = new HoldoutSpec(fraction, v.Seed ?? 0);
        }

        if (errors.Count > 0) return (null, errors.ToDictionary());
        var spec = new FitSpec
        {
            FeatureColumns = [.. features],
            FeatureNames = [.. features.Select(c => dataset.Columns[c].Name)],
            TargetColumn = target,
            Family = Family.Gaussian,
            Penalty = request.Penalty == PenaltyName.None ? Penalty.None : Penalty.Ridge,
            L1Ratio = 0,
            Lambdas = request.Lambdas ?? [request.Lambda ?? 0.0],
            Standardize = request.Standardize,
            FitIntercept = request.FitIntercept,
            Validation = holdout is null ? ValidationMethod.None : ValidationMethod.Holdout,
            Holdout = holdout,
            Rule = request.Validation?.Rule == RuleName.OneStandardError ? SelectionRule.OneStandardError : SelectionRule.Min,
            ColumnShift = [.. dataset.Columns.Select(c => c.Mean)],
            MaxThreads = maxThreads,
        };
        return (spec, []);
    }

    private static void CheckLambda(Errors errors, string field, double lambda, PenaltyName penalty)
    {
        if (!double.IsFinite(lambda)) errors.Add(field, $"must be a finite number; got {lambda}");
        else if (lambda < 0) errors.Add(field, $"must be >= 0; got {lambda}");
        else if (penalty == PenaltyName.None && lambda != 0) errors.Add(field, $"penalty none takes no lambda (or 0); got {lambda}");
    }

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
