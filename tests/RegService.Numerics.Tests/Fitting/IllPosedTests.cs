using System.Globalization;
using System.Text.RegularExpressions;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>Warnings for fits the data do not determine: collinear designs without a penalty, separable classes.</summary>
public partial class IllPosedTests
{
    private const int N = 200;

    /// <summary>
    /// Columns a, b = 2a rounded to 6 decimals (nearly collinear), c independent, a gaussian target (column 3), a 0/1
    /// target that overlaps (column 4), one separable by c (column 5) and one quasi-separable by d in {-3..3} (column 6,
    /// d in column 7: separated where d != 0, mixed where d = 0).
    /// </summary>
    private static DenseMatrix Data(int seed = 3)
    {
        var rng = new Random(seed);
        var x = new DenseMatrix(N, 8);
        for (int i = 0; i < N; i++)
        {
            double a = rng.NextDouble() * 4 - 2, c = rng.NextDouble(), d = rng.Next(-3, 4);
            x[i, 0] = a;
            x[i, 1] = Math.Round(2 * a + 1e-6 * (rng.NextDouble() - 0.5), 6);
            x[i, 2] = c;
            x[i, 3] = a + 0.5 * c + rng.NextDouble() - 0.5;
            x[i, 4] = a + c - 0.5 + 2 * (rng.NextDouble() - 0.5) > 0 ? 1 : 0;
            x[i, 5] = c > 0.5 ? 1 : 0;
            x[i, 6] = d > 0 ? 1 : d < 0 ? 0 : rng.Next(2);
            x[i, 7] = d;
        }
        return x;
    }

    private static FitSpec Spec(int[] features, int target, Family family = Family.Gaussian, Penalty penalty = Penalty.None, double[]? lambdas = null) => new()
    {
        FeatureColumns = features,
        FeatureNames = [.. features.Select(j => "abcxxxxd"[j].ToString())],
        TargetColumn = target,
        Family = family,
        Penalty = penalty,
        Lambdas = lambdas,
        MaxThreads = 1,
    };

    [GeneratedRegex(@"condition number (?:at least )?([0-9.E+-]+)")]
    private static partial Regex ConditionNumber();

    /// <summary>The breakdown's message, or the warnings when the fit went through.</summary>
    private static string Diagnosis(Func<FitResult> fit)
    {
        try
        {
            return string.Join(" | ", fit().Warnings);
        }
        catch (NumericalBreakdownException e)
        {
            return e.Message;
        }
    }

    private static string Collinearity(FitResult r) => Assert.Single(r.Warnings, w => w.Contains("ill-conditioned"));

    [Fact]
    public void PenaltyNoneOnNearlyCollinearColumnsNamesThemWithTheConditionNumber()
    {
        var x = Data();
        var r = FitEngine.Fit(x, Spec([0, 1, 2], 3));
        Assert.True(r.Coefficients.Max(Math.Abs) > 1e3, "the coefficients the issue saw: huge and opposite");
        string warning = Collinearity(r);
        double condition = double.Parse(ConditionNumber().Match(warning).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(condition > 1e10, warning);
        Assert.Contains("'a' (", warning);
        Assert.Contains("'b' (", warning);
        Assert.DoesNotContain("'c' (", warning);
        Assert.Contains("pair is 'a' and 'b'", warning);
    }

    [Fact]
    public void AWellConditionedDesignHasNoWarning()
    {
        var x = Data();
        foreach (var spec in new[] { Spec([0, 2], 3), Spec([1, 2], 3, Family.Binomial, lambdas: null) with { TargetColumn = 4 } })
        {
            var r = FitEngine.Fit(x, spec);
            Assert.Equal(FitStatus.Converged, r.Status);
            Assert.Empty(r.Warnings);
        }
    }

    [Fact]
    public void ATinyLambdaWarnsAsNoPenaltyDoesAndAnOrdinaryOneDoesNot()
    {
        var x = Data();
        foreach (var penalty in new[] { Penalty.Ridge, Penalty.Lasso })
        {
            var tiny = FitEngine.Fit(x, Spec([0, 1, 2], 3, penalty: penalty, lambdas: [1e-12]));
            var warning = Collinearity(tiny);
            Assert.StartsWith("lambda 1E-12 (below 1E-08 times its largest eigenvalue", warning);
            var ordinary = FitEngine.Fit(x, Spec([0, 1, 2], 3, penalty: penalty, lambdas: [1e-3]));
            Assert.DoesNotContain(ordinary.Warnings, w => w.Contains("ill-conditioned"));
        }
    }

    [Fact]
    public void AnExactlyCollinearColumnNamesTheFeaturesInTheBreakdown()
    {
        var x = Data();
        for (int i = 0; i < N; i++) x[i, 1] = 2 * x[i, 0];
        var e = Assert.Throws<NumericalBreakdownException>(() => FitEngine.Fit(x, Spec([0, 1, 2], 3)));
        Assert.Contains("Cholesky", e.Message);
        Assert.Contains("numerically rank-deficient", e.Message);
        Assert.Contains("pair is 'a' and 'b' (correlation 1)", e.Message);
    }

    [Fact]
    public void MoreFeaturesThanRowsIsRankDeficientWithoutAnEigendecomposition()
    {
        var rng = new Random(5);
        var wide = new DenseMatrix(6, 10);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 10; j++) wide[i, j] = rng.NextDouble();
        var spec = new FitSpec
        {
            FeatureColumns = [.. Enumerable.Range(0, 9)], FeatureNames = [.. Enumerable.Range(0, 9).Select(j => $"f{j}")], TargetColumn = 9, Penalty = Penalty.None, MaxThreads = 1,
        };
        // Penalty none: the Cholesky breaks down, or rounding lets it through; either way the diagnosis is given.
        Assert.Contains("rank-deficient: 9 features on 6 rows with an intercept have at most 5", Diagnosis(() => FitEngine.Fit(wide, spec)));

        var lasso = FitEngine.Fit(wide, spec with { Penalty = Penalty.Lasso, Lambdas = [1e-12] });
        Assert.Contains(lasso.Warnings, w => w.StartsWith("lambda 1E-12: the design is rank-deficient: 9 features on 6 rows"));
        var path = FitEngine.Fit(wide, spec with { Penalty = Penalty.Lasso });
        Assert.DoesNotContain(path.Warnings, w => w.Contains("rank-deficient"));
    }

    [Fact]
    public void BinomialPenaltyNoneOnCollinearColumnsWarnsToo()
    {
        // No Gram on the proximal-Newton route: one is built for the check.
        var r = FitEngine.Fit(Data(), Spec([0, 1, 2], 4, Family.Binomial));
        Assert.Contains("pair is 'a' and 'b'", Collinearity(r));
    }

    [Fact]
    public void SeparableClassesSayTheMaximumLikelihoodDoesNotExist()
    {
        var r = FitEngine.Fit(Data(), Spec([0, 2], 5, Family.Binomial));
        Assert.Equal(FitStatus.NotConverged, r.Status);
        var warning = Assert.Single(r.Warnings, w => w.Contains("maximum likelihood"));
        Assert.StartsWith("lambda 0: every fitted probability is within 1E-09 of 0 or 1: the classes are separable by the features", warning);
        Assert.Contains("does not exist", warning);
        Assert.Contains("Add a penalty", warning);
        // What remains of non-convergence states the iterations actually spent, not the limit alone.
        var notConverged = Assert.Single(r.Warnings, w => w.Contains("did not converge"));
        Assert.Contains($"after {r.Iterations} iterations ({r.Iterations} iterations in all, maxIterations 100000)", notConverged);
        Assert.True(r.Iterations < 100);
    }

    [Fact]
    public void BoundedCoefficientsOnSeparableClassesHaveAMaximumAndNoWarning()
    {
        // At the bound most probabilities are saturated, as they would be on the way to infinity, but the maximum exists.
        var r = FitEngine.Fit(Data(), Spec([0, 2], 5, Family.Binomial) with { LowerLimits = [-1000, -1000], UpperLimits = [1000, 1000] });
        Assert.Equal(1000, r.Coefficients[1], 1e-6);
        Assert.DoesNotContain(r.Warnings, w => w.Contains("maximum likelihood"));
    }

    [Fact]
    public void ProximalGradientOnSeparableClassesWarnsAsWell()
    {
        // The check reads the returned coefficients, whatever solver stopped there.
        var r = FitEngine.Fit(Data(), Spec([0, 2], 5, Family.Binomial) with { Solver = SolverKind.ProximalGradient, MaxIterations = 2000 });
        var warning = Assert.Single(r.Warnings, w => w.Contains("maximum likelihood"));
        Assert.Matches(@"^lambda 0: (every fitted probability is|\d+ of 200 fitted probabilities are) within 1E-09 of 0 or 1: the classes are (\(quasi-\))?separable", warning);
    }

    [Fact]
    public void QuasiSeparableClassesWarnEvenWhenTheSolverStops()
    {
        var r = FitEngine.Fit(Data(), Spec([7, 2], 6, Family.Binomial));
        var warning = Assert.Single(r.Warnings, w => w.Contains("maximum likelihood"));
        Assert.Matches(@"^lambda 0: \d+ of 200 fitted probabilities are within 1E-09 of 0 or 1: the classes are \(quasi-\)separable", warning);

        // The same data with a penalty: finite coefficients, no warning.
        var ridge = FitEngine.Fit(Data(), Spec([7, 2], 6, Family.Binomial, Penalty.Ridge, [0.01]));
        Assert.Empty(ridge.Warnings);
    }

    [Fact]
    public void OverlappingClassesHaveNoSeparationWarning()
    {
        var r = FitEngine.Fit(Data(), Spec([0, 2], 4, Family.Binomial));
        Assert.Empty(r.Warnings);
    }
}
