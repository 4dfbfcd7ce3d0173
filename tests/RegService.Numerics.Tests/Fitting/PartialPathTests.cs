using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;
using RegService.Numerics.Tests.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Partial paths (<see cref="FitSpec.KeepPartial"/>): a fit canceled after k lambdas returns those k, as the uncanceled fit
/// has them; a path-spanning budget spent ends the path at the last lambda fitted within it. The cancellation comes from the
/// progress report of the k-th lambda, so where it lands does not depend on timing.
/// </summary>
public class PartialPathTests
{
    /// <summary>Cancels the fit when the all-rows path reports its <paramref name="lambdas"/>-th lambda.</summary>
    private sealed class CancelAt(CancellationTokenSource cts, int lambdas) : IProgress<FitProgress>
    {
        public void Report(FitProgress value)
        {
            if (value.Stage.StartsWith("path", StringComparison.Ordinal) && value.LambdaIndex == lambdas) cts.Cancel();
        }
    }

    private static FitSpec Lasso(SolverKind solver = SolverKind.Auto) =>
        SyntheticData.Spec(8, Penalty.Lasso) with { Solver = solver, Tolerance = 1e-10, MaxThreads = 1, KeepPartial = true };

    [Theory]
    [InlineData(SolverKind.CoordinateDescent, false)]
    [InlineData(SolverKind.ProximalGradient, false)]
    [InlineData(SolverKind.CoordinateDescent, true)]
    public void APathCanceledAfterKLambdasReturnsThoseK(SolverKind solver, bool binomial)
    {
        var x = SyntheticData.Gaussian(300, 8, 11, binary: binomial);
        var spec = Lasso(binomial ? SolverKind.ProximalNewton : solver) with { Family = binomial ? Family.Binomial : Family.Gaussian };
        var complete = FitEngine.Fit(x, spec);
        Assert.Null(complete.Partial);
        Assert.True(complete.Path.Length > 10);

        using var cts = new CancellationTokenSource();
        var partial = FitEngine.Fit(x, spec, new CancelAt(cts, 7), cts.Token);
        Assert.Equal(PartialReason.Canceled, partial.Partial);
        Assert.Equal(7, partial.Path.Length);
        for (int l = 0; l < 7; l++)
        {
            Assert.Equal(complete.Path[l].Lambda, partial.Path[l].Lambda);
            Assert.Equal(complete.Path[l].Intercept, partial.Path[l].Intercept, 12);
            for (int j = 0; j < 8; j++) Assert.Equal(complete.Path[l].Coefficients[j], partial.Path[l].Coefficients[j], 12);
        }
        // The returned model is the last completed lambda's; the prior is read for it although the token has fired.
        Assert.Equal(partial.Path[^1].Lambda, partial.Lambda);
        Assert.Equal(partial.Path[^1].Coefficients, partial.Coefficients);
        Assert.NotNull(partial.Prior);
    }

    [Fact]
    public void WithoutKeepPartialACancelStillThrows()
    {
        var x = SyntheticData.Gaussian(300, 8, 11);
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => FitEngine.Fit(x, Lasso() with { KeepPartial = false }, new CancelAt(cts, 3), cts.Token));
    }

    [Fact]
    public void ACancelBeforeAnyLambdaThrows()
    {
        var x = SyntheticData.Gaussian(300, 8, 11);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => FitEngine.Fit(x, Lasso(), null, cts.Token));
    }

    [Fact]
    public void ACanceledPathDropsItsValidation()
    {
        var x = SyntheticData.Gaussian(300, 8, 11);
        var spec = Lasso() with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5, 3) };
        using var cts = new CancellationTokenSource();
        var partial = FitEngine.Fit(x, spec, new CancelAt(cts, 5), cts.Token);
        Assert.Equal(PartialReason.Canceled, partial.Partial);
        Assert.Equal(5, partial.Path.Length);
        Assert.Null(partial.Curve);
        Assert.Null(partial.ValidationMetrics);
        Assert.Null(partial.LambdaMin);
        Assert.Null(partial.FoldIds);
        Assert.Equal(partial.Path[^1].Lambda, partial.Lambda);
    }

    [Fact]
    public void ACancelDuringValidationKeepsTheWholePathWithoutValidation()
    {
        var x = SyntheticData.Gaussian(300, 8, 11);
        var spec = Lasso() with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5, 3) };
        var complete = FitEngine.Fit(x, spec with { KeepPartial = false });
        using var cts = new CancellationTokenSource();
        var progress = new Reporter(p => { if (p.Fold is not null) cts.Cancel(); });
        var partial = FitEngine.Fit(x, spec, progress, cts.Token);
        Assert.Equal(PartialReason.Canceled, partial.Partial);
        Assert.Equal(complete.Path.Select(p => p.Lambda), partial.Path.Select(p => p.Lambda));
        Assert.Null(partial.Curve);
        Assert.Equal(complete.Path[^1].Lambda, partial.Lambda);
    }

    [Fact]
    public void ASpentPathBudgetEndsThePathAtTheLastLambdaFittedWithinIt()
    {
        var x = SyntheticData.Gaussian(300, 8, 11);
        var spec = Lasso(SolverKind.ProximalGradient);
        var complete = FitEngine.Fit(x, spec);
        int budget = complete.Path.Take(12).Sum(p => p.Iterations) + 1;
        Assert.True(budget < complete.Iterations);

        var partial = FitEngine.Fit(x, spec with { MaxIterations = budget });
        Assert.Equal(PartialReason.MaxIterations, partial.Partial);
        Assert.Equal(12, partial.Path.Length);
        Assert.All(partial.Path, p => Assert.True(p.Converged));
        Assert.Equal(FitStatus.Converged, partial.Status);
        Assert.Contains(partial.Warnings, w => w.Contains("maxIterations", StringComparison.Ordinal));

        // Without KeepPartial the budget leaves the lambdas after it unconverged, as before (until the stalled deviance ends the path).
        var kept = FitEngine.Fit(x, spec with { MaxIterations = budget, KeepPartial = false });
        Assert.Null(kept.Partial);
        Assert.True(kept.Path.Length > 12);
        Assert.False(kept.Path[12].Converged);
        Assert.Equal(FitStatus.NotConverged, kept.Status);
    }

    [Fact]
    public void ASpentPathBudgetIsValidatedAtTheCompletedLambdas()
    {
        var x = SyntheticData.Gaussian(300, 8, 11);
        var spec = Lasso(SolverKind.ProximalGradient) with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(4, 1) };
        var complete = FitEngine.Fit(x, spec with { Validation = ValidationMethod.None, KFold = null });
        int budget = complete.Path.Take(12).Sum(p => p.Iterations) + 1;
        var partial = FitEngine.Fit(x, spec with { MaxIterations = budget });
        Assert.Equal(PartialReason.MaxIterations, partial.Partial);
        Assert.Equal(12, partial.Path.Length);
        Assert.NotNull(partial.Curve);
        Assert.Equal(12, partial.Curve!.Mean.Length);
        Assert.Contains(partial.Lambda, partial.Path.Select(p => p.Lambda));
    }

    private sealed class Reporter(Action<FitProgress> report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report(value);
    }
}
