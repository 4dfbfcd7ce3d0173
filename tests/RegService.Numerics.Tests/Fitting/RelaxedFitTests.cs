using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// The relaxed lasso (glmnet's <c>relax = TRUE</c>): coefficients at every gamma and lambda against R glmnet 4.1.6's
/// <c>coef(fit, s, gamma)</c>, and cv.glmnet(relax = TRUE)'s curves and (lambda, gamma) choices, from tests/fixtures/relax
/// (made by tests/fixtures/make_relax.R on data made there; one case with observation weights, one with lower.limits = 0); the refit against an unpenalized
/// fit on the active set; the relaxed curve at gamma 1 against the penalized path's; the cost; the rules.
/// </summary>
public sealed class RelaxedFitTests
{
    private static readonly string Directory = Fixtures.Directory("relax");

    public static TheoryData<string> PathCases => Cases("path");
    public static TheoryData<string> CvCases => Cases("cv");

    private static TheoryData<string> Cases(string kind)
    {
        var data = new TheoryData<string>();
        foreach (var file in System.IO.Directory.GetFiles(Fixtures.Directory("relax"), "*.json").Order())
            if (JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("kind").GetString() == kind)
                data.Add(Path.GetFileNameWithoutExtension(file));
        return data;
    }

    /// <summary>At every gamma and path lambda, intercept and coefficients within 1e-6 (relative to the largest of them) of glmnet's.</summary>
    [Theory]
    [MemberData(nameof(PathCases))]
    public void RelaxedPathMatchesGlmnetAtEveryGamma(string name)
    {
        var (fixture, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec);
        var relaxed = Assert.IsType<RelaxedReport>(result.Relaxed);
        Assert.Equal(Fixtures.Doubles(fixture.GetProperty("refitted")).Select(v => v == 1), relaxed.Refitted);
        foreach (var perGamma in fixture.GetProperty("relaxed").EnumerateArray())
        {
            double gamma = perGamma.GetProperty("gamma").GetDouble();
            var a0 = Fixtures.Doubles(perGamma.GetProperty("a0"));
            var beta = perGamma.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
            Assert.Equal(a0.Length, result.Path.Length);
            for (int l = 0; l < a0.Length; l++)
            {
                double intercept = RelaxedPath.Blend(result.Path[l].Intercept, relaxed.RefitIntercepts[l], gamma);
                var coefficients = RelaxedPath.Blend(result.Path[l].Coefficients, relaxed.RefitCoefficients[l], gamma);
                double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
                double gap = Math.Abs(intercept - a0[l]);
                for (int j = 0; j < beta[l].Length; j++) gap = Math.Max(gap, Math.Abs(coefficients[j] - beta[l][j]));
                Assert.True(gap <= 1e-6 * scale, $"{name}: gamma {gamma}, lambda {l} ({result.Path[l].Lambda:G6}) differs from glmnet by {gap:G3} (scale {scale:G3})");
            }
        }
        // Without validation the returned model is the last lambda's at the largest gamma (glmnet's coef default, gamma 1).
        Assert.Equal(1.0, relaxed.Gamma);
        Assert.Equal(result.Path[^1].Coefficients, result.Coefficients);
    }

    /// <summary>cv.glmnet(relax = TRUE, foldid): each gamma's curve within 1e-6, its (lambda, gamma) min and 1se equal, gamma 1's own choices too.</summary>
    [Theory]
    [MemberData(nameof(CvCases))]
    public void CrossValidationChoosesGlmnetsLambdaAndGamma(string name)
    {
        var (fixture, x, spec) = Load(name);
        foreach (var rule in new[] { SelectionRule.Min, SelectionRule.OneStandardError })
        {
            var result = FitEngine.Fit(x, spec with { Rule = rule });
            var relaxed = Assert.IsType<RelaxedReport>(result.Relaxed);
            var curves = fixture.GetProperty("curves").EnumerateArray().ToArray();
            Assert.Equal(curves.Length, relaxed.Curves!.Length);
            for (int g = 0; g < curves.Length; g++)
            {
                Assert.Equal(curves[g].GetProperty("gamma").GetDouble(), relaxed.Gammas[g]);
                var cvm = Fixtures.Doubles(curves[g].GetProperty("cvm"));
                var cvsd = Fixtures.Doubles(curves[g].GetProperty("cvsd"));
                for (int l = 0; l < cvm.Length; l++)
                {
                    Assert.True(Math.Abs(relaxed.Curves[g].Mean[l] - cvm[l]) <= 1e-6 * cvm[l], $"{name}: gamma {relaxed.Gammas[g]} lambda {l}: cvm {relaxed.Curves[g].Mean[l]} vs {cvm[l]}");
                    Assert.True(Math.Abs(relaxed.Curves[g].StandardError[l] - cvsd[l]) <= 1e-6 * cvsd[l] + 1e-12, $"{name}: gamma {relaxed.Gammas[g]} lambda {l}: cvsd");
                }
            }
            Assert.Equal(fixture.GetProperty("relaxed_lambda_min").GetDouble(), relaxed.LambdaMin!.Value, 1e-12);
            Assert.Equal(fixture.GetProperty("relaxed_gamma_min").GetDouble(), relaxed.GammaMin);
            Assert.Equal(fixture.GetProperty("relaxed_lambda_1se").GetDouble(), relaxed.Lambda1se!.Value, 1e-12);
            Assert.Equal(fixture.GetProperty("relaxed_gamma_1se").GetDouble(), relaxed.Gamma1se);
            Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), result.LambdaMin!.Value, 1e-12);
            Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), result.Lambda1se!.Value, 1e-12);

            // The returned model: the rule's (lambda, gamma), blended from the all-rows path.
            var (lambda, gamma) = rule == SelectionRule.Min ? (relaxed.LambdaMin, relaxed.GammaMin) : (relaxed.Lambda1se, relaxed.Gamma1se);
            Assert.Equal(lambda, result.Lambda);
            Assert.Equal(gamma, relaxed.Gamma);
            int at = Array.FindIndex(result.Path, p => p.Lambda == lambda);
            Assert.Equal(RelaxedPath.Blend(result.Path[at].Coefficients, relaxed.RefitCoefficients[at], relaxed.Gamma), result.Coefficients);
        }
    }

    /// <summary>The refit at every lambda is the unpenalized fit (penalty none, the closed form or proximal Newton) on that lambda's active features.</summary>
    [Theory]
    [InlineData("gauss_lasso")]
    [InlineData("binom_lasso")]
    public void RefitIsTheUnpenalizedFitOnTheActiveSet(string name)
    {
        var (_, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec);
        var relaxed = result.Relaxed!;
        for (int l = 0; l < result.Path.Length; l += 3)
        {
            int[] active = [.. Enumerable.Range(0, spec.FeatureColumns.Length).Where(j => result.Path[l].Coefficients[j] != 0)];
            if (active.Length == 0) continue;
            var plain = FitEngine.Fit(x, spec with
            {
                FeatureColumns = [.. active.Select(j => spec.FeatureColumns[j])],
                FeatureNames = [.. active.Select(j => spec.FeatureNames[j])],
                Penalty = Penalty.None, L1Ratio = null, Lambdas = null, Relax = null, ColumnShift = null,
            });
            Assert.Equal(plain.Intercept, relaxed.RefitIntercepts[l], 1e-7);
            for (int u = 0; u < active.Length; u++) Assert.Equal(plain.Coefficients[u], relaxed.RefitCoefficients[l][active[u]], 1e-7);
            for (int j = 0; j < spec.FeatureColumns.Length; j++)
                if (!active.Contains(j)) Assert.Equal(0.0, relaxed.RefitCoefficients[l][j]);
        }
    }

    /// <summary>
    /// A proximal-Newton solve given a start (<see cref="PathSettings.Start"/>, as the binomial refits are) ends at the solution
    /// the intercept-only start reaches, and from that solution itself at once.
    /// </summary>
    [Fact]
    public void WarmStartedRefitIsTheColdOneInFewerNewtonSteps()
    {
        var (_, x, spec) = Load("binom_lasso");
        int p = spec.FeatureColumns.Length;
        var settings = new PathSettings { Alpha = 1, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)], Lambdas = [0.0], Tolerance = 1e-14 };
        PathPoint Solve(PathStart? start) =>
            BinomialPath.Fit(x, spec.FeatureColumns, spec.TargetColumn, null, spec.FeatureNames, settings with { Start = start }, null, default).Points[0];
        var cold = Solve(null);
        Assert.True(cold.Converged);
        Assert.True(cold.Iterations >= 3, $"{cold.Iterations} Newton steps from the intercept-only model");

        var atSolution = Solve(new PathStart(cold.Intercept, cold.Coefficients));
        Assert.True(atSolution.Converged);
        Assert.True(atSolution.Iterations <= 1, $"{atSolution.Iterations} Newton steps from the solution");

        var near = Solve(new PathStart(cold.Intercept, [.. cold.Coefficients.Select(c => 0.9 * c)]));
        Assert.True(near.Converged);
        Assert.True(near.Iterations < cold.Iterations, $"{near.Iterations} Newton steps from near the solution, {cold.Iterations} cold");
        var far = Solve(new PathStart(-cold.Intercept, [.. cold.Coefficients.Select(c => -c)]));
        Assert.True(far.Converged);
        foreach (var warm in new[] { atSolution, near, far })
        {
            Assert.Equal(cold.Intercept, warm.Intercept, 1e-7);
            for (int j = 0; j < p; j++) Assert.Equal(cold.Coefficients[j], warm.Coefficients[j], 1e-7 * Math.Max(1, Math.Abs(cold.Coefficients[j])));
        }
    }

    /// <summary>At gamma 1 the relaxed path is the penalized one, so its validation curve is the path's own (k-fold and holdout).</summary>
    [Theory]
    [InlineData(ValidationMethod.KFold)]
    [InlineData(ValidationMethod.Holdout)]
    public void RelaxedCurveAtGammaOneIsThePenalizedCurve(ValidationMethod method)
    {
        var (_, x, spec) = Load("binom_lasso_cv");
        if (method == ValidationMethod.Holdout) spec = spec with { Validation = method, KFold = null, Holdout = new HoldoutSpec(0.3, 5) };
        var result = FitEngine.Fit(x, spec with { Relax = new RelaxSpec { Gammas = [0, 1] } });
        var curves = result.Relaxed!.Curves!;
        Assert.Equal(result.Curve!.Mean, curves[1].Mean);
        Assert.Equal(result.Curve.StandardError, curves[1].StandardError);
        Assert.NotEqual(result.Curve.Mean, curves[0].Mean);
        // The returned pair is the least loss over both curves (ties to the larger lambda, then gamma).
        var (l, g) = (Array.IndexOf(result.Path.Select(p => p.Lambda).ToArray(), result.Relaxed.LambdaMin!.Value), Array.IndexOf(result.Relaxed.Gammas, result.Relaxed.GammaMin!.Value));
        Assert.Equal(curves.SelectMany(c => c.Mean).Min(), curves[g].Mean[l]);
    }

    /// <summary>A generated path starts at lambda_max with nothing active: its refit there is the penalized (intercept-only) model.</summary>
    [Theory]
    [InlineData("gauss_lasso_weighted")]
    [InlineData("binom_lasso")]
    [InlineData("gauss_wide_lasso")]
    public void GeneratedPathStartsWithNothingToRefit(string name)
    {
        var (_, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec with { Lambdas = null, Path = new LambdaPathSpec(20) });
        Assert.Equal(0, result.Path[0].NonZero);
        Assert.Equal(result.Path[0].Intercept, result.Relaxed!.RefitIntercepts[0]);
        Assert.All(result.Relaxed.RefitCoefficients[0], b => Assert.Equal(0.0, b));
    }

    /// <summary>One gamma given is the returned model's; gamma 1 is the penalized path itself.</summary>
    [Fact]
    public void OneGammaIsTheReturnedOneAndGammaOneIsTheLasso()
    {
        var (_, x, spec) = Load("gauss_lasso");
        var half = FitEngine.Fit(x, spec with { Relax = new RelaxSpec { Gammas = [0.5] } });
        Assert.Equal(0.5, half.Relaxed!.Gamma);
        var last = half.Path[^1];
        for (int j = 0; j < last.Coefficients.Length; j++)
            Assert.Equal(0.5 * last.Coefficients[j] + 0.5 * half.Relaxed.RefitCoefficients[^1][j], half.Coefficients[j], 1e-14);
        Assert.Null(half.DualityGap);   // the blend does not solve the penalized problem: no gap is claimed for it
        var one = FitEngine.Fit(x, spec with { Relax = new RelaxSpec { Gammas = [1] } });
        Assert.Equal(one.Path[^1].Coefficients, one.Coefficients);
        Assert.Equal(one.Path[^1].Intercept, one.Intercept);
        Assert.NotNull(one.DualityGap);
        Assert.Equal(one.Path[^1].DualityGap, one.DualityGap);
    }

    [Theory]
    [InlineData("ridge", null, "relax")]
    [InlineData("proximalGradient", null, "relax")]
    [InlineData("lasso", new[] { 0.5, 1.5 }, "relax.gamma[1]")]
    [InlineData("lasso", new[] { -0.1 }, "relax.gamma[0]")]
    [InlineData("lasso", new[] { 0.5, 0.5 }, "relax.gamma[1]")]
    [InlineData("lasso", new double[0], "relax.gamma")]
    public void BadRelaxIsAFaultNamingTheField(string what, double[]? gammas, string field)
    {
        var (_, x, spec) = Load("gauss_lasso");
        spec = spec with { Relax = gammas is null ? new RelaxSpec() : new RelaxSpec { Gammas = gammas } };
        if (what == "ridge") spec = spec with { Penalty = Penalty.Ridge };
        if (what == "proximalGradient") spec = spec with { Solver = SolverKind.ProximalGradient };
        var faults = spec.Check(DataShape.Of(x));
        Assert.Contains(faults, f => f.Path == field);
    }

    /// <summary>
    /// A binomial path whose later active sets separate the classes (tests/fixtures/make_relax_separable.R): where glmnet's refit is the
    /// maximum likelihood (R's glm agrees), every gamma's relaxed model within 1e-6 of glmnet's; where the active set separates the
    /// classes (glmnet's coefficients there change with its thresh: 72 at 1e-7, 148 at 1e-14 at the first), no refit: the lambda is
    /// not refitted and takes the last refit, and one warning names those lambdas.
    /// </summary>
    [Fact]
    public void SeparableActiveSetsAreNotRefittedAndTheRestMatchGlmnet()
    {
        var (fixture, x, spec) = Load("binom_separable");
        var separable = Fixtures.Doubles(fixture.GetProperty("separable"));
        var undefined = Fixtures.Doubles(fixture.GetProperty("undefined"));
        var glmGap = Fixtures.Doubles(fixture.GetProperty("glm_gap"));
        Assert.Contains(1.0, separable);
        var result = FitEngine.Fit(x, spec);
        var relaxed = result.Relaxed!;
        int last = -1;
        for (int l = 0; l < separable.Length; l++)
        {
            if (separable[l] == 1) Assert.False(relaxed.Refitted[l], $"lambda {l} ({result.Path[l].Lambda:G6}) separates the classes but was refitted");
            else if (undefined[l] == 0) { Assert.True(relaxed.Refitted[l], $"lambda {l} has a maximum likelihood but was not refitted"); last = l; }
        }
        foreach (var perGamma in fixture.GetProperty("relaxed").EnumerateArray())
        {
            double gamma = perGamma.GetProperty("gamma").GetDouble();
            var a0 = Fixtures.Doubles(perGamma.GetProperty("a0"));
            var beta = perGamma.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
            for (int l = 0; l < a0.Length; l++)
            {
                double intercept = RelaxedPath.Blend(result.Path[l].Intercept, relaxed.RefitIntercepts[l], gamma);
                var coefficients = RelaxedPath.Blend(result.Path[l].Coefficients, relaxed.RefitCoefficients[l], gamma);
                if (separable[l] == 1)
                {
                    // The last refit stands in (glmnet's extend beyond maxp): every coefficient finite, nothing outside the path's features.
                    Assert.Equal(relaxed.RefitCoefficients[last], relaxed.RefitCoefficients[l]);
                    Assert.All(coefficients, c => Assert.True(double.IsFinite(c)));
                    continue;
                }
                if (undefined[l] == 1) continue;
                double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
                double gap = Math.Abs(intercept - a0[l]);
                for (int j = 0; j < beta[l].Length; j++) gap = Math.Max(gap, Math.Abs(coefficients[j] - beta[l][j]));
                // Plus glmnet's own distance from glm's maximum likelihood (glm_gap, at most 1.3e-6): where some fitted probability comes
                // within 1e-9 of 0 or 1, glmnet's pmin treats that row as saturated, which moves its refit (lambda 18 of the fixture).
                Assert.True(gap <= (1e-6 + glmGap[l]) * scale, $"gamma {gamma}, lambda {l} ({result.Path[l].Lambda:G6}) differs from glmnet by {gap:G3} (scale {scale:G3})");
            }
        }
        var warning = Assert.Single(result.Warnings, w => w.Contains("separate the two classes", StringComparison.Ordinal));
        int first = Array.IndexOf(separable, 1.0);
        Assert.Contains(result.Path[first].Lambda.ToString("G6", System.Globalization.CultureInfo.InvariantCulture), warning);
        Assert.Contains(result.Path[last].Lambda.ToString("G6", System.Globalization.CultureInfo.InvariantCulture), warning);
        // The one lambda glmnet cannot refit either (its refit ends at maxit with an empty model; glm's coefficients reach 1e15) is
        // the only refit reported as not converged, and the fit says so.
        string G6(int l) => result.Path[l].Lambda.ToString("G6", System.Globalization.CultureInfo.InvariantCulture);
        var notConverged = Assert.Single(result.Warnings, w => w.StartsWith("the relaxed refit did not converge", StringComparison.Ordinal));
        Assert.Equal($"the relaxed refit did not converge at lambda {string.Join(", ", Enumerable.Range(0, undefined.Length).Where(l => undefined[l] == 1).Select(G6))}", notConverged);
        Assert.Equal(FitStatus.NotConverged, result.Status);
    }

    /// <summary>
    /// Separation shown once serves every later active set that holds those features: the refits run are the non-separable sets
    /// and at most one more per separating set found by a refit, not one per separable lambda (each of which would spend its Newton steps).
    /// </summary>
    [Fact]
    public void SeparableActiveSetsCostNoRefitEach()
    {
        var (fixture, x, spec) = Load("binom_separable");
        var separable = Fixtures.Doubles(fixture.GetProperty("separable"));
        var source = new BinomialSource(x, spec, null);
        var settings = PathFitter.Settings(spec, 1);
        var lasso = source.Fit(-1, settings, null, default);
        var refits = RelaxedPath.Refit(source, -1, lasso, settings, default);
        string Key(PathPoint p) => string.Join(',', Enumerable.Range(0, p.Coefficients.Length).Where(j => p.Coefficients[j] != 0));
        int definedSets = lasso.Points.Where((p, l) => separable[l] == 0 && p.NonZero > 0).Select(Key).Distinct().Count();
        int separableSets = lasso.Points.Where((p, l) => separable[l] == 1).Select(Key).Distinct().Count();
        Assert.True(separableSets > 10, $"{separableSets} separable active sets");
        Assert.Equal(separable.Count(s => s == 1), refits.Separable.Count);
        Assert.True(refits.Fits <= definedSets + 3, $"{refits.Fits} refits for {definedSets} sets with a solution and {separableSets} separable ones");
    }

    /// <summary>The cost estimate counts the refits: the work doubles and the refit paths are held.</summary>
    [Fact]
    public void CostCountsTheRefits()
    {
        var (_, x, spec) = Load("gauss_lasso_cv");
        var plain = FitCost.Estimate(spec with { Relax = null }, x.Rows, x.Columns);
        var relaxed = FitCost.Estimate(spec, x.Rows, x.Columns);
        Assert.Equal(2 * plain.Work, relaxed.Work);
        Assert.Contains(relaxed.Breakdown, i => i.What.Contains("relaxed refits", StringComparison.Ordinal));
        Assert.True(relaxed.PeakBytes > plain.PeakBytes);
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
        bool cv = fixture.GetProperty("kind").GetString() == "cv";
        var spec = new FitSpec
        {
            FeatureColumns = [.. names.Select(n => Array.IndexOf(all, n))],
            FeatureNames = names,
            TargetColumn = Array.IndexOf(all, fixture.GetProperty("target").GetString()!),
            Family = fixture.GetProperty("family").GetString() == "binomial" ? Family.Binomial : Family.Gaussian,
            Penalty = alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet,
            L1Ratio = alpha == 1 ? null : alpha,
            Lambdas = Fixtures.Doubles(fixture.GetProperty("lambda")),
            Tolerance = Math.Min(1e-16, fixture.GetProperty("thresh").GetDouble()),
            ColumnShift = [.. table.Summaries.Select(s => s.Mean)],
            Relax = new RelaxSpec { Gammas = Fixtures.Doubles(fixture.GetProperty("gammas")) },
            Validation = cv ? ValidationMethod.KFold : ValidationMethod.None,
            LowerLimits = fixture.TryGetProperty("lower_limit", out var lower) ? [.. names.Select(_ => lower.GetDouble())] : null,
            Weights = fixture.TryGetProperty("weights", out var weights) ? x.Column(Array.IndexOf(all, weights.GetString()!)).ToArray() : null,
            KFold = cv ? new KFoldSpec(FoldIds: [.. x.Column(Array.IndexOf(all, fixture.GetProperty("folds").GetString()!)).ToArray().Select(v => (int)v)]) : null,
        };
        return (fixture, x, spec);
    }
}
