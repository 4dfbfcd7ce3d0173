using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// The proximal-Newton families with observation weights and offsets: reference paths from R glmnet 4.1-6 at thresh 1e-14
/// (tests/fixtures/glmnet_glm, made by tests/fixtures/make_glmnet_glm_fixtures.R on data made there: weighted binomial,
/// binomial with an offset, poisson, weighted poisson with an offset, gaussian with an offset), the KKT conditions at every lambda, glmnet's own
/// lambda grid and early stop, and cv.glmnet's choice with weights and fold ids.
/// </summary>
public sealed partial class GlmFamilyFitTests
{
    private static readonly string Directory = Fixtures.Directory("glmnet_glm");

    public static TheoryData<string> Cases => Fixtures.Cases("glmnet_glm");

    /// <summary>At glmnet's lambdas (given): intercepts and coefficients within 1e-6 relative, the deviance ratio to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void PathMatchesGlmnet(string name) => AssertPathMatchesGlmnet(name, Directory);

    private static void AssertPathMatchesGlmnet(string name, string directory)
    {
        var (fixture, x, spec) = Load(name, directory);
        var result = FitEngine.Fit(x, spec);
        Assert.Equal(spec.Family == Family.Gaussian ? "coordinateDescent" : "proximalNewton", result.Solver);
        AssertPath(name, fixture, result, Fixtures.Doubles(fixture.GetProperty("lambda")).Length);
    }

    /// <summary>The generated path: glmnet's lambda_max (with weights and the offset), its grid and its early stop.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void GeneratedPathStopsWhereGlmnetStops(string name) => AssertGeneratedPathStopsWhereGlmnetStops(name, Directory);

    private static void AssertGeneratedPathStopsWhereGlmnetStops(string name, string directory)
    {
        var (fixture, x, spec) = Load(name, directory);
        var lambda = Fixtures.Doubles(fixture.GetProperty("lambda"));
        var result = FitEngine.Fit(x, spec with { Lambdas = null, Path = new LambdaPathSpec(60) });
        Assert.Equal(lambda.Length, result.Path.Length);
        for (int l = 0; l < lambda.Length; l++)
            Assert.True(Math.Abs(result.Path[l].Lambda - lambda[l]) <= 1e-9 * lambda[l], $"{name}: lambda {l} is {result.Path[l].Lambda:R}, glmnet's {lambda[l]:R}");
        AssertPath(name, fixture, result, lambda.Length);
    }

    private static void AssertPath(string name, JsonElement fixture, FitResult result, int count)
    {
        var a0 = Fixtures.Doubles(fixture.GetProperty("a0"));
        var ratio = Fixtures.Doubles(fixture.GetProperty("dev_ratio"));
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
        Assert.Equal(count, result.Path.Length);
        for (int l = 0; l < count; l++)
        {
            var point = result.Path[l];
            Assert.True(point.Converged, $"{name}: not converged at lambda {point.Lambda}");
            double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
            double gap = Math.Abs(point.Intercept - a0[l]);
            for (int j = 0; j < beta[l].Length; j++) gap = Math.Max(gap, Math.Abs(point.Coefficients[j] - beta[l][j]));
            Assert.True(gap <= 1e-6 * scale + 1e-12, $"{name}: lambda {l} ({point.Lambda:G6}) differs from glmnet by {gap:G3} (scale {scale:G3})");
            Assert.Equal(ratio[l], point.DevianceRatio, 1e-6);
        }
    }

    /// <summary>
    /// KKT of (1/n) sum v_i [b(eta_i) - y_i eta_i] + lambda P(b), v rescaled to sum to n, eta with the offset, on the weighted
    /// standardized scale: sum v (y - mu) = 0 and per feature |g_j - l2 b_j - l1 sign b_j| (nonzero) or max(|g_j| - l1, 0)
    /// (zero) within 1e-6 of the null deviance per row.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void KktHoldsAtEveryLambda(string name) => AssertKktHoldsAtEveryLambda(name, Directory);

    /// <summary>The KKT check above; the scale is the weighted 1/n standard deviation about the weighted mean with or
    /// without an intercept (glmnet's), and without one the intercept's condition is not checked.</summary>
    private static void AssertKktHoldsAtEveryLambda(string name, string directory)
    {
        var (fixture, x, spec) = Load(name, directory);
        var result = FitEngine.Fit(x, spec);
        var family = GlmFamily.For(spec.Family);
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var w = spec.RescaledWeights() ?? Enumerable.Repeat(1.0, n).ToArray();
        var y = x.Column(spec.TargetColumn);
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            var col = x.Column(spec.FeatureColumns[j]);
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += w[i] * col[i] / n;
            for (int i = 0; i < n; i++) v += w[i] * (col[i] - m) * (col[i] - m) / n;
            scales[j] = Math.Sqrt(v);
        }
        double nullDeviance = fixture.GetProperty("nulldev").GetDouble() / n;
        var r = new double[n];
        foreach (var point in result.Path)
        {
            RegressionMetrics.Predict(x, spec.FeatureColumns, point.Intercept, point.Coefficients, null, r);
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                r[i] = w[i] * (y[i] - family.Mean(r[i] + (spec.Offset?[i] ?? 0)));
                sum += r[i];
            }
            double worst = spec.FitIntercept ? Math.Abs(sum) / n : 0;
            double l1 = point.Lambda * spec.Alpha, l2 = point.Lambda * (1 - spec.Alpha);
            for (int j = 0; j < p; j++)
            {
                var col = x.Column(spec.FeatureColumns[j]);
                double g = 0;
                for (int i = 0; i < n; i++) g += col[i] * r[i];
                g /= n * scales[j];
                double b = point.Coefficients[j] * scales[j];
                worst = Math.Max(worst, b != 0 ? Math.Abs(g - l2 * b - l1 * Math.Sign(b)) : Math.Max(Math.Abs(g) - l1, 0));
            }
            Assert.True(worst <= 1e-6 * nullDeviance, $"{name}: KKT residual {worst:G3} at lambda {point.Lambda:G6}");
        }
    }

    /// <summary>cv.glmnet's deviance curve with weights (and an offset) and fold ids to 1e-6, lambda.min and lambda.1se exactly.</summary>
    [Theory]
    [InlineData("cv_wbinom_lasso")]
    [InlineData("cv_wpois_offset_lasso")]
    public void CrossValidationPicksCvGlmnetsLambdas(string name)
    {
        var (fixture, x, spec) = Load(Path.Combine("cv", name));
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var result = FitEngine.Fit(x, spec with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(FoldIds: foldIds) });
        var cvm = Fixtures.Doubles(fixture.GetProperty("cvm"));
        var cvsd = Fixtures.Doubles(fixture.GetProperty("cvsd"));
        Assert.Equal(cvm.Length, result.Curve!.Mean.Length);
        for (int l = 0; l < cvm.Length; l++)
        {
            Assert.True(Math.Abs(cvm[l] - result.Curve.Mean[l]) <= 1e-6 * cvm[l], $"{name}: cvm at lambda {l}: {result.Curve.Mean[l]:R} against cv.glmnet's {cvm[l]:R}");
            Assert.Equal(cvsd[l], result.Curve.StandardError[l], 1e-5 * cvsd[l]);
        }
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), result.LambdaMin!.Value, 1e-12 * result.LambdaMin.Value);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), result.Lambda1se!.Value, 1e-12 * result.Lambda1se.Value);
    }

    /// <summary>
    /// Integer weights fit and score what the rows repeated that many times do (0: the row left out): the path, and the
    /// weighted training metrics (binomial log loss, accuracy, AUC; poisson deviance, MAE, RMSE).
    /// </summary>
    [Theory]
    [InlineData("wbinom_lasso")]
    [InlineData("wpois_offset_lasso")]
    public void IntegerWeightsEqualRepeatedRows(string name)
    {
        var (_, x, spec) = Load(name);
        int n = x.Rows, k = x.Columns;
        var counts = new double[n];
        for (int i = 0; i < n; i++) counts[i] = i % 4;
        var repeated = new List<int>();
        for (int i = 0; i < n; i++) for (int c = 0; c < counts[i]; c++) repeated.Add(i);
        var copy = new DenseMatrix(repeated.Count, k);
        for (int j = 0; j < k; j++)
            for (int i = 0; i < repeated.Count; i++) copy.Column(j)[i] = x.Column(j)[repeated[i]];
        double[] lambdas = [0.05, 0.01];
        var weighted = FitEngine.Fit(x, spec with { Lambdas = lambdas, Weights = counts });
        var plain = FitEngine.Fit(copy, spec with
        {
            Lambdas = lambdas,
            Weights = null,
            Offset = spec.Offset is { } o ? [.. repeated.Select(i => o[i])] : null,
        });
        for (int l = 0; l < lambdas.Length; l++)
        {
            Assert.Equal(plain.Path[l].Intercept, weighted.Path[l].Intercept, 1e-8);
            for (int j = 0; j < spec.FeatureColumns.Length; j++)
                Assert.Equal(plain.Path[l].Coefficients[j], weighted.Path[l].Coefficients[j], 1e-8);
            Assert.Equal(plain.Path[l].DevianceRatio, weighted.Path[l].DevianceRatio, 1e-9);
        }
        switch (weighted.TrainMetrics)
        {
            case ClassificationMetrics a:
                var b = Assert.IsType<ClassificationMetrics>(plain.TrainMetrics);
                Assert.Equal(b.LogLoss, a.LogLoss, 1e-8);
                Assert.Equal(b.Accuracy, a.Accuracy, 1e-12);
                Assert.Equal(b.Auc, a.Auc, 1e-12);
                Assert.Equal(b.DevianceRatio, a.DevianceRatio, 1e-8);
                break;
            case PoissonMetrics a:
                var c = Assert.IsType<PoissonMetrics>(plain.TrainMetrics);
                Assert.Equal(c.MeanDeviance, a.MeanDeviance, 1e-8);
                Assert.Equal(c.Mae, a.Mae, 1e-8);
                Assert.Equal(c.Rmse, a.Rmse, 1e-8);
                Assert.Equal(c.DevianceRatio, a.DevianceRatio, 1e-8);
                break;
            default:
                Assert.Fail($"unexpected metrics {weighted.TrainMetrics?.GetType().Name}");
                break;
        }
    }

    /// <summary>
    /// A poisson lasso path on correlated features (rows outnumber features: Gram-mode Newton steps) at the default tolerance
    /// has, at every lambda, an objective within 1e-6 (relative) of the same path fitted at tolerance 1e-14: the inner
    /// coordinate descent does not stop the tail of the path early (issue 14).
    /// </summary>
    [Fact]
    public void PoissonPathAtTheDefaultToleranceIsWithinOneInAMillionOfTheOptimum()
    {
        const int n = 3000, p = 100;
        var rng = new Random(1414);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var x = new DenseMatrix(n, p + 1);
        var truth = Enumerable.Range(0, p).Select(j => j % 3 == 0 ? 0.3 / (1 + j / 10) : 0.0).ToArray();
        for (int i = 0; i < n; i++)
        {
            double common = Normal(), linear = 0.5;
            for (int j = 0; j < p; j++)
            {
                double v = 0.95 * common + 0.3 * Normal();
                x.Column(j)[i] = v;
                linear += truth[j] * v;
            }
            // A poisson count by inversion.
            double mu = Math.Exp(linear), u = rng.NextDouble(), prob = Math.Exp(-mu), cdf = prob;
            int k = 0;
            while (u > cdf && k < 1000) { k++; prob *= mu / k; cdf += prob; }
            x.Column(p)[i] = k;
        }
        var spec = new FitSpec
        {
            FeatureColumns = [.. Enumerable.Range(0, p)],
            FeatureNames = [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
            TargetColumn = p,
            Family = Family.Poisson,
            Penalty = Penalty.Lasso,
            Path = new LambdaPathSpec(),
        };
        var loose = FitEngine.Fit(x, spec);
        var tight = FitEngine.Fit(x, spec with { Path = null, Lambdas = [.. loose.Path.Select(q => q.Lambda)], Tolerance = 1e-14 });
        Assert.Equal(loose.Path.Length, tight.Path.Length);
        Assert.True(loose.Path.Length > 40, $"only {loose.Path.Length} lambdas");
        var y = x.Column(p).ToArray();
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            var col = x.Column(j);
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += col[i] / n;
            for (int i = 0; i < n; i++) v += (col[i] - m) * (col[i] - m) / n;
            scales[j] = Math.Sqrt(v);
        }
        var eta = new double[n];
        double Objective(PathPoint point)
        {
            RegressionMetrics.Predict(x, spec.FeatureColumns, point.Intercept, point.Coefficients, null, eta);
            double loss = 0, penalty = 0;
            for (int i = 0; i < n; i++) loss += Math.Exp(eta[i]) - y[i] * eta[i];
            for (int j = 0; j < p; j++) penalty += Math.Abs(point.Coefficients[j] * scales[j]);
            return loss / n + point.Lambda * penalty;
        }
        for (int l = 0; l < loose.Path.Length; l++)
        {
            double ours = Objective(loose.Path[l]), optimum = Objective(tight.Path[l]);
            double rel = (ours - optimum) / Math.Abs(optimum);
            Assert.True(rel <= 1e-6, $"lambda {l + 1} of {loose.Path.Length}: the objective is {rel:G3} above the tight fit's");
        }
    }

    /// <summary>A negative, fractional or non-finite count is a fault naming the target and the row (1-based).</summary>
    [Fact]
    public void BadCountsAreFaultsNamingTheRow()
    {
        var (_, x, spec) = Load("pois_lasso");
        var bad = new DenseMatrix(x.Rows, x.Columns);
        for (int j = 0; j < x.Columns; j++) x.Column(j).CopyTo(bad.Column(j));
        string Fault(double value)
        {
            x.Column(spec.TargetColumn).CopyTo(bad.Column(spec.TargetColumn));
            bad.Column(spec.TargetColumn)[6] = value;
            return Assert.Single(spec.Check(DataShape.Of(bad)), f => f.Path == "targetColumn").Message;
        }
        Assert.Contains("row 7: -1 is a negative count", Fault(-1));
        Assert.Contains("row 7: 2.5 is not a whole count", Fault(2.5));
        Assert.Contains("row 7: NaN is not a finite count", Fault(double.NaN));
        Assert.Contains("offset", Assert.Single((spec with { Offset = [1, 2] }).Check(DataShape.Of(x))).Path);
        Assert.Contains("solver proximalGradient does not take it",
            Assert.Single((spec with { Solver = SolverKind.ProximalGradient }).Check(DataShape.Of(x)), f => f.Path == "solver").Message);
        Assert.Contains("closedForm fits gaussian",
            Assert.Single((spec with { Solver = SolverKind.ClosedForm }).Check(DataShape.Of(x)), f => f.Path == "solver").Message);
    }

    private static (JsonElement Fixture, DenseMatrix X, FitSpec Spec) Load(string name, string? directory = null)
    {
        directory ??= Directory;
        var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, name + ".json"))).RootElement;
        ColumnTable table;
        using (var file = File.OpenRead(Path.Combine(directory, fixture.GetProperty("data").GetString()!)))
            table = CsvTableReader.ReadAsync(file).GetAwaiter().GetResult();
        var x = table.ToMatrix();
        var all = table.Names.ToArray();
        var names = fixture.GetProperty("features").EnumerateArray().Select(e => e.GetString()!).ToArray();
        double alpha = fixture.GetProperty("alpha").GetDouble();
        double[]? Column(string property) =>
            fixture.GetProperty(property).GetString() is { } column ? x.Column(Array.IndexOf(all, column)).ToArray() : null;
        var spec = new FitSpec
        {
            FeatureColumns = [.. names.Select(n => Array.IndexOf(all, n))],
            FeatureNames = names,
            TargetColumn = Array.IndexOf(all, fixture.GetProperty("target").GetString()!),
            Family = fixture.GetProperty("family").GetString() switch { "poisson" => Family.Poisson, "binomial" => Family.Binomial, _ => Family.Gaussian },
            Penalty = alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet,
            L1Ratio = alpha is 1 ? null : alpha,
            Lambdas = Fixtures.Doubles(fixture.GetProperty("lambda")),
            Weights = Column("weights"),
            Offset = Column("offset"),
            Tolerance = 1e-14,
            FitIntercept = !fixture.TryGetProperty("intercept", out var intercept) || intercept.GetBoolean(),
        };
        return (fixture, x, spec);
    }
}
