using System.Text.Json;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// The duality gap of bounded problems (<see cref="BoxDualityGap"/>): the conjugate's closed form against a numerical
/// supremum over the box; scikit-learn's <c>dual_gap_</c> of <c>ElasticNet(positive=True)</c> (tests/fixtures/convergence/positive_gap.json,
/// made by tests/fixtures/make_positive_gap_sklearn.py: 40 x 12, no intercept, raw features), equal for the lasso and
/// an upper bound of the objective's excess for both; P(b) - D(theta) written out from the data for mixed boxes; and
/// <c>stopping: dualityGap</c> with bounds reaching the optimum.
/// </summary>
public class BoxDualityGapTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed record Data(DenseMatrix X, double[] Y, JsonElement Root)
    {
        public int N => Y.Length;
        public int P => X.Columns - 1;
        public double MeanSquare => Y.Sum(v => v * v) / N;
    }

    private static Data Load()
    {
        using var stream = File.OpenRead(Path.Combine(Fixtures.Directory("convergence"), "positive_gap.json"));
        var root = JsonDocument.Parse(stream).RootElement.Clone();
        var rows = root.GetProperty("x").EnumerateArray().Select(Fixtures.Doubles).ToArray();
        var y = Fixtures.Doubles(root.GetProperty("y"));
        int n = rows.Length, p = rows[0].Length;
        var x = new DenseMatrix(n, p + 1);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < p; j++) x[i, j] = rows[i][j];
            x[i, p] = y[i];
        }
        return new Data(x, y, root);
    }

    /// <summary>A data set with no positivity in it: 60 x 10 random correlated features, y of both signs' effects.</summary>
    private static Data Synthetic()
    {
        var rng = new Random(1405);
        int n = 60, p = 10;
        var x = new DenseMatrix(n, p + 1);
        var y = new double[n];
        double[] w = [1.5, -2, 0.8, -0.6, 0.3, 0, 0, 1.1, -0.9, 0.05];
        for (int i = 0; i < n; i++)
        {
            double common = Normal(rng);
            for (int j = 0; j < p; j++) x[i, j] = 0.6 * common + Normal(rng);
            y[i] = 0.4 * Normal(rng);
            for (int j = 0; j < p; j++) y[i] += w[j] * x[i, j];
            x[i, p] = y[i];
        }
        return new Data(x, y, default);
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static double[] Residual(Data d, double[] b)
    {
        var r = (double[])d.Y.Clone();
        for (int i = 0; i < d.N; i++)
            for (int j = 0; j < d.P; j++) r[i] -= d.X[i, j] * b[j];
        return r;
    }

    private static double[] Gradient(Data d, double[] r) =>
        [.. Enumerable.Range(0, d.P).Select(j => Enumerable.Range(0, d.N).Sum(i => d.X[i, j] * r[i]) / d.N)];

    /// <summary>P(b) = (1/2n)||y - Xb||² + lambda sum_j [alpha |b_j| + (1 - alpha)/2 b_j²] (penalty factors 1).</summary>
    private static double Objective(Data d, double[] b, double lambda, double alpha) =>
        0.5 * Residual(d, b).Sum(v => v * v) / d.N + lambda * b.Sum(v => alpha * Math.Abs(v) + 0.5 * (1 - alpha) * v * v);

    private static double Gap(Data d, double[] b, double lambda, double alpha, double[] lower, double[] upper)
    {
        var r = Residual(d, b);
        return BoxDualityGap.Of(b, Gradient(d, r), Enumerable.Repeat(1.0, d.P).ToArray(), new CoefficientBounds(lower, upper),
            r.Sum(v => v * v) / d.N, lambda, alpha);
    }

    /// <summary>
    /// sup over [lower, upper] of (t b - l1 |b| - l2 b²/2) by ternary search (the function is concave), each side of 0
    /// searched up to 1e4 where it is open.
    /// </summary>
    private static double NumericConjugate(double t, double l1, double l2, double lower, double upper)
    {
        double F(double b) => t * b - l1 * Math.Abs(b) - 0.5 * l2 * b * b;
        double Search(double lo, double hi)
        {
            for (int k = 0; k < 400; k++)
            {
                double m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
                if (F(m1) < F(m2)) lo = m1; else hi = m2;
            }
            return Math.Max(F(0.5 * (lo + hi)), Math.Max(F(lo), F(hi)));
        }
        return Math.Max(Search(0, Math.Min(upper, 1e4)), Search(Math.Max(lower, -1e4), 0));
    }

    [Fact]
    public void ConjugateIsTheSupremumOverTheBox()
    {
        var rng = new Random(14);
        for (int k = 0; k < 2000; k++)
        {
            double t = 4 * (rng.NextDouble() - 0.5);
            double l1 = rng.NextDouble() < 0.2 ? 0 : rng.NextDouble();
            double l2 = rng.NextDouble() < 0.3 ? 0 : rng.NextDouble();
            double lower = rng.NextDouble() < 0.3 ? double.NegativeInfinity : -2 * rng.NextDouble();
            double upper = rng.NextDouble() < 0.3 ? double.PositiveInfinity : rng.NextDouble() < 0.2 ? 0 : 2 * rng.NextDouble();
            double limit = t > 0 ? upper : -lower;
            if (l2 == 0 && double.IsPositiveInfinity(limit) && Math.Abs(t) > l1) continue;   // infinite: the rescaling's case
            double expected = NumericConjugate(t, l1, l2, lower, upper);
            Assert.Equal(expected, BoxDualityGap.Conjugate(t, l1, l2, limit), 1e-9 * (1 + Math.Abs(expected)));
        }
    }

    public static TheoryData<int> SklearnCases => [.. Enumerable.Range(0, 6)];

    /// <summary>
    /// At scikit-learn's coefficients: for the lasso (positive=True) the gap is its <c>dual_gap_</c>; for the elastic net, whose
    /// dual point scikit-learn takes through its augmented design, both are upper bounds of P(b) - P*, and both vanish at the
    /// optimum. The distance bound (1/2n)||X(b - b*)||² + lambda (1 - alpha)/2 ||b - b*||² ≤ gap holds at the loose point.
    /// </summary>
    [Theory]
    [MemberData(nameof(SklearnCases))]
    public void GapAtScikitLearnsPositiveCoefficientsBoundsTheExcess(int index)
    {
        var d = Load();
        var c = d.Root.GetProperty("cases")[index];
        double lambda = c.GetProperty("alpha").GetDouble(), alpha = c.GetProperty("l1Ratio").GetDouble();
        var lower = new double[d.P];
        var upper = Enumerable.Repeat(double.PositiveInfinity, d.P).ToArray();
        var loose = Fixtures.Doubles(c.GetProperty("loose").GetProperty("coef"));
        var tight = Fixtures.Doubles(c.GetProperty("tight").GetProperty("coef"));
        double sklearnLoose = c.GetProperty("loose").GetProperty("dualGap").GetDouble();
        double sklearnTight = c.GetProperty("tight").GetProperty("dualGap").GetDouble();

        double gapLoose = Gap(d, loose, lambda, alpha, lower, upper), gapTight = Gap(d, tight, lambda, alpha, lower, upper);
        double excess = Objective(d, loose, lambda, alpha) - Objective(d, tight, lambda, alpha);
        output.WriteLine($"alpha {alpha} lambda {lambda:G4}: loose gap {gapLoose:G4} (sklearn {sklearnLoose:G4}), excess {excess:G4}; " +
            $"tight gap {gapTight:G3} (sklearn {sklearnTight:G3})");
        Assert.True(excess > 1e-6, $"the loose point should be well off the optimum ({excess:G3})");
        Assert.True(gapLoose >= excess, $"gap {gapLoose:G6} < excess {excess:G6}");
        Assert.True(sklearnLoose >= excess);
        if (alpha == 1) Assert.Equal(sklearnLoose, gapLoose, sklearnLoose * 1e-9);
        Assert.True(gapTight <= 1e-13 * d.MeanSquare, $"gap at the optimum {gapTight:G3}");

        double distance = MetricDistance(d, loose, tight, lambda, alpha);
        Assert.True(distance <= gapLoose, $"distance {distance:G6} > gap {gapLoose:G6}");
    }

    /// <summary>
    /// Through the path: with <c>stopping: dualityGap</c> and <c>lowerLimits: 0</c> (standardize false, no intercept) both forms
    /// reach scikit-learn's positive solution with a gap below the target, and the reported gap is the one recomputed from the
    /// data at the returned coefficients; with glmnet's rule at a loose tolerance the reported gap still bounds the excess.
    /// </summary>
    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(4, false)]
    [InlineData(5, true)]
    public void StoppingOnTheGapWithBoundsReachesScikitLearnsSolution(int index, bool naive)
    {
        var d = Load();
        var c = d.Root.GetProperty("cases")[index];
        double lambda = c.GetProperty("alpha").GetDouble(), alpha = c.GetProperty("l1Ratio").GetDouble();
        var tight = Fixtures.Doubles(c.GetProperty("tight").GetProperty("coef"));
        var lower = new double[d.P];
        var upper = Enumerable.Repeat(double.PositiveInfinity, d.P).ToArray();
        var spec = SyntheticData.Spec(d.P, alpha == 1 ? Penalty.Lasso : Penalty.ElasticNet, alpha, [lambda]) with
        {
            Standardize = false,
            FitIntercept = false,
            LowerLimits = lower,
            Tolerance = 1e-14,
            Stopping = StoppingRule.DualityGap,
        };
        var point = CoordinateDescentTests.Run(d.X, spec, naive).Points[0];
        Assert.True(point.Converged);
        Assert.True(point.DualityGap <= 1e-14 * d.MeanSquare, $"gap {point.DualityGap:G3}");
        // Each gap bounds the distance to the optimum in the norm ||d||_M² = (1/n)||Xd||² + lambda (1 - alpha)||d||²
        // (||b - b*||_M² <= 2 gap), so ours and scikit-learn's are within the sum of the two radii of each other.
        double sklearnGap = c.GetProperty("tight").GetProperty("dualGap").GetDouble();
        double apart = Math.Sqrt(2 * MetricDistance(d, point.Coefficients, tight, lambda, alpha));
        Assert.True(apart <= Math.Sqrt(2 * point.DualityGap!.Value) + Math.Sqrt(2 * sklearnGap), $"{apart:G3} apart");
        double scale = tight.Max(Math.Abs);
        for (int j = 0; j < d.P; j++) Assert.Equal(tight[j], point.Coefficients[j], 1e-5 * scale);
        // The engine's rss comes from the Gram form (y'y - c'b - b'g): equal up to rounding of the mean square.
        Assert.Equal(Gap(d, point.Coefficients, lambda, alpha, lower, upper), point.DualityGap!.Value, 1e-15 * d.MeanSquare);

        var loose = CoordinateDescentTests.Run(d.X, spec with { Tolerance = 1e-3, Stopping = StoppingRule.Glmnet }, naive).Points[0];
        double recomputed = Gap(d, loose.Coefficients, lambda, alpha, lower, upper);
        // The naive form keeps, for a zero coordinate of the strong set, the gradient of its last visit (NaiveCd.Finish): the
        // later updates of that pass move it by less than the loose tolerance allows, which shows in the sixth digit here.
        Assert.Equal(recomputed, loose.DualityGap!.Value, (naive ? 1e-5 : 1e-9) * recomputed);
        Assert.True(loose.DualityGap >= Objective(d, loose.Coefficients, lambda, alpha) - Objective(d, tight, lambda, alpha) - 1e-15);
    }

    /// <summary>
    /// Mixed boxes (a non-negative feature, one capped above, a two-sided box, a fixed-at-0 one, the rest free) for the lasso,
    /// the elastic net and ridge: the gap is P(b) - D(s r) with D's conjugates found numerically and s the largest scale at
    /// most 1 that keeps D finite; it is non-negative along the way to the optimum, bounds the excess and the distance,
    /// and the gap rule ends within its target of the optimum (the KKT conditions of the bounded problem hold there).
    /// </summary>
    [Theory]
    [InlineData(1.0, false)]
    [InlineData(1.0, true)]
    [InlineData(0.5, false)]
    [InlineData(0.0, true)]
    public void GapIsPrimalMinusDualForMixedBoxes(double alpha, bool naive)
    {
        var d = Synthetic();
        double lambda = 0.05;
        var lower = Enumerable.Repeat(double.NegativeInfinity, d.P).ToArray();
        var upper = Enumerable.Repeat(double.PositiveInfinity, d.P).ToArray();
        lower[1] = 0;                         // true effect -2: held at 0
        upper[0] = 0.7;                       // true effect 1.5: capped
        lower[3] = -0.2; upper[3] = 0.2;      // true effect -0.6: at the lower side of its box
        lower[8] = 0; upper[8] = 0;           // fixed at 0
        var spec = SyntheticData.Spec(d.P, alpha switch { 1 => Penalty.Lasso, 0 => Penalty.Ridge, _ => Penalty.ElasticNet }, alpha, [lambda]) with
        {
            Standardize = false,
            FitIntercept = false,
            LowerLimits = lower,
            UpperLimits = upper,
            Tolerance = 1e-15,
            Stopping = StoppingRule.DualityGap,
        };
        var optimum = CoordinateDescentTests.Run(d.X, spec, naive).Points[0];
        Assert.True(optimum.Converged);
        Assert.True(optimum.DualityGap <= 1e-15 * d.MeanSquare, $"gap at the optimum {optimum.DualityGap:G3}");
        var best = optimum.Coefficients;
        Assert.Equal(0.7, best[0], 1e-12);
        Assert.Equal(0, best[1]);
        Assert.Equal(-0.2, best[3], 1e-12);
        Assert.Equal(0, best[8]);
        double pStar = Objective(d, best, lambda, alpha);

        foreach (double tolerance in new[] { 1e-1, 1e-2, 1e-3, 1e-5 })
        {
            var point = CoordinateDescentTests.Run(d.X, spec with { Tolerance = tolerance, Stopping = StoppingRule.Glmnet }, naive).Points[0];
            var b = point.Coefficients;
            double gap = point.DualityGap!.Value;
            double expected = PrimalMinusDual(d, b, lambda, alpha, lower, upper);
            // Relative 1e-9, down to rounding on the objective's scale: the covariance form's gap comes from its kept
            // gradient c - A b, updated once per move, a few 1e-15 of the mean square off a fresh evaluation.
            Assert.Equal(expected, gap, Math.Max(1e-9 * expected, 1e-14 * d.MeanSquare));
            double excess = Objective(d, b, lambda, alpha) - pStar;
            double distance = MetricDistance(d, b, best, lambda, alpha);
            output.WriteLine($"tolerance {tolerance:G2}: gap {gap:G4}, excess {excess:G4}, distance term {distance:G4}");
            Assert.True(gap >= 0);
            Assert.True(gap >= excess - 1e-14, $"gap {gap:G6} < excess {excess:G6}");
            Assert.True(distance <= gap + 1e-14, $"distance {distance:G6} > gap {gap:G6}");
        }
    }

    /// <summary>
    /// Ridge by coordinate descent without bounds (alpha = 0: scikit-learn's dual point has no L1 part to rescale to) reports
    /// the Fenchel gap with no box: P(b) - D(r), never negative off the optimum, above the excess and the distance, and the
    /// gap rule ends at the optimum.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RidgeGapWithoutBoundsIsPrimalMinusDual(bool naive)
    {
        var d = Synthetic();
        double lambda = 0.05;
        var lower = Enumerable.Repeat(double.NegativeInfinity, d.P).ToArray();
        var upper = Enumerable.Repeat(double.PositiveInfinity, d.P).ToArray();
        var spec = SyntheticData.Spec(d.P, Penalty.Ridge, 0.0, [lambda]) with
        {
            Standardize = false,
            FitIntercept = false,
            Tolerance = 1e-15,
            Stopping = StoppingRule.DualityGap,
        };
        var optimum = CoordinateDescentTests.Run(d.X, spec, naive).Points[0];
        Assert.True(optimum.Converged);
        Assert.True(optimum.DualityGap <= 1e-15 * d.MeanSquare, $"gap at the optimum {optimum.DualityGap:G3}");
        double pStar = Objective(d, optimum.Coefficients, lambda, 0);
        foreach (double tolerance in new[] { 1e-1, 1e-2, 1e-3 })
        {
            var point = CoordinateDescentTests.Run(d.X, spec with { Tolerance = tolerance, Stopping = StoppingRule.Glmnet }, naive).Points[0];
            var b = point.Coefficients;
            double gap = point.DualityGap!.Value;
            double expected = PrimalMinusDual(d, b, lambda, 0, lower, upper);
            Assert.Equal(expected, gap, 1e-9 * Math.Max(expected, 1e-6));
            double excess = Objective(d, b, lambda, 0) - pStar;
            Assert.True(gap >= excess - 1e-14, $"gap {gap:G6} < excess {excess:G6}");
            Assert.True(MetricDistance(d, b, optimum.Coefficients, lambda, 0) <= gap + 1e-14);
        }
    }

    /// <summary>(1/2n)||X(b - c)||² + lambda (1 - alpha)/2 ||b - c||²: what P(b) - P* bounds when c is the optimum.</summary>
    private static double MetricDistance(Data d, double[] b, double[] c, double lambda, double alpha)
    {
        var diff = b.Zip(c, (u, w) => u - w).ToArray();
        var xd = Residual(d with { Y = new double[d.N] }, diff);   // -X(b - c)
        return 0.5 * xd.Sum(v => v * v) / d.N + 0.5 * lambda * (1 - alpha) * diff.Sum(v => v * v);
    }

    /// <summary>P(b) - D(s r) with D(theta) = (1/n)(theta'y - ||theta||²/2) - sum_j h_j*(x_j'theta/n), h_j* by <see cref="NumericConjugate"/>.</summary>
    private static double PrimalMinusDual(Data d, double[] b, double lambda, double alpha, double[] lower, double[] upper)
    {
        double l1 = lambda * alpha, l2 = lambda * (1 - alpha);
        var r = Residual(d, b);
        var g = Gradient(d, r);
        double s = 1;
        if (l2 == 0)
            for (int j = 0; j < d.P; j++)
            {
                bool open = g[j] > 0 ? double.IsPositiveInfinity(upper[j]) : double.IsNegativeInfinity(lower[j]);
                if (open && Math.Abs(g[j]) > l1) s = Math.Min(s, l1 / Math.Abs(g[j]));
            }
        double ty = s * r.Zip(d.Y, (u, w) => u * w).Sum() / d.N, tt = s * s * r.Sum(v => v * v) / d.N;
        double dual = ty - 0.5 * tt - Enumerable.Range(0, d.P).Sum(j => NumericConjugate(s * g[j], l1, l2, lower[j], upper[j]));
        return Objective(d, b, lambda, alpha) - dual;
    }
}
