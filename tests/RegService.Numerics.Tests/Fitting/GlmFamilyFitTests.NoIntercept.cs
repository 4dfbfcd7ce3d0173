using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Fits without an intercept on standardized features (glmnet <c>intercept = FALSE, standardize = TRUE</c>): reference
/// paths from R glmnet 4.1-6 at thresh 1e-18 (tests/fixtures/glmnet_nointercept, made by tests/fixtures/make_nointercept.R:
/// binomial and poisson, lasso and elastic net, with and without weights, with an offset; gaussian weighted and with an
/// offset). glmnet scales every feature by its (weighted) standard deviation about the mean there, not by its root mean
/// square; the features of these fixtures have means far from 0, so the two differ (the script's self-check: glmnet's KKT
/// residuals are about 1e-9 with the standard deviation and 0.04 to 2 with the root mean square).
/// </summary>
public sealed partial class GlmFamilyFitTests
{
    private static readonly string NoInterceptDirectory = Fixtures.Directory("glmnet_nointercept");

    public static TheoryData<string> NoInterceptCases => Fixtures.Cases("glmnet_nointercept");

    /// <summary>At glmnet's lambdas: intercept 0, coefficients within 1e-6 relative, the deviance ratio to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(NoInterceptCases))]
    public void PathWithoutAnInterceptMatchesGlmnet(string name) => AssertPathMatchesGlmnet(name, NoInterceptDirectory);

    /// <summary>glmnet's lambda_max without an intercept (on its scale), its grid and its early stop.</summary>
    [Theory]
    [MemberData(nameof(NoInterceptCases))]
    public void GeneratedPathWithoutAnInterceptStopsWhereGlmnetStops(string name) =>
        AssertGeneratedPathStopsWhereGlmnetStops(name, NoInterceptDirectory);

    /// <summary>The KKT conditions at every lambda on the scale of the standard deviation about the mean.</summary>
    [Theory]
    [MemberData(nameof(NoInterceptCases))]
    public void KktHoldsWithoutAnInterceptAtEveryLambda(string name) => AssertKktHoldsAtEveryLambda(name, NoInterceptDirectory);

    /// <summary>
    /// As glmnet's chkvars, a constant feature is left out with or without an intercept (glmnet 4.1-6 keeps its coefficient
    /// at 0 for binomial and poisson with intercept = FALSE, standardized or not, though it would act as an intercept): the
    /// others' coefficients are those of the fit without it, and a warning names it.
    /// </summary>
    [Theory]
    [InlineData("noint_binom_lasso", true)]
    [InlineData("noint_wpois_offset_lasso", true)]
    [InlineData("noint_binom_lasso", false)]
    public void AConstantFeatureIsLeftOutWithoutAnIntercept(string name, bool standardize)
    {
        var (_, x, spec) = Load(name, NoInterceptDirectory);
        var wide = new DenseMatrix(x.Rows, x.Columns + 1);
        for (int j = 0; j < x.Columns; j++) x.Column(j).CopyTo(wide.Column(j));
        wide.Column(x.Columns).Fill(2.5);
        spec = spec with { Standardize = standardize, Lambdas = [0.05, 0.01] };
        var without = FitEngine.Fit(x, spec);
        var with = FitEngine.Fit(wide, spec with
        {
            FeatureColumns = [.. spec.FeatureColumns, x.Columns],
            FeatureNames = [.. spec.FeatureNames, "flat"],
        });
        Assert.Contains(with.Warnings, w => w.Contains("'flat'") && w.Contains("zero variance"));
        for (int l = 0; l < 2; l++)
        {
            Assert.Equal(0.0, with.Path[l].Coefficients[^1]);
            for (int j = 0; j < spec.FeatureColumns.Length; j++)
                Assert.Equal(without.Path[l].Coefficients[j], with.Path[l].Coefficients[j], 1e-9);
        }
    }

    /// <summary>Proximal gradient (FISTA) standardizes as the other solvers: without an intercept it reaches glmnet's
    /// coefficients (at three of its lambdas) to 1e-6 relative.</summary>
    [Fact]
    public void ProximalGradientWithoutAnInterceptMatchesGlmnet()
    {
        const string name = "noint_binom_lasso";   // the case without weights and offset, which proximal gradient does not take
        var (fixture, x, spec) = Load(name, NoInterceptDirectory);
        var lambda = Fixtures.Doubles(fixture.GetProperty("lambda"));
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
        int[] chosen = [5, lambda.Length / 2, lambda.Length - 1];
        var result = FitEngine.Fit(x, spec with
        {
            Solver = SolverKind.ProximalGradient, Lambdas = [.. chosen.Select(l => lambda[l])],
            Tolerance = 1e-12, MaxIterations = 2_000_000,
        });
        for (int k = 0; k < chosen.Length; k++)
        {
            var expected = beta[chosen[k]];
            double scale = expected.Max(Math.Abs), gap = 0;
            for (int j = 0; j < expected.Length; j++) gap = Math.Max(gap, Math.Abs(result.Path[k].Coefficients[j] - expected[j]));
            Assert.Equal(0.0, result.Path[k].Intercept);
            Assert.True(gap <= 1e-6 * scale, $"{name}: lambda {chosen[k]} differs from glmnet by {gap:G3} (scale {scale:G3})");
        }
    }
}
