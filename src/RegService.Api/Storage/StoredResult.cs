using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using RegService.Api.Fits;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Api.Storage;

/// <summary>
/// A finished fit as the store keeps it (<c>result_json</c>), versioned by <see cref="FormatVersion"/>: the engine's model in
/// arrays aligned with <see cref="StoredModel.Features"/>, and the rest of the engine result the response shows. The
/// HTTP result document is a projection of it (<see cref="StoredResults.Project"/>); predict reads <see cref="Model"/>.
/// Format 3 stores what is mostly zero sparsely and long runs of doubles packed (<see cref="SparseDoublesConverter"/>,
/// <see cref="PackedDoublesConverter"/>); format 2 wrote them as JSON arrays, which the same converters still read.
/// </summary>
public sealed record StoredResult
{
    public const int CurrentVersion = 3;

    /// <summary>The formats this version reads: 2 differs from 3 only in how arrays are spelled.</summary>
    public const int OldestReadableVersion = 2;

    /// <summary>The format written: always <see cref="CurrentVersion"/> (a row read from an older format is written as the current one).</summary>
    [JsonPropertyOrder(-1)]
    public int FormatVersion
    {
        get => CurrentVersion;
        init { }   // read by StoredResults.Read, which checks it
    }

    public required StoredModel Model { get; init; }

    /// <summary>converged or notConverged.</summary>
    public required string Status { get; init; }

    public required string Penalty { get; init; }
    public double L1Ratio { get; init; }
    public required MetricsDocument Metrics { get; init; }

    /// <summary>What the engine reported per path lambda besides the models (those are in <see cref="StoredModel.Path"/>).</summary>
    public required StoredPathReport PathReport { get; init; }

    public ValidationDocument? Validation { get; init; }
    public required DiagnosticsDocument Diagnostics { get; init; }
    public TrainingDocument? Training { get; init; }

    /// <summary>The prior the linear model corresponds to; null for an MLP and for rows stored before it was reported.</summary>
    public PriorDocument? Prior { get; init; }

    /// <summary>Model bayesianRidge: the evidence's report (the posterior covariance is the model's, <see cref="StoredModel.Posterior"/>).</summary>
    public StoredBayesian? Bayesian { get; init; }

    /// <summary>
    /// Why the path holds only the lambdas completed (canceled, timeLimit or maxIterations); null for a complete fit. The fit's
    /// status is canceled for a cancel, else succeeded.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PartialReason { get; init; }
}

/// <summary>bayesianRidge's report: precisions, log evidence per step, posterior sds aligned with the features, settings.</summary>
public sealed record StoredBayesian(double Alpha, double Lambda, double?[] LogMarginalLikelihood, double[] CoefficientStd, int Iterations,
    bool Converged, BayesianSettingsDocument Settings);

/// <summary>
/// A Gaussian posterior for predictive standard deviations: the noise precision and the covariance of the fit-scale weights
/// (standardized when the scales are not 1), the lower triangle packed by rows; stored as base64 of the doubles (a JSON array
/// of numbers still reads).
/// </summary>
public sealed record StoredPosterior(double NoisePrecision, [property: JsonConverter(typeof(PackedDoublesConverter))] double[] Covariance);

/// <summary>
/// What prediction needs, every array aligned with <see cref="Features"/>. For an MLP, <see cref="Coefficients"/> hold each
/// input's first-layer weight norm on the original scale (norm / scale) and <see cref="StandardizedCoefficients"/> the norms,
/// as the engine reports them; the network predicts.
/// </summary>
public sealed record StoredModel
{
    /// <summary>gaussian, binomial or poisson.</summary>
    public required string Family { get; init; }

    /// <summary>identity (gaussian), logit (binomial) or log (poisson): the prediction is the inverse link of the linear predictor.</summary>
    public required string Link { get; init; }

    /// <summary>The fitted features in order (with an expansion: the expanded names).</summary>
    public required string[] Features { get; init; }

    /// <summary>With an expansion: the data set features it expanded, which prediction rows carry.</summary>
    public string[]? Inputs { get; init; }

    public StoredExpansion? Expansion { get; init; }
    public double Lambda { get; init; }
    public double Intercept { get; init; }
    [JsonConverter(typeof(SparseDoublesConverter))] public required double[] Coefficients { get; init; }
    [JsonConverter(typeof(SparseDoublesConverter))] public required double[] StandardizedCoefficients { get; init; }
    [JsonConverter(typeof(PackedDoublesConverter))] public required double[] Means { get; init; }
    [JsonConverter(typeof(PackedDoublesConverter))] public required double[] Scales { get; init; }
    public required StoredPath Path { get; init; }
    public StoredNetwork? Network { get; init; }

    /// <summary>Model bayesianRidge: the posterior that predict's returnStd reads.</summary>
    public StoredPosterior? Posterior { get; init; }

    /// <summary>The relaxed lasso: the refit per path lambda, the gammas and the choice (the model above is the relaxed one).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StoredRelaxed? Relaxed { get; init; }

    /// <summary>Family multinomial: the classes and every class's model (<see cref="Intercept"/> and <see cref="Coefficients"/> are the first class's).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StoredClasses? Classes { get; init; }

    [JsonIgnore] public bool Binomial => Family == "binomial";

    [JsonIgnore] public bool Poisson => Family == "poisson";

    /// <summary>The engine's family of this model.</summary>
    [JsonIgnore] public Family EngineFamily => Binomial ? Numerics.Fitting.Family.Binomial : Poisson ? Numerics.Fitting.Family.Poisson : Numerics.Fitting.Family.Gaussian;

    /// <summary>The link a family's model reports: identity (gaussian), logit (binomial), log (poisson).</summary>
    public static string LinkOf(string family) => family switch { "binomial" => "logit", "poisson" => "log", "multinomial" => Fits.Multiclass.Link, _ => "identity" };

    /// <summary>The features prediction rows carry: the inputs of an expansion, else the features.</summary>
    [JsonIgnore] public string[] RowFeatures => Inputs ?? Features;
}

public sealed record StoredExpansion(int PolynomialDegree, bool Interactions);

/// <summary>
/// The relaxed lasso as stored: only the refit per path lambda (as sparse as the penalized path: the refit's nonzeros are the active
/// set); every gamma's model is blended from it and <see cref="StoredModel.Path"/> when asked (<see cref="RelaxedPath.Blend(double, double, double)"/>).
/// </summary>
public sealed record StoredRelaxed(
    [property: JsonConverter(typeof(PackedDoublesConverter))] double[] Gammas,
    double Gamma,
    StoredPath Refit,
    bool[] Refitted,
    ValidationCurveDocument[]? Curves = null,
    double? LambdaMin = null,
    double? GammaMin = null,
    double? Lambda1se = null,
    double? Gamma1se = null)
{
    /// <summary>The relaxed model at path lambda <paramref name="l"/> and <paramref name="gamma"/>, dense.</summary>
    public (double Intercept, double[] Coefficients) At(StoredPath path, int l, double gamma, int features) =>
        (RelaxedPath.Blend(path.Intercepts[l], Refit.Intercepts[l], gamma),
         RelaxedPath.Blend(path.Coefficients[l].ToDense(features), Refit.Coefficients[l].ToDense(features), gamma));
}

/// <summary>The models of the path: per lambda the intercept and the nonzero original-scale coefficients.</summary>
public sealed record StoredPath(double[] Lambdas, double[] Intercepts, StoredSparseVector[] Coefficients);

/// <summary>A coefficient vector by its nonzero entries: feature indices (ascending) and values.</summary>
public sealed record StoredSparseVector(int[] Indices, [property: JsonConverter(typeof(PackedDoublesConverter))] double[] Values)
{
    public static StoredSparseVector From(IReadOnlyList<double> dense)
    {
        var indices = new List<int>();
        var values = new List<double>();
        for (int j = 0; j < dense.Count; j++)
            if (BitConverter.DoubleToInt64Bits(dense[j]) != 0) // keeps -0, so the response shows what the engine gave
            {
                indices.Add(j);
                values.Add(dense[j]);
            }
        return new([.. indices], [.. values]);
    }

    public double[] ToDense(int length)
    {
        var dense = new double[length];
        for (int k = 0; k < Indices.Length; k++) dense[Indices[k]] = Values[k];
        return dense;
    }
}

/// <summary>An MLP on standardized inputs; hidden layers use <see cref="Activation"/>, the output layer is the linear predictor.</summary>
public sealed record StoredNetwork(string Activation, StoredLayer[] Layers, double[] Dropout);

/// <summary>One dense layer: out = W in + b, W row-major (outputs rows of inputs columns).</summary>
public sealed record StoredLayer(int Inputs, int Outputs, double[] Weights, double[] Biases);

/// <summary>Per path lambda: what the response's path shows besides the models. Null lists were not recorded (older rows).</summary>
public sealed record StoredPathReport(
    int[] NonZero,
    double?[]? DevianceRatio = null,
    bool[]? Converged = null,
    int[]? Iterations = null,
    int[]? ScreenedOut = null,
    double?[]? DualityGap = null,
    ValidationCurveDocument? Validation = null,
    double? LambdaMin = null,
    double? Lambda1se = null);

/// <summary>Reads stored results of any format, and projects them to the response.</summary>
public static class StoredResults
{
    /// <summary>
    /// A stored <c>result_json</c>: format 2 (<c>"formatVersion": 2</c>), or the earlier rows that stored the response
    /// document itself (read as <see cref="FitResultDocuments.Read"/> does, the model rebuilt from it by feature name).
    /// </summary>
    public static StoredResult Read(string json, JsonSerializerOptions options)
    {
        if (LeadingFormatVersion(json) is { } v)
            return Readable(v) ? JsonSerializer.Deserialize<StoredResult>(json, options)! : throw Unreadable(v);
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("a stored result is a JSON object");
        if (node.TryGetPropertyValue("formatVersion", out var version) && version is not null)
        {
            v = version.GetValue<int>();
            return Readable(v) ? node.Deserialize<StoredResult>(options)! : throw Unreadable(v);
        }
        return FromDocument(FitResultDocuments.Read(node, options));
    }

    private static bool Readable(int version) => version is >= StoredResult.OldestReadableVersion and <= StoredResult.CurrentVersion;

    private static NotSupportedException Unreadable(int version) =>
        new($"stored result format {version} is not one this version reads (it reads {StoredResult.OldestReadableVersion} to {StoredResult.CurrentVersion})");

    /// <summary>
    /// The format version when it is the first property, as this version writes it: read from the
    /// first bytes alone, so a row is parsed once, not twice (a DOM, then the records).
    /// </summary>
    private static int? LeadingFormatVersion(string json)
    {
        var head = System.Text.Encoding.UTF8.GetBytes(json.Length > 128 ? json[..128] : json);
        var reader = new Utf8JsonReader(head, isFinalBlock: false, state: default);
        try
        {
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject
                && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("formatVersion"u8)
                && reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int v) ? v : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The stored form of a result document an earlier version stored (read by <see cref="FitResultDocuments.Read"/>).</summary>
    public static StoredResult FromDocument(FitResultDocument d)
    {
        var features = d.Features!.ToArray();
        double[] Aligned(IReadOnlyDictionary<string, double> byName) =>
            [.. features.Select(f => byName.TryGetValue(f, out var v) ? v : 0)];
        var means = Aligned(d.FeatureMeans!);
        var scales = Aligned(d.FeatureScales!);
        double[] coefficients, standardized;
        if (d.Network is { } net)
        {
            // An MLP's document kept only the first-layer weight norms; the engine's coefficients are norm / scale.
            standardized = Aligned(net.InputWeightNorms);
            coefficients = [.. standardized.Select((norm, j) => norm / scales[j])];
        }
        else
        {
            coefficients = Aligned(d.Coefficients);
            standardized = Aligned(d.StandardizedCoefficients);
        }
        var p = d.Path;
        var curve = p.Validation ?? (p.ValidationMse is { } mse
            ? new ValidationCurveDocument("mse", [.. mse.Select(v => v is { } x && double.IsFinite(x) ? v : null)],
                [.. (p.ValidationStandardError ?? mse.Select(_ => 0.0).ToList()).Select(v => (double?)v)])
            : null);
        return new StoredResult
        {
            Model = new StoredModel
            {
                Family = d.Family,
                Link = StoredModel.LinkOf(d.Family),
                Features = features,
                Inputs = d.Inputs?.ToArray(),
                Expansion = d.Expansion is { } e ? new StoredExpansion(e.PolynomialDegree, e.Interactions) : null,
                Lambda = d.Lambda,
                Intercept = d.Intercept,
                Coefficients = coefficients,
                StandardizedCoefficients = standardized,
                Means = means,
                Scales = scales,
                Path = new StoredPath([.. p.Lambdas], [.. p.Intercepts],
                    [.. p.Coefficients!.Select(c => new StoredSparseVector([.. c.Indices], [.. c.Values]))]),
                Network = d.Network is { } n
                    ? new StoredNetwork("relu", [.. n.Layers.Select(l => new StoredLayer(l.Inputs, l.Outputs, [.. l.Weights], [.. l.Biases]))], [.. n.Dropout])
                    : null,
            },
            Status = d.Status,
            Penalty = d.Penalty,
            L1Ratio = d.L1Ratio,
            Metrics = d.Metrics,
            PathReport = new StoredPathReport([.. p.NonZero], p.DevianceRatio?.ToArray(), p.Converged?.ToArray(), p.Iterations?.ToArray(),
                p.ScreenedOut?.ToArray(), p.DualityGap?.ToArray(), curve, p.LambdaMin, p.Lambda1se),
            Validation = d.Validation,
            Diagnostics = d.Diagnostics,
            Training = d.Training,
        };
    }

    /// <summary>
    /// The response document of a stored result: a summary sized by what is in it (the nonzero coefficients by name, the
    /// path's per-lambda facts), plus what <paramref name="include"/> asks for: the path's coefficients (sparse, indices
    /// into features) and the features' means and scales.
    /// </summary>
    public static FitResultDocument Project(StoredResult stored, ResultIncludes include = ResultIncludes.None)
    {
        var m = stored.Model;
        var names = m.Features;
        bool mlp = m.Network is not null;
        // An MLP has no coefficients: its first-layer weight norms go to network.inputWeightNorms.
        IReadOnlyDictionary<string, double> Coefficients(double[] values) => mlp ? new Dictionary<string, double>() : NonZeroByName(names, values);
        var selected = m.Classes is { } classes ? Multiclass.Selected(classes, names) : names.Where((_, j) => m.Coefficients[j] != 0).ToList();
        var r = stored.PathReport;
        var curve = r.Validation;
        bool mse = curve?.Measure == "mse";
        var path = new PathDocument(
            Lambdas: m.Path.Lambdas,
            NonZero: r.NonZero,
            Intercepts: m.Path.Intercepts,
            Coefficients: include.HasFlag(ResultIncludes.Path)
                ? [.. m.Path.Coefficients.Select(c => mlp ? new SparseCoefficientsDocument([], []) : new SparseCoefficientsDocument(c.Indices, c.Values))]
                : null,
            DevianceRatio: r.DevianceRatio,
            Converged: r.Converged,
            Iterations: r.Iterations,
            ScreenedOut: r.ScreenedOut,
            DualityGap: r.DualityGap,
            Validation: curve,
            ValidationMse: mse ? curve!.Mean : null,
            ValidationStandardError: mse ? [.. curve!.StandardError.Select(se => se ?? 0)] : null,
            LambdaMin: r.LambdaMin,
            Lambda1se: r.Lambda1se,
            Classes: include.HasFlag(ResultIncludes.Path) && m.Classes is { } c ? Multiclass.ProjectPath(c) : null);
        bool scaling = include.HasFlag(ResultIncludes.Standardization);
        return new FitResultDocument(
            Status: stored.Status,
            Family: m.Family,
            Penalty: stored.Penalty,
            L1Ratio: stored.L1Ratio,
            Lambda: m.Lambda,
            Intercept: m.Intercept,
            Coefficients: Coefficients(m.Coefficients),
            StandardizedCoefficients: Coefficients(m.StandardizedCoefficients),
            FeatureMeans: scaling ? ByName(names, m.Means) : null,
            FeatureScales: scaling ? ByName(names, m.Scales) : null,
            Sparsity: new SparsityDocument(selected.Count, names.Length, names.Length == 0 ? 0 : 1.0 - (double)selected.Count / names.Length, selected),
            Metrics: stored.Metrics,
            Path: path,
            Validation: stored.Validation,
            Diagnostics: stored.Diagnostics,
            Features: names,
            Inputs: m.Inputs,
            Expansion: m.Expansion is { } e ? new ExpansionDocument(e.PolynomialDegree, e.Interactions, m.Inputs?.Length ?? names.Length, names.Length) : null,
            Training: stored.Training,
            Network: m.Network is { } network ? Network(m, network) : null,
            Prior: stored.Prior,
            Partial: stored.PartialReason is null ? null : true,
            PartialReason: stored.PartialReason,
            Classes: m.Classes is { } mc ? Multiclass.Project(mc, names) : null,
            Bayesian: stored.Bayesian is { } b
                ? new BayesianDocument(b.Alpha, b.Lambda, b.LogMarginalLikelihood, ByName(names, b.CoefficientStd), b.Iterations, b.Converged, b.Settings)
                : null,
            Relaxed: m.Relaxed is { } relaxed ? Relaxed(m, relaxed, include.HasFlag(ResultIncludes.Path)) : null);
    }

    /// <summary>The relaxed section: per gamma the blended intercepts (and coefficients when asked) and its curve.</summary>
    private static RelaxedDocument Relaxed(StoredModel m, StoredRelaxed r, bool coefficients)
    {
        int p = m.Features.Length, lambdas = m.Path.Lambdas.Length;
        var paths = r.Gammas.Select((gamma, g) =>
        {
            var models = Enumerable.Range(0, lambdas).Select(l => r.At(m.Path, l, gamma, p)).ToList();
            return new RelaxedPathDocument(gamma, [.. models.Select(x => x.Intercept)],
                coefficients ? [.. models.Select(x => StoredSparseVector.From(x.Coefficients)).Select(c => new SparseCoefficientsDocument(c.Indices, c.Values))] : null,
                r.Curves?[g]);
        }).ToList();
        return new RelaxedDocument(r.Gammas, r.Gamma, r.LambdaMin, r.GammaMin, r.Lambda1se, r.Gamma1se, r.Refitted, paths);
    }

    /// <summary>
    /// The model's prediction on rows of its input features (<see cref="StoredModel.RowFeatures"/>, in order): the rows expanded
    /// as the fit was, then the linear predictor of the given intercept and coefficients (an MLP: its network's output), and
    /// the mean (binomial: the probability of class 1; poisson: e^eta). With <paramref name="offset"/> (one per row, the fit's
    /// offset column) the linear predictor includes it. Predict and the fitted plot both score through here.
    /// </summary>
    public static (DenseMatrix Rows, int[] Columns, double[] LinearPredictor, double[] Mean) Score(
        StoredModel model, DenseMatrix rows, double intercept, double[] coefficients, double[]? offset = null)
    {
        int[] all = [.. Enumerable.Range(0, rows.Columns)];
        if (model.Expansion is { } e)
        {
            rows = FeatureExpansion.Expand(rows, all, new ExpansionSpec(e.PolynomialDegree, e.Interactions));
            all = [.. Enumerable.Range(0, model.Features.Length)];
        }
        double[] eta;
        if (model.Network is { } network) eta = ToNetworkModel(model, network).LinearPredictor(rows, all);
        else
        {
            eta = new double[rows.Rows];
            Prediction.LinearPredictor(rows, all, intercept, coefficients, eta);
        }
        if (offset is not null)
            for (int i = 0; i < eta.Length; i++) eta[i] += offset[i];
        var family = GlmFamily.For(model.EngineFamily);
        return (rows, all, eta, model.Binomial || model.Poisson ? [.. eta.Select(family.Mean)] : eta);
    }

    /// <summary>The network as the engine runs it.</summary>
    public static NetworkModel ToNetworkModel(StoredModel model, StoredNetwork network) =>
        new([.. network.Layers.Select(l => new DenseLayer(l.Inputs, l.Outputs, l.Weights, l.Biases))], model.Means, model.Scales,
            model.Binomial ? Family.Binomial : Family.Gaussian);

    private static NetworkDocument Network(StoredModel m, StoredNetwork network)
    {
        var layers = network.Layers;
        var hidden = layers[..^1].Select(l => l.Outputs).ToList();
        var documents = layers.Select((l, i) => new LayerDocument(l.Inputs, l.Outputs, i < layers.Length - 1 ? network.Activation : "identity",
            new DenseLayer(l.Inputs, l.Outputs, l.Weights, l.Biases).WeightNorm, l.Weights, l.Biases)).ToList();
        return new NetworkDocument(hidden, network.Dropout, ByName(m.Features, m.StandardizedCoefficients), documents);
    }

    private static Dictionary<string, double> NonZeroByName(string[] names, double[] values)
    {
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int j = 0; j < names.Length; j++)
            if (values[j] != 0) map[names[j]] = values[j];
        return map;
    }

    private static Dictionary<string, double> ByName(string[] names, double[] values)
    {
        var map = new Dictionary<string, double>(names.Length, StringComparer.Ordinal);
        for (int j = 0; j < names.Length; j++) map[names[j]] = values[j];
        return map;
    }
}
