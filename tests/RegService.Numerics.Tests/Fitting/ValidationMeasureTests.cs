using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Selection;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// validation.measure, cv.glmnet's type.measure: reference curves from R glmnet 4.1-6 (tests/fixtures/measure, made by
/// tests/fixtures/measure/make_measure.R on data made there: cv.glmnet with fold ids and the lambdas given, gaussian mae,
/// binomial class, auc, mse and mae, poisson mse and mae, multinomial class, mse and mae, some with weights and an offset, and
/// auc's fallback to deviance with fewer than 10 rows per fold; cv.glmnet(relax = TRUE) by auc); the holdout curves against the validation metrics; which
/// measure fits which family.
/// </summary>
public sealed class ValidationMeasureTests
{
    private static readonly string Directory = Fixtures.Directory("measure");

    public static TheoryData<string> Cases => Fixtures.Cases("measure");

    /// <summary>cvm and cvsd at every lambda, lambda.min and lambda.1se within 1e-6 relative; the curve names the measure cv.glmnet used.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void KFoldCurveAndChoicesMatchCvGlmnet(string name)
    {
        var (fixture, x, spec) = Load(name);
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var result = FitEngine.Fit(x, spec with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(FoldIds: foldIds) });
        var cvm = Fixtures.Doubles(fixture.GetProperty("cvm"));
        var cvsd = Fixtures.Doubles(fixture.GetProperty("cvsd"));
        Assert.Equal(fixture.GetProperty("measure_used").GetString(), result.Curve!.Measure);
        Assert.Equal(cvm.Length, result.Curve.Mean.Length);
        for (int l = 0; l < cvm.Length; l++)
        {
            Assert.True(Math.Abs(cvm[l] - result.Curve.Mean[l]) <= 1e-6 * Math.Abs(cvm[l]) + 1e-12,
                $"{name}: cvm at lambda {l}: {result.Curve.Mean[l]:R} against cv.glmnet's {cvm[l]:R}");
            Assert.True(Math.Abs(cvsd[l] - result.Curve.StandardError[l]) <= 1e-6 * Math.Abs(cvsd[l]) + 1e-12,
                $"{name}: cvsd at lambda {l}: {result.Curve.StandardError[l]:R} against cv.glmnet's {cvsd[l]:R}");
        }
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), result.LambdaMin!.Value, 1e-6 * result.LambdaMin.Value);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), result.Lambda1se!.Value, 1e-6 * result.Lambda1se.Value);
        bool fellBack = fixture.GetProperty("type_measure").GetString() != fixture.GetProperty("measure_used").GetString();
        Assert.Equal(fellBack, result.Warnings.Any(w => w.Contains("measure auc needs at least 10 rows per fold", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Holdout: the curve by each measure is the held-out rows' metric at every lambda (computed apart, by the validation
    /// metrics): gaussian mae, binomial class (1 - accuracy) and auc, multinomial class; the chosen lambda the best of it.
    /// </summary>
    [Theory]
    [InlineData("gauss_lasso_mae", "mae")]
    [InlineData("wgauss_lasso_mae", "mae")]
    [InlineData("wbinom_lasso_class", "class")]
    [InlineData("binom_lasso_auc", "auc")]
    [InlineData("wbinom_lasso_auc", "auc")]
    [InlineData("multinom_lasso_class", "class")]
    public void HoldoutCurveIsTheHeldOutMetric(string name, string measure)
    {
        var (_, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec with { Validation = ValidationMethod.Holdout, Holdout = new HoldoutSpec(0.3, Seed: 4) });
        Assert.Equal(measure, result.Curve!.Measure);
        for (int l = 0; l < result.Path.Length; l++)
        {
            double expected = result.Path[l].Validation switch
            {
                RegressionMetrics m => m.Mae,
                ClassificationMetrics c when measure == "auc" => c.Auc,
                ClassificationMetrics c => 1 - c.Accuracy,
                MulticlassMetrics c => c.ClassError,
                var other => throw new InvalidOperationException($"unexpected metrics {other}"),
            };
            Assert.Equal(expected, result.Curve.Mean[l], 1e-12);
            Assert.True(result.Curve.StandardError[l] >= 0, $"{name}: standard error {result.Curve.StandardError[l]} at lambda {l}");
        }
        var best = measure == "auc" ? result.Curve.Mean.Max() : result.Curve.Mean.Min();
        int chosen = Array.IndexOf(result.Path.Select(p => p.Lambda).ToArray(), result.LambdaMin!.Value);
        Assert.Equal(best, result.Curve.Mean[chosen]);
        Assert.Equal(result.LambdaMin.Value, result.Path.Where((_, l) => result.Curve.Mean[l] == best).Max(p => p.Lambda));
    }

    /// <summary>The default measure is unchanged: mse for gaussian (cv.glmnet's gaussian deviance), deviance otherwise, resolved into the spec.</summary>
    [Theory]
    [InlineData(Family.Gaussian, ValidationMeasure.Mse)]
    [InlineData(Family.Binomial, ValidationMeasure.Deviance)]
    [InlineData(Family.Poisson, ValidationMeasure.Deviance)]
    [InlineData(Family.Multinomial, ValidationMeasure.Deviance)]
    public void TheDefaultMeasureIsTheFamilysFirst(Family family, ValidationMeasure expected)
    {
        var (_, x, spec) = Load("multinom_lasso_class");
        spec = spec with { Family = family, Measure = null, TargetColumn = TargetOf(x, family), Validation = ValidationMethod.KFold };
        Assert.Equal(expected, spec.ResolveOrThrow(DataShape.Of(x)).Measure);
        Assert.Null((spec with { Validation = ValidationMethod.None }).ResolveOrThrow(DataShape.Of(x)).Measure);
    }

    /// <summary>A measure that does not fit the family, one without validation, and a leave-one-out measure other than mse are faults on "measure".</summary>
    [Theory]
    [InlineData(Family.Gaussian, ValidationMeasure.Auc, ValidationMethod.KFold, "auc does not fit family gaussian; it takes mse, deviance, mae")]
    [InlineData(Family.Gaussian, ValidationMeasure.Class, ValidationMethod.Holdout, "class does not fit family gaussian")]
    [InlineData(Family.Poisson, ValidationMeasure.Class, ValidationMethod.KFold, "class does not fit family poisson; it takes deviance, mse, mae")]
    [InlineData(Family.Multinomial, ValidationMeasure.Auc, ValidationMethod.KFold, "auc does not fit family multinomial; it takes deviance, class, mse, mae")]
    [InlineData(Family.Binomial, ValidationMeasure.Auc, ValidationMethod.None, "needs validation")]
    [InlineData(Family.Gaussian, ValidationMeasure.Mae, ValidationMethod.LeaveOneOut, "loo scores the squared error")]
    public void AMeasureThatDoesNotFitIsAFault(Family family, ValidationMeasure measure, ValidationMethod method, string message)
    {
        var (_, x, spec) = Load("multinom_lasso_class");
        spec = spec with
        {
            Family = family, TargetColumn = TargetOf(x, family), Measure = measure, Validation = method,
            Penalty = method == ValidationMethod.LeaveOneOut ? Penalty.Ridge : spec.Penalty,
        };
        var faults = spec.Check(DataShape.Of(x));
        var fault = Assert.Single(faults);
        Assert.Equal("measure", fault.Path);
        Assert.Contains(message, fault.Message);
        Assert.Empty((spec with { Measure = GlmFamily.For(family).Measures[^1], Validation = ValidationMethod.KFold }).Check(DataShape.Of(x)));
    }

    /// <summary>
    /// cv.glmnet(relax = TRUE, type.measure = "auc"): each gamma's curve to 1e-6, and getOptcv.relaxed's (lambda, gamma) for min and
    /// 1se, auc taken largest.
    /// </summary>
    [Fact]
    public void RelaxedCrossValidationByAucMatchesCvGlmnet()
    {
        var (fixture, x, spec) = Load(Path.Combine("relax", "binom_lasso_relax_auc"));
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var gammas = Fixtures.Doubles(fixture.GetProperty("gamma"));
        var result = FitEngine.Fit(x, spec with
        {
            Validation = ValidationMethod.KFold, KFold = new KFoldSpec(FoldIds: foldIds), Relax = new RelaxSpec { Gammas = gammas },
        });
        var relaxed = result.Relaxed!;
        int g = 0;
        foreach (var expected in fixture.GetProperty("curves").EnumerateArray())
        {
            var cvm = Fixtures.Doubles(expected.GetProperty("cvm"));
            var cvsd = Fixtures.Doubles(expected.GetProperty("cvsd"));
            var curve = relaxed.Curves![g++];
            Assert.Equal("auc", curve.Measure);
            for (int l = 0; l < cvm.Length; l++)
            {
                Assert.True(Math.Abs(cvm[l] - curve.Mean[l]) <= 1e-6 * cvm[l], $"gamma {gammas[g - 1]}: cvm at lambda {l}: {curve.Mean[l]:R} against {cvm[l]:R}");
                Assert.True(Math.Abs(cvsd[l] - curve.StandardError[l]) <= 1e-6 * cvsd[l] + 1e-12, $"gamma {gammas[g - 1]}: cvsd at lambda {l}");
            }
        }
        Assert.Equal(fixture.GetProperty("relaxed_lambda_min").GetDouble(), relaxed.LambdaMin!.Value, 1e-6 * relaxed.LambdaMin.Value);
        Assert.Equal(fixture.GetProperty("relaxed_gamma_min").GetDouble(), relaxed.GammaMin!.Value);
        Assert.Equal(fixture.GetProperty("relaxed_lambda_1se").GetDouble(), relaxed.Lambda1se!.Value, 1e-6 * relaxed.Lambda1se.Value);
        Assert.Equal(fixture.GetProperty("relaxed_gamma_1se").GetDouble(), relaxed.Gamma1se!.Value);
    }

    [Fact]
    public void AucIsChosenLargestAsCvGlmnetsGetOptcv()
    {
        double[] lambdas = [5, 4, 3, 2, 1];
        double[] auc = [0.5, 0.78, 0.8, 0.8, 0.75];
        double[] se = [0, 0.01, 0.03, 0.01, 0.02];
        var (min, oneSe) = SelectionRules.Select(lambdas, auc, se, largerIsBetter: true);
        Assert.Equal(2, min);     // tie at 0.8: the larger lambda
        Assert.Equal(1, oneSe);   // 0.78 >= 0.8 - 0.03
        Assert.Equal((0, 0), SelectionRules.Select(lambdas, auc, se));
    }

    /// <summary>A fold whose loss is NaN at a lambda (auc of a fold of one class) is left out of that lambda's means, as cvstats' na.rm.</summary>
    [Fact]
    public void AFoldWithoutAScoreIsLeftOutOfTheMeans()
    {
        double[][] loss = [[0.6, 0.7], [double.NaN, 0.9], [0.8, 0.8]];
        double[] weight = [1, 2, 3];
        var (mean, se) = SelectionRules.KFoldCurve(loss, weight);
        Assert.Equal((0.6 + 3 * 0.8) / 4, mean[0], 1e-15);
        Assert.Equal(Math.Sqrt((1 * Math.Pow(0.6 - mean[0], 2) + 3 * Math.Pow(0.8 - mean[0], 2)) / 4 / 2), se[0], 1e-15);
        Assert.Equal((0.7 + 2 * 0.9 + 3 * 0.8) / 6, mean[1], 1e-15);
    }

    private static int TargetOf(DenseMatrix x, Family family) => family switch
    {
        Family.Gaussian => 8,
        Family.Binomial => 9,
        Family.Poisson => 10,
        _ => 11,
    };

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
        double[]? Column(string property) =>
            fixture.GetProperty(property).GetString() is { } column ? x.Column(Array.IndexOf(all, column)).ToArray() : null;
        var spec = new FitSpec
        {
            FeatureColumns = [.. names.Select(n => Array.IndexOf(all, n))],
            FeatureNames = names,
            TargetColumn = Array.IndexOf(all, fixture.GetProperty("target").GetString()!),
            Family = Enum.Parse<Family>(fixture.GetProperty("family").GetString()!, ignoreCase: true),
            Penalty = alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet,
            L1Ratio = alpha is 1 ? null : alpha,
            Lambdas = Fixtures.Doubles(fixture.GetProperty("lambda")),
            Weights = Column("weights"),
            Offset = Column("offset"),
            Measure = Enum.Parse<ValidationMeasure>(fixture.GetProperty("type_measure").GetString()!, ignoreCase: true),
            Tolerance = 1e-14,
        };
        return (fixture, x, spec);
    }
}
