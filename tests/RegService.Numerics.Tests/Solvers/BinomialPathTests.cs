using MathNet.Numerics.LinearAlgebra;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;
using Mode = RegService.Numerics.Solvers.BinomialPath.SubproblemMode;

namespace RegService.Numerics.Tests.Solvers;

public class BinomialPathTests
{
    // ------------------------------------------------------------------------------------------
    // Optimality
    // ------------------------------------------------------------------------------------------

    public static TheoryData<string, double, bool, bool> KktCases() => new()
    {
        // mode, alpha, standardize, intercept
        { "Gram", 1.0, true, true },
        { "Gram", 0.5, true, true },
        { "Gram", 0.05, false, true },
        { "Gram", 0.5, true, false },
        { "Naive", 1.0, true, true },
        { "Naive", 0.5, false, true },
        { "Naive", 0.3, true, false },
    };

    /// <summary>
    /// At every lambda of a generated path, on the standardized scale: |g_j| ≤ lambda alpha v_j for zeros,
    /// g_j = lambda (alpha v_j sign(b_j) + (1 - alpha) v_j b_j) for nonzeros, and a zero intercept gradient.
    /// </summary>
    [Theory]
    [MemberData(nameof(KktCases))]
    public void KktHoldsAtEveryLambda(string mode, double alpha, bool standardize, bool intercept)
    {
        var (x, cols, target) = Problem(new Random(11), 400, 12, rho: 0.4, signal: 1.5);
        double[] factors = LambdaGrid.RescalePenaltyFactors([1, 1, 0.5, 2, 1, 1, 0, 1, 1, 3, 1, 1], 12);
        var settings = new PathSettings
        {
            Alpha = alpha, PenaltyFactors = factors, Generate = new LambdaPathSpec(60), Standardize = standardize,
            FitIntercept = intercept, Tolerance = 1e-13,
        };
        var fit = Fit(x, cols, target, null, settings, Enum.Parse<Mode>(mode));
        Assert.True(fit.Points.Length >= 5);
        foreach (var point in fit.Points)
        {
            Assert.True(point.Converged, $"lambda {point.Lambda} not converged");
            AssertKkt(x, cols, target, null, point, factors, alpha, standardize, intercept, 1e-6);
        }
    }

    [Theory]
    [InlineData("Naive")]
    [InlineData("Gram")]
    public void KktHoldsWhenFeaturesOutnumberRows(string mode)
    {
        var (x, cols, target) = Problem(new Random(10), 50, 120, rho: 0.3, signal: 1.0);
        double[] factors = LambdaGrid.RescalePenaltyFactors(null, 120);
        var settings = new PathSettings { Alpha = 0.8, PenaltyFactors = factors, Generate = new LambdaPathSpec(50), Tolerance = 1e-13 };
        var fit = Fit(x, cols, target, null, settings, Enum.Parse<Mode>(mode));
        Assert.True(fit.Points.Length >= 5);
        foreach (var point in fit.Points)
        {
            Assert.True(point.Converged, $"lambda {point.Lambda} not converged");
            AssertKkt(x, cols, target, null, point, factors, 0.8, true, true, 1e-6);
        }
    }

    [Fact]
    public void KktHoldsForExplicitLambdasOnARowSubset()
    {
        var rng = new Random(12);
        var (x, cols, target) = Problem(rng, 600, 8, rho: 0.2, signal: 1.0);
        int[] rows = Enumerable.Range(0, 600).Where(_ => rng.NextDouble() < 0.7).Reverse().ToArray();
        double[] factors = LambdaGrid.RescalePenaltyFactors(null, 8);
        double[] lambdas = [0.2, 0.05, 0.1, 0.01, 0.001];   // not monotone
        var settings = new PathSettings { Alpha = 0.7, PenaltyFactors = factors, Lambdas = lambdas, Tolerance = 1e-13 };
        foreach (var mode in new[] { Mode.Gram, Mode.Naive })
        {
            var fit = Fit(x, cols, target, rows, settings, mode);
            Assert.Equal(lambdas, fit.Lambdas);
            Assert.False(fit.StoppedEarly);
            Assert.Equal(rows.Length, fit.Rows);
            foreach (var point in fit.Points)
                AssertKkt(x, cols, target, rows, point, factors, 0.7, true, true, 1e-6);
        }
    }

    [Fact]
    public void LambdaAboveLambdaMaxGivesTheNullModel()
    {
        var (x, cols, target) = Problem(new Random(13), 300, 6, rho: 0.3, signal: 1.0);
        double[] factors = LambdaGrid.RescalePenaltyFactors(null, 6);
        var path = Fit(x, cols, target, null, new PathSettings { Alpha = 0.5, PenaltyFactors = factors, Generate = new LambdaPathSpec(10) });
        double ybar = x.Column(target).ToArray().Average();
        double logit = Math.Log(ybar / (1 - ybar));

        var first = path.Points[0];
        Assert.All(first.Coefficients, b => Assert.Equal(0.0, b));
        Assert.Equal(0, first.NonZero);
        Assert.Equal(logit, first.Intercept, 1e-12);
        Assert.Equal(0.0, first.DevianceRatio, 1e-12);
        Assert.True(path.Points[1].NonZero > 0, "just below lambda_max a feature enters");

        // lambda_max is the smallest lambda with every coefficient 0: max |g_j| / (alpha v_j) at the null model.
        var g = StandardizedGradient(x, cols, target, null, logit, new double[6], true, true);
        double lambdaMax = g.Features.Select(Math.Abs).Max() / 0.5;
        Assert.Equal(lambdaMax, path.Lambdas[0], 1e-12 * lambdaMax);

        foreach (var mode in new[] { Mode.Gram, Mode.Naive })
        {
            var above = Fit(x, cols, target, null, new PathSettings { Alpha = 0.5, PenaltyFactors = factors, Lambdas = [1.5 * lambdaMax, lambdaMax * (1 + 1e-9)] }, mode);
            foreach (var point in above.Points)
            {
                Assert.All(point.Coefficients, b => Assert.Equal(0.0, b));
                Assert.Equal(logit, point.Intercept, 1e-12);
            }
        }
    }

    [Theory]
    [InlineData("Gram", 1.0)]
    [InlineData("Gram", 0.0)]
    [InlineData("Naive", 0.5)]
    public void TinyLambdaMatchesUnpenalizedLogisticRegression(string mode, double alpha)
    {
        var (x, cols, target) = Problem(new Random(14), 500, 5, rho: 0.3, signal: 0.8);
        var settings = new PathSettings
        {
            Alpha = alpha, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 5), Lambdas = [1e-3, 1e-11], Tolerance = 1e-14,
        };
        var fit = Fit(x, cols, target, null, settings, Enum.Parse<Mode>(mode));
        var (b0, b) = NewtonLogistic(x, cols, target, null);
        var point = fit.Points[^1];
        Assert.True(point.Converged);
        Assert.Equal(b0, point.Intercept, 1e-7);
        for (int j = 0; j < 5; j++)
            Assert.Equal(b[j], point.Coefficients[j], 1e-7 * Math.Max(1, Math.Abs(b[j])));
    }

    [Fact]
    public void ZeroPenaltyFactorKeepsAFeatureUnpenalized()
    {
        var (x, cols, target) = Problem(new Random(15), 400, 6, rho: 0.3, signal: 1.0);
        double[] factors = LambdaGrid.RescalePenaltyFactors([1, 0, 1, 1, 1, 1], 6);
        foreach (var mode in new[] { Mode.Gram, Mode.Naive })
        {
            var path = Fit(x, cols, target, null, new PathSettings { Alpha = 1, PenaltyFactors = factors, Generate = new LambdaPathSpec(20), Tolerance = 1e-14 }, mode);
            // At lambda_max only the unpenalized feature is in: the logistic regression on it alone.
            var (b0, b) = NewtonLogistic(x, [cols[1]], target, null);
            var first = path.Points[0];
            Assert.Equal(1, first.NonZero);
            Assert.Equal(b[0], first.Coefficients[1], 1e-8);
            Assert.Equal(b0, first.Intercept, 1e-8);
            Assert.True(first.DevianceRatio > 0);
            foreach (var point in path.Points)
            {
                Assert.NotEqual(0.0, point.Coefficients[1]);
                AssertKkt(x, cols, target, null, point, factors, 1, true, true, 1e-7);
            }
        }
    }

    /// <summary>
    /// Both subproblem solvers reach the same objective at every lambda, and the same coefficients where they are well
    /// determined (rows outnumber features); with more features than rows and a small ridge part the optimum is flat,
    /// and coefficients agree more loosely.
    /// </summary>
    [Fact]
    public void GramAndNaiveSubproblemsAgree()
    {
        foreach (var (n, p, seed, coefTol) in new[] { (60, 150, 16, 1e-4), (500, 20, 17, 1e-6) })
        {
            var (x, cols, target) = Problem(new Random(seed), n, p, rho: 0.3, signal: 1.0);
            double[] v = LambdaGrid.RescalePenaltyFactors(null, p);
            var settings = new PathSettings { Alpha = 0.6, PenaltyFactors = v, Generate = new LambdaPathSpec(40), Tolerance = 1e-14 };
            var gram = Fit(x, cols, target, null, settings, Mode.Gram);
            var naive = Fit(x, cols, target, null, settings, Mode.Naive);
            var auto = Fit(x, cols, target, null, settings, Mode.Auto);
            Assert.Equal(gram.Lambdas, naive.Lambdas);
            Assert.Equal(gram.Lambdas, auto.Lambdas);
            for (int l = 0; l < gram.Points.Length; l++)
            {
                var a = gram.Points[l];
                var b = naive.Points[l];
                double fa = Objective(gram, a, v, 0.6), fb = Objective(naive, b, v, 0.6);
                Assert.True(Math.Abs(fa - fb) <= 1e-10 * fa, $"n={n} p={p} lambda {l}: objective gram {fa} naive {fb}");
                double scale = Math.Max(1, a.StandardizedCoefficients.Max(Math.Abs));
                Assert.Equal(a.Intercept, b.Intercept, coefTol * Math.Max(1, Math.Abs(a.Intercept)));
                for (int j = 0; j < p; j++)
                    Assert.True(Math.Abs(a.StandardizedCoefficients[j] - b.StandardizedCoefficients[j]) <= coefTol * scale,
                        $"n={n} p={p} lambda {l} feature {j}: gram {a.StandardizedCoefficients[j]} naive {b.StandardizedCoefficients[j]}");
            }
        }
    }

    /// <summary>The penalized objective of a point: mean negative log-likelihood (from the deviance ratio) plus the penalty.</summary>
    private static double Objective(PathFit fit, PathPoint point, double[] v, double alpha)
    {
        double penalty = 0;
        for (int j = 0; j < v.Length; j++)
        {
            double b = point.StandardizedCoefficients[j];
            penalty += v[j] * ((1 - alpha) / 2 * b * b + alpha * Math.Abs(b));
        }
        return (1 - point.DevianceRatio) * fit.NullDeviance / 2 + point.Lambda * penalty;
    }

    /// <summary>The deviance ratio of every point is that of its coefficients, however the solver reached them.</summary>
    [Theory]
    [InlineData("Gram")]
    [InlineData("Naive")]
    public void DevianceRatioIsThatOfTheCoefficients(string mode)
    {
        var (x, cols, target) = Problem(new Random(26), 3000, 8, rho: 0.3, signal: 1.0);
        var fit = Fit(x, cols, target, null, new PathSettings { Alpha = 0.5, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 8), Generate = new LambdaPathSpec() },
                      Enum.Parse<Mode>(mode));
        var y = x.Column(target).ToArray();
        foreach (var point in fit.Points)
        {
            double loss = 0;
            for (int i = 0; i < x.Rows; i++)
            {
                double eta = point.Intercept;
                for (int j = 0; j < 8; j++) eta += point.Coefficients[j] * x[i, j];
                loss += Math.Log(1 + Math.Exp(eta)) - y[i] * eta;
            }
            double ratio = 1 - 2 * loss / x.Rows / fit.NullDeviance;
            Assert.Equal(ratio, point.DevianceRatio, 1e-10);
        }
    }

    [Fact]
    public void RowSubsetEqualsTheSameRowsCopied()
    {
        var rng = new Random(18);
        var (x, cols, target) = Problem(rng, 300, 7, rho: 0.3, signal: 1.0);
        int[] rows = Enumerable.Range(0, 300).Where(_ => rng.NextDouble() < 0.6).ToArray();
        var copy = new DenseMatrix(rows.Length, x.Columns);
        for (int c = 0; c < x.Columns; c++)
            for (int i = 0; i < rows.Length; i++) copy[i, c] = x[rows[i], c];
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 7), Generate = new LambdaPathSpec(30) };
        var a = Fit(x, cols, target, rows, settings);
        var b = Fit(copy, cols, target, null, settings);
        Assert.Equal(b.Lambdas, a.Lambdas);
        Assert.Equal(b.FeatureMeans, a.FeatureMeans);
        for (int l = 0; l < a.Points.Length; l++)
        {
            Assert.Equal(b.Points[l].Intercept, a.Points[l].Intercept, 1e-12);
            for (int j = 0; j < 7; j++) Assert.Equal(b.Points[l].Coefficients[j], a.Points[l].Coefficients[j], 1e-12);
        }
    }

    /// <summary>Big enough that passes, exact gradients and Gram builds run in parallel: the same bits with 1 or 3 threads.</summary>
    [Fact]
    public void ResultDoesNotDependOnThreads()
    {
        var (x, cols, target) = Problem(new Random(19), 40_000, 30, rho: 0.3, signal: 1.0);
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 30), Generate = new LambdaPathSpec(15), MaxThreads = 1 };
        var one = Fit(x, cols, target, null, settings);
        var three = Fit(x, cols, target, null, settings with { MaxThreads = 3 });
        Assert.Equal(one.Lambdas, three.Lambdas);
        for (int l = 0; l < one.Points.Length; l++)
        {
            Assert.Equal(one.Points[l].Coefficients, three.Points[l].Coefficients);
            Assert.Equal(one.Points[l].Intercept, three.Points[l].Intercept);
            Assert.Equal(one.Points[l].DevianceRatio, three.Points[l].DevianceRatio);
        }
    }

    // ------------------------------------------------------------------------------------------
    // glmnet's conventions
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// A small fixed case checked against R glmnet 4.1-6 (see the comment of <see cref="SmallCase"/> for the R code):
    /// <c>glmnet(X, y, family = "binomial", alpha = 0.5, thresh = 1e-14)</c>.
    /// </summary>
    [Fact]
    public void SmallCaseMatchesGlmnet()
    {
        var (x, cols, target) = SmallCase();
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 4), Generate = new LambdaPathSpec(), Tolerance = 1e-14 };
        foreach (var mode in new[] { Mode.Gram, Mode.Naive })
        {
            var fit = Fit(x, cols, target, null, settings, mode);
            Assert.Equal(GlmnetSmall.Lambdas.Length, fit.Points.Length);
            for (int l = 0; l < fit.Points.Length; l++)
            {
                Assert.Equal(GlmnetSmall.Lambdas[l], fit.Lambdas[l], 1e-9 * GlmnetSmall.Lambdas[l]);
                Assert.Equal(GlmnetSmall.DevRatio[l], fit.Points[l].DevianceRatio, 1e-8);
            }
            foreach (var (l, expected) in GlmnetSmall.Coefficients)
            {
                var point = fit.Points[l];
                Assert.Equal(expected[0], point.Intercept, 1e-6 * Math.Max(1, Math.Abs(expected[0])));
                for (int j = 0; j < 4; j++)
                    Assert.Equal(expected[j + 1], point.Coefficients[j], 1e-6 * Math.Max(1e-2, Math.Abs(expected[j + 1])));
            }
        }
    }

    [Fact]
    public void GeneratedPathStopsLikeGlmnet()
    {
        var (x, cols, target) = SmallCase();
        foreach (var (alpha, length) in GlmnetSmall.DefaultLengths)
        {
            foreach (var mode in new[] { Mode.Gram, Mode.Naive })
            {
                var fit = Fit(x, cols, target, null, new PathSettings { Alpha = alpha, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 4), Generate = new LambdaPathSpec() }, mode);
                Assert.Equal(length, fit.Points.Length);
                Assert.True(fit.StoppedEarly);
            }
        }
    }

    [Fact]
    public void NullDevianceIsThatOfTheInterceptOnlyModel()
    {
        var (x, cols, target) = Problem(new Random(20), 200, 3, rho: 0, signal: 1);
        var fit = Fit(x, cols, target, null, new PathSettings { Alpha = 1, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 3), Lambdas = [0.01] });
        double f = x.Column(target).ToArray().Average();
        Assert.Equal(-2 * (f * Math.Log(f) + (1 - f) * Math.Log(1 - f)), fit.NullDeviance, 1e-12);

        // Without an intercept glmnet's null model is p = 1/2.
        var origin = Fit(x, cols, target, null, new PathSettings { Alpha = 1, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 3), Lambdas = [0.01], FitIntercept = false });
        Assert.Equal(2 * Math.Log(2), origin.NullDeviance, 1e-12);
        Assert.Equal(0.0, origin.Points[0].Intercept);
        Assert.All(origin.FeatureMeans, m => Assert.Equal(0.0, m));
    }

    [Fact]
    public void ZeroVarianceFeatureGetsZeroAndAWarning()
    {
        var (x, cols, target) = Problem(new Random(21), 200, 4, rho: 0.2, signal: 1);
        var wide = new DenseMatrix(200, x.Columns + 1);
        Array.Copy(x.Data, wide.Data, x.Data.Length);
        wide.Column(x.Columns).Fill(3.25);
        int[] withConstant = [.. cols, x.Columns];
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 5), Generate = new LambdaPathSpec(20) };
        var fit = BinomialPath.Fit(wide, withConstant, target, null, ["a", "b", "c", "d", "flat"], settings, null, default);
        Assert.Contains(fit.Warnings, w => w.Contains("'flat'") && w.Contains("zero variance"));
        Assert.All(fit.Points, p => Assert.Equal(0.0, p.Coefficients[4]));
        Assert.True(fit.Points[^1].NonZero > 0);
    }

    // ------------------------------------------------------------------------------------------
    // Separation, limits, bad input
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void SeparationIsAWarningNotAnExceptionOrAHang()
    {
        // y = 1 exactly when x0 > 0: perfectly separable.
        var rng = new Random(22);
        int n = 200;
        var x = new DenseMatrix(n, 3);
        for (int i = 0; i < n; i++)
        {
            double v = rng.NextDouble() * 2 - 1;
            if (Math.Abs(v) < 0.05) v = Math.Sign(v + 1e-9) * 0.05;
            x[i, 0] = v;
            x[i, 1] = rng.NextDouble();
            x[i, 2] = v > 0 ? 1 : 0;
        }
        double[] factors = LambdaGrid.RescalePenaltyFactors(null, 2);
        foreach (var mode in new[] { Mode.Gram, Mode.Naive })
        {
            var started = DateTime.UtcNow;
            var generated = Fit(x, [0, 1], 2, null, new PathSettings { Alpha = 1, PenaltyFactors = factors, Generate = new LambdaPathSpec() }, mode);
            Assert.True(generated.StoppedEarly);
            Assert.Contains(generated.Warnings, w => w.Contains("separable"));
            Assert.True(generated.Points[^1].DevianceRatio > 0.99);

            var unpenalized = Fit(x, [0, 1], 2, null, new PathSettings { Alpha = 1, PenaltyFactors = factors, Lambdas = [0.01, 0] }, mode);
            Assert.False(unpenalized.Points[^1].Converged);
            Assert.Contains(unpenalized.Warnings, w => w.Contains("lambda 0") && (w.Contains("separable") || w.Contains("Newton steps")));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public void PassLimitMarksPointsNotConverged()
    {
        var (x, cols, target) = Problem(new Random(23), 300, 10, rho: 0.5, signal: 1);
        var fit = Fit(x, cols, target, null, new PathSettings
        {
            Alpha = 0.5, PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 10), Lambdas = [0.05, 0.001], MaxIterations = 1, Tolerance = 1e-14,
        });
        Assert.Contains(fit.Points, p => !p.Converged);
        Assert.Contains(fit.Warnings, w => w.Contains("no convergence"));
    }

    [Fact]
    public void BadInputIsRejected()
    {
        var (x, cols, target) = Problem(new Random(24), 50, 2, rho: 0, signal: 1);
        var settings = new PathSettings { Alpha = 1, PenaltyFactors = [1, 1], Lambdas = [0.1] };
        var names = new[] { "a", "b" };
        var bad = new DenseMatrix(50, 3);
        Array.Copy(x.Data, bad.Data, x.Data.Length);
        bad[7, 2] = 2;
        var e = Assert.Throws<ArgumentException>(() => BinomialPath.Fit(bad, cols, 2, null, names, settings, null, default));
        Assert.Contains("row 7", e.Message);
        bad.Column(2).Fill(1);
        Assert.Throws<ArgumentException>(() => BinomialPath.Fit(bad, cols, 2, null, names, settings, null, default));
        Assert.Throws<ArgumentException>(() => BinomialPath.Fit(x, cols, target, null, names, settings with { PenaltyFactors = [1] }, null, default));
        Assert.Throws<ArgumentException>(() => BinomialPath.Fit(x, cols, target, null, names, settings with { Lambdas = [-1] }, null, default));
        Assert.Throws<ArgumentException>(() => BinomialPath.Fit(x, cols, target, [0, 50], names, settings, null, default));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => BinomialPath.Fit(x, cols, target, null, names, settings, null, cts.Token));
    }

    [Fact]
    public void ProgressIsReportedPerLambda()
    {
        var (x, cols, target) = Problem(new Random(25), 100, 3, rho: 0, signal: 1);
        var reports = new List<FitProgress>();
        var progress = new SyncProgress(reports.Add);
        var fit = BinomialPath.Fit(x, cols, target, null, ["a", "b", "c"],
            new PathSettings { Alpha = 1, PenaltyFactors = [1, 1, 1], Lambdas = [0.1, 0.05, 0.01] }, progress, default);
        Assert.Equal(3, reports.Count);
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.Equal(BinomialPath.SolverName, "proximalNewton");
        Assert.Equal(3, fit.Points.Length);
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    private sealed class SyncProgress(Action<FitProgress> report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report(value);
    }

    private static PathFit Fit(DenseMatrix x, int[] cols, int target, int[]? rows, PathSettings settings, Mode mode = Mode.Auto)
        => BinomialPath.Fit(x, cols, target, rows, cols.Select(c => $"x{c}").ToArray(), settings, null, default, mode);

    /// <summary>Equicorrelated gaussian features with nonzero means and unequal scales; y ~ Bernoulli(logistic(signal * x.beta)).</summary>
    internal static (DenseMatrix X, int[] Cols, int Target) Problem(Random rng, int n, int p, double rho, double signal)
    {
        var x = new DenseMatrix(n, p + 1);
        var beta = new double[p];
        for (int j = 0; j < Math.Min(p, 5); j++) beta[j] = (j % 2 == 0 ? 1 : -1) * (0.5 + 0.25 * j);
        var scale = Enumerable.Range(0, p).Select(j => 0.5 + (j % 4)).ToArray();
        var mean = Enumerable.Range(0, p).Select(j => (j % 3) - 1.0).ToArray();
        for (int i = 0; i < n; i++)
        {
            double common = Gaussian(rng), eta = 0;
            for (int j = 0; j < p; j++)
            {
                double z = Math.Sqrt(rho) * common + Math.Sqrt(1 - rho) * Gaussian(rng);
                x[i, j] = mean[j] + scale[j] * z;
                eta += beta[j] * z;
            }
            x[i, p] = rng.NextDouble() < 1 / (1 + Math.Exp(-signal * eta)) ? 1 : 0;
        }
        return (x, Enumerable.Range(0, p).ToArray(), p);
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>The gradient of -(1/n) loglik on the standardized scale (1/n sd about the mean computed here, also without an
    /// intercept, as glmnet's lognet), and in the intercept.</summary>
    private static (double[] Features, double Intercept) StandardizedGradient(
        DenseMatrix x, int[] cols, int target, int[]? rows, double b0, double[] b, bool standardize, bool intercept)
    {
        int n = rows?.Length ?? x.Rows, p = cols.Length;
        var r = new double[n];
        double g0 = 0;
        for (int i = 0; i < n; i++)
        {
            int row = rows is null ? i : rows[i];
            double eta = b0;
            for (int j = 0; j < p; j++) eta += b[j] * x[row, cols[j]];
            r[i] = x[row, target] - 1 / (1 + Math.Exp(-eta));
            g0 += r[i];
        }
        var g = new double[p];
        for (int j = 0; j < p; j++)
        {
            double m = 0, ss = 0, s = 0;
            for (int i = 0; i < n; i++) m += x[rows is null ? i : rows[i], cols[j]];
            m /= n;
            double center = intercept ? m : 0;
            for (int i = 0; i < n; i++)
            {
                double xi = x[rows is null ? i : rows[i], cols[j]];
                ss += (xi - m) * (xi - m);   // the sd about the mean, with or without an intercept (glmnet's)
                s += (xi - center) * r[i];
            }
            double scale = standardize ? Math.Sqrt(ss / n) : 1;
            g[j] = s / (n * scale);
        }
        return (g, g0 / n);
    }

    internal static (double Features, double Intercept) KktResidual(DenseMatrix x, int[] cols, int target, PathPoint point, double[] v, double alpha)
    {
        var (g, g0) = StandardizedGradient(x, cols, target, null, point.Intercept, point.Coefficients, true, true);
        double worst = 0;
        for (int j = 0; j < g.Length; j++)
        {
            double b = point.StandardizedCoefficients[j];
            worst = Math.Max(worst, b == 0 ? Math.Max(Math.Abs(g[j]) - point.Lambda * alpha * v[j], 0)
                : Math.Abs(g[j] - point.Lambda * (alpha * v[j] * Math.Sign(b) + (1 - alpha) * v[j] * b)));
        }
        return (worst, Math.Abs(g0));
    }

    private static void AssertKkt(DenseMatrix x, int[] cols, int target, int[]? rows, PathPoint point, double[] v, double alpha,
                                  bool standardize, bool intercept, double tol)
    {
        var (g, g0) = StandardizedGradient(x, cols, target, rows, point.Intercept, point.Coefficients, standardize, intercept);
        if (intercept) Assert.True(Math.Abs(g0) <= tol, $"lambda {point.Lambda}: intercept gradient {g0}");
        else Assert.Equal(0.0, point.Intercept);
        for (int j = 0; j < g.Length; j++)
        {
            double b = point.StandardizedCoefficients[j];
            if (b == 0)
            {
                Assert.True(Math.Abs(g[j]) <= point.Lambda * alpha * v[j] + tol,
                    $"lambda {point.Lambda}: zero coefficient {j} with |g| {Math.Abs(g[j])} > {point.Lambda * alpha * v[j]}");
            }
            else
            {
                double expected = point.Lambda * (alpha * v[j] * Math.Sign(b) + (1 - alpha) * v[j] * b);
                Assert.True(Math.Abs(g[j] - expected) <= tol,
                    $"lambda {point.Lambda}: coefficient {j} = {b} with g {g[j]} but lambda (alpha v sign + (1 - alpha) v b) = {expected}");
            }
        }
    }

    /// <summary>Plain Newton-Raphson for unpenalized logistic regression with an intercept (dense normal equations).</summary>
    private static (double B0, double[] B) NewtonLogistic(DenseMatrix x, int[] cols, int target, int[]? rows)
    {
        int n = rows?.Length ?? x.Rows, p = cols.Length;
        var design = Matrix<double>.Build.Dense(n, p + 1, (i, j) => j == 0 ? 1 : x[rows is null ? i : rows[i], cols[j - 1]]);
        var y = Vector<double>.Build.Dense(n, i => x[rows is null ? i : rows[i], target]);
        var beta = Vector<double>.Build.Dense(p + 1);
        for (int iteration = 0; iteration < 100; iteration++)
        {
            var eta = design * beta;
            var prob = eta.Map(t => 1 / (1 + Math.Exp(-t)));
            var w = prob.Map(q => q * (1 - q));
            var gradient = design.TransposeThisAndMultiply(y - prob);
            var hessian = design.TransposeThisAndMultiply(Matrix<double>.Build.DenseOfDiagonalVector(w) * design);
            var step = hessian.Solve(gradient);
            beta += step;
            if (step.AbsoluteMaximum() < 1e-14) break;
        }
        return (beta[0], beta.SubVector(1, p).ToArray());
    }

    /// <summary>R glmnet 4.1-6 on <see cref="SmallCase"/>: alpha 0.5, thresh 1e-14 (66 lambdas); default-thresh path lengths.</summary>
    private static class GlmnetSmall
    {
        public static readonly double[] Lambdas = [0.44919011133703801, 0.40928529986567902, 0.37292552186316658, 0.33979584632665, 0.30960931985558565, 0.2821044811986575, 0.25704309660149899, 0.23420809633988177, 0.2134016945656087, 0.19444367618011585, 0.17716983589750207, 0.16143055597689693, 0.14708951030516518, 0.13402248360533195, 0.12211629554327723, 0.11126782041382612, 0.1013830939152251, 0.092376499275311982, 0.084170025679993765, 0.076692592580894628, 0.069879434029650273, 0.063671537706246645, 0.058015133782534992, 0.05286122919370341, 0.048165183283787362, 0.043886321149663385, 0.039987581334496779, 0.036435194819132377, 0.033198392531005448, 0.030249138837154795, 0.027561888712982048, 0.025113366483469117, 0.022882364220416073, 0.020849558049512766, 0.018997340776183935, 0.017309669380492922, 0.015771926060177823, 0.014370791618241336, 0.013094130098438147, 0.011930883669427685, 0.010870976847129012, 0.0099052292256977415, 0.0090252759612424478, 0.0082234953195485395, 0.0074929426602626734, 0.0068272902857402637, 0.006220772633555605, 0.0056681363379583356, 0.005164594727732473, 0.0047057863663402446, 0.0042877372752452708, 0.0039068265132115995, 0.003559754813442948, 0.0032435160069120557, 0.0029553709843626948, 0.0026928239714556594, 0.0024536009115653963, 0.0022356297689894032, 0.002037022581966219, 0.0018560591100538302, 0.00169117193422991, 0.0015409328806580878, 0.0014040406505294034, 0.0012793095488345557, 0.0011656592144409568, 0.0010621052625214384];

        public static readonly double[] DevRatio = [0, 0.017292809491858494, 0.033780713524256135, 0.049420524199184135, 0.065748043502004194, 0.088390612584696104, 0.10951324014810855, 0.12916560939996086, 0.14740593188744641, 0.16429798517596886, 0.1799087752345635, 0.19430671295462135, 0.20756031038297268, 0.21973719088506952, 0.23090342081872922, 0.24112305997814362, 0.25070795186379513, 0.26081169411876781, 0.26997649421007158, 0.27893363672617871, 0.28703028476078019, 0.294315842893285, 0.30086168320438739, 0.30673330249305653, 0.31199089792713469, 0.31668986980771568, 0.32088125785178889, 0.32461211835577464, 0.32792584985248885, 0.33086247470905783, 0.33345888370104737, 0.33574905003916494, 0.33776421868425732, 0.33953307625657025, 0.34108190500937108, 0.34243472694382254, 0.34361343799914545, 0.34463793691991323, 0.3455262496323343, 0.34629465042265867, 0.3469577805716606, 0.3475287646869552, 0.34801932464892871, 0.3484398908473369, 0.34879971023015294, 0.34910695060597569, 0.34936880049574115, 0.34959156479685954, 0.34978075375561318, 0.34994116766497385, 0.35007697491723511, 0.3501917841500975, 0.3502887103256106, 0.35037043483196628, 0.35043925978734458, 0.35049715679783344, 0.35054581040973903, 0.35058665702178848, 0.35062091854729122, 0.35064963270185673, 0.35067367913822867, 0.35069380228439734, 0.3507106311116307, 0.35072469646869675, 0.35073644552182687, 0.35074625466314119];

        /// <summary>(lambda index, [intercept, b1..b4]) on the original scale.</summary>
        public static readonly (int, double[])[] Coefficients =
        [
            (0, [-0.84729786038720367, 0, 0, 0, 0]),
            (1, [-0.84530452086232577, 0.039297054714707659, 0, 0, 0]),
            (9, [-0.89392379770409469, 0.33750296454750206, 0, 0.068397412594657134, 0]),
            (29, [-0.91541576431272575, 0.90982030682941251, -0.3398817034204149, 0.27720841293834431, -0.06071045855331185]),
            (49, [-0.94775747333854932, 1.1827453480203465, -0.49965711608056429, 0.37207853121545392, -0.11459836811394462]),
            (65, [-0.96290407279149703, 1.2435967897070737, -0.52634579293959671, 0.39271674164936626, -0.12654217640847529]),
        ];

        /// <summary>Path lengths at the default thresh: alpha 1 gives 59, alpha 0.5 gives 66, alpha 0.2 gives 77.</summary>
        public static readonly (double Alpha, int Length)[] DefaultLengths = [(1, 59), (0.5, 66), (0.2, 77)];
    }

    /// <summary>
    /// 40 rows, 4 features and a 0/1 target, all exact in binary, so R builds the same data:
    /// <code>
    /// i &lt;- 0:39
    /// X &lt;- cbind(((i * 7 + 3) %% 17) / 4 - 2, ((i * 11 + 5) %% 13) / 8, ((i * 5 + 1) %% 19) / 2 - 4, ((i * 3) %% 7) - 3 + ((i * 13) %% 5) / 4)
    /// y &lt;- as.numeric(((i * 5 + 3) %% 11 &lt; 1) != (X[, 1] - X[, 2] + X[, 3] / 4 &gt; 0))
    /// fit &lt;- glmnet(X, y, family = "binomial", alpha = 0.5, thresh = 1e-14)
    /// </code>
    /// </summary>
    private static (DenseMatrix X, int[] Cols, int Target) SmallCase()
    {
        var x = new DenseMatrix(40, 5);
        for (int i = 0; i < 40; i++)
        {
            x[i, 0] = ((i * 7 + 3) % 17) / 4.0 - 2;
            x[i, 1] = ((i * 11 + 5) % 13) / 8.0;
            x[i, 2] = ((i * 5 + 1) % 19) / 2.0 - 4;
            x[i, 3] = ((i * 3) % 7) - 3 + ((i * 13) % 5) / 4.0;
            bool noise = (i * 5 + 3) % 11 < 1;
            bool signal = x[i, 0] - x[i, 1] + x[i, 2] / 4 > 0;
            x[i, 4] = noise != signal ? 1 : 0;
        }
        return (x, [0, 1, 2, 3], 4);
    }
}
