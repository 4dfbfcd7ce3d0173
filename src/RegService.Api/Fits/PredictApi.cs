using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RegService.Api.Datasets;
using RegService.Api.Auth;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Api.Fits;

/// <summary>Predictions of a fitted model on the rows posted.</summary>
public sealed record PredictionDocument(
    string FitId,
    [property: Description("The lambda whose model predicted")] double Lambda,
    int Rows,
    string Family,
    [property: Description("Per row: fitted values b0 + x.b (gaussian), or the probability of class 1, 1 / (1 + e^-(b0 + x.b)) (binomial); for an MLP, the network's output in place of b0 + x.b. null where the value overflows (is not finite)")]
    IReadOnlyList<double?> Predictions,
    [property: Description("binomial: the predicted class per row, 1 when the probability exceeds 0.5")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<int>? Classes,
    [property: Description("With returnStd (model bayesianRidge): the predictive standard deviation per row, sqrt(1/alpha + u' Sigma u) with u the row divided by featureScales (not centered), as scikit-learn's predict(return_std=True)")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<double?>? Std = null);

/// <summary>POST /v1/fits/{id}/predict: the fitted model applied to new rows.</summary>
public static class PredictApi
{
    /// <summary>How close a requested lambda must be to a path lambda (relative).</summary>
    public const double LambdaTolerance = 1e-9;

    public static async Task<Results<Ok<PredictionDocument>, ValidationProblem, ProblemHttpResult>> Predict(
        string id, HttpContext http, ClaimsPrincipal user, IFitStore fits, JsonSerializerOptionsProvider json, IOptions<DatasetOptions> options,
        [Description("A lambda of the fit's path (one of path.lambdas, to a relative 1e-9); omit for the returned model")] string? lambda = null,
        [Description("true: add the predictive standard deviation per row (std); model bayesianRidge only")] string? returnStd = null)
    {
        var record = fits.Get(user.Tenant(), id);
        if (record is null) return Problems.NotFound("Fit", id, "id");
        if (record.Status != JobStatus.Succeeded || record.ResultJson is null)
            return Problems.Status(StatusCodes.Status409Conflict, "Fit not succeeded",
                $"fit {id} is {record.Status.Name()}; only a succeeded fit can predict",
                new Dictionary<string, object?> { ["fitStatus"] = record.Status.Name() });
        var model = StoredResults.Read(record.ResultJson, json.Options).Model;
        var request = StoredSubmission.Read(record.RequestJson, json.Options).Request;

        var (chosen, lambdaError) = Choose(model.Path.Lambdas, lambda);
        if (lambdaError is not null) return Problems.Invalid("lambda", lambdaError, "The prediction request is invalid");
        var (withStd, stdError) = ReturnStd(returnStd, model, request);
        if (stdError is not null) return Problems.Invalid("returnStd", stdError, "The prediction request is invalid");

        var limit = options.Value.MaxUploadBytes;
        if (TableBody.Check(http, limit, out var mediaType) is { } problem) return problem;
        var (table, _, unreadable) = await TableBody.ReadAsync(http, mediaType, limit, options.Value.TableLimits, "The rows could not be read");
        if (unreadable is not null) return unreadable;

        // Rows carry the fit's input features: the data set features (expanded here when the fit was), in the fit's order.
        var inputs = model.RowFeatures;
        var columns = MatchColumns(table!, inputs, request.Target);
        if (columns.Errors.Count > 0) return Problems.Invalid(columns.Errors, "The columns do not match the fit's features");

        var x = new DenseMatrix(table!.Rows, inputs.Length);
        for (int j = 0; j < inputs.Length; j++) table.CopyColumnTo(columns.Index[j], x.Column(j));
        int[] all = [.. Enumerable.Range(0, inputs.Length)];
        if (model.Expansion is { } e)
        {
            x = FeatureExpansion.Expand(x, all, new ExpansionSpec(e.PolynomialDegree, e.Interactions));
            all = [.. Enumerable.Range(0, model.Features.Length)];
        }
        double[] predictions;
        if (model.Network is { } network)
            predictions = StoredResults.ToNetworkModel(model, network).Predict(x, all);
        else
        {
            var (intercept, coefficients) = chosen is { } l
                ? (model.Path.Intercepts[l], model.Path.Coefficients[l].ToDense(model.Features.Length))
                : (model.Intercept, model.Coefficients);
            predictions = Prediction.Predict(x, all, intercept, coefficients, model.Binomial ? Family.Binomial : Family.Gaussian);
        }
        double[]? std = withStd && model.Posterior is { } posterior
            ? BayesianRidge.PredictiveStd(x, all, model.Scales, posterior.Covariance, posterior.NoisePrecision)
            : null;

        return TypedResults.Ok(new PredictionDocument(
            id, chosen is { } at ? model.Path.Lambdas[at] : model.Lambda, table.Rows, model.Family,
            predictions.Select(p => double.IsFinite(p) ? p : (double?)null).ToArray(),
            model.Binomial ? predictions.Select(p => p > 0.5 ? 1 : 0).ToArray() : null,
            std?.Select(v => double.IsFinite(v) ? v : (double?)null).ToArray()));
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

    /// <summary>The path index of the requested lambda (null: the fit's returned model), or why it cannot be used.</summary>
    private static (int? Index, string? Error) Choose(double[] lambdas, string? lambda)
    {
        if (lambda is null) return (null, null);
        if (!double.TryParse(lambda, NumberStyles.Float, CultureInfo.InvariantCulture, out double wanted) || !double.IsFinite(wanted))
            return (null, $"must be a number; got '{lambda}'");
        for (int l = 0; l < lambdas.Length; l++)
            if (Math.Abs(lambdas[l] - wanted) <= LambdaTolerance * Math.Abs(lambdas[l]) || lambdas[l] == wanted)
                return (l, null);
        if (lambdas.Length == 0) return (null, "this fit has no path to choose from; omit lambda");
        string Show(double v) => v.ToString("G10", CultureInfo.InvariantCulture);
        return (null, lambdas.Length == 1
            ? $"must be the fit's one lambda, {Show(lambdas[0])}; got {lambda}"
            : $"must be one of the fit's {lambdas.Length} path lambdas (from {Show(lambdas.Max())} down to {Show(lambdas.Min())}, " +
              $"matched to a relative 1e-9; see path.lambdas); got {lambda}");
    }

    /// <summary>Where each feature is among the posted columns; every missing or extra column is an error named by it.</summary>
    private static (int[] Index, Dictionary<string, string[]> Errors) MatchColumns(ColumnTable table, string[] features, string? target)
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
        foreach (var name in table.Names.Where(n => !known.Contains(n)))
            errors[$"columns.{name}"] = [name == target
                ? $"'{name}' is the fit's target, so it is an extra column here: send only the features ({expected})"
                : $"'{name}' is an extra column, not a feature of the fit; the columns must be exactly its features ({expected})"];
        return (index, errors);
    }
}
