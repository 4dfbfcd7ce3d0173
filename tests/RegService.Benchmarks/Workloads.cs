using System.Globalization;
using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;

namespace RegService.Benchmarks;

/// <summary>An anchor CSV loaded as the engine sees it: [features..., y], with the column means.</summary>
internal sealed record Workload(string Name, DenseMatrix X, double[] Means, string[] Names)
{
    public int Features => X.Columns - 1;

    public static async Task<Workload> LoadAsync(string dataDir, string name)
    {
        var csv = Path.Combine(dataDir, name + ".csv");
        Console.Error.WriteLine($"reading {name}.csv ...");
        ColumnTable table;
        await using (var file = File.OpenRead(csv)) table = await CsvTableReader.ReadAsync(file);
        if (table.Names[^1] != "y") throw new InvalidDataException($"{csv}: the last column is {table.Names[^1]}, not y");
        return new Workload(name, table.ToMatrix(), [.. table.Summaries.Select(s => s.Mean)], [.. table.Names]);
    }

    /// <summary>The first column of a one-column CSV in <paramref name="dataDir"/> (row weights).</summary>
    public static async Task<double[]> ColumnAsync(string dataDir, string name)
    {
        await using var file = File.OpenRead(Path.Combine(dataDir, name + ".csv"));
        var table = await CsvTableReader.ReadAsync(file);
        return table.ToMatrix().Column(0).ToArray();
    }

    /// <summary>All features, target y last, shift = column means (the shift the service passes too).</summary>
    public FitSpec BaseSpec() => new()
    {
        FeatureColumns = [.. Enumerable.Range(0, Features)],
        FeatureNames = [.. Names.Take(Features)],
        TargetColumn = Features,
        ColumnShift = Means,
    };
}

/// <summary>A timed path workload: its anchor key, its CSV, and the spec that mirrors the anchor's call; with
/// <paramref name="Weights"/>, the CSV (one column) of row weights the spec takes.</summary>
internal sealed record PathWorkload(string Key, string Data, string AnchorCall, Func<FitSpec, FitSpec> Shape, bool ObjectiveCheck,
    string? Weights = null)
{
    /// <summary>The path workloads of ../shared/anchors/bench_glmnet.R after the ridge pair, in its order.</summary>
    public static readonly PathWorkload[] All =
    [
        new("lasso_path_50k_500", "lasso_50k_500", "glmnet(X, y)",
            s => s with { Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec() }, ObjectiveCheck: true),
        new("wlasso_path_50k_500", "lasso_50k_500", "glmnet(X, y, weights = w)",
            s => s with { Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec() }, ObjectiveCheck: true, Weights: "weights_50k"),
        new("lasso_path_500_10k", "lasso_500_10k", "glmnet(X, y)",
            s => s with { Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec() }, ObjectiveCheck: true),
        new("lasso_cv10_20k_200", "cv_20k_200", "cv.glmnet(X, y, nfolds = 10)",
            s => s with
            {
                Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec(),
                Validation = ValidationMethod.KFold, KFold = new KFoldSpec(Folds: 10),
            }, ObjectiveCheck: false),
        new("logit_enet_path_50k_200", "logit_50k_200", "glmnet(X, y, family = \"binomial\", alpha = 0.5)",
            s => s with { Family = Family.Binomial, Penalty = Penalty.ElasticNet, L1Ratio = 0.5, Path = new LambdaPathSpec() }, ObjectiveCheck: true),
        new("lasso_path_1k_50k", "lasso_1k_50k", "glmnet(X, y)",
            s => s with { Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec() }, ObjectiveCheck: true),
        new("poisson_path_50k_200", "poisson_50k_200", "glmnet(X, y, family = \"poisson\")",
            s => s with { Family = Family.Poisson, Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec() }, ObjectiveCheck: true),
        new("multinom_path_20k_100", "multinom_20k_100", "glmnet(X, y, family = \"multinomial\")",
            s => s with { Family = Family.Multinomial, Penalty = Penalty.Lasso, L1Ratio = 1, Path = new LambdaPathSpec() }, ObjectiveCheck: true),
    ];
}

/// <summary>What a fit did, as report entries beside its time: lambdas, solver, passes, convergence, timings.</summary>
internal static class Describe
{
    public static void Fit(IDictionary<string, object?> report, string key, FitResult result)
    {
        report[key + "_lambdas"] = result.Path.Length;
        report[key + "_isa"] = KernelIsa.Name(KernelPath.Auto);
        report[key + "_solver"] = result.Solver;
        // Passes over the all-rows path only: FitResult does not count the validation folds' passes.
        report[key + "_iterations"] = result.Iterations;
        // Validation folds report non-convergence only as a warning (PathFitter), so read those too.
        report[key + "_converged"] = result.Status == FitStatus.Converged && result.Path.All(p => p.Converged)
            && !result.Warnings.Any(w => w.Contains("did not converge", StringComparison.Ordinal));
        if (result.LambdaMin is { } min) report[key + "_lambda_min"] = min;
        if (result.Lambda1se is { } oneSe) report[key + "_lambda_1se"] = oneSe;
        report[key + "_timings"] = new SortedDictionary<string, double>(
            result.Timings.ToDictionary(t => t.Key, t => Math.Round(t.Value, 4)), StringComparer.Ordinal);
        if (result.Warnings.Count > 0) report[key + "_warnings"] = result.Warnings.ToArray();
    }

    public static Dictionary<string, string> Error(Exception e) => new() { ["error"] = $"{e.GetType().Name}: {e.Message}" };
}

/// <summary>
/// The objective check against anchor_objectives.R: our engine fitted at glmnet's own lambdas, and
/// glmnet's objective formula evaluated on our original-scale coefficients.
/// </summary>
internal static class ObjectiveCheck
{
    /// <summary>One workload of anchor_objectives.R's output; <paramref name="Weights"/> names its row weights' CSV (null: unweighted).</summary>
    public sealed record Anchor(string Family, double Alpha, double[] Lambdas, double[] Objectives, int Passes, double Thresh, string? Weights = null);

    public static Dictionary<string, Anchor> Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var anchors = new Dictionary<string, Anchor>(StringComparer.Ordinal);
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            var e = entry.Value;
            anchors[entry.Name] = new Anchor(
                e.GetProperty("family").GetString()!,
                e.GetProperty("alpha").GetDouble(),
                [.. e.GetProperty("lambda").EnumerateArray().Select(v => v.GetDouble())],
                [.. e.GetProperty("objective").EnumerateArray().Select(v => v.GetDouble())],
                e.GetProperty("npasses").GetInt32(),
                e.TryGetProperty("thresh", out var thresh) ? thresh.GetDouble() : 1e-7,
                e.TryGetProperty("weights", out var weights) ? weights.GetString() : null);
        }
        return anchors;
    }

    /// <summary>
    /// Fits <paramref name="pathSpec"/> at the anchor's lambdas (its tolerance, untimed) and adds
    /// <c>KEY_objective_rel_diff</c>: the max over lambdas of (ours - glmnet) / |glmnet|.
    /// </summary>
    public static void Run(IDictionary<string, object?> report, string key, Workload data, FitSpec pathSpec, Anchor anchor, string? weightsName = null)
    {
        var family = SpecNames.Of(pathSpec.Family);
        double alpha = pathSpec.Alpha;
        if (anchor.Family != family || anchor.Alpha != alpha || anchor.Weights != weightsName)
        {
            report[key + "_objective_rel_diff"] = new Dictionary<string, string>
            {
                ["error"] = $"the anchor file has family {anchor.Family}, alpha {anchor.Alpha}, weights {anchor.Weights ?? "none"}; "
                            + $"this workload is {family}, alpha {alpha}, weights {weightsName ?? "none"}",
            };
            return;
        }
        var spec = pathSpec with { Path = null, Lambdas = anchor.Lambdas, Validation = ValidationMethod.None, KFold = null };
        FitResult result;
        try
        {
            Console.Error.WriteLine($"{key}: fitting at glmnet's {anchor.Lambdas.Length} lambdas for the objective check ...");
            result = FitEngine.Fit(data.X, spec);
        }
        catch (ArgumentException e)
        {
            report[key + "_objective_rel_diff"] = Describe.Error(e);
            return;
        }
        if (result.Path.Length != anchor.Lambdas.Length)
            throw new InvalidOperationException($"{key}: {result.Path.Length} path points for {anchor.Lambdas.Length} lambdas");

        var weights = pathSpec.RescaledWeights();
        var scales = Scales(data.X, data.Features, weights);
        double worst = double.NegativeInfinity, best = double.PositiveInfinity;
        int worstAt = -1;
        for (int l = 0; l < anchor.Lambdas.Length; l++)
        {
            var point = result.Path[l];
            double ours = point.Classes is { } classes
                ? MultinomialValue(data.X, data.Features, alpha, anchor.Lambdas[l], classes, scales)
                : Value(data.X, data.Features, pathSpec.Family, alpha, anchor.Lambdas[l], point.Intercept, point.Coefficients, scales, weights);
            double rel = (ours - anchor.Objectives[l]) / Math.Abs(anchor.Objectives[l]);
            if (rel > worst) { worst = rel; worstAt = l; }
            best = Math.Min(best, rel);
        }
        report[key + "_objective_rel_diff"] = worst;
        report[key + "_objective_rel_diff_min"] = best;
        report[key + "_objective_worst_lambda"] = $"{worstAt + 1} of {anchor.Lambdas.Length}: {anchor.Lambdas[worstAt].ToString("G6", CultureInfo.InvariantCulture)}";
        report[key + "_objective_iterations"] = $"{result.Iterations} (glmnet npasses {anchor.Passes} at thresh {anchor.Thresh.ToString("G3", CultureInfo.InvariantCulture)})";
        report[key + "_objective_converged"] = result.Status == FitStatus.Converged;
        report[key + "_objective_tolerance"] = pathSpec.Tolerance;
    }

    /// <summary>
    /// The standard deviation of each feature column (what glmnet standardizes by): 1/n, or with <paramref name="weights"/>
    /// (summing to n) about the weighted mean with each row counted w_i / n, as glmnet's weighted standardization.
    /// </summary>
    public static double[] Scales(DenseMatrix x, int features, double[]? weights = null)
    {
        var s = new double[features];
        for (int j = 0; j < features; j++)
        {
            var col = x.Column(j);
            double mean = 0;
            for (int i = 0; i < col.Length; i++) mean += (weights?[i] ?? 1) * col[i];
            mean /= col.Length;
            double ss = 0;
            for (int i = 0; i < col.Length; i++) ss += (weights?[i] ?? 1) * (col[i] - mean) * (col[i] - mean);
            s[j] = Math.Sqrt(ss / col.Length);
        }
        return s;
    }

    /// <summary>
    /// glmnet's multinomial objective (ungrouped penalty) at one lambda from every class's original-scale model:
    /// -(1/n) sum_i [eta_{i,y_i} - log sum_k e^eta_ik] + lambda * sum_k sum_j [(1 - alpha)/2 (b_kj s_j)^2 + alpha |b_kj s_j|],
    /// the classes being the sorted distinct values of y.
    /// </summary>
    public static double MultinomialValue(DenseMatrix x, int features, double alpha, double lambda, MulticlassModel model, double[] scales)
    {
        int n = x.Rows;
        var y = x.Column(features);
        var labels = FitSpec.ClassLabels(y);
        var classOf = FitSpec.ClassIndex(y, labels);
        var prob = model.Probabilities(x, [.. Enumerable.Range(0, features)], null);
        double loss = 0;
        for (int i = 0; i < n; i++) loss -= Math.Log(prob[i][classOf[i]]);
        double penalty = 0;
        foreach (var b in model.Coefficients)
            for (int j = 0; j < features; j++)
            {
                double bs = b[j] * scales[j];
                penalty += (1 - alpha) / 2 * bs * bs + alpha * Math.Abs(bs);
            }
        return loss / n + lambda * penalty;
    }

    /// <summary>
    /// glmnet's objective at one lambda, from original-scale coefficients:
    /// gaussian (1/2n) sum w_i (y - a0 - Xb)^2, binomial -(1/n) sum w_i [y eta - log(1 + e^eta)], poisson (1/n) sum w_i [e^eta - y eta]
    /// (w_i = 1, or the <paramref name="weights"/> rescaled to sum to n), plus lambda * sum_j [(1 - alpha)/2 (b_j s_j)^2 + alpha |b_j s_j|].
    /// </summary>
    public static double Value(DenseMatrix x, int features, Family family, double alpha, double lambda,
        double intercept, double[] coefficients, double[] scales, double[]? weights = null)
    {
        int n = x.Rows;
        var eta = new double[n];
        Array.Fill(eta, intercept);
        for (int j = 0; j < features; j++)
        {
            double b = coefficients[j];
            if (b == 0) continue;
            var col = x.Column(j);
            for (int i = 0; i < n; i++) eta[i] += b * col[i];
        }
        var y = x.Column(features);
        double loss = 0;
        if (family == Family.Gaussian)
        {
            for (int i = 0; i < n; i++) loss += (weights?[i] ?? 1) * (y[i] - eta[i]) * (y[i] - eta[i]);
            loss /= 2.0 * n;
        }
        else if (family == Family.Poisson)
        {
            for (int i = 0; i < n; i++) loss += (weights?[i] ?? 1) * (Math.Exp(eta[i]) - y[i] * eta[i]);
            loss /= n;
        }
        else
        {
            // log(1 + e^eta) computed without overflow.
            for (int i = 0; i < n; i++)
                loss += (weights?[i] ?? 1) * (Math.Max(eta[i], 0) + Math.Log(1 + Math.Exp(-Math.Abs(eta[i]))) - y[i] * eta[i]);
            loss /= n;
        }
        double penalty = 0;
        for (int j = 0; j < features; j++)
        {
            double bs = coefficients[j] * scales[j];
            penalty += (1 - alpha) / 2 * bs * bs + alpha * Math.Abs(bs);
        }
        return loss + lambda * penalty;
    }
}
