using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using RegService.Api.Datasets;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Api.Fits;

/// <summary>Predictions of a fitted model on the rows posted or on a stored data set.</summary>
public sealed record PredictionDocument(
    string FitId,
    [property: Description("The lambda whose model predicted: the one asked for when interpolated between path points, else the path lambda used")] double Lambda,
    int Rows,
    string Family,
    [property: Description("Per row: fitted values b0 + x.b (gaussian), the probability of class 1, 1 / (1 + e^-eta) (binomial), the mean count e^eta (poisson) or the most probable class's label (multinomial), with eta = b0 + x.b plus the row's offset when the fit has one; for an MLP, the network's output in place of b0 + x.b. null where the value overflows (is not finite)")]
    IReadOnlyList<double?> Predictions,
    [property: Description("binomial: the predicted class per row, 1 when the probability exceeds 0.5")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<int>? Classes,
    [property: Description("true when the model is interpolated between two path points (glmnet's predict(fit, newx, s, exact = FALSE)); absent otherwise")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    bool? Interpolated = null,
    [property: Description("?datasetId= whose data set holds the fit's target column: the family's metrics of these predictions against it")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    MetricsSetDocument? Metrics = null,

    [property: Description("With returnStd (model bayesianRidge): the predictive standard deviation per row, sqrt(1/alpha + u' Sigma u) with u the row divided by featureScales (not centered), as scikit-learn's predict(return_std=True)")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<double?>? Std = null,
    [property: Description("A relaxed fit's gamma of the model that predicted; absent for other fits")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    double? Gamma = null,

    [property: Description("multinomial: the classes, in the order of each row's probabilities")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<double>? ClassLabels = null,

    [property: Description("multinomial: per row, the probability of each class (in the order of classLabels; they sum to 1)")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<IReadOnlyList<double>>? Probabilities = null);

/// <summary>POST /v1/fits/{id}/predict: the fitted model applied to new rows, posted or stored.</summary>
public static class PredictApi
{
    public static async Task<Results<Ok<PredictionDocument>, ValidationProblem, ProblemHttpResult>> Predict(
        string id, HttpContext http, ClaimsPrincipal user, IFitStore fits, IDatasetStore datasets, JsonSerializerOptionsProvider json,
        IOptions<DatasetOptions> options,
        [Description("A number (interpolated between path lambdas as glmnet's coef(exact = FALSE)), min or 1se; omit for the returned model")] string? lambda = null,
        [Description("Score this stored data set instead of a posted body")] string? datasetId = null,
        [Description("true: add the predictive standard deviation per row (std); model bayesianRidge only")] string? returnStd = null,
        [Description("true: a fit with an offset column (or a multinomial fit's classOffsets columns) predicts with offset 0 for every row (else the rows must carry those columns)")] string? zeroOffset = null,
        [Description(FitModels.GammaHelp)] string? gamma = null)
    {
        var tenant = user.Tenant();
        var (record, stored, problem) = FitModels.Succeeded(fits, tenant, id, json.Options, "can predict");
        if (problem is not null) return problem;
        var chosen = FitModels.At(stored!, lambda, gamma);
        if (chosen.Error is not null) return Problems.Invalid(chosen.Field!, chosen.Error, "The prediction request is invalid");
        var at = chosen.Model!;
        var model = stored!.Model;
        var request = StoredSubmission.ReadRequest(record!.RequestJson, json.Options);
        var (withStd, stdError) = ReturnStd(returnStd, model, request);
        if (stdError is not null) return Problems.Invalid("returnStd", stdError, "The prediction request is invalid");
        var (zero, zeroError) = ZeroOffset(zeroOffset, request);
        if (zeroError is not null) return Problems.Invalid("zeroOffset", zeroError, "The prediction request is invalid");
        // The fit's offset columns (offset; a multinomial fit's classOffsets, one per class), which the rows must carry unless
        // zeroOffset says to assume 0.
        var offsetColumns = zero ? [] : OffsetColumns(request);
        var offsetValues = new double[offsetColumns.Length][];

        // Rows carry the fit's input features: the data set features (expanded here when the fit was), in the fit's order.
        var inputs = model.RowFeatures;
        DenseMatrix x;
        double[]? y = null;
        if (datasetId is not null)
        {
            var dataset = datasets.Get(tenant, datasetId);
            if (dataset is null) return Problems.NotFound("Data set", datasetId, "datasetId");
            var (index, target, errors) = MatchStored(dataset, inputs, request.Target);
            var offsetIndex = offsetColumns.Select(o => dataset.Columns.ToList().FindIndex(c => c.Name == o.Column)).ToArray();
            for (int e = 0; e < offsetColumns.Length; e++)
                if (offsetIndex[e] < 0)
                    errors[offsetColumns[e].Field] = [$"the fit has offset column '{offsetColumns[e].Column}', which data set {dataset.Id} lacks: add it, or pass zeroOffset=true to assume 0"];
            if (errors.Count > 0) return Problems.Invalid(errors, "The data set lacks features of the fit");
            x = new DenseMatrix(dataset.Rows, inputs.Length);
            for (int j = 0; j < inputs.Length; j++) datasets.ReadColumn(dataset, index[j]).CopyTo(x.Column(j));
            if (target is { } t) y = datasets.ReadColumn(dataset, t);
            for (int e = 0; e < offsetColumns.Length; e++) offsetValues[e] = datasets.ReadColumn(dataset, offsetIndex[e]);
        }
        else
        {
            var limit = options.Value.MaxUploadBytes;
            if (TableBody.Check(http, limit, out var mediaType) is { } bodyProblem) return bodyProblem;
            var (table, _, unreadable) = await TableBody.ReadAsync(http, mediaType, limit, options.Value.TableLimits, "The rows could not be read");
            if (unreadable is not null) return unreadable;
            var columns = MatchColumns(table!, inputs, request.Target, [.. OffsetColumns(request).Select(o => o.Column)], offsetColumns);
            if (columns.Errors.Count > 0) return Problems.Invalid(columns.Errors, "The columns do not match the fit's features");
            x = new DenseMatrix(table!.Rows, inputs.Length);
            for (int j = 0; j < inputs.Length; j++) table.CopyColumnTo(columns.Index[j], x.Column(j));
            for (int e = 0; e < offsetColumns.Length; e++)
            {
                offsetValues[e] = new double[table.Rows];
                table.CopyColumnTo(columns.Offsets[e], offsetValues[e]);
            }
        }
        for (int e = 0; e < offsetColumns.Length; e++)
            if (Array.FindIndex(offsetValues[e], v => !double.IsFinite(v)) is var badRow and >= 0)
                return Problems.Invalid(offsetColumns[e].Field, $"row {badRow + 1} has offset {offsetValues[e][badRow]} in column '{offsetColumns[e].Column}'; every offset must be a finite number",
                    "The prediction request is invalid");
        double[]? offset = model.Classes is null && offsetValues.Length == 1 ? offsetValues[0] : null;

        (x, var all, var eta, var predictions) = StoredResults.Score(model, x, at.Intercept, at.Coefficients, offset);
        if (model.Classes is { } classes)
        {
            // Class k's offset column (glmnet's n x K offset), in the order of the labels; none with zeroOffset.
            double[][]? classOffsets = offsetValues.Length == 0 ? null : new double[classes.Labels.Length][];
            for (int e = 0; e < offsetValues.Length; e++) classOffsets![Array.BinarySearch(classes.Labels, offsetColumns[e].Label)] = offsetValues[e];
            var (probabilities, predicted) = Multiclass.At(model, classes, at).Predict(x, classOffsets);
            MetricsSetDocument? scored = null;
            if (y is not null)
            {
                var index = new int[y.Length];
                for (int i = 0; i < y.Length; i++)
                    if ((index[i] = Array.BinarySearch(classes.Labels, y[i])) < 0)
                        return Problems.Invalid("datasetId", $"the target column '{request.Target}' holds {y[i]} (row {i + 1}), which is not one of the fit's classes ({string.Join(", ", classes.Labels)})",
                            "The data set cannot be scored");
                scored = ResultMapper.Metrics(MulticlassMetrics.FromProbabilities(index, probabilities, classes.Labels.Length));
            }
            return TypedResults.Ok(new PredictionDocument(id, at.Lambda, x.Rows, model.Family, [.. predicted.Select(v => (double?)v)], null,
                at.Interpolated ? true : null, scored, null, ClassLabels: classes.Labels, Probabilities: probabilities));
        }

        MetricsSetDocument? metrics = null;
        if (y is not null)
        {
            if (model.Binomial || model.Poisson)
            {
                // The family's own rule for its target's values (binomial 0 or 1, poisson counts).
                var family = GlmFamily.For(model.EngineFamily);
                if (Array.FindIndex(y, v => family.TargetFault(v) is not null) is var bad and >= 0)
                    return Problems.Invalid("datasetId", $"the target column '{request.Target}' cannot score a {model.Family} fit; row {bad + 1}: {family.TargetFault(y[bad])}",
                        "The data set cannot be scored");
                metrics = ResultMapper.Metrics(family.FromPredictions(y, eta));
            }
            else metrics = ResultMapper.Metrics(RegressionMetrics.FromPredictions(y, [.. predictions]));
        }
        double[]? std = withStd && model.Posterior is { } posterior
            ? BayesianRidge.PredictiveStd(x, all, model.Scales, posterior.Covariance, posterior.NoisePrecision)
            : null;

        return TypedResults.Ok(new PredictionDocument(
            id, at.Lambda, x.Rows, model.Family,
            predictions.Select(p => double.IsFinite(p) ? p : (double?)null).ToArray(),
            model.Binomial ? predictions.Select(ClassificationMetrics.PredictedClass).ToArray() : null,
            at.Interpolated ? true : null, metrics,
            std?.Select(v => double.IsFinite(v) ? v : (double?)null).ToArray(), at.Gamma));
    }

    /// <summary>Whether the predictive standard deviation is asked for, or why it cannot be: it needs bayesianRidge's posterior.</summary>
    private static (bool Wanted, string? Error) ReturnStd(string? returnStd, StoredModel model, FitRequest request)
    {
        if (returnStd is null) return (false, null);
        if (!bool.TryParse(returnStd, out bool wanted)) return (false, $"must be true or false; got '{returnStd}'");
        if (wanted && model.Posterior is null)
            return (false, $"needs a posterior, which only model bayesianRidge has; this fit is model {FitRequestMapper.Camel(request.Model)}, penalty {FitRequestMapper.Camel(request.Penalty)}: omit returnStd");
        return (wanted, null);
    }

    /// <summary>Whether zeroOffset asks to assume offset 0, or why it cannot: the fit needs an offset column to have one to replace.</summary>
    private static (bool Zero, string? Error) ZeroOffset(string? zeroOffset, FitRequest request)
    {
        if (zeroOffset is null) return (false, null);
        if (!bool.TryParse(zeroOffset, out bool zero)) return (false, $"must be true or false; got '{zeroOffset}'");
        if (zero && request.Offset is null && request.ClassOffsets is null)
            return (false, "the fit has no offset column, so there is no offset to assume 0 for: omit zeroOffset");
        return (zero, null);
    }

    /// <summary>
    /// The fit's offset columns, each with the field that names it in a fault: offset, or a multinomial fit's classOffsets (one
    /// per class, classOffsets.{label} as the request wrote it, with the label; the fit accepted them, so every key is a class).
    /// </summary>
    private static (string Field, string Column, double Label)[] OffsetColumns(FitRequest request) =>
        request.ClassOffsets is { } classOffsets
            ? [.. classOffsets.Select(o => ($"classOffsets.{o.Key}", o.Value, double.Parse(o.Key, NumberStyles.Float, CultureInfo.InvariantCulture)))]
            : request.Offset is { } offset ? [("offset", offset, double.NaN)] : [];

    /// <summary>Where each feature is among a stored data set's columns (the target's too, when there); a missing feature is named.</summary>
    private static (int[] Index, int? Target, Dictionary<string, string[]> Errors) MatchStored(Dataset dataset, string[] features, string? target)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var stored = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < dataset.Columns.Count; c++) stored.TryAdd(dataset.Columns[c].Name, c);
        var index = new int[features.Length];
        for (int j = 0; j < features.Length; j++)
        {
            if (stored.TryGetValue(features[j], out int c)) index[j] = c;
            else errors[$"columns.{features[j]}"] = [$"'{features[j]}' is a feature of the fit but not a column of data set {dataset.Id}"];
        }
        return (index, target is not null && stored.TryGetValue(target, out int t) ? t : null, errors);
    }

    /// <summary>
    /// Where each feature is among the posted columns; every missing or extra column is an error named by it. The fit's offset
    /// columns (<paramref name="offsets"/>) may be posted too; those in <paramref name="needed"/> must be (an error named by their
    /// field), the others are not read.
    /// </summary>
    private static (int[] Index, int[] Offsets, Dictionary<string, string[]> Errors) MatchColumns(ColumnTable table, string[] features, string? target,
        string[] offsets, (string Field, string Column, double Label)[] needed)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var posted = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < table.Names.Count; c++) posted[table.Names[c]] = c;
        var index = new int[features.Length];
        var expected = string.Join(", ", features.Take(20).Select(f => $"'{f}'")) + (features.Length > 20 ? $" and {features.Length - 20} more" : "");
        for (int j = 0; j < features.Length; j++)
        {
            if (posted.TryGetValue(features[j], out int c)) index[j] = c;
            else errors[$"columns.{features[j]}"] = [$"'{features[j]}' is missing: the columns must be exactly the fit's features ({expected})"];
        }
        var known = new HashSet<string>(features, StringComparer.Ordinal);
        known.UnionWith(offsets);
        foreach (var name in table.Names.Where(n => !known.Contains(n)))
            errors[$"columns.{name}"] = [name == target
                ? $"'{name}' is the fit's target, so it is an extra column here: send only the features ({expected})"
                : $"'{name}' is an extra column, not a feature of the fit; the columns must be exactly its features ({expected})"];
        var offsetIndex = new int[needed.Length];
        for (int e = 0; e < needed.Length; e++)
            if (!posted.TryGetValue(needed[e].Column, out offsetIndex[e]))
                errors[needed[e].Field] = [$"the fit has offset column '{needed[e].Column}', which the rows lack: add it, or pass zeroOffset=true to assume 0"];
        return (index, offsetIndex, errors);
    }
}
