using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The gradient engine through the API: proximal gradient against R glmnet, an adamW MLP with dropout and early
/// stopping (learning curve, network, prediction), the linear adam model, and the polynomial expansion.
/// </summary>
public sealed class GradientFitTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private static string Fixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "glmnet");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures/glmnet not found above the test binaries");
    }

    /// <summary>
    /// Done means of the gradient engine: a FISTA logistic elastic-net fit, posted like any other, agrees with glmnet
    /// (tests/fixtures/glmnet/binom_enet05_std.json, thresh 1e-24) to 1e-5 relative at every lambda of its path.
    /// </summary>
    [Fact]
    public async Task ProximalGradientLogisticElasticNetAgreesWithGlmnet()
    {
        var dir = Fixtures();
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "binom_enet05_std.json")))!;
        var dataset = await Http.UploadCsv(_client, await File.ReadAllTextAsync(Path.Combine(dir, fixture["data"]!.GetValue<string>())));
        var lambdas = Doubles(fixture["lambda"]);
        var features = fixture["features"]!.AsArray().Select(f => f!.GetValue<string>()).ToArray();
        var id = await Http.Submit(_client, new
        {
            datasetId = dataset, target = "y", family = "binomial", penalty = "elasticNet", l1Ratio = 0.5,
            solver = "proximalGradient", lambdas, tolerance = 1e-16,
        });
        var result = await Http.WaitForDenseResult(_client, id, TimeSpan.FromSeconds(120));
        Assert.Equal("proximalGradient", result["diagnostics"]!["solver"]!.GetValue<string>());
        Assert.True(result["diagnostics"]!["converged"]!.GetValue<bool>());

        var a0 = Doubles(fixture["a0"]);
        var beta = fixture["beta"]!.AsArray().Select(Doubles).ToArray();
        var path = result["path"]!;
        Assert.Equal(lambdas, Doubles(path["lambdas"]));
        double worst = 0;
        for (int l = 0; l < lambdas.Length; l++)
        {
            var coefficients = path["coefficients"]![l]!;
            double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
            double gap = Math.Abs(path["intercepts"]![l]!.GetValue<double>() - a0[l]);
            for (int j = 0; j < features.Length; j++)
                gap = Math.Max(gap, Math.Abs(coefficients[features[j]]!.GetValue<double>() - beta[l][j]));
            worst = Math.Max(worst, gap / scale);
        }
        Assert.True(worst <= 1e-5, $"the largest difference from glmnet, relative to the largest coefficient, is {worst:G3}");
    }

    /// <summary>y = sin(3a) + b^2 - |c| + noise on a..e: nonlinear in three of five features.</summary>
    private static (string Csv, double[][] X, double[] Y) Nonlinear(int rows, int seed, bool withTarget = true)
    {
        var rng = new Random(seed);
        var x = new double[5][];
        for (int j = 0; j < 5; j++) x[j] = [.. Enumerable.Range(0, rows).Select(_ => 2 * rng.NextDouble() - 1)];
        var y = Enumerable.Range(0, rows).Select(i => Math.Sin(3 * x[0][i]) + x[1][i] * x[1][i] - Math.Abs(x[2][i]) + 0.3 * Normal(rng)).ToArray();
        var sb = new StringBuilder(withTarget ? "a,b,c,d,e,y\n" : "a,b,c,d,e\n");
        for (int i = 0; i < rows; i++)
        {
            sb.Append(string.Join(",", x.Select(c => c[i].ToString("R", CultureInfo.InvariantCulture))));
            if (withTarget) sb.Append(',').Append(y[i].ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        return (sb.ToString(), x, y);
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>
    /// Done means: an adamW MLP with dropout and early stopping fits, returns its learning curve and best epoch, and
    /// predicts. The prediction is the network's forward pass without dropout (recomputed here from the returned
    /// weights), the same twice, and beats the linear model on fresh rows of this nonlinear problem.
    /// </summary>
    [Fact]
    public async Task AnAdamWMlpWithDropoutAndEarlyStoppingFitsReportsItsCurveAndPredicts()
    {
        var (csv, _, _) = Nonlinear(1200, seed: 11);
        var dataset = await Http.UploadCsv(_client, csv);
        var (fitId, result) = await FitWithId(new
        {
            datasetId = dataset, target = "y", model = "mlp", solver = "adamW", hiddenUnits = new[] { 32 }, dropout = new[] { 0.1 },
            learningRate = 0.01, batchSize = 32, epochs = 400, weightDecay = 1e-3, seed = 5,
            earlyStopping = new { patience = 8, minDelta = 0.0, validationFraction = 0.2 },
        });

        var training = result["training"]!;
        Assert.Equal("adamW", training["solver"]!.GetValue<string>());
        int epochsRun = training["epochsRun"]!.GetValue<int>(), best = training["bestEpoch"]!.GetValue<int>();
        Assert.Equal("earlyStopped", training["stopReason"]!.GetValue<string>());
        Assert.True(epochsRun < 400, $"early stopping ended training at epoch {epochsRun}");
        Assert.Equal(epochsRun, best + 8);
        Assert.Equal(960, training["trainRows"]!.GetValue<int>());
        Assert.Equal(240, training["validationRows"]!.GetValue<int>());
        var train = Doubles(training["curve"]!["train"]);
        var validation = Doubles(training["curve"]!["validation"]);
        Assert.Equal(epochsRun, train.Length);
        Assert.Equal(epochsRun, validation.Length);
        Assert.Equal(validation.Min(), validation[best - 1]);
        Assert.True(train[^1] < train[0], "the training loss fell");
        Assert.Equal(240, result["metrics"]!["validation"]!["rows"]!.GetValue<int>());

        // The network replaces coefficients; sparsity counts the inputs it uses.
        Assert.Empty(result["coefficients"]!.AsObject());
        var network = result["network"]!;
        Assert.Equal([32], network["hiddenUnits"]!.AsArray().Select(h => h!.GetValue<int>()));
        Assert.Equal([0.1], Doubles(network["dropout"]));
        var layers = network["layers"]!.AsArray();
        Assert.Equal(2, layers.Count);
        Assert.Equal(5 * 32, layers[0]!["weights"]!.AsArray().Count);
        Assert.Equal(32, layers[1]!["weights"]!.AsArray().Count);
        Assert.Equal(5, network["inputWeightNorms"]!.AsObject().Count);
        Assert.Equal(5, result["sparsity"]!["total"]!.GetValue<int>());
        Assert.Equal(5, result["sparsity"]!["nonZero"]!.GetValue<int>());

        // Prediction is deterministic (dropout is off) and is the forward pass of the returned network.
        var (fresh, freshX, freshY) = Nonlinear(400, seed: 12, withTarget: false);
        var first = await Predict(fitId, fresh);
        var second = await Predict(fitId, fresh);
        Assert.Equal(first, second);
        var expected = Forward(result, freshX);
        for (int i = 0; i < first.Length; i++) Assert.Equal(expected[i], first[i], 1e-9 * Math.Max(1, Math.Abs(expected[i])));

        // The linear model on the same rows does worse on fresh rows: the problem is nonlinear.
        var (linearId, _) = await FitWithId(new { datasetId = dataset, target = "y", penalty = "none" });
        var linear = await Predict(linearId, fresh);
        double Mse(double[] p) => p.Select((v, i) => (v - freshY[i]) * (v - freshY[i])).Average();
        Assert.True(Mse(first) < 0.6 * Mse(linear), $"MLP test MSE {Mse(first):G4}, linear {Mse(linear):G4}");
    }

    /// <summary>The network's forward pass, recomputed from the result document: standardize, ReLU layers, identity output.</summary>
    private static double[] Forward(JsonNode result, double[][] x)
    {
        string[] names = ["a", "b", "c", "d", "e"];
        var means = names.Select(n => result["featureMeans"]![n]!.GetValue<double>()).ToArray();
        var scales = names.Select(n => result["featureScales"]![n]!.GetValue<double>()).ToArray();
        var layers = result["network"]!["layers"]!.AsArray();
        var output = new double[x[0].Length];
        for (int i = 0; i < output.Length; i++)
        {
            var a = names.Select((_, j) => (x[j][i] - means[j]) / scales[j]).ToArray();
            for (int l = 0; l < layers.Count; l++)
            {
                var w = Doubles(layers[l]!["weights"]);
                var b = Doubles(layers[l]!["biases"]);
                var next = new double[b.Length];
                for (int o = 0; o < b.Length; o++)
                {
                    double s = b[o];
                    for (int k = 0; k < a.Length; k++) s += w[o * a.Length + k] * a[k];
                    next[o] = l < layers.Count - 1 ? Math.Max(s, 0) : s;
                }
                a = next;
            }
            output[i] = a[0];
        }
        return output;
    }

    /// <summary>The linear model by adam with a small learning rate reaches the closed-form ridge solution closely.</summary>
    [Fact]
    public async Task LinearAdamApproachesTheClosedFormRidge()
    {
        var data = Synthetic.Gaussian(400, seed: 21);
        var dataset = await Http.UploadCsv(_client, data.Csv());
        var (_, exact) = await FitWithId(new { datasetId = dataset, target = "y", lambda = 0.01 });
        var (_, adam) = await FitWithId(new
        {
            datasetId = dataset, target = "y", lambda = 0.01, solver = "adam", learningRate = 0.003, batchSize = 400, epochs = 4000, seed = 1,
        });
        Assert.Equal("adam", adam["diagnostics"]!["solver"]!.GetValue<string>());
        Assert.Equal(4000, adam["training"]!["epochsRun"]!.GetValue<int>());
        Assert.Equal("epochsExhausted", adam["training"]!["stopReason"]!.GetValue<string>());
        Assert.Null(adam["network"]);
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
            Assert.Equal(exact["coefficients"]![name]!.GetValue<double>(), adam["coefficients"]![name]!.GetValue<double>(), 2e-3);
        Assert.Equal(exact["intercept"]!.GetValue<double>(), adam["intercept"]!.GetValue<double>(), 2e-3);
    }

    /// <summary>
    /// Done means: a degree-10 polynomial of t fitted by ridge over a lambda grid, scored by 5-fold cross-validation: the
    /// validation error first falls (the penalty tames the overfit) and then rises (it underfits) as lambda grows.
    /// Prediction takes t alone and equals the polynomial of the returned coefficients.
    /// </summary>
    [Fact]
    public async Task PolynomialRidgeValidationErrorFallsThenRisesAsLambdaGrows()
    {
        var rng = new Random(4);
        int n = 40;
        var t = Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        var y = t.Select(v => Math.Sin(Math.PI * v) + 0.3 * Normal(rng)).ToArray();
        var csv = "t,y\n" + string.Concat(t.Select((v, i) => $"{v.ToString("R", CultureInfo.InvariantCulture)},{y[i].ToString("R", CultureInfo.InvariantCulture)}\n"));
        var dataset = await Http.UploadCsv(_client, csv);
        var lambdas = Enumerable.Range(0, 30).Select(k => 1e-10 * Math.Pow(1e11, k / 29.0)).ToArray();
        var (fitId, result) = await FitWithId(new
        {
            datasetId = dataset, target = "y", penalty = "ridge", lambdas, expansion = new { polynomialDegree = 10 },
            validation = new { method = "kfold", folds = 5, seed = 1 },
        });

        Assert.Equal(["t"], result["inputs"]!.AsArray().Select(v => v!.GetValue<string>()));
        var features = result["features"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray();
        Assert.Equal(["t", .. Enumerable.Range(2, 9).Select(k => $"t^{k}")], features);
        Assert.Equal(10, result["expansion"]!["features"]!.GetValue<int>());

        var mean = Doubles(result["path"]!["validation"]!["mean"]);
        Assert.Equal(lambdas, Doubles(result["path"]!["lambdas"]));
        int best = Array.IndexOf(mean, mean.Min());
        Assert.InRange(best, 1, lambdas.Length - 2);
        Assert.True(mean[0] >= 1.2 * mean[best], $"smallest lambda: {mean[0]:G4} against {mean[best]:G4} at the best");
        Assert.True(mean[^1] >= 1.2 * mean[best], $"largest lambda: {mean[^1]:G4} against {mean[best]:G4} at the best");

        // Predict from t alone: the polynomial of the returned model.
        var grid = new[] { -0.7, 0.1, 0.8 };
        var predictions = await Predict(fitId, "t\n" + string.Concat(grid.Select(v => $"{v.ToString("R", CultureInfo.InvariantCulture)}\n")));
        double intercept = result["intercept"]!.GetValue<double>();
        for (int i = 0; i < grid.Length; i++)
        {
            double expected = intercept;
            for (int k = 1; k <= 10; k++) expected += result["coefficients"]![features[k - 1]]!.GetValue<double>() * Math.Pow(grid[i], k);
            Assert.Equal(expected, predictions[i], 1e-9 * Math.Max(1, Math.Abs(expected)));
        }

        // The expanded columns are computed, not posted: posting one is an extra column.
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{fitId}/predict", "t,t^2\n0.5,0.25\n", "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'t^2' is an extra column", Http.Messages(body!["errors"]!["columns.t^2"]));
    }

    private async Task<(string Id, JsonNode Result)> FitWithId(object request)
    {
        var id = await Http.Submit(_client, request);
        return (id, await Http.WaitForDenseResult(_client, id, TimeSpan.FromSeconds(120)));
    }

    private async Task<double[]> Predict(string fitId, string csv)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{fitId}/predict", csv, "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return Doubles(body!["predictions"]);
    }

    private static double[] Doubles(JsonNode? array) => [.. array!.AsArray().Select(v => v!.GetValue<double>())];
}
