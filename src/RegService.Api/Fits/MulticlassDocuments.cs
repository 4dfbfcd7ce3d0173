using System.ComponentModel;
using System.Text.Json.Serialization;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;

namespace RegService.Api.Fits;

/// <summary>
/// Multinomial metrics: mean log loss (scikit-learn's log_loss), accuracy of the most probable class, mean deviance per row
/// (2 x log loss), 1 - deviance / null deviance, the class error (1 - accuracy, cv.glmnet's "class"), and per class the
/// one-vs-rest ROC AUC of its probability (aligned with classes.labels; null for a class absent from the rows).
/// </summary>
public sealed record MultinomialMetricsDocument(
    int Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? LogLoss,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Accuracy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Deviance,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? DevianceRatio,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? ClassError,
    [property: Description("One-vs-rest ROC AUC per class, in the order of classes.labels; null where a class is absent from (or is all of) the rows")]
    IReadOnlyList<double?> ClassAuc) : MetricsSetDocument(Rows);

/// <summary>One class's model: its label, intercept and nonzero coefficients.</summary>
public sealed record ClassModelDocument(
    [property: Description("The class: one of the target's values")] double Label,
    [property: Description("The class's intercept (original scale; the intercepts of the classes sum to 0)")] double Intercept,
    [property: Description("The class's nonzero original-scale coefficients by feature name")] IReadOnlyDictionary<string, double> Coefficients,
    [property: Description("The class's nonzero coefficients of the standardized features by name")] IReadOnlyDictionary<string, double> StandardizedCoefficients);

/// <summary>
/// Family multinomial: the classes and each one's model at the returned lambda, in glmnet's symmetric parametrization
/// (p_k = e^eta_k / sum_l e^eta_l, eta_k = intercept_k + x.coefficients_k). The result's top-level intercept, coefficients,
/// standardizedCoefficients and path intercepts and coefficients are the first class's (labels[0]); sparsity and path.nonZero
/// count the features nonzero in any class (glmnet's df).
/// </summary>
public sealed record ClassesDocument(
    [property: Description("The classes: the target's distinct values, smallest first")] IReadOnlyList<double> Labels,
    [property: Description("multinomialType: ungrouped or grouped")] string Type,
    [property: Description("Each class's model at the returned lambda, in the order of labels")] IReadOnlyList<ClassModelDocument> Models);

/// <summary>Family multinomial: every class's model per path lambda (?include=path and /path).</summary>
public sealed record ClassPathDocument(
    [property: Description("Per lambda, the intercept of each class (in the order of classes.labels)")] IReadOnlyList<IReadOnlyList<double>> Intercepts,
    [property: Description("Per lambda, each class's nonzero coefficients (indices into features, values)")] IReadOnlyList<IReadOnlyList<SparseCoefficientsDocument>> Coefficients);

/// <summary>The stored form of a multinomial model: labels, the returned model per class, and the path per lambda per class.</summary>
public sealed record StoredClasses(
    double[] Labels,
    bool Grouped,
    double[] Intercepts,
    StoredSparseVector[] Coefficients,
    StoredSparseVector[] StandardizedCoefficients,
    double[][] PathIntercepts,
    StoredSparseVector[][] PathCoefficients);

/// <summary>A multinomial model at one lambda, every class's (original scale, aligned with the fit's features).</summary>
public sealed record ClassModelsAt(double[] Labels, double[] Intercepts, double[][] Coefficients)
{
    /// <summary>Probabilities [row][class] of rows of the features (in order), and each row's most probable class label; with
    /// <paramref name="offsets"/> ([class][row], glmnet's n x K offset) class k's added to its linear predictor.</summary>
    public (double[][] Probabilities, double[] Predicted) Predict(DenseMatrix rows, double[][]? offsets = null)
    {
        int[] all = [.. Enumerable.Range(0, rows.Columns)];
        var prob = new MulticlassModel(Intercepts, Coefficients, Coefficients).Probabilities(rows, all, null, offsets);
        var predicted = new double[prob.Length];
        for (int i = 0; i < prob.Length; i++)
        {
            int best = 0;
            for (int k = 1; k < Labels.Length; k++) if (prob[i][k] > prob[i][best]) best = k;
            predicted[i] = Labels[best];
        }
        return (prob, predicted);
    }
}

/// <summary>The multinomial family through the API: stored, projected, and chosen at a lambda.</summary>
public static class Multiclass
{
    public const string Link = "softmax";

    public static StoredClasses? ToStored(FitSpec spec, FitResult result)
    {
        if (result.Classes is not { } model || result.ClassLabels is not { } labels) return null;
        return new StoredClasses(labels, spec.MultinomialGrouped, model.Intercepts,
            [.. model.Coefficients.Select(StoredSparseVector.From)], [.. model.StandardizedCoefficients.Select(StoredSparseVector.From)],
            [.. result.Path.Select(p => p.Classes!.Intercepts)],
            [.. result.Path.Select(p => p.Classes!.Coefficients.Select(StoredSparseVector.From).ToArray())]);
    }

    public static MetricsSetDocument Metrics(MulticlassMetrics m) =>
        new MultinomialMetricsDocument(m.Rows, Finite(m.LogLoss), Finite(m.Accuracy), Finite(m.Deviance), Finite(m.DevianceRatio), Finite(m.ClassError),
            [.. m.ClassAuc.Select(Finite)]);

    public static ClassesDocument Project(StoredClasses c, string[] features) =>
        new(c.Labels, c.Grouped ? "grouped" : "ungrouped",
            [.. c.Labels.Select((label, k) => new ClassModelDocument(label, c.Intercepts[k], ByName(features, c.Coefficients[k]), ByName(features, c.StandardizedCoefficients[k])))]);

    public static ClassPathDocument ProjectPath(StoredClasses c) =>
        new([.. c.PathIntercepts], [.. c.PathCoefficients.Select(l => (IReadOnlyList<SparseCoefficientsDocument>)[.. l.Select(v => new SparseCoefficientsDocument(v.Indices, v.Values))])]);

    /// <summary>Features nonzero in some class of the returned model.</summary>
    public static List<string> Selected(StoredClasses c, string[] features)
    {
        var any = new bool[features.Length];
        foreach (var v in c.Coefficients) foreach (int j in v.Indices) any[j] = true;
        return [.. features.Where((_, j) => any[j])];
    }

    /// <summary>Every class's model at the point <paramref name="at"/> chose (the returned model when it chose none), interpolated as its first class's.</summary>
    public static ClassModelsAt At(StoredModel model, StoredClasses c, ModelAtLambda at)
    {
        int p = model.Features.Length, K = c.Labels.Length;
        if (at.Point is not { } point)
            return new ClassModelsAt(c.Labels, c.Intercepts, [.. c.Coefficients.Select(v => v.ToDense(p))]);
        var intercepts = new double[K];
        var coefficients = new double[K][];
        for (int k = 0; k < K; k++)
        {
            intercepts[k] = point.Blend(c.PathIntercepts[point.Left][k], c.PathIntercepts[point.Right][k]);
            coefficients[k] = point.Interpolated
                ? PathInterpolation.Blend(point, c.PathCoefficients[point.Left][k].ToDense(p), c.PathCoefficients[point.Right][k].ToDense(p))
                : c.PathCoefficients[point.Left][k].ToDense(p);
        }
        return new ClassModelsAt(c.Labels, intercepts, coefficients);
    }

    /// <summary>The 409 of an operation that reads one linear predictor (plots, model export), for a multinomial fit.</summary>
    public static string NotForMultinomial(string id, string what) =>
        $"fit {id} is multinomial: {what} reads one linear predictor and a multinomial model has one per class; GET /v1/fits/{id} (classes), "
        + $"/coefficients and POST /v1/fits/{id}/predict (class probabilities) serve it";

    private static Dictionary<string, double> ByName(string[] features, StoredSparseVector v)
    {
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < v.Indices.Length; i++) if (v.Values[i] != 0) map[features[v.Indices[i]]] = v.Values[i];
        return map;
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
