using System.Globalization;
using System.Text.Json;
using RegService.Numerics.Paths;

namespace RegService.Api.Fits;

/// <summary>A succeeded fit's model at the lambda a client chose (?lambda= of coefficients and predict).</summary>
/// <param name="Lambda">The lambda whose model this is: the one asked for when interpolated, else the path lambda used.</param>
/// <param name="Requested">The lambda asked for (min and 1se resolved), or null for the fit's returned model.</param>
/// <param name="Intercept">The intercept (original scale).</param>
/// <param name="Coefficients">Original-scale coefficients aligned with the fit's features (an MLP: its first-layer weight norms).</param>
/// <param name="Point">Where on the path; null for the fit's returned model.</param>
/// <param name="Gamma">A relaxed fit's gamma of this model (null for other fits).</param>
public sealed record ModelAtLambda(double Lambda, double? Requested, double Intercept, double[] Coefficients, PathBlend? Point, double? Gamma = null)
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

    /// <summary>The <c>gamma</c> query parameter's description (coefficients and predict).</summary>
    public const string GammaHelp =
        "A relaxed fit's gamma in [0, 1], min or 1se; omit for the gamma that goes with lambda (min: gammaMin, 1se: gamma1se, " +
        "else the fit's returned gamma). 400 for a fit without relax";

    /// <summary>
    /// The model at <paramref name="lambda"/> and, for a relaxed fit, <paramref name="gamma"/> (both null: the fit's returned model),
    /// or the query field at fault (lambda or gamma) and why. A relaxed fit's model at (lambda, gamma) is gamma * lasso + (1 - gamma)
    /// * refit at that lambda, interpolated between path lambdas as glmnet's coef(fit, s, gamma) does; lambda min or 1se is then the
    /// relaxed choice (cv.glmnet's relaxed lambda.min, lambda.1se), with its gamma unless one is given.
    /// </summary>
    public static (ModelAtLambda? Model, string? Field, string? Error) At(StoredResult stored, string? lambda, string? gamma)
    {
        var m = stored.Model;
        var relaxed = m.Relaxed;
        if (gamma is not null && relaxed is null)
            return (null, "gamma", "applies to a relaxed fit (relax in the request); this fit has no gammas: omit gamma");
        if (lambda is null && gamma is null) return (new ModelAtLambda(m.Lambda, null, m.Intercept, m.Coefficients, null, relaxed?.Gamma), null, null);

        double wanted;
        double? defaultGamma = relaxed?.Gamma;
        var r = stored.PathReport;
        switch (lambda?.Trim().ToLowerInvariant())
        {
            case null:
                wanted = m.Lambda;
                break;
            case "min" or "lambda.min":
                if ((relaxed is null ? r.LambdaMin : relaxed.LambdaMin) is not { } min) return (null, "lambda", NotValidated("min", "lambdaMin"));
                wanted = min;
                defaultGamma = relaxed?.GammaMin;
                break;
            case "1se" or "lambda.1se":
                if ((relaxed is null ? r.Lambda1se : relaxed.Lambda1se) is not { } se) return (null, "lambda", NotValidated("1se", "lambda1se"));
                wanted = se;
                defaultGamma = relaxed?.Gamma1se;
                break;
            default:
                if (!double.TryParse(lambda, NumberStyles.Float, CultureInfo.InvariantCulture, out wanted) || !double.IsFinite(wanted) || wanted < 0)
                    return (null, "lambda", $"must be a number >= 0, min or 1se; got '{lambda}'");
                break;
        }
        double? g = defaultGamma;
        switch (gamma?.Trim().ToLowerInvariant())
        {
            case null:
                break;
            case "min" or "gamma.min":
                g = relaxed!.GammaMin ?? (double?)null;
                if (g is null) return (null, "gamma", NotValidated("min", "gammaMin"));
                break;
            case "1se" or "gamma.1se":
                g = relaxed!.Gamma1se ?? (double?)null;
                if (g is null) return (null, "gamma", NotValidated("1se", "gamma1se"));
                break;
            default:
                if (!double.TryParse(gamma, NumberStyles.Float, CultureInfo.InvariantCulture, out double given) || !(given >= 0 && given <= 1))
                    return (null, "gamma", $"must be a number in [0, 1] (0 the unpenalized refit, 1 the penalized fit), min or 1se; got '{gamma}'");
                g = given;
                break;
        }
        var lambdas = m.Path.Lambdas;
        if (lambdas.Length == 0) return (null, "lambda", "this fit has no path to choose from; omit lambda");
        var point = PathInterpolation.Locate(lambdas, wanted, LambdaTolerance);
        if (m.Network is not null)
            return point is { Interpolated: false, Clamped: false }
                ? (new ModelAtLambda(lambdas[point.Left], wanted, m.Intercept, m.Coefficients, point), null, null)
                : (null, "lambda", $"an MLP is one network, trained at lambda {Show(m.Lambda)}: give that lambda or omit it; got {lambda}");

        var path = m.Path;
        int p = m.Features.Length;
        // A relaxed fit's models at the two path points blended by gamma, then interpolated in lambda (glmnet: blend.relaxed, then predict at s).
        var (leftIntercept, left) = relaxed is null ? (path.Intercepts[point.Left], path.Coefficients[point.Left].ToDense(p)) : relaxed.At(path, point.Left, g!.Value, p);
        var (rightIntercept, right) = !point.Interpolated ? (leftIntercept, left)
            : relaxed is null ? (path.Intercepts[point.Right], path.Coefficients[point.Right].ToDense(p)) : relaxed.At(path, point.Right, g!.Value, p);
        double intercept = point.Blend(leftIntercept, rightIntercept);
        var coefficients = point.Interpolated ? PathInterpolation.Blend(point, left, right) : left;
        return (new ModelAtLambda(point.Interpolated ? wanted : lambdas[point.Left], lambda is null ? null : wanted, intercept, coefficients, point, g), null, null);

        string NotValidated(string name, string field) =>
            $"{name} is the {field} of a validated fit (cross-validation, holdout, loo or gcv choose it); this fit has none: give a number";
    }

    public static string Show(double v) => v.ToString("G10", CultureInfo.InvariantCulture);
}
