using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;
using RegService.Numerics.Paths;

namespace RegService.Api.Fits;

/// <summary>A succeeded fit's model at the lambda a client chose (?lambda= of coefficients and predict).</summary>
/// <param name="Lambda">The lambda whose model this is: the one asked for when interpolated, else the path lambda used.</param>
/// <param name="Requested">The lambda asked for (min and 1se resolved), or null for the fit's returned model.</param>
/// <param name="Intercept">The intercept (original scale).</param>
/// <param name="Coefficients">Original-scale coefficients aligned with the fit's features (an MLP: its first-layer weight norms).</param>
/// <param name="Point">Where on the path; null for the fit's returned model.</param>
public sealed record ModelAtLambda(double Lambda, double? Requested, double Intercept, double[] Coefficients, PathBlend? Point)
{
    public bool Interpolated => Point?.Interpolated == true;
    public bool OutsidePath => Point?.Clamped == true;
}

/// <summary>Reads succeeded fits and chooses the model at a lambda, as glmnet's coef and predict with exact = FALSE.</summary>
public static class FitModels
{
    /// <summary>A lambda within this relative distance of a path lambda is that path point.</summary>
    public const double LambdaTolerance = 1e-9;

    public const string LambdaHelp =
        "a number (between path lambdas the model is interpolated linearly in lambda, as glmnet's coef(fit, s, exact = FALSE); " +
        "outside the path the nearer end's model), min or 1se (lambdaMin or lambda1se of a validated fit); omit for the fit's returned model";

    /// <summary>
    /// True when the fit has a model to use: it succeeded, or it was canceled after some lambdas and kept them (a partial
    /// result, <see cref="StoredResult.PartialReason"/>), which predict, coefficients, plots and the path serve as they do a
    /// succeeded fit's.
    /// </summary>
    public static bool HasResult(FitRecord record) =>
        record.ResultJson is not null && record.Status is JobStatus.Succeeded or JobStatus.Canceled;

    /// <summary>The stored result of a succeeded fit (or a canceled one's partial result); else 404 (unknown) or 409 (no result) naming what it is for.</summary>
    public static (FitRecord? Record, StoredResult? Stored, ProblemHttpResult? Problem) Succeeded(
        IFitStore fits, string tenant, string id, JsonSerializerOptions options, string purpose)
    {
        var record = fits.Get(tenant, id);
        if (record is null) return (null, null, Problems.NotFound("Fit", id, "id"));
        if (!HasResult(record))
            return (record, null, Problems.Status(StatusCodes.Status409Conflict, "Fit not succeeded",
                $"fit {id} is {record.Status.Name()}; only a succeeded fit {purpose} (or a fit canceled after some lambdas, on those lambdas)",
                new Dictionary<string, object?> { ["fitStatus"] = record.Status.Name() }));
        return (record, StoredResults.Read(record.ResultJson!, options), null);
    }

    /// <summary>The model at <paramref name="lambda"/> (null: the fit's returned model), or why that lambda cannot be used.</summary>
    public static (ModelAtLambda? Model, string? Error) At(StoredResult stored, string? lambda)
    {
        var m = stored.Model;
        if (lambda is null) return (new ModelAtLambda(m.Lambda, null, m.Intercept, m.Coefficients, null), null);

        double wanted;
        var r = stored.PathReport;
        switch (lambda.Trim().ToLowerInvariant())
        {
            case "min" or "lambda.min":
                if (r.LambdaMin is not { } min) return (null, NotValidated("min", "lambdaMin"));
                wanted = min;
                break;
            case "1se" or "lambda.1se":
                if (r.Lambda1se is not { } se) return (null, NotValidated("1se", "lambda1se"));
                wanted = se;
                break;
            default:
                if (!double.TryParse(lambda, NumberStyles.Float, CultureInfo.InvariantCulture, out wanted) || !double.IsFinite(wanted) || wanted < 0)
                    return (null, $"must be a number >= 0, min or 1se; got '{lambda}'");
                break;
        }
        var lambdas = m.Path.Lambdas;
        if (lambdas.Length == 0) return (null, "this fit has no path to choose from; omit lambda");
        var point = PathInterpolation.Locate(lambdas, wanted, LambdaTolerance);
        if (m.Network is not null)
            return point is { Interpolated: false, Clamped: false }
                ? (new ModelAtLambda(lambdas[point.Left], wanted, m.Intercept, m.Coefficients, point), null)
                : (null, $"an MLP is one network, trained at lambda {Show(m.Lambda)}: give that lambda or omit it; got {lambda}");

        var path = m.Path;
        double intercept = point.Blend(path.Intercepts[point.Left], path.Intercepts[point.Right]);
        var coefficients = point.Interpolated
            ? PathInterpolation.Blend(point, path.Coefficients[point.Left].ToDense(m.Features.Length), path.Coefficients[point.Right].ToDense(m.Features.Length))
            : path.Coefficients[point.Left].ToDense(m.Features.Length);
        return (new ModelAtLambda(point.Interpolated ? wanted : lambdas[point.Left], wanted, intercept, coefficients, point), null);

        string NotValidated(string name, string field) =>
            $"{name} is the {field} of a validated fit (cross-validation, holdout, loo or gcv choose it); this fit has none: give a number";
    }

    public static string Show(double v) => v.ToString("G10", CultureInfo.InvariantCulture);
}
