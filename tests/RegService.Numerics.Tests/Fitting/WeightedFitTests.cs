using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Observation weights (glmnet's <c>weights</c>): reference paths from R glmnet 4.1-6 at thresh 1e-14
/// (tests/fixtures/glmnet_weights, made by tests/fixtures/make_glmnet_weights_fixtures.R on data made there, some weights
/// 0), the KKT conditions of the weighted problem at every lambda, integer weights against repeated rows, and the rules.
/// </summary>
public sealed class WeightedFitTests
{
    private static readonly string Directory = Fixtures.Directory("glmnet_weights");

    public static TheoryData<string> Cases => Fixtures.Cases("glmnet_weights");

    /// <summary>The coefficients and intercepts within 1e-6 relative of glmnet's, and its deviance ratio (weighted) to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightedPathMatchesGlmnet(string name)
    {
        var (fixture, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec);
        Assert.Equal(spec.Penalty == Penalty.Ridge ? "closedForm" : "coordinateDescent", result.Solver);
        var a0 = Fixtures.Doubles(fixture.GetProperty("a0"));
        var ratio = Fixtures.Doubles(fixture.GetProperty("dev_ratio"));
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
        Assert.Equal(a0.Length, result.Path.Length);
        for (int l = 0; l < a0.Length; l++)
        {
            var point = result.Path[l];
            Assert.True(point.Converged, $"{name}: not converged at lambda {point.Lambda}");
            double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
            double gap = Math.Abs(point.Intercept - a0[l]);
            for (int j = 0; j < beta[l].Length; j++) gap = Math.Max(gap, Math.Abs(point.Coefficients[j] - beta[l][j]));
            Assert.True(gap <= 1e-6 * scale + 1e-12, $"{name}: lambda {l} ({point.Lambda:G6}) differs from glmnet by {gap:G3} (scale {scale:G3})");
            if (!double.IsNaN(point.DevianceRatio)) Assert.Equal(ratio[l], point.DevianceRatio, 1e-6);
        }
        // The training metrics are weighted: R^2 is the last point's weighted deviance ratio.
        var train = Assert.IsType<RegressionMetrics>(result.TrainMetrics);
        Assert.Equal(ratio[^1], train.R2, 1e-6);
    }

    /// <summary>
    /// KKT conditions of the weighted objective (1/2n) sum w_i r_i^2 + lambda P(b), weights rescaled to sum to n, on the
    /// (weighted) standardized scale: sum w r = 0, and per feature |g_j - l2 b_j - l1 sign b_j| (nonzero) or
    /// max(|g_j| - l1, 0) (zero) within 1e-7 of the null deviance per row.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightedKktHoldsAtEveryLambda(string name)
    {
        var (_, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec);
        var w = spec.RescaledWeights()!;
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var y = x.Column(spec.TargetColumn);
        double yMean = 0;
        for (int i = 0; i < n; i++) yMean += w[i] * y[i] / n;
        double nullDeviance = 0;
        for (int i = 0; i < n; i++) nullDeviance += w[i] * (y[i] - yMean) * (y[i] - yMean) / n;
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            var col = x.Column(spec.FeatureColumns[j]);
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += w[i] * col[i] / n;
            for (int i = 0; i < n; i++) v += w[i] * (col[i] - m) * (col[i] - m) / n;
            scales[j] = spec.Standardize ? Math.Sqrt(v) : 1.0;
        }
        var r = new double[n];
        foreach (var point in result.Path)
        {
            RegressionMetrics.Predict(x, spec.FeatureColumns, point.Intercept, point.Coefficients, null, r);
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                r[i] = y[i] - r[i];
                sum += w[i] * r[i];
            }
            double worst = Math.Abs(sum) / n;
            double l1 = point.Lambda * spec.Alpha, l2 = point.Lambda * (1 - spec.Alpha);
            for (int j = 0; j < p; j++)
            {
                var col = x.Column(spec.FeatureColumns[j]);
                double g = 0;
                for (int i = 0; i < n; i++) g += w[i] * col[i] * r[i];
                g /= n * scales[j];
                double b = point.Coefficients[j] * scales[j];
                worst = Math.Max(worst, b != 0 ? Math.Abs(g - l2 * b - l1 * Math.Sign(b)) : Math.Max(Math.Abs(g) - l1, 0));
            }
            Assert.True(worst <= 1e-7 * nullDeviance, $"{name}: KKT residual {worst:G3} at lambda {point.Lambda:G6}");
        }
    }

    /// <summary>Integer weights fit what the rows repeated that many times fit (0: the row left out), on both Gram solvers.</summary>
    [Theory]
    [InlineData(Penalty.Lasso)]
    [InlineData(Penalty.ElasticNet)]
    [InlineData(Penalty.Ridge)]
    public void IntegerWeightsEqualRepeatedRows(Penalty penalty)
    {
        var (_, x, spec) = Load("wgauss_lasso_std");
        int n = x.Rows, k = x.Columns;
        var counts = new double[n];
        for (int i = 0; i < n; i++) counts[i] = i % 4;  // 0, 1, 2, 3
        var repeated = new List<int>();
        for (int i = 0; i < n; i++) for (int c = 0; c < counts[i]; c++) repeated.Add(i);
        var copy = new DenseMatrix(repeated.Count, k);
        for (int j = 0; j < k; j++)
            for (int i = 0; i < repeated.Count; i++) copy.Column(j)[i] = x.Column(j)[repeated[i]];
        var lambdas = new[] { 0.3, 0.05, 0.01 };
        var weighted = FitEngine.Fit(x, spec with { Penalty = penalty, L1Ratio = null, Lambdas = lambdas, Weights = counts });
        var plain = FitEngine.Fit(copy, spec with { Penalty = penalty, L1Ratio = null, Lambdas = lambdas, Weights = null, ColumnShift = null });
        for (int l = 0; l < lambdas.Length; l++)
        {
            Assert.Equal(plain.Path[l].Intercept, weighted.Path[l].Intercept, 1e-9);
            for (int j = 0; j < spec.FeatureColumns.Length; j++)
                Assert.Equal(plain.Path[l].Coefficients[j], weighted.Path[l].Coefficients[j], 1e-9);
        }
        var a = Assert.IsType<RegressionMetrics>(weighted.TrainMetrics);
        var b = Assert.IsType<RegressionMetrics>(plain.TrainMetrics);
        Assert.Equal(b.Mse, a.Mse, 1e-10);
        Assert.Equal(b.Mae, a.Mae, 1e-10);
        Assert.Equal(b.R2, a.R2, 1e-10);
    }

    /// <summary>
    /// cv.glmnet with weights and fold ids (tests/fixtures/glmnet_weights/cv): each fold's weighted mean squared error,
    /// folds weighed by their weight sums, fold fits with the training rows' weights rescaled; the curve to 1e-6 and
    /// lambda.min and lambda.1se exactly.
    /// </summary>
    [Fact]
    public void WeightedCrossValidationPicksCvGlmnetsLambdas()
    {
        var (fixture, x, spec) = Load(Path.Combine("cv", "cv_wgauss_lasso_mse"));
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var result = FitEngine.Fit(x, spec with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(FoldIds: foldIds) });
        var cvm = Fixtures.Doubles(fixture.GetProperty("cvm"));
        var cvsd = Fixtures.Doubles(fixture.GetProperty("cvsd"));
        Assert.Equal(cvm.Length, result.Curve!.Mean.Length);
        for (int l = 0; l < cvm.Length; l++)
        {
            Assert.True(Math.Abs(cvm[l] - result.Curve.Mean[l]) <= 1e-6 * cvm[l], $"cvm at lambda {l}: {result.Curve.Mean[l]:R} against cv.glmnet's {cvm[l]:R}; first {string.Join(", ", result.Curve.Mean.Take(3))}");
            Assert.Equal(cvsd[l], result.Curve.StandardError[l], 1e-5 * cvsd[l]);
        }
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), result.LambdaMin!.Value, 1e-12 * result.LambdaMin.Value);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), result.Lambda1se!.Value, 1e-12 * result.Lambda1se.Value);
    }

    /// <summary>
    /// Holdout with weights: the training fit is the weighted fit of the training rows alone, and the held-out metrics are
    /// weighted (a row of weight 0 does not count).
    /// </summary>
    [Fact]
    public void HoldoutScoresTheHeldOutRowsByWeight()
    {
        var (_, x, spec) = Load("wgauss_lasso_std");
        double[] lambdas = [0.05, 0.01];
        var result = FitEngine.Fit(x, spec with { Lambdas = lambdas, Validation = ValidationMethod.Holdout, Holdout = new HoldoutSpec(0.3, 1) });
        var folds = Selection.Folds.Holdout(x.Rows, 0.3, 1);
        var (held, train) = (folds.Rows[0], folds.TrainingRows(0));
        var w = spec.Weights!;
        var trainX = new DenseMatrix(train.Length, x.Columns);
        for (int j = 0; j < x.Columns; j++)
            for (int i = 0; i < train.Length; i++) trainX.Column(j)[i] = x.Column(j)[train[i]];
        var trained = FitEngine.Fit(trainX, spec with { Lambdas = lambdas, Weights = [.. train.Select(i => w[i])] });
        var y = x.Column(spec.TargetColumn);
        var eta = new double[held.Length];
        for (int l = 0; l < lambdas.Length; l++)
        {
            var point = trained.Path[l];
            RegressionMetrics.Predict(x, spec.FeatureColumns, point.Intercept, point.Coefficients, held, eta);
            double sse = 0, total = 0;
            for (int i = 0; i < held.Length; i++)
            {
                double e = y[held[i]] - eta[i];
                sse += w[held[i]] * e * e;
                total += w[held[i]];
            }
            Assert.Equal(sse / total, ((RegressionMetrics)result.Path[l].Validation!).Mse, 1e-9);
            Assert.Equal(sse / total, result.Curve!.Mean[l], 1e-9);
        }
    }

    [Fact]
    public void BadWeightsAreFaultsNamingTheRow()
    {
        var (_, x, spec) = Load("wgauss_lasso_std");
        var shape = DataShape.Of(x);
        string Fault(FitSpec s) => Assert.Single(s.Check(shape), f => f.Path == "weights").Message;
        var w = spec.Weights!;
        Assert.Contains("row 5 has weight -1", Fault(spec with { Weights = [.. w[..4], -1, .. w[5..]] }));
        Assert.Contains("row 1 has weight NaN", Fault(spec with { Weights = [double.NaN, .. w[1..]] }));
        Assert.Contains("row 3 has weight Infinity", Fault(spec with { Weights = [.. w[..2], double.PositiveInfinity, .. w[3..]] }));
        Assert.Contains("every weight is 0", Fault(spec with { Weights = new double[w.Length] }));
        Assert.Contains("has 3 values", Fault(spec with { Weights = [1, 2, 3] }));
        // Proximal Newton takes weights (binomial, poisson: GlmFamilyFitTests); only the target is at fault here.
        Assert.DoesNotContain((spec with { Family = Family.Binomial }).Check(shape), f => f.Path == "weights");
        Assert.Contains("solver proximalGradient does not take weights yet", Fault(spec with { Solver = SolverKind.ProximalGradient }));
        Assert.Contains("solver adamW does not take weights yet", Fault(spec with { Solver = SolverKind.AdamW, Path = null, Lambdas = [0.01] }));
        Assert.Contains("model bayesianRidge does not take weights yet", Fault(spec with { Model = ModelKind.BayesianRidge, Penalty = Penalty.Ridge, L1Ratio = null, Lambdas = null }));
        Assert.Contains("validation gcv does not take weights yet", Fault(spec with { Validation = ValidationMethod.Gcv, Penalty = Penalty.Ridge, L1Ratio = null }));
        Assert.Empty(spec.Check(shape).Where(f => f.Path == "weights").Concat((spec with { Validation = ValidationMethod.KFold }).Check(shape)));
        Assert.Empty(spec.Check(shape));
    }

    [Fact]
    public void AFoldOfZeroWeightOrTrainingOnZeroWeightIsAFaultNotANaN()
    {
        var (_, x, spec) = Load("wgauss_lasso_std");
        var shape = DataShape.Of(x);
        var w = spec.Weights!;
        int n = w.Length;
        int[] ids = [.. Enumerable.Range(0, n).Select(i => i % 3 + 1)];
        string Fault(FitSpec s) => Assert.Single(s.Check(shape), f => f.Path == "weights").Message;
        var kfold = spec with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(FoldIds: ids) };
        Assert.Empty(kfold.Check(shape));

        // Fold 2's rows all weigh 0: it cannot be scored.
        var fold2Zero = kfold with { Weights = [.. w.Select((v, i) => ids[i] == 2 ? 0 : Math.Max(v, 1e-3))] };
        Assert.Contains("every row of fold 2 has weight 0", Fault(fold2Zero));
        // Only fold 3's rows weigh anything: the fit that holds fold 3 out trains on nothing.
        var onlyFold3 = kfold with { Weights = [.. w.Select((v, i) => ids[i] == 3 ? 1.0 : 0)] };
        Assert.Contains("every row of fold 1 has weight 0", Fault(onlyFold3));
        // Only fold 1's rows weigh anything: checked first, the fit that holds it out trains on nothing.
        var onlyFold1 = kfold with { Weights = [.. w.Select((v, i) => ids[i] == 1 ? 1.0 : 0)] };
        Assert.Contains("every row outside fold 1 has weight 0", Fault(onlyFold1));

        // Seeded folds and the holdout are checked as the engine will make them.
        var heldOut = RegService.Numerics.Selection.Folds.Holdout(n, 0.25, 7).Rows[0].ToHashSet();
        var holdout = spec with { Validation = ValidationMethod.Holdout, Holdout = new HoldoutSpec(0.25, 7), Weights = [.. w.Select((v, i) => heldOut.Contains(i) ? 0 : 1.0)] };
        Assert.Contains("every row of the held-out rows has weight 0", Fault(holdout));
        Assert.Empty((holdout with { Weights = w }).Check(shape));
    }

    private static (JsonElement Fixture, DenseMatrix X, FitSpec Spec) Load(string name)
    {
        var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, name + ".json"))).RootElement;
        ColumnTable table;
        using (var file = File.OpenRead(Path.Combine(Directory, fixture.GetProperty("data").GetString()!)))
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
            Penalty = alpha == 1 ? Penalty.Lasso : alpha == 0 ? Penalty.Ridge : Penalty.ElasticNet,
            L1Ratio = alpha is 0 or 1 ? null : alpha,
            Lambdas = Fixtures.Doubles(fixture.GetProperty("lambda")),
            Standardize = fixture.GetProperty("standardize").GetBoolean(),
            FitIntercept = fixture.GetProperty("intercept").GetBoolean(),
            Weights = x.Column(Array.IndexOf(all, fixture.GetProperty("weights").GetString()!)).ToArray(),
            Tolerance = 1e-16,
            ColumnShift = [.. table.Summaries.Select(s => s.Mean)],
        };
        return (fixture, x, spec);
    }
}
