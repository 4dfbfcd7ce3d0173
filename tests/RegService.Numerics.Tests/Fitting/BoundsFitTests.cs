using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Coefficient bounds (glmnet's <c>lower.limits</c> / <c>upper.limits</c>): reference paths from R glmnet 4.1-6 at thresh
/// 1e-14 (tests/fixtures/bounds, made by tests/fixtures/make_bounds.R on data made there: lower.limits = 0 and mixed
/// per-feature limits, gaussian covariance and naive forms, binomial Gram and naive Newton steps, lasso and elastic net)
/// and scikit-learn's <c>Lasso(positive=True)</c> (make_bounds_sklearn.py); the KKT conditions of the bounded problem at
/// every lambda; glmnet's generated path (its lambda_max and its path stop with a zero bound); proximal gradient's
/// projection; the rules.
/// </summary>
public sealed class BoundsFitTests
{
    private static readonly string Directory = Fixtures.Directory("bounds");

    public static TheoryData<string> Cases => Fixtures.Cases("bounds");

    public static TheoryData<string> GlmnetCases =>
        Fixtures.Cases("bounds", "*.json", file => !file.StartsWith("sklearn", StringComparison.Ordinal));

    /// <summary>The intercepts and coefficients within 1e-6 (relative to the point's largest) of glmnet's (scikit-learn's), inside the bounds.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void BoundedPathMatchesReference(string name)
    {
        var (fixture, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec);
        Assert.Equal(spec.Family == Family.Binomial ? "proximalNewton" : "coordinateDescent", result.Solver);
        AssertMatches(name, fixture, spec, result, 1e-6);
    }

    /// <summary>
    /// KKT of the bounded problem on the standardized scale at every lambda, for lower_j s_j ≤ b_j ≤ upper_j s_j with s the
    /// smooth part's negative gradient g_j - l2 b_j: strictly inside, |s - l1 sign b_j| = 0; at 0, s in [-l1, l1] on the
    /// sides the bounds leave open; at the upper bound s ≥ l1 - ... (s - l1 ≥ 0), at the lower s + l1 ≤ 0. The residual
    /// (and the intercept's) within 1e-7 of the null deviance per row.
    /// </summary>
    [Theory]
    [MemberData(nameof(GlmnetCases))]
    public void BoundedKktHoldsAtEveryLambda(string name)
    {
        var (_, x, spec) = Load(name);
        var result = FitEngine.Fit(x, spec);
        foreach (var point in result.Path)
        {
            double worst = KktResidual(x, spec, point, out double nullDeviance);
            Assert.True(worst <= 1e-7 * nullDeviance, $"{name}: bounded KKT residual {worst:G3} at lambda {point.Lambda:G6}");
        }
    }

    /// <summary>
    /// The check can fail: the unbounded solution clamped into the bounds (feasible, not optimal) has a large residual, so
    /// bounds that bind are checked as bounds.
    /// </summary>
    [Fact]
    public void KktCheckRejectsTheClampedUnboundedSolution()
    {
        var (_, x, spec) = Load("gauss_lasso_lower0");
        var free = FitEngine.Fit(x, spec with { LowerLimits = null, UpperLimits = null }).Path[^1];
        Assert.Contains(free.Coefficients, b => b < 0);
        var clamped = free with { Coefficients = [.. free.Coefficients.Select(b => Math.Max(b, 0))] };
        Assert.True(KktResidual(x, spec, clamped, out double nullDeviance) > 1e-3 * nullDeviance);
    }

    /// <summary>
    /// glmnet's generated path: the same lambda_max (glmnet keeps its unbounded one) and, with a bound at 0, glmnet's path
    /// stop without fdev, so the path runs to the same length.
    /// </summary>
    [Theory]
    [MemberData(nameof(GlmnetCases))]
    public void GeneratedPathIsGlmnets(string name)
    {
        var (fixture, x, spec) = Load(name);
        var lambdas = Fixtures.Doubles(fixture.GetProperty("lambda"));
        var result = FitEngine.Fit(x, spec with { Lambdas = null, Path = new LambdaPathSpec(fixture.GetProperty("nlambda").GetInt32()) });
        Assert.Equal(lambdas.Length, result.Path.Length);
        for (int l = 0; l < lambdas.Length; l++) Assert.Equal(lambdas[l], result.Path[l].Lambda, 1e-9 * lambdas[l]);
    }

    /// <summary>Proximal gradient projects onto the box after its prox step: the same path as glmnet's, to its tolerance.</summary>
    [Theory]
    [InlineData("gauss_enet_mixed")]
    [InlineData("gauss_lasso_lower0")]
    [InlineData("binom_enet_mixed")]
    public void ProximalGradientProjectsOntoTheBounds(string name)
    {
        var (fixture, x, spec) = Load(name);
        var lambdas = Fixtures.Doubles(fixture.GetProperty("lambda"));
        int[] picked = [5, 15, 30];
        var chosen = picked.Select(l => lambdas[l]).ToArray();
        var result = FitEngine.Fit(x, spec with { Solver = SolverKind.ProximalGradient, Lambdas = chosen, Tolerance = 1e-10, MaxIterations = 1_000_000 });
        Assert.Equal("proximalGradient", result.Solver);
        var a0 = Fixtures.Doubles(fixture.GetProperty("a0"));
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
        for (int k = 0; k < picked.Length; k++)
        {
            var point = result.Path[k];
            AssertInside(name, spec, point);
            double scale = Math.Max(beta[picked[k]].Max(Math.Abs), Math.Abs(a0[picked[k]]));
            double gap = Math.Abs(point.Intercept - a0[picked[k]]);
            for (int j = 0; j < beta[picked[k]].Length; j++) gap = Math.Max(gap, Math.Abs(point.Coefficients[j] - beta[picked[k]][j]));
            Assert.True(gap <= 1e-5 * scale, $"{name}: proximal gradient at lambda {point.Lambda:G6} differs from glmnet by {gap:G3}");
        }
    }

    /// <summary>
    /// Penalty none with bounds (glmnet at lambda 0 with limits): non-negative least squares and its logistic twin, by
    /// coordinate descent and proximal Newton (not the closed form), meeting the bounded KKT conditions.
    /// </summary>
    [Theory]
    [InlineData("gauss_lasso_lower0", "coordinateDescent")]
    [InlineData("binom_lasso_lower0", "proximalNewton")]
    public void PenaltyNoneWithBoundsIsConstrainedLeastSquares(string name, string solver)
    {
        var (_, x, spec) = Load(name);
        var none = spec with { Penalty = Penalty.None, Lambdas = null, L1Ratio = null };
        var result = FitEngine.Fit(x, none);
        Assert.Equal(solver, result.Solver);
        var point = Assert.Single(result.Path);
        Assert.Contains(point.Coefficients, b => b == 0);
        double worst = KktResidual(x, none, point, out double nullDeviance);
        Assert.True(worst <= 1e-7 * nullDeviance, $"{name}: KKT residual {worst:G3} at lambda 0");
    }

    /// <summary>With every limit infinite the fit is the unbounded one, bit for bit (nothing is clamped).</summary>
    [Fact]
    public void InfiniteLimitsChangeNothing()
    {
        var (_, x, spec) = Load("gauss_enet_mixed");
        int p = spec.FeatureColumns.Length;
        var free = FitEngine.Fit(x, spec with { LowerLimits = null, UpperLimits = null });
        var infinite = FitEngine.Fit(x, spec with
        {
            LowerLimits = Enumerable.Repeat(double.NegativeInfinity, p).ToArray(),
            UpperLimits = Enumerable.Repeat(double.PositiveInfinity, p).ToArray(),
        });
        for (int l = 0; l < free.Path.Length; l++) Assert.Equal(free.Path[l].Coefficients, infinite.Path[l].Coefficients);
        Assert.NotNull(free.Path[^1].DualityGap);
        var bounded = FitEngine.Fit(x, spec);
        Assert.NotNull(bounded.Path[^1].DualityGap);   // the box-constrained problem's gap (BoxDualityGapTests)
        Assert.Contains("truncated to the bounds", bounded.Prior!.Note);
        Assert.Null(free.Prior!.Note);
    }

    [Fact]
    public void RulesNameTheFieldAndTheFeature()
    {
        var (_, x, spec) = Load("gauss_lasso_lower0");
        int p = spec.FeatureColumns.Length;
        var shape = new DataShape(x.Rows, x.Columns);
        var lower = new double[p];
        lower[2] = 0.5;
        var faults = spec.Check(shape).Count == 0 ? (spec with { LowerLimits = lower }).Check(shape) : throw new InvalidOperationException();
        var fault = Assert.Single(faults, f => f.Path.StartsWith("lowerLimits", StringComparison.Ordinal) && f.Message.Contains("<= 0"));
        Assert.True(faults.Count == 1, string.Join("; ", faults));
        Assert.Equal("lowerLimits[2]", fault.Path);
        Assert.Contains("'x3'", fault.Message);

        var upper = Enumerable.Repeat(double.PositiveInfinity, p).ToArray();
        upper[4] = -1;
        fault = Assert.Single((spec with { UpperLimits = upper }).Check(shape), f => f.Path == "upperLimits[4]");
        Assert.Contains("'x5'", fault.Message);

        // lower > upper (each then breaks glmnet's sign rule too): said as such, on the lower limit.
        lower = new double[p];
        lower[1] = 0.5;
        upper = Enumerable.Repeat(double.PositiveInfinity, p).ToArray();
        upper[1] = 0.2;
        fault = Assert.Single((spec with { LowerLimits = lower, UpperLimits = upper }).Check(shape), f => f.Message.Contains("above its upper limit"));
        Assert.Equal("lowerLimits[1]", fault.Path);
        Assert.Contains("'x2'", fault.Message);

        fault = Assert.Single((spec with { LowerLimits = [0, 0] }).Check(shape));
        Assert.Equal("lowerLimits", fault.Path);

        Assert.Contains((spec with { Solver = SolverKind.ClosedForm, Penalty = Penalty.Ridge }).Check(shape), f => f.Path == "solver");
        Assert.Contains((spec with { Solver = SolverKind.Adam, Lambdas = [0.1] }).Check(shape), f => f.Path == "lowerLimits");
        Assert.DoesNotContain((spec with { Stopping = StoppingRule.DualityGap }).Check(shape), f => f.Path == "stopping");
        // Ridge with bounds is coordinate descent, not the closed form.
        Assert.Equal(SolverKind.CoordinateDescent, (spec with { Penalty = Penalty.Ridge }).ChosenSolver);
    }

    private static void AssertMatches(string name, JsonElement fixture, FitSpec spec, FitResult result, double tolerance)
    {
        var a0 = Fixtures.Doubles(fixture.GetProperty("a0"));
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(Fixtures.Doubles).ToArray();
        Assert.Equal(a0.Length, result.Path.Length);
        for (int l = 0; l < a0.Length; l++)
        {
            var point = result.Path[l];
            Assert.True(point.Converged, $"{name}: not converged at lambda {point.Lambda}");
            AssertInside(name, spec, point);
            double scale = Math.Max(beta[l].Max(Math.Abs), Math.Abs(a0[l]));
            double gap = Math.Abs(point.Intercept - a0[l]);
            for (int j = 0; j < beta[l].Length; j++) gap = Math.Max(gap, Math.Abs(point.Coefficients[j] - beta[l][j]));
            Assert.True(gap <= tolerance * scale + 1e-12, $"{name}: lambda {l} ({point.Lambda:G6}) differs from the reference by {gap:G3} (scale {scale:G3})");
        }
    }

    private static void AssertInside(string name, FitSpec spec, PathPoint point)
    {
        for (int j = 0; j < point.Coefficients.Length; j++)
        {
            double b = point.Coefficients[j];
            Assert.True(b >= spec.LowerLimits![j] * (1 + 1e-12) - 1e-300 && b <= spec.UpperLimits![j] * (1 + 1e-12) + 1e-300,
                $"{name}: coefficient {j} = {b:R} outside [{spec.LowerLimits[j]}, {spec.UpperLimits[j]}] at lambda {point.Lambda:G6}");
        }
    }

    /// <summary>The largest KKT residual of the bounded problem at <paramref name="point"/> (standardized scale, 1/n), and the null deviance per row.</summary>
    private static double KktResidual(DenseMatrix x, FitSpec spec, PathPoint point, out double nullDeviance)
    {
        int n = x.Rows, p = spec.FeatureColumns.Length;
        bool binomial = spec.Family == Family.Binomial;
        var y = x.Column(spec.TargetColumn);
        double yMean = y.ToArray().Average();
        nullDeviance = binomial ? -2 * (yMean * Math.Log(yMean) + (1 - yMean) * Math.Log(1 - yMean)) : y.ToArray().Sum(v => (v - yMean) * (v - yMean)) / n;
        var eta = new double[n];
        RegressionMetrics.Predict(x, spec.FeatureColumns, point.Intercept, point.Coefficients, null, eta);
        var r = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            r[i] = y[i] - (binomial ? 1 / (1 + Math.Exp(-eta[i])) : eta[i]);
            sum += r[i];
        }
        double worst = spec.FitIntercept ? Math.Abs(sum) / n : 0;
        double l1 = point.Lambda * spec.Alpha, l2 = point.Lambda * (1 - spec.Alpha);
        for (int j = 0; j < p; j++)
        {
            var col = x.Column(spec.FeatureColumns[j]);
            double m = 0;
            for (int i = 0; i < n; i++) m += col[i] / n;
            double v = 0;
            for (int i = 0; i < n; i++) v += (col[i] - m) * (col[i] - m) / n;
            double scale = spec.Standardize ? Math.Sqrt(v) : 1.0;
            double g = 0;
            for (int i = 0; i < n; i++) g += col[i] * r[i];
            g /= n * scale;
            double b = point.Coefficients[j] * scale, lo = spec.LowerLimits![j] * scale, hi = spec.UpperLimits![j] * scale;
            double s = g - l2 * b;
            double k;
            if (b < lo * (1 + 1e-12) - 1e-300 || b > hi * (1 + 1e-12) + 1e-300) k = double.PositiveInfinity;   // infeasible
            else if (b == 0) k = (hi > 0 ? Math.Max(s - l1, 0) : 0) + (lo < 0 ? Math.Max(-s - l1, 0) : 0);
            else if (b >= hi * (1 - 1e-12)) k = Math.Max(l1 - s, 0);         // at the upper bound: the gradient may push up
            else if (b <= lo * (1 - 1e-12)) k = Math.Max(s + l1, 0);         // at the lower bound: it may push down
            else k = Math.Abs(s - l1 * Math.Sign(b));
            worst = Math.Max(worst, k);
        }
        return worst;
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
            Family = fixture.TryGetProperty("family", out var f) && f.GetString() == "binomial" ? Family.Binomial : Family.Gaussian,
            Penalty = alpha == 1 ? Penalty.Lasso : alpha == 0 ? Penalty.Ridge : Penalty.ElasticNet,
            L1Ratio = alpha is 0 or 1 ? null : alpha,
            Lambdas = Fixtures.Doubles(fixture.GetProperty("lambda")),
            Standardize = fixture.GetProperty("standardize").GetBoolean(),
            FitIntercept = fixture.GetProperty("intercept").GetBoolean(),
            LowerLimits = Limits(fixture.GetProperty("lower"), double.NegativeInfinity),
            UpperLimits = Limits(fixture.GetProperty("upper"), double.PositiveInfinity),
            Tolerance = Math.Min(1e-16, fixture.TryGetProperty("thresh", out var t) ? t.GetDouble() : 1),   // at least as tight as the reference
            ColumnShift = [.. table.Summaries.Select(s => s.Mean)],
        };
        return (fixture, x, spec);
    }

    /// <summary>A fixture's limits: null is none (glmnet's -Inf or Inf; JSON has no infinity).</summary>
    private static double[] Limits(JsonElement array, double none) =>
        [.. array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? none : e.GetDouble())];
}
