using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// Once every feature is in the working set, a pass of the proximal-Newton path may evaluate a point of a later lambda
/// beside the current one (taken on the same quadratic model): that point's gradients, loss and weights must be those of a
/// pass of its own, and the lambdas that start there must still meet KKT at their coefficients and report their exact deviance.
/// </summary>
public class AheadPointTests
{
    [Theory]
    [InlineData(Family.Poisson, true)]
    [InlineData(Family.Binomial, true)]
    [InlineData(Family.Poisson, false)]
    public void SecondPointOfAPassIsThatOfAPassOfItsOwn(Family kind, bool sharedColumns)
    {
        const int n = 9000, p = 10;   // three segments of rows
        var x = ModelEndTests.Problem(kind, n, p, kind == Family.Poisson ? 41 : 42);
        var settings = new PathSettings { Alpha = 1, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)] };
        var data = LogisticData.Create(x, [.. Enumerable.Range(0, p)], p, null, [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
            settings, GlmFamily.For(kind), null, null);
        int[] all = [.. Enumerable.Range(0, p)];
        var rng = new Random(7);
        Predictor Point(double spread) =>
            new(all, [.. Enumerable.Range(0, p).Select(_ => spread * (rng.NextDouble() - 0.5))], kind == Family.Poisson ? 0.4 : -0.1);
        Predictor a = Point(0.3), b = Point(0.3), s1 = Point(0.2), s2 = Point(0.2);
        // The gradient columns: every feature (the predictors are read two at a time over them), or all but one that the
        // second point uses (each predictor over its own columns).
        int[] gradient = sharedColumns ? all : all[..^1];

        var pass = new LogisticPass(data, intercept: true, threads: 2, CancellationToken.None);
        var gradA = new double[p];
        var gradB = new double[p];
        var shadowLoss = pass.Run(gradient, a, [s1, s2], gradA, null, null, b, gradB)!;
        double lossA = pass.Loss, g0A = pass.G0, wsumA = pass.WeightSum, maxA = pass.MaxWeight;
        var weightA = (double[])pass.Weight.Clone();
        pass.TakeSecond();
        double lossB = pass.Loss, g0B = pass.G0, wsumB = pass.WeightSum, maxB = pass.MaxWeight;
        var weightB = (double[])pass.Weight.Clone();
        var residB = (double[])pass.Resid.Clone();
        var probB = (double[])pass.Prob.Clone();

        var alone = new LogisticPass(data, intercept: true, threads: 1, CancellationToken.None);
        var g = new double[p];
        alone.Run(gradient, a, null, g, null, null);
        Assert.Equal(g, gradA);
        Assert.Equal((alone.Loss, alone.G0, alone.WeightSum, alone.MaxWeight), (lossA, g0A, wsumA, maxA));
        Assert.Equal(alone.Weight, weightA);
        alone.Run(gradient, b, null, g, null, null);
        Assert.Equal(g, gradB);
        Assert.Equal((alone.Loss, alone.G0, alone.WeightSum, alone.MaxWeight), (lossB, g0B, wsumB, maxB));
        Assert.Equal(alone.Weight, weightB);
        Assert.Equal(alone.Resid, residB);
        Assert.Equal(alone.Prob, probB);
        Assert.NotEqual(lossA, lossB);
        Assert.Equal(2, shadowLoss.Length);
        foreach (var (shadow, loss) in new[] { (s1, shadowLoss[0]), (s2, shadowLoss[1]) })
        {
            alone.Run(all, shadow, null, g, null, null);
            Assert.True(Math.Abs(alone.Loss - loss) <= 1e-13 * Math.Abs(loss), $"shadow loss {loss} against a pass's {alone.Loss}");
        }
        Assert.NotEqual(shadowLoss[0], shadowLoss[1]);
    }

    [Theory]
    [InlineData(Family.Poisson, false)]
    [InlineData(Family.Binomial, false)]
    [InlineData(Family.Poisson, true)]
    public void LambdasStartedAheadMeetKktAndReportTheirDeviance(Family kind, bool explicitLambdas)
    {
        // Explicit lambdas: a geometric sequence from 0.1 to 1e-4, fitted in the order given without early stop.
        double[]? lambdas = explicitLambdas ? [.. Enumerable.Range(0, 40).Select(l => 0.1 * Math.Pow(1e-3, l / 39.0))] : null;
        const int n = 3000, p = 12;
        var x = ModelEndTests.Problem(kind, n, p, kind == Family.Poisson ? 43 : 44);
        int[] cols = [.. Enumerable.Range(0, p)];
        var factors = LambdaGrid.RescalePenaltyFactors(null, p);
        const double alpha = 0.9;
        var settings = new PathSettings
        {
            Alpha = alpha, PenaltyFactors = factors, Tolerance = 1e-9, Lambdas = lambdas,
            Generate = lambdas is null ? new LambdaPathSpec(80, 1e-3) : null,
        };
        var family = GlmFamily.For(kind);
        var data = LogisticData.Create(x, cols, p, null, [.. cols.Select(c => $"x{c}")], settings, family, null, null);
        var solver = new LogisticPathSolver(data, settings, BinomialPath.SubproblemMode.Gram, CancellationToken.None);
        PathFit fit;
        try { fit = PathDriver.Run(solver, settings, null, CancellationToken.None); }
        finally { solver.Release(); }
        Assert.True(solver.PointsAhead >= 2, $"{solver.PointsAhead} lambdas started at a point evaluated ahead; {fit.Points.Length} points, the last with {fit.Points[^1].NonZero} nonzero, steps {string.Join(" ", fit.Points.Select(pt => pt.Iterations))}");
        Assert.True(fit.Points.Length >= (lambdas?.Length ?? 20));

        var means = new double[p];
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            for (int i = 0; i < n; i++) means[j] += x[i, j] / n;
            for (int i = 0; i < n; i++) scales[j] += (x[i, j] - means[j]) * (x[i, j] - means[j]) / n;
            scales[j] = Math.Sqrt(scales[j]);
        }
        foreach (var point in fit.Points)
        {
            Assert.True(point.Converged, $"lambda {point.Lambda} not converged");
            var r = new double[n];
            double g0 = 0, deviance = 0;
            for (int i = 0; i < n; i++)
            {
                double eta = point.Intercept, y = x[i, p];
                for (int j = 0; j < p; j++) eta += point.Coefficients[j] * x[i, j];
                double mu = kind == Family.Poisson ? Math.Exp(eta) : 1 / (1 + Math.Exp(-eta));
                r[i] = y - mu;
                g0 += r[i] / n;
                deviance += kind == Family.Poisson
                    ? 2 * ((y > 0 ? y * Math.Log(y / mu) : 0) - (y - mu))
                    : -2 * (y * Math.Log(mu) + (1 - y) * Math.Log(1 - mu));
            }
            double ratio = 1 - deviance / n / fit.NullDeviance;
            Assert.True(Math.Abs(ratio - point.DevianceRatio) <= 1e-9, $"lambda {point.Lambda}: deviance ratio {point.DevianceRatio} against the coefficients' {ratio}");
            Assert.True(Math.Abs(g0) <= 1e-5, $"lambda {point.Lambda}: intercept gradient {g0:G3}");
            for (int j = 0; j < p; j++)
            {
                double gj = 0;
                for (int i = 0; i < n; i++) gj += (x[i, j] - means[j]) / scales[j] * r[i];
                gj /= n;
                double b = point.Coefficients[j] * scales[j];
                double l1 = point.Lambda * alpha * factors[j];
                double expected = b == 0 ? Math.Clamp(gj, -l1, l1) : l1 * Math.Sign(b) + point.Lambda * (1 - alpha) * factors[j] * b;
                Assert.True(Math.Abs(gj - expected) <= 1e-5, $"lambda {point.Lambda}, feature {j}: g {gj:G6}, expected {expected:G6}");
            }
        }
    }
}
