using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Family multinomial with glmnet's offset (an n x K matrix, one column per class: <see cref="FitSpec.ClassOffsets"/>):
/// reference paths from R glmnet 4.1-6 at thresh 1e-18 (tests/fixtures/multinom_offset, made by
/// tests/fixtures/make_multinom_offset.R), ungrouped and grouped, with and without weights, without an intercept; the KKT
/// conditions with the offset in the linear predictor at every lambda; cv.glmnet with the offset, weights and fold ids; known
/// answers (an offset common to the classes cancels, a constant per class moves only the intercepts); the rules.
/// </summary>
public sealed partial class MultinomialFitTests
{
    private static readonly string OffsetDirectory = Fixtures.Directory("multinom_offset");

    public static TheoryData<string> OffsetCases =>
        Fixtures.Cases("multinom_offset", "*mn*.json", file => !file.StartsWith("cv_", StringComparison.Ordinal));

    /// <summary>Every class's intercept and coefficients within 1e-6 relative of glmnet's with the offset, dev.ratio to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void OffsetPathMatchesGlmnet(string name) => AssertMatchesGlmnet(name, OffsetDirectory);

    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void KktHoldsWithOffset(string name)
    {
        var (_, x, spec) = Load(name, OffsetDirectory);
        Assert.NotNull(spec.ClassOffsets);
        AssertKkt(name, x, spec);
    }

    /// <summary>cv.glmnet with the offset, weights and fold ids: each fold fitted with its rows' offsets and scored with the held-out rows'.</summary>
    [Fact]
    public void CrossValidationWithOffsetMatchesCvGlmnet() => AssertCvMatchesGlmnet("cv_ow_mn3_lasso_ungrouped", OffsetDirectory);

    /// <summary>The same value added to every class's linear predictor of a row cancels in the softmax: the path is the one without offset.</summary>
    [Theory]
    [InlineData("mn3_lasso_ungrouped")]
    [InlineData("mn5_enet05_grouped")]
    public void AnOffsetCommonToTheClassesChangesNothing(string name)
    {
        var (_, x, spec) = Load(name);
        var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
        var common = Enumerable.Range(0, x.Rows).Select(i => 2 * Math.Sin(0.3 * i)).ToArray();
        var plain = FitEngine.Fit(x, spec with { Lambdas = null, Path = new LambdaPathSpec { Count = 15 }, Tolerance = 1e-16 });
        var shifted = FitEngine.Fit(x, spec with
        {
            Lambdas = null, Path = new LambdaPathSpec { Count = 15 }, Tolerance = 1e-16,
            ClassOffsets = [.. labels.Select(l => new ClassOffset(l, common))],
        });
        Assert.Equal(plain.Path.Length, shifted.Path.Length);
        for (int l = 0; l < plain.Path.Length; l++)
        {
            Assert.Equal(plain.Path[l].Lambda, shifted.Path[l].Lambda, plain.Path[l].Lambda * 1e-10);
            Assert.Equal(plain.Path[l].DevianceRatio, shifted.Path[l].DevianceRatio, 1e-9);
            AssertSameModel(plain.Path[l].Classes!, shifted.Path[l].Classes!, 1e-7, null);
        }
    }

    /// <summary>A constant offset a_k per class is absorbed by the intercepts: b0_k becomes b0_k - a_k (centered), the
    /// coefficients, the lambdas and the deviance ratios stay; given in another order than the classes'.</summary>
    [Fact]
    public void AConstantOffsetPerClassMovesOnlyTheIntercepts()
    {
        var (_, x, spec) = Load("mn5_enet03_ungrouped");
        var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
        double[] a = [0.7, -1.1, 0.2, 1.6, -0.4];
        var plain = FitEngine.Fit(x, spec with { Lambdas = null, Path = new LambdaPathSpec { Count = 15 }, Tolerance = 1e-16 });
        var moved = FitEngine.Fit(x, spec with
        {
            Lambdas = null, Path = new LambdaPathSpec { Count = 15 }, Tolerance = 1e-16,
            ClassOffsets = [.. labels.Select((l, k) => new ClassOffset(l, [.. Enumerable.Repeat(a[k], x.Rows)])).Reverse()],
        });
        double mean = a.Average();
        Assert.Equal(plain.Path.Length, moved.Path.Length);
        for (int l = 0; l < plain.Path.Length; l++)
        {
            Assert.Equal(plain.Path[l].Lambda, moved.Path[l].Lambda, plain.Path[l].Lambda * 1e-10);
            Assert.Equal(plain.Path[l].DevianceRatio, moved.Path[l].DevianceRatio, 1e-9);
            AssertSameModel(plain.Path[l].Classes!, moved.Path[l].Classes!, 1e-7, [.. a.Select(v => v - mean)]);
        }
    }

    private static void AssertSameModel(MulticlassModel expected, MulticlassModel actual, double tolerance, double[]? interceptShift)
    {
        for (int k = 0; k < expected.Classes; k++)
        {
            Assert.Equal(expected.Intercepts[k] - (interceptShift?[k] ?? 0), actual.Intercepts[k], tolerance);
            for (int j = 0; j < expected.Coefficients[k].Length; j++) Assert.Equal(expected.Coefficients[k][j], actual.Coefficients[k][j], tolerance);
        }
    }

    /// <summary>The offset changes the fit (the fixtures' offsets matter) and enters prediction: the probabilities with the
    /// offset give the training metrics the fit reports, those without it do not.</summary>
    [Fact]
    public void TheOffsetEntersTheFitAndItsMetrics()
    {
        var (_, x, spec) = Load("o_mn3_lasso_ungrouped", OffsetDirectory);
        var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
        var with = FitEngine.Fit(x, spec);
        var without = FitEngine.Fit(x, spec with { ClassOffsets = null });
        var a = with.Path[^1].Classes!;
        var b = without.Path[^1].Classes!;
        Assert.True(Enumerable.Range(0, a.Classes).Max(k => Math.Abs(a.Intercepts[k] - b.Intercepts[k])) > 1e-2);
        var classOf = FitSpec.ClassIndex(x.Column(spec.TargetColumn), labels);
        var train = Assert.IsType<MulticlassMetrics>(with.TrainMetrics);
        var model = with.Path.Single(p => p.Lambda == with.Lambda).Classes!;
        var withOffset = MulticlassMetrics.FromProbabilities(classOf, model.Probabilities(x, spec.FeatureColumns, null, spec.ClassOffsetMatrix(labels)), labels.Length);
        var noOffset = MulticlassMetrics.FromProbabilities(classOf, model.Probabilities(x, spec.FeatureColumns, null), labels.Length);
        Assert.Equal(withOffset.LogLoss, train.LogLoss, 1e-12);
        Assert.True(Math.Abs(noOffset.LogLoss - train.LogLoss) > 1e-3);
    }

    [Fact]
    public void ClassOffsetRulesNameTheFieldAtFault()
    {
        var (_, x, spec) = Load("ow_mn5_enet05_ungrouped", OffsetDirectory);
        var shape = DataShape.Of(x);
        int n = x.Rows;
        Assert.Empty(spec.Check(shape));
        var given = spec.ClassOffsets!;
        // A single offset column is refused, pointing to classOffsets.
        Assert.Contains((spec with { ClassOffsets = null, Offset = new double[n] }).Check(shape),
            f => f.Path == "offset" && f.Message.Contains("classOffsets") && f.Message.Contains("softmax"));
        // A label that is not a class, a class named twice, a class missing.
        var unknown = spec with { ClassOffsets = [.. given.Take(4), new ClassOffset(3, given[4].Values)] };
        var faults = unknown.Check(shape);
        Assert.Contains(faults, f => f.Path == "classOffsets[4]" && f.Message.Contains("3 is not a class") && f.Message.Contains("2, 5, 7, 10, 11"));
        Assert.Contains(faults, f => f.Path == "classOffsets" && f.Message.Contains("class 11"));
        Assert.Contains((spec with { ClassOffsets = [.. given, given[1]] }).Check(shape), f => f.Path == "classOffsets[5]" && f.Message.Contains("class 5 a second time"));
        Assert.Contains((spec with { ClassOffsets = [.. given.Skip(2)] }).Check(shape), f => f.Path == "classOffsets" && f.Message.Contains("classes 2, 5"));
        // A value that is not finite names the row; a column of the wrong length its count.
        var bad = given[2].Values.ToArray();
        bad[6] = double.NaN;
        Assert.Contains((spec with { ClassOffsets = [.. given.Take(2), new ClassOffset(7, bad), .. given.Skip(3)] }).Check(shape),
            f => f.Path == "classOffsets[2]" && f.Message.Contains("row 7") && f.Message.Contains("class 7"));
        bad[6] = double.PositiveInfinity;
        Assert.Contains((spec with { ClassOffsets = [.. given.Take(2), new ClassOffset(7, bad), .. given.Skip(3)] }).Check(shape),
            f => f.Path == "classOffsets[2]" && f.Message.Contains("row 7"));
        Assert.Contains((spec with { ClassOffsets = [.. given.Take(4), new ClassOffset(11, new double[n - 1])] }).Check(shape),
            f => f.Path == "classOffsets[4]" && f.Message.Contains($"{n - 1} values"));
        Assert.Contains((spec with { ClassOffsets = [] }).Check(shape), f => f.Path == "classOffsets");
        // Another family takes offset, not classOffsets.
        Assert.Contains((spec with { Family = Family.Binomial }).Check(shape), f => f.Path == "classOffsets" && f.Message.Contains("offset"));
    }
}
