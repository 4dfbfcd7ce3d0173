using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

public class CoordinateDescentTests
{
    /// <summary>Columns with mean 0 and (1/n) variance 1 that are mutually orthogonal (a scaled Hadamard design).</summary>
    private static DenseMatrix Orthogonal(int n, int p, Random rng)
    {
        var x = new DenseMatrix(n, p + 1);
        for (int j = 0; j < p; j++)
            for (int i = 0; i < n; i++)
                x[i, j] = (System.Numerics.BitOperations.PopCount((uint)(i & (j + 1))) % 2 == 0) ? 1.0 : -1.0;
        for (int i = 0; i < n; i++) x[i, p] = 2 * x[i, 0] - x[i, 1] + 0.3 * x[i, 2] + 0.5 * SyntheticData.Normal(rng) + 4;
        return x;
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(0.1)]
    public void OrthogonalDesignGivesSoftThresholdedLeastSquares(double alpha)
    {
        const int n = 64, p = 7;
        var x = Orthogonal(n, p, new Random(3));
        var lambdas = new[] { 1.5, 0.8, 0.3, 0.05, 0.0 };
        var spec = SyntheticData.Spec(p, alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet, alpha, lambdas);
        foreach (bool naive in new[] { false, true })
        {
            var fit = Run(x, spec, naive);
            double yMean = Enumerable.Range(0, n).Average(i => x[i, p]);
            for (int l = 0; l < lambdas.Length; l++)
            {
                for (int j = 0; j < p; j++)
                {
                    double c = Enumerable.Range(0, n).Sum(i => x[i, j] * x[i, p]) / n;
                    double soft = Math.Sign(c) * Math.Max(Math.Abs(c) - lambdas[l] * alpha, 0);
                    double expected = soft / (1 + lambdas[l] * (1 - alpha));
                    Assert.Equal(expected, fit.Points[l].Coefficients[j], 1e-10);
                }
                Assert.Equal(yMean, fit.Points[l].Intercept, 1e-10);
            }
        }
    }

    [Fact]
    public void GeneratedPathStartsAtLambdaMaxWithAllZerosAndDecreases()
    {
        var x = SyntheticData.Gaussian(150, 12, seed: 5);
        var spec = SyntheticData.Spec(12, Penalty.Lasso);
        var fit = Run(x, spec, naive: false);
        Assert.All(fit.Points[0].Coefficients, b => Assert.Equal(0.0, b));
        Assert.True(fit.Points[1].NonZero >= 1);
        for (int l = 1; l < fit.Lambdas.Length; l++) Assert.True(fit.Lambdas[l] < fit.Lambdas[l - 1]);
        // lambda_max = max_j |z_j'y|/n: the first feature to enter has |g_j| equal to it.
        var stats = Standardization(x, spec);
        double lambdaMax = Enumerable.Range(0, 12).Max(j =>
            Math.Abs(Enumerable.Range(0, 150).Sum(i => (x[i, j] - stats.Means[j]) * x[i, 12]) / (150 * stats.Scales[j])));
        Assert.Equal(lambdaMax, fit.Lambdas[0], 1e-10 * lambdaMax);
        Assert.Equal(lambdaMax * 1e-4, LambdaGrid.Geometric(lambdaMax, 100, 1e-4)[^1], 1e-12 * lambdaMax);

        // Just above lambda_max, an explicit lambda gives all zeros too.
        var above = Run(x, spec with { Lambdas = [lambdaMax * 1.0001], Path = null }, naive: true);
        Assert.All(above.Points[0].Coefficients, b => Assert.Equal(0.0, b));
    }

    public static TheoryData<string, int, int, bool, bool, bool, double> KktCases => new()
    {
        // name, n, p, naive, standardize, intercept, alpha
        { "covariance lasso", 200, 30, false, true, true, 1.0 },
        { "covariance enet unstandardized", 200, 30, false, false, true, 0.5 },
        { "covariance enet no intercept", 120, 10, false, true, false, 0.3 },
        { "naive lasso p>n", 50, 120, true, true, true, 1.0 },
        { "naive enet p>n unstandardized", 40, 90, true, false, true, 0.6 },
        { "naive lasso no intercept", 60, 80, true, true, false, 1.0 },
        // Wide enough that the single-precision screen settles most of each KKT check.
        { "naive lasso wide, screened", 120, 3000, true, true, true, 1.0 },
        { "naive enet wide, screened, unstandardized", 100, 1500, true, false, true, 0.5 },
    };

    [Theory]
    [MemberData(nameof(KktCases))]
    public void KktConditionsHoldAtEveryLambdaOfThePath(string name, int n, int p, bool naive, bool standardize, bool intercept, double alpha)
    {
        var x = SyntheticData.Gaussian(n, p, seed: name.Length);
        var factors = Enumerable.Range(0, p).Select(j => j == 2 ? 0.0 : j % 3 == 0 ? 2.0 : 1.0).ToArray();
        var spec = SyntheticData.Spec(p, alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet, alpha) with
        {
            Standardize = standardize,
            FitIntercept = intercept,
            PenaltyFactors = factors,
        };
        var fit = Run(x, spec, naive);
        var v = LambdaGrid.RescalePenaltyFactors(factors, p);
        double sdY = Math.Sqrt(fit.NullDeviance);
        Assert.True(fit.Points.Length >= 5, $"{name}: {fit.Points.Length} lambdas");
        foreach (var point in fit.Points)
        {
            Assert.True(point.Converged);
            double violation = SyntheticData.KktViolation(x, spec, fit.FeatureMeans, fit.FeatureScales, v, point);
            Assert.True(violation < 1e-6 * sdY, $"{name}: KKT violated by {violation:G3} at lambda {point.Lambda:G4}");
            // The gap is on the objective's scale: relative to the null deviance per row, as the tolerance is.
            Assert.True(point.DualityGap is null || point.DualityGap / fit.NullDeviance < 1e-6, $"{name}: duality gap {point.DualityGap:G3} at lambda {point.Lambda:G4}");
        }
        // The unpenalized feature is in the model from the first lambda on.
        Assert.NotEqual(0.0, fit.Points[0].Coefficients[2]);
    }

    [Fact]
    public void CovarianceAndNaiveFormsAgree()
    {
        // The same problem in both forms. Their iterates differ (the covariance form's active passes are extrapolated), so
        // they are compared near the solution, at a tight tolerance.
        var x = SyntheticData.Gaussian(300, 25, seed: 11);
        var spec = SyntheticData.Spec(25, Penalty.ElasticNet, 0.7) with { Tolerance = 1e-22 };
        var covariance = Run(x, spec, naive: false);
        var naive = Run(x, spec with { Lambdas = covariance.Lambdas, Path = null }, naive: true);
        for (int l = 0; l < covariance.Points.Length; l++)
        {
            for (int j = 0; j < 25; j++)
                Assert.Equal(covariance.Points[l].Coefficients[j], naive.Points[l].Coefficients[j], 1e-8);
            Assert.Equal(covariance.Points[l].Intercept, naive.Points[l].Intercept, 1e-8);
            Assert.Equal(covariance.Points[l].DevianceRatio, naive.Points[l].DevianceRatio, 1e-9);
        }
    }

    [Fact]
    public void ElasticNetNearZeroL1RatioApproachesTheRidgeClosedForm()
    {
        var x = SyntheticData.Gaussian(200, 15, seed: 13);
        var lambdas = new[] { 2.0, 0.5, 0.1 };
        var ridge = Run(x, SyntheticData.Spec(15, Penalty.Ridge, 0, lambdas), naive: false, closedForm: true);
        double previous = double.PositiveInfinity;
        foreach (var alpha in new[] { 1e-2, 1e-4, 1e-6 })
        {
            var enet = Run(x, SyntheticData.Spec(15, Penalty.ElasticNet, alpha, lambdas), naive: false);
            double gap = 0;
            for (int l = 0; l < lambdas.Length; l++)
                for (int j = 0; j < 15; j++)
                    gap = Math.Max(gap, Math.Abs(enet.Points[l].Coefficients[j] - ridge.Points[l].Coefficients[j]));
            Assert.True(gap < previous / 10, $"l1Ratio {alpha}: distance {gap:G3} did not shrink from {previous:G3}");
            previous = gap;
        }
        Assert.True(previous < 1e-5);
    }

    [Fact]
    public void PathStopsEarlyWhenTheDevianceRatioSaturates()
    {
        // p > n: the path reaches a perfect fit and glmnet's rule ends it.
        var x = SyntheticData.Gaussian(30, 60, seed: 17, noise: 0.01);
        var fit = Run(x, SyntheticData.Spec(60, Penalty.Lasso), naive: true);
        Assert.True(fit.StoppedEarly);
        Assert.True(fit.Points.Length < 100);
        Assert.True(fit.Points[^1].DevianceRatio > 0.999 || fit.Points[^1].DevianceRatio - fit.Points[^2].DevianceRatio < 1e-5 * fit.Points[^1].DevianceRatio);
    }

    [Fact]
    public void IterationLimitIsReportedNotHidden()
    {
        var x = SyntheticData.Gaussian(200, 40, seed: 19, rho: 0.95);
        var spec = SyntheticData.Spec(40, Penalty.Lasso) with { MaxIterations = 2 };
        var fit = Run(x, spec, naive: false);
        Assert.Contains(fit.Points, p => !p.Converged);
    }

    internal static PathFit Run(DenseMatrix x, FitSpec spec, bool naive, bool closedForm = false)
    {
        var settings = PathFitter.Settings(spec, 2);
        if (naive) return GaussianPath.Naive(x, spec.FeatureColumns, spec.TargetColumn, spec.FeatureNames, settings);
        int k = spec.FeatureColumns.Length + 1;
        var cols = spec.FeatureColumns.Append(spec.TargetColumn).ToArray();
        var shift = new double[k];
        if (spec.FitIntercept)
            for (int a = 0; a < k; a++) shift[a] = Enumerable.Range(0, x.Rows).Average(i => x[i, cols[a]]);
        var gram = new double[k * k];
        var sums = new double[k];
        GramKernel.ShiftedGram(x, cols, shift, null, gram, sums, 2);
        return closedForm
            ? ClosedFormRidge.FromGram(gram, sums, shift, x.Rows, spec.FeatureNames, settings)
            : GaussianPath.FromGram(gram, sums, shift, x.Rows, spec.FeatureNames, settings);
    }

    private static (double[] Means, double[] Scales) Standardization(DenseMatrix x, FitSpec spec)
    {
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var means = new double[p];
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            means[j] = Enumerable.Range(0, n).Average(i => x[i, j]);
            scales[j] = Math.Sqrt(Enumerable.Range(0, n).Sum(i => (x[i, j] - means[j]) * (x[i, j] - means[j])) / n);
        }
        return (means, scales);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(7, 3)]
    [InlineData(50, 1)]
    [InlineData(200, 37)]
    [InlineData(200, 199)]
    [InlineData(1000, 500)]
    public void SelectSmallestPutsTheKSmallestFirst(int length, int k)
    {
        var rng = new Random(length * 31 + k);
        for (int trial = 0; trial < 20; trial++)
        {
            // Few distinct values in half the trials: ties at the boundary.
            var keys = Enumerable.Range(0, length).Select(_ => trial % 2 == 0 ? rng.NextDouble() : rng.Next(5)).ToArray();
            if (trial % 5 == 0) keys[rng.Next(length)] = double.PositiveInfinity;
            var items = Enumerable.Range(0, length).ToArray();
            var original = (double[])keys.Clone();
            CoordinateDescent.SelectSmallest(keys, items, k);
            var sorted = original.Order().ToArray();
            Assert.Equal(sorted.Take(k), keys.Take(k).Order());
            Assert.Equal(sorted.Skip(k), keys.Skip(k).Order());
            // Items moved with their keys, each exactly once.
            Assert.Equal(Enumerable.Range(0, length), items.Order());
            for (int s = 0; s < length; s++) Assert.Equal(original[items[s]], keys[s]);
        }
    }

    /// <summary>A covariance-form coordinate store on a dense A: g = c - A b kept for every coordinate.</summary>
    private readonly struct DenseCoordinates(double[,] a, double[] c, CoefficientBounds? watch = null, int[]? outside = null) : ICoordinates
    {
        public double[] Beta { get; } = new double[c.Length];
        public double[] Gradient { get; } = (double[])c.Clone();
        public void Begin(int first) { }
        public double GradientAt(int j) => Gradient[j];
        public double Curvature(int j) => a[j, j];
        public double ChangeWeight(int j) => a[j, j];
        public void Stay(int j, double g, int next) { }
        public void Move(int j, double delta, double g, int next)
        {
            for (int k = 0; k < c.Length; k++) Gradient[k] -= delta * a[j, k];
            // Counts every move that leaves the watched box (a pass clamps its own updates: only a jump could).
            if (watch is not null && (Beta[j] < watch.Lower[j] || Beta[j] > watch.Upper[j])) outside![0]++;
        }
        public void BeforeKkt(bool[] inStrong, double lambda) { }
        public void Finish(List<int> strong) { }
        public double Smooth(List<int> active)
        {
            double sum = 0;
            foreach (int j in active) sum += Beta[j] * (c[j] + Gradient[j]);
            return -0.5 * sum;
        }
    }

    /// <summary>A = X'X/n and c = X'y/n of a design whose columns correlate by <paramref name="rho"/>.</summary>
    private static (double[,] A, double[] C) Quadratic(int n, int p, double rho, int seed)
    {
        var x = SyntheticData.Gaussian(n, p, seed: seed, signal: 8, rho: rho);
        var a = new double[p, p];
        var c = new double[p];
        for (int j = 0; j < p; j++)
        {
            for (int k = 0; k < p; k++)
                for (int i = 0; i < n; i++) a[j, k] += x[i, j] * x[i, k] / n;
            for (int i = 0; i < n; i++) c[j] += x[i, j] * x[i, p] / n;
        }
        return (a, c);
    }

    private static double LassoObjective(double[,] a, double[] c, double lambda, double[] b)
    {
        double value = 0;
        for (int j = 0; j < c.Length; j++)
        {
            value += lambda * Math.Abs(b[j]) - c[j] * b[j];
            for (int k = 0; k < c.Length; k++) value += 0.5 * b[j] * a[j, k] * b[k];
        }
        return value;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ExtrapolatedActivePassesReachTheSameSolutionInFewerPasses(bool bounded)
    {
        // Correlated columns: the cyclic passes converge slowly along some directions, which the extrapolation cuts short.
        const int p = 40;
        var (a, c) = Quadratic(200, p, 0.9, seed: 5);
        var v = Enumerable.Repeat(1.0, p).ToArray();
        double lambda = 0.01 * c.Max(Math.Abs);
        // Bounded: every coefficient in [-0.4, 0.4], which several of the unbounded solution's leave.
        var bounds = bounded ? new CoefficientBounds(Enumerable.Repeat(-0.4, p).ToArray(), Enumerable.Repeat(0.4, p).ToArray()) : null;
        var outside = new int[1];
        (double[] Beta, CdOutcome Outcome, (int Tried, int Taken) Extrapolations) Solve(double tolerance, bool extrapolate)
        {
            var cd = new CoordinateDescent(p, v, 1.0) { Extrapolates = extrapolate, Bounds = bounds };
            var coordinates = new DenseCoordinates(a, c, bounds, outside);
            var outcome = cd.Solve(ref coordinates, lambda, lambda, tolerance, 100_000, CancellationToken.None);
            return (coordinates.Beta, outcome, cd.Extrapolations);
        }
        var exact = Solve(1e-28, false);
        if (bounded) Assert.Contains(exact.Beta, b => Math.Abs(b) == 0.4);
        var plain = Solve(1e-20, false);
        var extrapolated = Solve(1e-20, true);
        Assert.True(plain.Outcome.Converged && extrapolated.Outcome.Converged);
        Assert.True(extrapolated.Extrapolations.Taken > 0, $"{extrapolated.Extrapolations} extrapolations tried / taken");
        Assert.True(extrapolated.Outcome.Passes < 0.7 * plain.Outcome.Passes,
            $"{extrapolated.Outcome.Passes} passes (extrapolations counted) against {plain.Outcome.Passes}");
        Assert.All(extrapolated.Beta, b => Assert.InRange(b, bounded ? -0.4 : double.MinValue, bounded ? 0.4 : double.MaxValue));
        Assert.Equal(0, outside[0]);   // no extrapolated point left the box, even for a moment
        for (int j = 0; j < p; j++) Assert.Equal(exact.Beta[j], extrapolated.Beta[j], 1e-8);
        double best = LassoObjective(a, c, lambda, exact.Beta);
        Assert.True(LassoObjective(a, c, lambda, extrapolated.Beta) - best <= 1e-12 * Math.Abs(best));
    }

    [Fact]
    public void CovarianceFormExtrapolatesAndMeasuresItsObjectiveFromTheKeptGradient()
    {
        const int p = 40;
        var (a2, c) = Quadratic(200, p, 0.9, seed: 7);
        var a = new double[p * p];
        for (int j = 0; j < p; j++)
            for (int k = 0; k < p; k++) a[j * p + k] = a2[j, k];
        var v = Enumerable.Repeat(1.0, p).ToArray();
        double lambda = 0.01 * c.Max(Math.Abs);
        var on = new CovarianceCd(a, c, p, v, 1.0);
        var off = new CovarianceCd(a, c, p, v, 1.0, extrapolate: false);
        var withOn = on.Solve(lambda, lambda, 1e-20, 100_000);
        var withOff = off.Solve(lambda, lambda, 1e-20, 100_000);
        Assert.True(withOn.Converged && withOff.Converged);
        Assert.True(on.Extrapolations.Taken > 0, $"{on.Extrapolations} extrapolations tried / kept");
        Assert.Equal((0, 0), off.Extrapolations);
        Assert.True(withOn.Passes < 0.7 * withOff.Passes, $"{withOn.Passes} passes against {withOff.Passes}");
        for (int j = 0; j < p; j++) Assert.Equal(off.Beta[j], on.Beta[j], 1e-8);
        // The objective the acceptance test reads is (1/2) b'Ab - c'b.
        double direct = 0;
        for (int j = 0; j < p; j++)
        {
            direct -= c[j] * on.Beta[j];
            for (int k = 0; k < p; k++) direct += 0.5 * on.Beta[j] * a2[j, k] * on.Beta[k];
        }
        Assert.Equal(direct, on.QuadraticPart(), 1e-12 * Math.Abs(direct));
    }

    [Fact]
    public void UnpenalizedCoordinatesAtAnEnormousLambdaStillExtrapolate()
    {
        // A path with unpenalized features starts by solving at lambda = 1e300: the penalized coordinates stay at 0 and the
        // unpenalized ones (8 of them, here about 1e8-1e9) are a least-squares fit. Their penalty term is 0, not 0 * infinity.
        const int p = 12;
        var (a, c0) = Quadratic(200, p, 0.9, seed: 9);
        var c = c0.Select(x => x * 1e9).ToArray();
        var v = Enumerable.Range(0, p).Select(j => j < 8 ? 0.0 : 1.0).ToArray();
        (CdOutcome Outcome, (int Tried, int Taken) Extrapolations, double[] Beta) Solve(bool extrapolate)
        {
            var cd = new CoordinateDescent(p, v, 1.0) { Extrapolates = extrapolate };
            var coordinates = new DenseCoordinates(a, c);
            return (cd.Solve(ref coordinates, 1e300, 1e300, 1e-10, 100_000, CancellationToken.None), cd.Extrapolations, coordinates.Beta);
        }
        var on = Solve(true);
        var off = Solve(false);
        Assert.True(on.Outcome.Converged && off.Outcome.Converged);
        Assert.Contains(on.Beta.Take(8), b => Math.Abs(b) > 1e8);
        Assert.All(on.Beta.Skip(8), b => Assert.Equal(0.0, b));
        Assert.True(on.Extrapolations.Taken > 0, $"{on.Extrapolations} extrapolations tried / kept");
        Assert.True(on.Outcome.Passes < off.Outcome.Passes, $"{on.Outcome.Passes} passes against {off.Outcome.Passes}");
    }

    [Theory]
    [InlineData(false, 1.0)]
    [InlineData(false, 0.5)]
    [InlineData(true, 1.0)]
    [InlineData(true, 0.5)]
    public void ABudgetOnlyTruncatesASolveItNeverEndsItAsConverged(bool extrapolate, double alpha)
    {
        // A solve is deterministic, so under a budget it follows the unlimited solve's steps until the budget runs out: it
        // may say converged only if it got to the unlimited solve's end, the same point after the same passes. A budget that
        // runs out in the active passes (which settle to half the tolerance, below the convergence test) or after the KKT
        // check added features must end it unconverged, and within the budget.
        const int p = 40;
        var (a, c) = Quadratic(200, p, 0.9, seed: 5);
        var v = Enumerable.Repeat(1.0, p).ToArray();
        double lambda = 0.01 * c.Max(Math.Abs), tolerance = 1e-9;
        (CdOutcome Outcome, double[] Beta) Solve(int budget)
        {
            var cd = new CoordinateDescent(p, v, alpha) { Extrapolates = extrapolate, SettleFactor = CoordinateDescent.GaussianSettle };
            var coordinates = new DenseCoordinates(a, c);
            return (cd.Solve(ref coordinates, lambda, 0.5 * lambda, tolerance, budget, CancellationToken.None), coordinates.Beta);
        }
        var full = Solve(100_000);
        Assert.True(full.Outcome.Converged);
        for (int budget = 1; budget <= full.Outcome.Passes + 2; budget++)
        {
            var (outcome, beta) = Solve(budget);
            Assert.True(outcome.Passes <= budget, $"{outcome.Passes} passes under a budget of {budget}");
            if (!outcome.Converged) continue;
            Assert.True(outcome.Passes == full.Outcome.Passes && beta.SequenceEqual(full.Beta),
                $"budget {budget}: converged after {outcome.Passes} passes; the unlimited solve converges after {full.Outcome.Passes}");
        }
    }

    [Fact]
    public void AndersonWeightsSumToOneAndEqualizeTheNormalEquations()
    {
        const int K = CoordinateDescent.AndersonDepth;
        var rng = new Random(11);
        var u = new double[K, 9];
        for (int k = 0; k < K; k++)
            for (int a = 0; a < 9; a++) u[k, a] = rng.NextDouble() - 0.5;
        var m = new double[K * K];
        for (int k = 0; k < K; k++)
            for (int l = 0; l < K; l++)
                for (int a = 0; a < 9; a++) m[k * K + l] += u[k, a] * u[l, a];
        var copy = (double[])m.Clone();
        var z = new double[K];
        Assert.True(CoordinateDescent.SolveOnes(m, z));
        Assert.Equal(1.0, z.Sum(), 1e-12);
        // M z is the same in every row (the multiplier of the constraint 1'z = 1).
        var mz = Enumerable.Range(0, K).Select(k => Enumerable.Range(0, K).Sum(l => copy[k * K + l] * z[l])).ToArray();
        Assert.All(mz, value => Assert.Equal(mz[0], value, 1e-9 * Math.Abs(mz[0])));
        // Dependent differences (a repeated row) or none at all: no weights.
        for (int l = 0; l < K; l++) { copy[(K - 1) * K + l] = copy[(K - 2) * K + l]; copy[l * K + K - 1] = copy[l * K + K - 2]; }
        copy[(K - 1) * K + K - 1] = copy[(K - 2) * K + K - 2];
        Assert.False(CoordinateDescent.SolveOnes(copy, z));
        Assert.False(CoordinateDescent.SolveOnes(new double[K * K], z));
    }

    [Fact]
    public void SettlingTheActiveSetTighterEndsNearerTheSolutionUnderTheSameConvergenceTest()
    {
        // Strongly correlated columns: the passes shrink some directions slowly, where glmnet's change rule stops short.
        const int p = 40;
        var (a, c) = Quadratic(200, p, 0.9, seed: 5);
        var v = Enumerable.Repeat(1.0, p).ToArray();
        double lambda = 0.02 * c.Max(Math.Abs);
        (double[] Beta, CdOutcome Outcome) Solve(double tolerance, double settle)
        {
            var cd = new CoordinateDescent(p, v, 1.0) { SettleFactor = settle };
            var coordinates = new DenseCoordinates(a, c);
            var outcome = cd.Solve(ref coordinates, lambda, lambda, tolerance, 100_000, CancellationToken.None);
            return (coordinates.Beta, outcome);
        }
        double Objective(double[] b) => LassoObjective(a, c, lambda, b);
        double best = Objective(Solve(1e-24, 1).Beta);
        var glmnet = Solve(1e-5, 1);
        var settled = Solve(1e-5, 0.5);
        Assert.True(glmnet.Outcome.Converged && settled.Outcome.Converged);
        Assert.True(settled.Outcome.Passes > glmnet.Outcome.Passes, $"{settled.Outcome.Passes} passes against {glmnet.Outcome.Passes}");
        double excess = Objective(glmnet.Beta) - best, settledExcess = Objective(settled.Beta) - best;
        Assert.True(excess > 0, $"the change rule at 1e-5 stopped at the optimum ({excess})");
        Assert.True(settledExcess < 0.5 * excess, $"excess {settledExcess} against {excess}");
    }

    /// <summary>Features for the screening loops: zero and nonzero coefficients, unpenalized ones, gradients on either side of
    /// the cut and exactly on it, a NaN now and then, and flags set here and there.</summary>
    private static (double[] Beta, double[] Gradient, double[] V, bool[] Flags) Features(int q, Random rng, double cut)
    {
        var beta = new double[q];
        var gradient = new double[q];
        var v = new double[q];
        var flags = new bool[q];
        for (int j = 0; j < q; j++)
        {
            v[j] = rng.Next(10) == 0 ? 0 : rng.Next(4) == 0 ? 2 : 1;
            beta[j] = rng.Next(6) == 0 ? rng.NextDouble() - 0.5 : 0;
            int kind = rng.Next(12);
            gradient[j] = kind == 0 ? -cut * v[j] : kind == 1 ? double.NaN : (rng.NextDouble() - 0.5) * 2.4 * cut * Math.Max(v[j], 1);
            flags[j] = rng.Next(7) == 0;
        }
        return (beta, gradient, v, flags);
    }

    /// <summary>
    /// The screening loops against their scalar twins bit for bit on special values: ±0, ±infinity, NaN and the smallest
    /// subnormal in the coefficients, gradients, penalty factors and bounds, and a NaN rule now and then (every lane must take
    /// the twin's branch).
    /// </summary>
    [Fact]
    public void VectorizedScreeningLoopsMatchTheirTwinsBitForBitOnSpecialValues()
    {
        double[] special = [0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.Epsilon, 0.7, -0.7, 1, 2];
        int widest = 2 * System.Numerics.Vector<double>.Count + 1;
        var rng = new Random(23);
        for (int q = 0; q <= 2 * widest + 3; q++)
            for (int trial = 0; trial < 40; trial++)
            {
                double Pick() => special[rng.Next(special.Length)];
                var beta = Enumerable.Range(0, q).Select(_ => rng.Next(3) == 0 ? Pick() : 0.0).ToArray();
                var gradient = Enumerable.Range(0, q).Select(_ => Pick()).ToArray();
                var v = Enumerable.Range(0, q).Select(_ => rng.Next(4) == 0 ? Pick() : 1.0).ToArray();
                var flags = Enumerable.Range(0, q).Select(_ => rng.Next(5) == 0).ToArray();
                AssertScreeningLoopsMatchTwins(beta, gradient, v, flags, trial % 10 == 0 ? double.NaN : 0.7, gradient);
            }
    }

    [Fact]
    public void VectorizedScreeningLoopsMatchTheirScalarTwins()
    {
        int widest = 2 * System.Numerics.Vector<double>.Count + 1;
        var rng = new Random(17);
        for (int q = 0; q <= 2 * widest + 3; q++)
            for (int trial = 0; trial < 20; trial++)
            {
                const double cut = 0.7;
                var (beta, gradient, v, flags) = Features(q, rng, cut);
                AssertScreeningLoopsMatchTwins(beta, gradient, v, flags, cut, [.. gradient.Select(Math.Abs)]);
            }
    }

    /// <summary>
    /// <see cref="CoordinateDescent.AddStrong"/>, <see cref="CoordinateDescent.AddViolators"/> and <see cref="NaiveCd.Settle"/>
    /// against their scalar twins on the same inputs (<paramref name="upper"/>: Settle's bounds): the same lists and flags,
    /// and doubles compared by their bits, so -0.0 and 0.0 or two NaNs do not pass for each other.
    /// </summary>
    private static void AssertScreeningLoopsMatchTwins(double[] beta, double[] gradient, double[] v, bool[] flags, double cut, double[] upper)
    {
        static long[] Bits(double[] a) => [.. a.Select(BitConverter.DoubleToInt64Bits)];
        int q = beta.Length;
        var strong = new List<int>();
        var strongScalar = new List<int>();
        var strongFlags = new bool[q];
        var strongFlagsScalar = new bool[q];
        CoordinateDescent.AddStrong(beta, gradient, v, cut, strongFlags, strong);
        CoordinateDescent.AddStrongScalar(beta, gradient, v, cut, strongFlagsScalar, strongScalar);
        Assert.Equal(strongScalar, strong);
        Assert.Equal(strongFlagsScalar, strongFlags);

        var joined = new List<int>();
        var joinedScalar = new List<int>();
        var kkt = (bool[])flags.Clone();
        var kktScalar = (bool[])flags.Clone();
        Assert.Equal(CoordinateDescent.AddViolatorsScalar(gradient, v, cut, kktScalar, joinedScalar),
            CoordinateDescent.AddViolators(gradient, v, cut, kkt, joined));
        Assert.Equal(joinedScalar, joined);
        Assert.Equal(kktScalar, kkt);

        var previous = Enumerable.Repeat(-1.0, q).ToArray();
        var previousScalar = (double[])previous.Clone();
        var settled = (double[])beta.Clone();
        var settledScalar = (double[])beta.Clone();
        var candidates = new List<int>();
        var candidatesScalar = new List<int>();
        NaiveCd.Settle(flags, upper, v, cut, previous, settled, candidates);
        NaiveCd.SettleScalar(flags, upper, v, cut, previousScalar, settledScalar, candidatesScalar);
        Assert.Equal(candidatesScalar, candidates);
        Assert.Equal(Bits(previousScalar), Bits(previous));
        Assert.Equal(Bits(settledScalar), Bits(settled));
    }
}
