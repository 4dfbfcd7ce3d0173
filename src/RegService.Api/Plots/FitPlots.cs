using System.Globalization;
using RegService.Api.Fits;

namespace RegService.Api.Plots;

/// <summary>
/// The plots of a finished fit, built from its stored result (<see cref="StoredResult"/>) as <see cref="Chart"/>s:
/// <list type="bullet">
/// <item><c>path</c>: coefficients against lambda on a log axis, one line per feature that is nonzero somewhere on the
/// path, the nonzero count along the top and the returned lambda marked (glmnet's <c>plot(fit)</c>).</item>
/// <item><c>validation</c>: mean validation loss with one standard error per lambda, lambda.min and lambda.1se marked
/// (<c>plot(cv.glmnet)</c>).</item>
/// <item><c>learning</c>: training and early-stopping loss per epoch, the kept epoch marked (sgd, adam, adamW, mlp).</item>
/// <item><c>fitted</c>: predicted against actual (gaussian) or the ROC curve with its AUC (binomial), on the fit's data set.</item>
/// <item><c>complexity</c>: training and validation error against lambda, the penalty weakening to the right (the
/// bias-variance picture; one fit has one polynomial degree, so lambda is what varies).</item>
/// </list>
/// Which kinds a fit can draw is decided in one place, <see cref="Unavailable"/>.
/// </summary>
public static class FitPlots
{
    /// <summary>Every kind, in the order the list endpoint gives them.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["path", "validation", "learning", "fitted", "complexity"];

    /// <summary>At most this many path series (the features first to enter the path); the rest are counted in a note.</summary>
    public const int MaxPathSeries = 100;

    /// <summary>At most this many points of predicted against actual (every k-th row past it) or of the ROC curve.</summary>
    public const int MaxPoints = 2000;

    /// <summary>The kinds this result can draw (with the fit's data set when <paramref name="hasDataset"/>).</summary>
    public static IReadOnlyList<string> Available(StoredResult result, bool hasDataset) =>
        [.. Kinds.Where(k => Unavailable(k, result, hasDataset) is null)];

    /// <summary>Why the result cannot draw <paramref name="kind"/>, or null when it can.</summary>
    public static string? Unavailable(string kind, StoredResult result, bool hasDataset)
    {
        var m = result.Model;
        int lambdas = m.Path.Lambdas.Count(l => l > 0 && double.IsFinite(l));
        var curve = result.PathReport.Validation;
        int scored = curve is null ? 0 : m.Path.Lambdas.Where((l, i) => l > 0 && i < curve.Mean.Count && curve.Mean[i] is { } v && double.IsFinite(v)).Count();
        return kind switch
        {
            "path" when m.Network is not null => "an MLP has no coefficient path",
            "path" when m.Classes is not null => "a multinomial fit has one coefficient path per class (GET /v1/fits/{id}/path lists them under path.classes)",
            "fitted" when m.Classes is not null => "a multinomial fit predicts class probabilities, not one value per row (predict with ?datasetId= scores them)",
            "path" when lambdas < 2 => "the fit has fewer than two positive path lambdas (fit a path, or give lambdas)",
            "path" => null,
            "validation" when curve is null => "the fit has no validation curve (fit a path with validation: kfold or holdout)",
            "validation" when scored < 2 => "the validation curve has fewer than two scored lambdas",
            "validation" => null,
            "learning" when result.Training is not { Curve.Train.Count: > 0 } => "the fit has no learning curve (train with sgd, adam, adamW or an MLP)",
            "learning" => null,
            "fitted" when !hasDataset => "the fit's data set has been deleted",
            "fitted" => null,
            "complexity" when Unavailable("validation", result, hasDataset) is { } why => why,
            // The training series is the deviance per row: only a validation deviance (gaussian: mse) shares its units.
            "complexity" when curve!.Measure is not ("deviance" or "mse") || curve.Measure == "mse" && m.Family != "gaussian" =>
                $"the complexity plot sets the training deviance beside the validation deviance; this fit's validation scored {curve.Measure} (validation.measure)",
            "complexity" when result.PathReport.DevianceRatio is null || result.Diagnostics.NullDeviance is not { } d || !double.IsFinite(d) =>
                "the fit did not record the training deviance per lambda",
            "complexity" => null,
            _ => $"'{kind}' is not a kind of plot (kinds: {string.Join(", ", Kinds)})",
        };
    }

    /// <summary>The chart of a kind that <see cref="Unavailable"/> allows and that needs no data set.</summary>
    public static Chart Build(string kind, StoredResult result) => kind switch
    {
        "path" => Path(result),
        "validation" => Validation(result),
        "learning" => Learning(result),
        "complexity" => Complexity(result),
        _ => throw new ArgumentException($"'{kind}' is not drawn from the result alone", nameof(kind)),
    };

    /// <summary>Coefficients against lambda, as glmnet's plot(fit, xvar = "lambda").</summary>
    public static Chart Path(StoredResult result)
    {
        var m = result.Model;
        var lambdas = m.Path.Lambdas;
        // Features nonzero somewhere, in the order they enter the path (then by index).
        var entry = new Dictionary<int, int>();
        for (int l = 0; l < m.Path.Coefficients.Length; l++)
            foreach (var (j, v) in m.Path.Coefficients[l].Indices.Zip(m.Path.Coefficients[l].Values))
                if (v != 0) entry.TryAdd(j, l);
        var drawn = entry.OrderBy(e => e.Value).ThenBy(e => e.Key).Take(MaxPathSeries).Select(e => e.Key).ToList();
        var values = drawn.ToDictionary(j => j, _ => new double[lambdas.Length]);
        for (int l = 0; l < m.Path.Coefficients.Length; l++)
            foreach (var (j, v) in m.Path.Coefficients[l].Indices.Zip(m.Path.Coefficients[l].Values))
                if (values.TryGetValue(j, out var series)) series[l] = v;
        var notes = new List<string> { $"{Count(entry.Count)} of {Count(m.Features.Length)} features nonzero" };
        if (entry.Count > drawn.Count) notes.Add($"{Count(drawn.Count)} drawn (first to enter)");
        return new Chart($"Coefficient path ({result.Penalty})", new Axis("Lambda (log scale)", AxisScale.Log10),
            new Axis("Coefficient (original scale)"))
        {
            Kind = "path",
            Series = [.. drawn.Select(j => new Series(m.Features[j], lambdas, values[j]))],
            Markers = ChosenLambda(result),
            Top = NonZeroAlongTop(result),
            Notes = notes,
        };
    }

    /// <summary>Mean validation loss ± one standard error against lambda, as plot(cv.glmnet).</summary>
    public static Chart Validation(StoredResult result)
    {
        var curve = result.PathReport.Validation!;
        var lambdas = result.Model.Path.Lambdas;
        var mean = Values(curve.Mean, lambdas.Length);
        var se = Values(curve.StandardError, lambdas.Length);
        var markers = new List<VerticalMarker>();
        if (result.PathReport.LambdaMin is { } min) markers.Add(new VerticalMarker(min, $"lambda.min {Show(min)}"));
        if (result.PathReport.Lambda1se is { } oneSe) markers.Add(new VerticalMarker(oneSe, $"lambda.1se {Show(oneSe)}"));
        return new Chart($"Validation {Measure(curve.Measure, result).ToLowerInvariant()} ({result.Validation?.Method ?? "validation"})",
            new Axis("Lambda (log scale)", AxisScale.Log10), new Axis(Measure(curve.Measure, result)))
        {
            Kind = "validation",
            Series =
            [
                new Series("mean ± 1 SE", lambdas, mean)
                {
                    Style = SeriesStyle.Markers, Color = 1,
                    Low = Offset(mean, se, -1),
                    High = Offset(mean, se, +1),
                },
            ],
            Markers = markers,
            Top = NonZeroAlongTop(result),
        };
    }

    /// <summary>Training and early-stopping loss per epoch, the kept epoch marked.</summary>
    public static Chart Learning(StoredResult result)
    {
        var t = result.Training!;
        var train = Values(t.Curve.Train, t.Curve.Train.Count);
        double[] epochs = [.. Enumerable.Range(1, train.Length).Select(e => (double)e)];
        var series = new List<Series> { new("training", epochs, train) { Color = 0 } };
        if (t.Curve.Validation is { } v) series.Add(new Series("validation", epochs, Values(v, train.Length)) { Color = 1 });
        // A loss that falls by orders of magnitude reads better on a log axis.
        var all = series.SelectMany(s => s.Y).Where(double.IsFinite).ToList();
        bool log = all.Count > 0 && all.Min() > 0 && all.Max() / all.Min() > 100;
        string loss = result.Model.Binomial ? "Log loss" : "Half squared error";
        return new Chart($"Learning curve ({t.Solver}, {t.StopReason})", new Axis("Epoch"),
            new Axis(log ? $"{loss} (log scale)" : loss, log ? AxisScale.Log10 : AxisScale.Linear))
        {
            Kind = "learning",
            Series = series,
            Markers = [new VerticalMarker(t.BestEpoch, $"best epoch {t.BestEpoch.ToString(CultureInfo.InvariantCulture)}")],
            Notes = t.Curve.Validation is null
                ? [$"{Count(t.EpochsRun)} of {Count(t.Epochs)} epochs run"]
                : [$"{Count(t.EpochsRun)} of {Count(t.Epochs)} epochs run", $"validation: {Count(t.ValidationRows)} held-out rows"],
        };
    }

    /// <summary>Training and validation error against lambda, the penalty weakening (the model growing) to the right.</summary>
    public static Chart Complexity(StoredResult result)
    {
        var curve = result.PathReport.Validation!;
        var lambdas = result.Model.Path.Lambdas;
        double nullDeviance = result.Diagnostics.NullDeviance!.Value;
        var ratio = result.PathReport.DevianceRatio!;
        // Training deviance per row from the deviance ratio: D = D_null (1 - dev.ratio), in the validation curve's units.
        double[] train = [.. Enumerable.Range(0, lambdas.Length).Select(l => l < ratio.Length && ratio[l] is { } r ? nullDeviance * (1 - r) : double.NaN)];
        var mean = Values(curve.Mean, lambdas.Length);
        var se = Values(curve.StandardError, lambdas.Length);
        return new Chart("Training and validation error (bias-variance)",
            new Axis("Lambda (log scale; weaker penalty, more complex model to the right)", AxisScale.Log10, Reversed: true),
            new Axis(Measure(curve.Measure, result)))
        {
            Kind = "complexity",
            Series =
            [
                new Series("training (all rows)", lambdas, train) { Color = 0 },
                new Series("validation ± 1 SE", lambdas, mean)
                {
                    Color = 1, Band = true,
                    Low = Offset(mean, se, -1),
                    High = Offset(mean, se, +1),
                },
            ],
            Markers = ChosenLambda(result),
        };
    }

    /// <summary>Predicted against actual for a gaussian fit, with the line y = x; at most <see cref="MaxPoints"/> rows drawn.</summary>
    public static Chart PredictedAgainstActual(StoredResult result, double[] actual, double[] predicted)
    {
        int n = actual.Length, stride = Math.Max(1, (n + MaxPoints - 1) / MaxPoints);
        double[] Every(double[] v) => [.. v.Where((_, i) => i % stride == 0)];
        var finite = actual.Concat(predicted).Where(double.IsFinite).ToList();
        double lo = finite.Count > 0 ? finite.Min() : 0, hi = finite.Count > 0 ? finite.Max() : 1;
        double mean = n > 0 ? actual.Average() : 0, sse = 0, sst = 0;
        for (int i = 0; i < n; i++)
        {
            sse += (actual[i] - predicted[i]) * (actual[i] - predicted[i]);
            sst += (actual[i] - mean) * (actual[i] - mean);
        }
        var notes = new List<string> { $"R² {(sst > 0 && double.IsFinite(sse) ? (1 - sse / sst).ToString("F4", CultureInfo.InvariantCulture) : "n/a")} on {Count(n)} rows" };
        if (stride > 1) notes.Add($"1 row in {Count(stride)} drawn");
        return new Chart("Predicted against actual", new Axis("Actual"), new Axis("Predicted"))
        {
            Kind = "fitted",
            Series =
            [
                new Series("rows", Every(actual), Every(predicted)) { Style = SeriesStyle.Markers, Color = 0 },
                new Series("predicted = actual", [lo, hi], [lo, hi]) { Color = 7, Dashed = true },
            ],
            Notes = notes,
        };
    }

    /// <summary>The ROC curve of probabilities against 0/1 targets, its AUC (ties count half) in the legend.</summary>
    public static Chart Roc(double[] actual, double[] probability)
    {
        var (fpr, tpr, auc) = RocCurve(actual, probability);
        int stride = Math.Max(1, (fpr.Length + MaxPoints - 1) / MaxPoints);
        bool Keep(int i) => i % stride == 0 || i == fpr.Length - 1;
        return new Chart("ROC curve", new Axis("False positive rate", Min: -0.02, Max: 1.02), new Axis("True positive rate", Min: -0.02, Max: 1.02))
        {
            Kind = "fitted",
            Series =
            [
                new Series($"ROC (AUC {(double.IsFinite(auc) ? auc.ToString("F3", CultureInfo.InvariantCulture) : "n/a")})",
                    [.. fpr.Where((_, i) => Keep(i))], [.. tpr.Where((_, i) => Keep(i))]) { Color = 0 },
                new Series("chance", [0.0, 1.0], [0.0, 1.0]) { Color = 7, Dashed = true },
            ],
            Notes = [$"{Count(actual.Length)} rows"],
        };
    }

    /// <summary>
    /// ROC points from the highest threshold down (rows of equal probability step together, a diagonal segment) and the
    /// area under them by the trapezoid rule, which equals the Mann-Whitney statistic with ties counted half. NaN without both classes.
    /// </summary>
    public static (double[] Fpr, double[] Tpr, double Auc) RocCurve(double[] actual, double[] probability)
    {
        int positives = actual.Count(y => y == 1), negatives = actual.Length - positives;
        var order = Enumerable.Range(0, actual.Length).OrderByDescending(i => probability[i]).ThenBy(i => i).ToArray();
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        int tp = 0, fp = 0;
        double area = 0;
        for (int k = 0; k < order.Length;)
        {
            double p = probability[order[k]];
            for (; k < order.Length && probability[order[k]].Equals(p); k++)
                if (actual[order[k]] == 1) tp++; else fp++;
            double x = negatives > 0 ? (double)fp / negatives : double.NaN, y = positives > 0 ? (double)tp / positives : double.NaN;
            area += (x - fpr[^1]) * (y + tpr[^1]) / 2;
            fpr.Add(x);
            tpr.Add(y);
        }
        return ([.. fpr], [.. tpr], positives > 0 && negatives > 0 ? area : double.NaN);
    }

    private static VerticalMarker[] ChosenLambda(StoredResult result) =>
        result.Model.Lambda > 0 ? [new VerticalMarker(result.Model.Lambda, $"chosen λ {Show(result.Model.Lambda)}")] : [];

    /// <summary>The nonzero count at about eight lambdas spread along the path, as glmnet's top axis.</summary>
    private static TopLabels? NonZeroAlongTop(StoredResult result)
    {
        var lambdas = result.Model.Path.Lambdas;
        var nonZero = result.PathReport.NonZero;
        int n = Math.Min(lambdas.Length, nonZero.Length);
        if (n == 0) return null;
        var at = Enumerable.Range(0, 8).Select(k => (int)Math.Round(k * (n - 1) / 7.0)).Distinct().ToList();
        return new TopLabels("Nonzero coefficients", [.. at.Select(i => lambdas[i])], [.. at.Select(i => nonZero[i].ToString(CultureInfo.InvariantCulture))]);
    }

    /// <summary>mean ± one standard error per point; NaN (no bar) where the standard error was not recorded (holdout).</summary>
    private static double[] Offset(double[] mean, double[] se, int sign) =>
        [.. mean.Select((v, i) => double.IsFinite(se[i]) ? v + sign * se[i] : double.NaN)];

    private static double[] Values(IReadOnlyList<double?> values, int length) =>
        [.. Enumerable.Range(0, length).Select(i => i < values.Count && values[i] is { } v ? v : double.NaN)];

    /// <summary>The axis name of a validation measure, as plot(cv.glmnet) names it.</summary>
    private static string Measure(string measure, StoredResult result) => measure switch
    {
        "mse" => "Mean-squared error",
        "mae" => "Mean absolute error",
        "class" => "Misclassification error",
        "auc" => "AUC",
        _ => result.Model.Family switch
        {
            "gaussian" => "Mean-squared error",
            "poisson" => "Poisson deviance",
            "multinomial" => "Multinomial deviance",
            _ => "Binomial deviance",
        },
    };

    private static string Show(double v) => v.ToString("G3", CultureInfo.InvariantCulture);

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
