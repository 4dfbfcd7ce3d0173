using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Model bayesianRidge against scikit-learn 1.2.1's BayesianRidge (tests/fixtures/sklearn/bayes_*.json, made by
/// tests/fixtures/make_bayes_fixtures.py): alpha_, lambda_, coef_, intercept_, the diagonal of sigma_, scores_ and
/// predict(return_std=True) to 1e-6 relative; and the evidence's known answers.
/// </summary>
public class BayesianRidgeTests
{
    private const double Relative = 1e-6;

    public static TheoryData<string> Cases => Fixtures.Cases("sklearn", "bayes_*.json");

    private sealed record Case(DenseMatrix X, FitSpec Spec, JsonElement Root, DenseMatrix Test);

    private static DenseMatrix Matrix(JsonElement rows, int p, double[]? extra = null)
    {
        var list = rows.EnumerateArray().Select(Fixtures.Doubles).ToArray();
        var x = new DenseMatrix(list.Length, p + (extra is null ? 0 : 1));
        for (int i = 0; i < list.Length; i++)
        {
            for (int j = 0; j < p; j++) x.Column(j)[i] = list[i][j];
            if (extra is not null) x.Column(p)[i] = extra[i];
        }
        return x;
    }

    private static Case Load(string name)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Directory("sklearn"), name + ".json"))).RootElement;
        int p = root.GetProperty("p").GetInt32();
        var x = Matrix(root.GetProperty("x"), p, Fixtures.Doubles(root.GetProperty("y")));
        var s = root.GetProperty("params");
        var spec = new FitSpec
        {
            FeatureColumns = [.. Enumerable.Range(0, p)],
            FeatureNames = [.. Enumerable.Range(1, p).Select(j => $"x{j}")],
            TargetColumn = p,
            Model = ModelKind.BayesianRidge,
            FitIntercept = root.GetProperty("fit_intercept").GetBoolean(),
            // The "standardized" case's rows are standardized already: scaling them again changes nothing.
            Standardize = root.GetProperty("standardize").GetBoolean(),
            Bayesian = new BayesianSpec(s.GetProperty("alpha_1").GetDouble(), s.GetProperty("alpha_2").GetDouble(),
                s.GetProperty("lambda_1").GetDouble(), s.GetProperty("lambda_2").GetDouble(),
                s.GetProperty("n_iter").GetInt32(), s.GetProperty("tol").GetDouble()),
            MaxThreads = 1,
        };
        return new Case(x, spec, root, Matrix(root.GetProperty("x_test"), p));
    }

    private static void Close(double expected, double actual, string what, double scale = 0)
    {
        double bound = Relative * Math.Max(Math.Abs(expected), scale);
        Assert.True(Math.Abs(actual - expected) <= bound, $"{what}: expected {expected:R}, got {actual:R} (bound {bound:G3})");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesScikitLearnBayesianRidge(string name)
    {
        var c = Load(name);
        var r = c.Root;
        var result = FitEngine.Fit(c.X, c.Spec);
        var b = result.Bayesian!;

        Close(r.GetProperty("alpha_").GetDouble(), b.Alpha, "alpha_");
        Close(r.GetProperty("lambda_").GetDouble(), b.Lambda, "lambda_");
        Assert.Equal(r.GetProperty("n_iter_").GetInt32(), b.Iterations);
        Assert.True(b.Converged);
        var coef = Fixtures.Doubles(r.GetProperty("coef_"));
        double largest = coef.Max(Math.Abs);
        // Elementwise, relative to the largest coefficient for those near 0.
        var ours = c.Spec.Standardize ? result.StandardizedCoefficients : result.Coefficients;
        for (int j = 0; j < coef.Length; j++) Close(coef[j], ours[j], $"coef_[{j}]", largest);
        Close(r.GetProperty("intercept_").GetDouble(), result.Intercept, "intercept_", largest);

        // scores_: one per step at the step's precisions; the last differs by design (see BayesianRidge's remarks).
        var scores = Fixtures.Doubles(r.GetProperty("scores_"));
        Assert.Equal(scores.Length, b.LogMarginalLikelihood.Length);
        for (int i = 0; i < scores.Length - 1; i++) Close(scores[i], b.LogMarginalLikelihood[i], $"scores_[{i}]");

        int p = coef.Length;
        var mean = Fixtures.Doubles(r.GetProperty("predict_mean"));
        var predicted = RegService.Numerics.Metrics.Prediction.Predict(c.Test, [.. Enumerable.Range(0, p)], result.Intercept, result.Coefficients, Family.Gaussian);
        for (int i = 0; i < mean.Length; i++) Close(mean[i], predicted[i], $"predict[{i}]", mean.Max(Math.Abs));
        if (!r.GetProperty("compare_sigma").GetBoolean()) return;

        var sigma = Fixtures.Doubles(r.GetProperty("sigma_diag"));
        for (int j = 0; j < p; j++) Close(sigma[j], b.CoefficientStd[j] * b.CoefficientStd[j], $"sigma_[{j},{j}]");
        var std = Fixtures.Doubles(r.GetProperty("predict_std"));
        var ourStd = BayesianRidge.PredictiveStd(c.Test, [.. Enumerable.Range(0, p)], result.FeatureScales, b.Covariance, b.Alpha);
        for (int i = 0; i < std.Length; i++) Close(std[i], ourStd[i], $"predict std[{i}]");
    }

    [Fact]
    public void TheLogEvidenceNeverDecreasesAlongTheFixedPoint()
    {
        // MacKay's update is an EM-like ascent of the evidence (with flat enough hyperpriors): each step's score is at least the last.
        var c = Load("bayes_n200_p10");
        var b = FitEngine.Fit(c.X, c.Spec with { Bayesian = new BayesianSpec(Tolerance: 1e-12, MaxIterations: 1000) }).Bayesian!;
        for (int i = 1; i < b.LogMarginalLikelihood.Length; i++)
            Assert.True(b.LogMarginalLikelihood[i] >= b.LogMarginalLikelihood[i - 1] - 1e-9 * Math.Abs(b.LogMarginalLikelihood[i]),
                $"step {i}: {b.LogMarginalLikelihood[i]:R} < {b.LogMarginalLikelihood[i - 1]:R}");
    }

    [Fact]
    public void ThePosteriorMeanIsRidgeAtTheEquivalentLambdaAndThePriorIsTheEvidences()
    {
        // At the returned precisions the posterior mean solves (X'X + lambda/alpha I) w = X'y: glmnet's ridge at lambda/(alpha n).
        var c = Load("bayes_diabetes");
        var bayes = FitEngine.Fit(c.X, c.Spec);
        var ridge = FitEngine.Fit(c.X, c.Spec with { Model = ModelKind.Linear, Bayesian = null, Lambdas = [bayes.Lambda] });
        double largest = ridge.Coefficients.Max(Math.Abs);
        for (int j = 0; j < ridge.Coefficients.Length; j++) Close(ridge.Coefficients[j], bayes.Coefficients[j], $"coefficient {j}", largest);
        Assert.Equal(bayes.Lambda, bayes.Bayesian!.Lambda / (bayes.Bayesian.Alpha * c.X.Rows), 12);
        var prior = bayes.Prior!;
        Assert.Equal(PriorKind.Gaussian, prior.Kind);
        Assert.Equal("evidence", prior.Source);
        Assert.Equal(1 / bayes.Bayesian.Lambda, prior.GaussianVariance!.Value, 12);
        Assert.Equal(1 / bayes.Bayesian.Alpha, prior.NoiseVariance!.Value, 12);
    }

    [Fact]
    public void StoppingAtTheIterationLimitIsReportedNotConverged()
    {
        var c = Load("bayes_n200_p10");
        var result = FitEngine.Fit(c.X, c.Spec with { Bayesian = new BayesianSpec(MaxIterations: 2, Tolerance: 1e-12) });
        Assert.Equal(FitStatus.NotConverged, result.Status);
        Assert.False(result.Bayesian!.Converged);
        Assert.Equal(2, result.Bayesian.Iterations);
        Assert.Contains(result.Warnings, w => w.Contains("did not converge within 2 iterations", StringComparison.Ordinal));
    }

    [Fact]
    public void TheCostEstimateCountsThePosteriorCovariance()
    {
        var spec = Load("bayes_n200_p10").Spec with { FeatureColumns = [.. Enumerable.Range(0, 800)], FeatureNames = [.. Enumerable.Range(0, 800).Select(j => $"f{j}")], TargetColumn = 800 };
        var bayes = FitCost.Estimate(spec, 5000, 801);
        var ridge = FitCost.Estimate(spec with { Model = ModelKind.Linear, Bayesian = null, Lambdas = [0.1] }, 5000, 801);
        Assert.Contains(bayes.Breakdown, i => i.What.Contains("posterior covariance", StringComparison.Ordinal) && i.Bytes >= 25L * 800 * 801 / 2);
        Assert.True(bayes.PeakBytes > ridge.PeakBytes && bayes.Work > ridge.Work, $"{bayes.PeakBytes} vs {ridge.PeakBytes}; {bayes.Work} vs {ridge.Work}");
    }

    [Fact]
    public void TheSpecRefusesWhatBayesianRidgeCannotFit()
    {
        var c = Load("bayes_n200_p10");
        var y = c.X.Column(c.Spec.TargetColumn);
        for (int i = 0; i < y.Length; i++) y[i] = y[i] > 3 ? 1 : 0;
        var faults = (c.Spec with
        {
            Family = Family.Binomial,
            Lambdas = [0.1],
            PenaltyFactors = [.. Enumerable.Repeat(1.0, 10)],
            Validation = ValidationMethod.KFold,
            Bayesian = new BayesianSpec(Alpha1: -1, Lambda2: double.NaN, MaxIterations: 0, Tolerance: 0),
        }).Check(DataShape.Of(c.X)).Select(f => f.Path).ToHashSet();
        foreach (var path in new[] { "family", "lambdas", "penaltyFactors", "validation", "bayesian.alpha1", "bayesian.lambda2",
                     "bayesian.maxIterations", "bayesian.tolerance" })
            Assert.Contains(path, faults);
        Assert.Contains("penalty", (c.Spec with { Penalty = Penalty.Lasso }).Check(DataShape.Of(c.X)).Select(f => f.Path));
        Assert.Contains("solver", (c.Spec with { Solver = SolverKind.CoordinateDescent }).Check(DataShape.Of(c.X)).Select(f => f.Path));
        Assert.Contains("bayesian", (c.Spec with { Model = ModelKind.Linear }).Check(DataShape.Of(c.X)).Select(f => f.Path));
        var resolved = c.Spec with { Bayesian = null };
        var (spec, none) = resolved.Resolve(DataShape.Of(c.X));
        Assert.Empty(none);
        Assert.Equal(new BayesianSpec(), spec!.Bayesian);
        Assert.Null(spec.Lambdas);
        Assert.Null(spec.Path);
        Assert.Equal(spec.Bayesian, spec.ResolveOrThrow(DataShape.Of(c.X)).Bayesian);
    }
}
