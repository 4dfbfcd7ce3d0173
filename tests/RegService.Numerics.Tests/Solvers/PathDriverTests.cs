using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>The one path loop, driven by a scripted point solver whose deviance ratios and outcomes are given.</summary>
public class PathDriverTests
{
    private sealed class Scripted(double gradientMax, Func<int, double> ratio, EarlyStop stop = EarlyStop.Relative, bool spansPath = false,
                                  Func<PathStep, PointOutcome>? outcome = null) : IPointSolver
    {
        public List<PathStep> Steps { get; } = [];
        public int Revisions { get; private set; }
        public int Rows => 100;
        public int Features => 10;
        public EarlyStop Stop => stop;
        public bool BudgetSpansPath => spansPath;
        public double Start(CancellationToken ct) => gradientMax;

        public PointOutcome Solve(in PathStep step, CancellationToken ct)
        {
            Steps.Add(step);
            return outcome?.Invoke(step) ?? new PointOutcome(true, 3);
        }

        public PathPoint Point(in PathStep step) => new(step.Lambda, 0, new double[10], new double[10], 0, null) { DevianceRatio = ratio(step.Index) };

        public void Revise(List<PathPoint> points, bool final)
        {
            if (final) Revisions++;
        }

        public PathFrame Frame() => new(new double[10], new double[10], 1.0, ["scripted"]);
    }

    private static PathSettings Settings(double alpha = 1, double[]? lambdas = null, int count = 100, int maxIterations = 1000) => new()
    {
        Alpha = alpha,
        PenaltyFactors = LambdaGrid.RescalePenaltyFactors(null, 10),
        Lambdas = lambdas,
        Generate = lambdas is null ? new LambdaPathSpec(count, 0.01) : null,
        MaxIterations = maxIterations,
    };

    [Theory]
    [InlineData(1.0, 2.0)]
    [InlineData(0.5, 4.0)]
    [InlineData(0.0, 2000.0)]     // glmnet's alpha floor of 1e-3
    public void AGeneratedPathStartsAtLambdaMaxWithTheAlphaFloor(double alpha, double expected)
    {
        var solver = new Scripted(2.0, l => 0.1 * l / (l + 1.0));
        var fit = PathDriver.Run(solver, Settings(alpha, count: 10), null, default);
        Assert.Equal(expected, fit.Lambdas[0], 1e-12);
        Assert.Equal(expected * 0.01, fit.Lambdas[^1], 1e-12);
        Assert.Equal(10, fit.Points.Length);
        Assert.Equal(expected, solver.Steps[0].PreviousLambda, 1e-12);
        for (int l = 1; l < solver.Steps.Count; l++) Assert.Equal(solver.Steps[l - 1].Lambda, solver.Steps[l].PreviousLambda);
        Assert.Equal(1, solver.Revisions);
        Assert.Equal(new[] { "scripted" }, fit.Warnings);
    }

    [Fact]
    public void NothingPenalizedGivesTheSingleLambdaZero()
    {
        var fit = PathDriver.Run(new Scripted(0.0, _ => 0.5), Settings(), null, default);
        Assert.Equal(new[] { 0.0 }, fit.Lambdas);
    }

    [Fact]
    public void TheGaussianRuleIsRelativeAndTheBinomialRuleAbsolute()
    {
        // The ratio grows by 5e-6 per lambda from 0.2: below 1e-5 absolute, above 1e-5 of itself (2e-6).
        Func<int, double> ratio = l => 0.2 + 5e-6 * l;
        var relative = PathDriver.Run(new Scripted(1.0, ratio, EarlyStop.Relative), Settings(count: 20), null, default);
        var absolute = PathDriver.Run(new Scripted(1.0, ratio, EarlyStop.Absolute), Settings(count: 20), null, default);
        var none = PathDriver.Run(new Scripted(1.0, _ => 0.9995, EarlyStop.None), Settings(count: 20), null, default);
        Assert.False(relative.StoppedEarly);
        Assert.Equal(20, relative.Points.Length);
        Assert.True(absolute.StoppedEarly);
        Assert.Equal(5, absolute.Points.Length);   // checked from the fifth lambda on
        Assert.False(none.StoppedEarly);
        Assert.Equal(20, none.Points.Length);
    }

    [Fact]
    public void ExplicitLambdasAreFittedInFullAndInOrder()
    {
        var solver = new Scripted(1.0, _ => 0.9999, outcome: s => new PointOutcome(true, 1, EndsPath: true));
        var fit = PathDriver.Run(solver, Settings(lambdas: [0.5, 2.0, 0.1]), null, default);
        Assert.Equal(new[] { 0.5, 2.0, 0.1 }, fit.Lambdas);
        Assert.False(fit.StoppedEarly);
        Assert.Equal(1.0, solver.Steps[0].PreviousLambda);   // max(lambda_max, first lambda)
    }

    [Fact]
    public void ASolverEndsAGeneratedPath()
    {
        var fit = PathDriver.Run(new Scripted(1.0, l => 0.1 * l, outcome: s => new PointOutcome(true, 1, EndsPath: s.Index == 2)),
            Settings(count: 20), null, default);
        Assert.True(fit.StoppedEarly);
        Assert.Equal(3, fit.Points.Length);
    }

    [Theory]
    [InlineData(false, new[] { 10, 10, 10, 10 })]
    [InlineData(true, new[] { 10, 6, 2, 0 })]
    public void TheBudgetIsPerLambdaOrSpansThePath(bool spansPath, int[] budgets)
    {
        var solver = new Scripted(1.0, l => 0.1 * l, spansPath: spansPath, outcome: s => new PointOutcome(s.Budget >= 4, Math.Min(4, s.Budget)));
        var fit = PathDriver.Run(solver, Settings(lambdas: [0.4, 0.3, 0.2, 0.1], maxIterations: 10), null, default);
        Assert.Equal(budgets, solver.Steps.Select(s => s.Budget).ToArray());
        Assert.Equal(budgets.Select(b => Math.Min(4, b)), fit.Points.Select(p => p.Iterations));
        Assert.Equal(budgets.Select(b => b >= 4), fit.Points.Select(p => p.Converged));
    }

    [Fact]
    public void ProgressIsReportedAfterEachLambdaAndCancellationIsChecked()
    {
        var reports = new List<double>();
        PathDriver.Run(new Scripted(1.0, l => 0.1 * l), Settings(lambdas: [0.4, 0.2]), new SyncProgress(p => reports.Add(p.Fraction)), default);
        Assert.Equal(new[] { 0.5, 1.0 }, reports);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => PathDriver.Run(new Scripted(1.0, _ => 0), Settings(), null, cts.Token));
    }

    [Fact]
    public void EachReportNamesItsLambdaAndDevianceRatioAndAnEarlyStopCompletesTheFraction()
    {
        var reports = new List<FitProgress>();
        var fit = PathDriver.Run(new Scripted(1.0, l => 0.2 + 5e-6 * l, EarlyStop.Absolute), Settings(count: 20),
            new SyncProgress(reports.Add), default);
        Assert.True(fit.StoppedEarly);
        Assert.Equal(5, fit.Points.Length);
        var perLambda = reports.Take(5).ToList();
        Assert.Equal([1, 2, 3, 4, 5], perLambda.Select(r => r.LambdaIndex!.Value));
        Assert.All(perLambda, r => Assert.Equal(20, r.LambdaCount));
        Assert.Equal(fit.Lambdas, perLambda.Select(r => r.Lambda!.Value));
        Assert.Equal(fit.Points.Select(p => p.DevianceRatio), perLambda.Select(r => r.DevianceRatio!.Value));
        Assert.Equal(0.25, perLambda[^1].Fraction, 12);
        // Stopped after 5 of 20: the path's share ends at 1, not at 5/20.
        Assert.Equal(6, reports.Count);
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.Equal(5, reports[^1].LambdaCount);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(9)]
    public void KeepPartialReturnsTheLambdasCompletedBeforeACancel(int k)
    {
        using var cts = new CancellationTokenSource();
        var solver = new Scripted(1.0, l => 0.1 * l, EarlyStop.None, outcome: s =>
        {
            if (s.Index == k)
            {
                cts.Cancel();
                throw new OperationCanceledException(cts.Token);   // as a solver checking its token mid-solve
            }
            return new PointOutcome(true, 2);
        });
        var settings = Settings(count: 10) with { KeepPartial = true };
        if (k == 0)
        {
            // Nothing completed: nothing to keep.
            Assert.ThrowsAny<OperationCanceledException>(() => PathDriver.Run(solver, settings, null, cts.Token));
            return;
        }
        var fit = PathDriver.Run(solver, settings, null, cts.Token);
        Assert.Equal(PartialReason.Canceled, fit.Partial);
        Assert.Equal(k, fit.Points.Length);
        Assert.Equal(solver.Steps.Take(k).Select(s => s.Lambda), fit.Lambdas);
        Assert.Equal(0, solver.Revisions);   // the solver's state is past its last point
        Assert.Equal(new[] { "scripted" }, fit.Warnings);
    }

    [Fact]
    public void KeepPartialEndsAPathWhoseSpanningBudgetRanOut()
    {
        var solver = new Scripted(1.0, l => 0.1 * l, spansPath: true, outcome: s => new PointOutcome(s.Budget >= 4, Math.Min(4, s.Budget)));
        var fit = PathDriver.Run(solver, Settings(lambdas: [0.4, 0.3, 0.2, 0.1], maxIterations: 10) with { KeepPartial = true }, null, default);
        Assert.Equal(PartialReason.MaxIterations, fit.Partial);
        Assert.Equal(new[] { 0.4, 0.3 }, fit.Lambdas);   // the third got 2 of its 4 iterations: dropped, as glmnet's maxit
        Assert.All(fit.Points, p => Assert.True(p.Converged));

        // A per-lambda budget does not end the path: the unconverged lambda stays, reported.
        var perLambda = PathDriver.Run(new Scripted(1.0, l => 0.1 * l, outcome: s => new PointOutcome(s.Index != 1, 4)),
            Settings(lambdas: [0.4, 0.3, 0.2], maxIterations: 4) with { KeepPartial = true }, null, default);
        Assert.Null(perLambda.Partial);
        Assert.Equal(3, perLambda.Points.Length);
        Assert.False(perLambda.Points[1].Converged);
    }

    private sealed class SyncProgress(Action<FitProgress> report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report(value);
    }
}
