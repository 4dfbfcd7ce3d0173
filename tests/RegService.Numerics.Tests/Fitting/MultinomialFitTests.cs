using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Family multinomial: reference paths from R glmnet 4.1-6 at thresh 1e-18 (tests/fixtures/multinom, made by
/// tests/fixtures/make_multinom.R on data made there: K = 3 and 5, labels not 0..K-1), ungrouped and grouped, lasso and elastic
/// net; the KKT conditions at every lambda; glmnet's generated path; cv.glmnet with fold ids; and the rules.
/// </summary>
public sealed partial class MultinomialFitTests
{
    private static readonly string Directory = Fixtures.Directory("multinom");

    public static TheoryData<string> Cases => Fixtures.Cases("multinom", "mn*.json");

    /// <summary>Every class's intercept and coefficients within 1e-6 relative of glmnet's at its lambdas, and its deviance ratio to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void PathMatchesGlmnet(string name) => AssertMatchesGlmnet(name, null);

    private static void AssertMatchesGlmnet(string name, string? directory)
    {
        var (fixture, x, spec) = Load(name, directory);
        var result = FitEngine.Fit(x, spec with { Tolerance = 1e-18 });
        Assert.Equal("proximalNewton", result.Solver);
        Assert.Equal(Fixtures.Doubles(fixture.GetProperty("classes")), result.ClassLabels);
        var a0 = fixture.GetProperty("a0").EnumerateArray().Select(Fixtures.Doubles).ToArray();          // [class][lambda]
        var beta = fixture.GetProperty("beta").EnumerateArray()
            .Select(c => c.EnumerateArray().Select(Fixtures.Doubles).ToArray()).ToArray();                // [class][lambda][feature]
        var ratio = Fixtures.Doubles(fixture.GetProperty("dev_ratio"));
        int K = a0.Length;
        Assert.Equal(ratio.Length, result.Path.Length);
        for (int l = 0; l < ratio.Length; l++)
        {
            var point = result.Path[l];
            Assert.True(point.Converged, $"{name}: not converged at lambda {point.Lambda}");
            var model = point.Classes!;
            double scale = 0, gap = 0;
            for (int k = 0; k < K; k++)
            {
                scale = Math.Max(scale, Math.Max(Math.Abs(a0[k][l]), beta[k][l].Max(Math.Abs)));
                gap = Math.Max(gap, Math.Abs(model.Intercepts[k] - a0[k][l]));
                for (int j = 0; j < beta[k][l].Length; j++) gap = Math.Max(gap, Math.Abs(model.Coefficients[k][j] - beta[k][l][j]));
            }
            // 1e-15 absolute where glmnet's model is all zeros (lambda_max without an intercept: scale 0).
            Assert.True(gap <= 1e-6 * scale + 1e-15, $"{name}: lambda {l} ({point.Lambda:G6}) differs from glmnet by {gap:G3} (scale {scale:G3})");
            Assert.Equal(ratio[l], point.DevianceRatio, 1e-6);
            Assert.Equal(model.Intercepts[0], point.Intercept);
            Assert.Equal(model.NonZero(), point.NonZero);
        }
        var train = Assert.IsType<MulticlassMetrics>(result.TrainMetrics);
        // The metrics' null model is the class frequencies, without the offset (glmnet's dev.ratio takes the offset's: the path's).
        if (spec.ClassOffsets is null) Assert.Equal(ratio[^1], train.DevianceRatio, 1e-6);
        Assert.Equal(K, train.ClassAuc.Length);
    }

    /// <summary>
    /// KKT at every lambda on the standardized scale, g_kj = z_j'V(y_k - p_k)/n (V the observation weights, rescaled to sum to n;
    /// 1 without): ungrouped |g_kj - l2 b_kj - l1 sign b_kj| (nonzero) or max(|g_kj| - l1, 0) (zero); grouped
    /// ||g_j - l2 b_j - l1 b_j/||b_j|| || or max(||g_j|| - l1, 0); each within 1e-7, and the intercepts' gradient
    /// sum_i v_i (y_ik - p_ik)/n within 1e-8. With bounds (the same for every class, lower ≤ b_kj ≤ upper on the original scale) a
    /// coefficient at a bound is checked only in the direction into the box, and a zero coefficient (group) only on the part
    /// of its gradient the box allows (<see cref="Allowed"/>).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void KktHoldsAtEveryLambda(string name)
    {
        var (_, x, spec) = Load(name);
        AssertKkt(name, x, spec);
    }

    /// <summary>
    /// Wide data (40 rows, 30 features, 3 classes): the Newton steps solve on the working set's weighted Gram matrix while
    /// it has at most n/2 features and by coordinate descent on weighted residuals beyond, so the path crosses both modes;
    /// KKT holds at every lambda, ungrouped and grouped, lasso and elastic net.
    /// </summary>
    [Theory]
    [InlineData(false, 1.0)]
    [InlineData(false, 0.5)]
    [InlineData(true, 1.0)]
    public void KktHoldsAcrossGramAndNaiveModes(bool grouped, double alpha)
    {
        const int n = 40, p = 30;
        var x = new DenseMatrix(n, p + 1);
        var random = new Random(14);
        for (int j = 0; j < p; j++)
        {
            var c = x.Column(j);
            for (int i = 0; i < n; i++) c[i] = random.NextDouble() * 2 - 1;
        }
        var y = x.Column(p);
        for (int i = 0; i < n; i++)
        {
            double score = x.Column(0)[i] - x.Column(1)[i] + 0.5 * x.Column(2)[i] + 0.8 * (random.NextDouble() - 0.5);
            y[i] = score < -0.3 ? 0 : score < 0.3 ? 1 : 2;
        }
        var spec = new FitSpec
        {
            FeatureColumns = [.. Enumerable.Range(0, p)],
            FeatureNames = [.. Enumerable.Range(0, p).Select(j => "x" + j)],
            TargetColumn = p,
            Family = Family.Multinomial,
            MultinomialGrouped = grouped,
            Penalty = alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet,
            L1Ratio = alpha == 1 ? null : alpha,
            Lambdas = [0.2, 0.1, 0.05, 0.03, 0.02, 0.012],
            MaxThreads = 1,
        };
        var result = AssertKkt($"wide grouped={grouped} alpha={alpha}", x, spec);
        Assert.True(result.Path[^1].NonZero > n / 2, $"the last lambda has {result.Path[^1].NonZero} features: not past the Gram mode's n/2");
    }

    private static FitResult AssertKkt(string name, DenseMatrix x, FitSpec spec)
    {
        var result = FitEngine.Fit(x, spec with { Tolerance = 1e-18 });
        bool grouped = spec.MultinomialGrouped;
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var labels = result.ClassLabels!;
        var classOf = FitSpec.ClassIndex(x.Column(spec.TargetColumn), labels);
        var v = spec.RescaledWeights() ?? Enumerable.Repeat(1.0, n).ToArray();
        int K = labels.Length;
        double alpha = spec.Alpha;
        foreach (var point in result.Path)
        {
            var prob = point.Classes!.Probabilities(x, spec.FeatureColumns, null, spec.ClassOffsetMatrix(labels));
            var g = new double[K, p];
            for (int k = 0; k < K; k++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += v[i] * ((classOf[i] == k ? 1 : 0) - prob[i][k]);
                if (spec.FitIntercept)
                    Assert.True(Math.Abs(sum / n) < 1e-8, $"{name}: intercept gradient {sum / n:G3} of class {k} at lambda {point.Lambda:G6}");
                double center = spec.FitIntercept ? 1 : 0;   // without an intercept the gradient is on the uncentered columns
                for (int j = 0; j < p; j++)
                {
                    var col = x.Column(spec.FeatureColumns[j]);
                    double s = 0;
                    for (int i = 0; i < n; i++) s += v[i] * (col[i] - center * result.FeatureMeans[j]) / result.FeatureScales[j] * ((classOf[i] == k ? 1 : 0) - prob[i][k]);
                    g[k, j] = s / n;
                }
            }
            double l1 = point.Lambda * alpha, l2 = point.Lambda * (1 - alpha), worst = 0;
            for (int j = 0; j < p; j++)
            {
                var b = Enumerable.Range(0, K).Select(k => point.Classes.StandardizedCoefficients[k][j]).ToArray();
                double lo = (spec.LowerLimits?[j] ?? double.NegativeInfinity) * result.FeatureScales[j];
                double hi = (spec.UpperLimits?[j] ?? double.PositiveInfinity) * result.FeatureScales[j];
                foreach (double bk in b)
                    Assert.True(bk >= lo - 1e-12 * Math.Abs(lo) && bk <= hi + 1e-12 * Math.Abs(hi), $"{name}: {bk} outside [{lo}, {hi}] at lambda {point.Lambda:G6}");
                if (grouped)
                {
                    double norm = Math.Sqrt(b.Sum(c => c * c)), r = 0, gn = 0;
                    for (int k = 0; k < K; k++)
                    {
                        double e = Allowed(g[k, j] - l2 * b[k] - (norm > 0 ? l1 * b[k] / norm : 0), b[k], lo, hi);
                        r += e * e;
                        double a = Allowed(g[k, j], b[k], lo, hi);
                        gn += a * a;
                    }
                    worst = Math.Max(worst, norm > 0 ? Math.Sqrt(r) : Math.Max(Math.Sqrt(gn) - l1, 0));
                }
                else
                    for (int k = 0; k < K; k++)
                        worst = Math.Max(worst, b[k] != 0 ? Math.Abs(Allowed(g[k, j] - l2 * b[k] - l1 * Math.Sign(b[k]), b[k], lo, hi))
                                                          : Math.Max(Math.Abs(Allowed(g[k, j], b[k], lo, hi)) - l1, 0));
            }
            Assert.True(worst < 1e-7, $"{name}: KKT residual {worst:G3} at lambda {point.Lambda:G6}");
        }
        return result;
    }

    /// <summary>The part of a descent direction <paramref name="d"/> (minus the gradient of the objective) a coefficient
    /// <paramref name="b"/> can follow inside [lo, hi]: all of it inside, only its rise at the lower bound, only its fall at the upper.</summary>
    private static double Allowed(double d, double b, double lo, double hi) => b <= lo ? Math.Max(d, 0) : b >= hi ? Math.Min(d, 0) : d;

    /// <summary>The generated path: glmnet's lambda_max (over classes; grouped, the group norm), grid and early stop.</summary>
    [Theory]
    [InlineData("mn3_lasso_ungrouped")]
    [InlineData("mn5_enet03_ungrouped")]
    [InlineData("mn5_lasso_grouped")]
    public void GeneratedPathIsGlmnets(string name)
    {
        var (fixture, x, spec) = Load(name);
        var lambdas = Fixtures.Doubles(fixture.GetProperty("lambda"));
        var result = FitEngine.Fit(x, spec with { Lambdas = null, Path = new LambdaPathSpec { Count = 40 } });
        Assert.Equal(lambdas.Length, result.Path.Length);
        for (int l = 0; l < lambdas.Length; l++) Assert.Equal(lambdas[l], result.Path[l].Lambda, lambdas[l] * 1e-9);
        Assert.All(result.Path[0].Classes!.Coefficients, c => Assert.All(c, v => Assert.True(Math.Abs(v) < 1e-12)));
    }

    /// <summary>cv.glmnet with fold ids (type.measure deviance): the curve to 1e-5 relative, lambda.min and lambda.1se exactly.</summary>
    [Theory]
    [InlineData("cv_mn3_lasso_ungrouped")]
    [InlineData("cv_mn5_enet05_grouped")]
    public void CrossValidationMatchesCvGlmnet(string name) => AssertCvMatchesGlmnet(name, null);

    private static void AssertCvMatchesGlmnet(string name, string? directory)
    {
        var (fixture, x, spec) = Load(name, directory);
        var ids = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        foreach (var rule in new[] { SelectionRule.Min, SelectionRule.OneStandardError })
        {
            var result = FitEngine.Fit(x, spec with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec { FoldIds = ids }, Rule = rule, MaxThreads = 2 });
            var cvm = Fixtures.Doubles(fixture.GetProperty("cvm"));
            var cvsd = Fixtures.Doubles(fixture.GetProperty("cvsd"));
            Assert.Equal("deviance", result.Curve!.Measure);
            for (int l = 0; l < cvm.Length; l++)
            {
                Assert.Equal(cvm[l], result.Curve.Mean[l], cvm[l] * 1e-5);
                Assert.Equal(cvsd[l], result.Curve.StandardError[l], cvsd[l] * 1e-4);
            }
            Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), result.LambdaMin!.Value, 1e-12);
            Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), result.Lambda1se!.Value, 1e-12);
            Assert.Equal(rule == SelectionRule.Min ? result.LambdaMin : result.Lambda1se, result.Lambda);
            Assert.IsType<MulticlassMetrics>(result.ValidationMetrics);
        }
    }

    [Fact]
    public void BestShiftMinimizesThePenaltyAcrossClasses()
    {
        double[] b = [0.3, -1.2, 2.0, 0.1, 0.0];
        foreach (double alpha in new[] { 0.0, 0.3, 0.7, 1.0 })
        {
            double c = MultinomialPathSolver.BestShift(b, alpha);
            double F(double s) => b.Sum(v => (1 - alpha) / 2 * (v - s) * (v - s) + alpha * Math.Abs(v - s));
            for (double s = -2; s <= 2; s += 0.001) Assert.True(F(c) <= F(s) + 1e-12, $"alpha {alpha}: shift {c} is not the minimum ({F(c)} > {F(s)} at {s})");
        }
        Assert.Equal(0.1, MultinomialPathSolver.BestShift(b, 1.0));   // the lasso's median
    }

    [Fact]
    public void RulesNameTheFieldAtFault()
    {
        var (_, x, spec) = Load("mn3_lasso_ungrouped");
        var shape = DataShape.Of(x);
        Assert.Empty(spec.Check(shape));
        Assert.Contains((spec with { Solver = SolverKind.ProximalGradient }).Check(shape), f => f.Path == "solver");
        Assert.Contains((spec with { Solver = SolverKind.Adam }).Check(shape), f => f.Path == "solver");
        Assert.Contains((spec with { Family = Family.Gaussian, MultinomialGrouped = true }).Check(shape), f => f.Path == "multinomialType");
        // One class: the target is constant.
        var one = new DenseMatrix(x.Rows, x.Columns);
        for (int j = 0; j < x.Columns; j++) x.Column(j).CopyTo(one.Column(j));
        one.Column(spec.TargetColumn).Fill(5);
        Assert.Contains(spec.Check(DataShape.Of(one)), f => f.Path == "targetColumn");
        // A class of one row.
        var y = one.Column(spec.TargetColumn);
        y[0] = 9;
        Assert.Contains(spec.Check(DataShape.Of(one)), f => f.Path == "targetColumn" && f.Message.Contains("class 9"));
        // A fold whose complement lacks a class: every row of class 2 in fold 1.
        var labels = x.Column(spec.TargetColumn).ToArray();
        var ids = labels.Select((v, i) => v == 2 ? 1 : 2 + i % 3).ToArray();
        var faults = spec with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec { FoldIds = ids } };
        Assert.Contains(faults.Check(shape), f => f.Path == "kFold" && f.Message.Contains("class 2"));
    }

    /// <summary>A fixture of <paramref name="directory"/> (multinom by default) and the spec it was made with: weights from its
    /// column (multinom_wb), the limits per feature (null there: unbounded), the offset column of each class in class order and
    /// the intercept (multinom_offset).</summary>
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
        var spec = new FitSpec
        {
            FeatureColumns = [.. names.Select(n => Array.IndexOf(all, n))],
            FeatureNames = names,
            TargetColumn = Array.IndexOf(all, fixture.GetProperty("target").GetString()!),
            Family = Family.Multinomial,
            MultinomialGrouped = fixture.GetProperty("type").GetString() == "grouped",
            Penalty = alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet,
            L1Ratio = alpha == 1 ? null : alpha,
            Lambdas = Fixtures.Doubles(fixture.GetProperty("lambda")),
            Tolerance = 1e-14,
            MaxThreads = 1,
            Weights = fixture.TryGetProperty("weights", out var w) && w.ValueKind == JsonValueKind.String
                ? x.Column(Array.IndexOf(all, w.GetString()!)).ToArray() : null,
            LowerLimits = Limits(fixture, "lower", double.NegativeInfinity),
            UpperLimits = Limits(fixture, "upper", double.PositiveInfinity),
            FitIntercept = !fixture.TryGetProperty("intercept", out var intercept) || intercept.GetBoolean(),
        };
        if (fixture.TryGetProperty("offsets", out var offsets))
        {
            var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
            spec = spec with
            {
                ClassOffsets = [.. offsets.EnumerateArray().Select((o, k) => new ClassOffset(labels[k], x.Column(Array.IndexOf(all, o.GetString()!)).ToArray()))],
            };
        }
        return (fixture, x, spec);
    }

    private static double[]? Limits(JsonElement fixture, string name, double none) =>
        fixture.TryGetProperty(name, out var limits) ? [.. limits.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? none : e.GetDouble())] : null;
}
