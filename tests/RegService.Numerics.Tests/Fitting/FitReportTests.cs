using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Tests.Solvers;
using RegService.Numerics.Tests.Training;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// What the engine reports about a fit that the API only projects: the stages timed, the stopping rule a solver ran by,
/// the validation curve, the dropout of each layer, the predicted class.
/// </summary>
public class FitReportTests
{
    [Fact]
    public void PathFitTimesTheGramOrTheSetupBeforeThePath()
    {
        // More rows than features: the covariance route builds the Gram; more features than rows: the naive route's setup.
        var tall = FitEngine.Fit(SyntheticData.Gaussian(200, 8, seed: 3), SyntheticData.Spec(8, Penalty.Lasso) with { Path = new(Count: 10) });
        Assert.Equal(new[] { "gram", "metrics", "path", "total" }, tall.Timings.Keys.Order().ToArray());
        var wide = FitEngine.Fit(SyntheticData.Gaussian(30, 60, seed: 3), SyntheticData.Spec(60, Penalty.Lasso) with { Path = new(Count: 10) });
        Assert.Equal(new[] { "metrics", "path", "setup", "total" }, wide.Timings.Keys.Order().ToArray());
        Assert.True(wide.Timings["total"] >= wide.Timings["setup"] + wide.Timings["path"]);
    }

    [Fact]
    public void StoppingRuleIsTheOneTheSolverRanBy()
    {
        var x = SyntheticData.Gaussian(120, 6, seed: 5);
        var lasso = SyntheticData.Spec(6, Penalty.Lasso, lambdas: [0.05]);
        var glmnet = FitEngine.Fit(x, lasso);
        Assert.Equal("coordinateDescent", glmnet.Solver);
        Assert.Equal("glmnet", glmnet.StoppingRuleName(StoppingRule.Glmnet));
        Assert.Equal("dualityGap", FitEngine.Fit(x, lasso with { Stopping = StoppingRule.DualityGap }).StoppingRuleName(StoppingRule.DualityGap));
        var ridge = FitEngine.Fit(x, SyntheticData.Spec(6, Penalty.Ridge, 0, lambdas: [0.05]));
        Assert.Equal("closedForm", ridge.Solver);
        Assert.Null(ridge.StoppingRuleName(StoppingRule.Glmnet));
        var gradient = FitEngine.Fit(x, lasso with { Solver = SolverKind.ProximalGradient });
        Assert.Equal("proximalGradientMapping", gradient.StoppingRuleName(StoppingRule.Glmnet));
    }

    [Fact]
    public void ReportedCurveIsTheEnginesOrTheScoredPointsOwn()
    {
        var x = TrainingCases.Linear(300, 4, seed: 2);
        var path = FitEngine.Fit(x, SyntheticData.Spec(4, Penalty.Lasso) with { Path = new(Count: 8) });
        Assert.Null(path.Curve);
        Assert.Null(path.ReportedCurve());

        var trained = FitEngine.Fit(x, TrainingCases.Spec(4, penalty: Penalty.Ridge, lambda: 0.01, solver: SolverKind.Adam,
            training: new TrainingSpec { Epochs = 20, BatchSize = 32, LearningRate = 0.01, EarlyStopping = new EarlyStoppingSpec(3, 0, 0.25) }));
        Assert.Null(trained.Curve);
        var curve = trained.ReportedCurve();
        Assert.NotNull(curve);
        Assert.Equal("mse", curve.Measure);
        var validation = Assert.Single(trained.Path).Validation!;
        Assert.Equal(validation.Loss, Assert.Single(curve.Mean));
        Assert.Equal(validation.LossStandardError, Assert.Single(curve.StandardError));
    }

    [Fact]
    public void StopReasonNamesTheRuleThatStoppedThePath()
    {
        Assert.Equal("the deviance ratio reached 0.2 and grew by less than 1e-5 of itself (glmnet's fdev)", LambdaGrid.StopReason(EarlyStop.Relative, 0.2));
        Assert.Equal("the deviance ratio reached 0.2 and grew by less than 1e-5 (glmnet's fdev)", LambdaGrid.StopReason(EarlyStop.Absolute, 0.2));
        Assert.Equal("the deviance ratio reached 0.2 and grew by less than 1e-4 of itself over the last 5 lambdas (glmnet's fdev)",
            LambdaGrid.StopReason(EarlyStop.Poisson, 0.2));
        Assert.Equal("the deviance ratio reached 0.9995, above 0.999 (glmnet's devmax)", LambdaGrid.StopReason(EarlyStop.Absolute, 0.9995));
        Assert.Equal("the deviance ratio reached 0.2 and grew by less than 0 (glmnet's fdev)", LambdaGrid.StopReason(EarlyStop.Absolute, 0.2, step: 0));

        // A gaussian lasso whose deviance ratio stalls stops early, and the fit's warning says so by the relative rule.
        var x = SyntheticData.Gaussian(300, 5, seed: 11, noise: 0.01);
        var fit = FitEngine.Fit(x, SyntheticData.Spec(5, Penalty.Lasso) with { Tolerance = 1e-7 });
        Assert.True(fit.Path.Length < 100);
        var warning = Assert.Single(fit.Warnings, w => w.StartsWith("the path stopped after", StringComparison.Ordinal));
        Assert.Contains($"of 100 lambdas: the deviance ratio reached", warning);
        Assert.True(warning.Contains("of itself (glmnet's fdev)") || warning.Contains("(glmnet's devmax)"), warning);
    }

    [Fact]
    public void DropoutOfOneRateAppliesToEveryHiddenLayer()
    {
        Assert.Equal([0.2, 0.2], new TrainingSpec { Dropout = [0.2] }.DropoutPerLayer(2));
        Assert.Equal([0.1, 0.3], new TrainingSpec { Dropout = [0.1, 0.3] }.DropoutPerLayer(2));
        Assert.Equal([0.0, 0.0], new TrainingSpec().DropoutPerLayer(2));
        Assert.Equal([0.0], new TrainingSpec { Dropout = [] }.DropoutPerLayer(1));
        Assert.Empty(new TrainingSpec { Dropout = [0.5] }.DropoutPerLayer(0));
    }

    [Fact]
    public void PredictedClassIsTheOneAccuracyCounts()
    {
        Assert.Equal(0, ClassificationMetrics.PredictedClass(0.5));
        Assert.Equal(1, ClassificationMetrics.PredictedClass(Math.BitIncrement(0.5)));
        Assert.Equal(0, ClassificationMetrics.PredictedClass(0.0));
        var rng = new Random(4);
        double[] eta = [.. Enumerable.Range(0, 200).Select(_ => 4 * (rng.NextDouble() - 0.5))];
        double[] y = [.. Enumerable.Range(0, 200).Select(_ => rng.NextDouble() < 0.5 ? 1.0 : 0.0)];
        double right = eta.Zip(y).Count(e => ClassificationMetrics.PredictedClass(Prediction.Logistic(e.First)) == e.Second);
        Assert.Equal(right / y.Length, ClassificationMetrics.FromLinearPredictor(y, eta).Accuracy, 15);
    }
}
