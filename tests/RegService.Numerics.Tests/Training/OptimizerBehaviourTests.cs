using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using Xunit.Abstractions;

namespace RegService.Numerics.Tests.Training;

/// <summary>What the optimizers converge to, against closed forms and theory.</summary>
public class OptimizerBehaviourTests(ITestOutputHelper output)
{
    private static double Distance(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (u, v) => (u - v) * (u - v)).Sum());
    private static double Norm(double[] a) => Math.Sqrt(a.Sum(v => v * v));

    /// <summary>Adam with a small step on the ridge objective lands near the closed-form ridge solution (FitEngine, solver auto).</summary>
    [Fact]
    public void AdamOnRidgeApproachesTheClosedForm()
    {
        var x = TrainingCases.Linear(400, 6, seed: 1);
        var closed = FitEngine.Fit(x, TrainingCases.Spec(6, penalty: Penalty.Ridge, lambda: 0.3, solver: SolverKind.Auto));
        var adam = FitEngine.Fit(x, TrainingCases.Spec(6, penalty: Penalty.Ridge, lambda: 0.3, solver: SolverKind.Adam,
            training: new TrainingSpec { Epochs = 300, BatchSize = 32, LearningRate = 0.002, Seed = 3 }));
        output.WriteLine($"closed {string.Join(", ", closed.StandardizedCoefficients.Select(c => c.ToString("F4")))}");
        output.WriteLine($"adam   {string.Join(", ", adam.StandardizedCoefficients.Select(c => c.ToString("F4")))}");
        Assert.Equal(FitStatus.Converged, adam.Status);
        Assert.Equal("adam", adam.Solver);
        Assert.True(Distance(adam.StandardizedCoefficients, closed.StandardizedCoefficients) < 0.02 * Norm(closed.StandardizedCoefficients));
        Assert.Equal(closed.Intercept, adam.Intercept, 0.02 * Math.Abs(closed.Intercept) + 0.02);
        for (int j = 0; j < 6; j++) Assert.Equal(closed.Coefficients[j], adam.Coefficients[j], 0.02 * Norm(closed.Coefficients) + 1e-3);
        // The training loss is the objective's loss part at the solution: (1/2n) sum of squares = mse / 2.
        Assert.Equal(((RegService.Numerics.Metrics.RegressionMetrics)adam.TrainMetrics).Mse / 2, adam.Training!.Curve.Train[^1], 1e-12);
    }

    /// <summary>
    /// Bishop (1995): with squared loss, input noise of variance sigma^2 on a linear model adds (sigma^2/2) ||w||^2 to the
    /// expected loss, ridge at lambda = sigma^2 on standardized features. Trained with many noisy copies (no penalty), the
    /// weights land near that ridge solution and well away from the unpenalized one.
    /// </summary>
    [Fact]
    public void NoiseAugmentationShrinksTowardRidgeAtSigmaSquared()
    {
        const double sigma = 0.7;
        var x = TrainingCases.Linear(300, 5, seed: 2, noise: 0.3);
        var ridge = FitEngine.Fit(x, TrainingCases.Spec(5, penalty: Penalty.Ridge, lambda: sigma * sigma, solver: SolverKind.Auto));
        var ols = FitEngine.Fit(x, TrainingCases.Spec(5, solver: SolverKind.Auto));
        var noisy = FitEngine.Fit(x, TrainingCases.Spec(5, solver: SolverKind.Sgd,
            training: new TrainingSpec { Epochs = 40, BatchSize = 64, LearningRate = 0.01, Seed = 4, Augmentation = new AugmentationSpec(sigma, Copies: 20) }));
        double toRidge = Distance(noisy.StandardizedCoefficients, ridge.StandardizedCoefficients);
        double olsToRidge = Distance(ols.StandardizedCoefficients, ridge.StandardizedCoefficients);
        output.WriteLine($"ridge {string.Join(", ", ridge.StandardizedCoefficients.Select(c => c.ToString("F4")))}");
        output.WriteLine($"ols   {string.Join(", ", ols.StandardizedCoefficients.Select(c => c.ToString("F4")))}");
        output.WriteLine($"noise {string.Join(", ", noisy.StandardizedCoefficients.Select(c => c.ToString("F4")))}  to ridge {toRidge:G3}, ols to ridge {olsToRidge:G3}");
        Assert.True(toRidge < 0.05 * Norm(ridge.StandardizedCoefficients), $"noise fit is {toRidge:G3} from ridge");
        Assert.True(toRidge < 0.2 * olsToRidge, $"noise fit {toRidge:G3} from ridge, the unpenalized fit {olsToRidge:G3}");
        // Shrunk like ridge: every large coefficient smaller in size than the unpenalized one.
        for (int j = 0; j < 4; j++) Assert.True(Math.Abs(noisy.StandardizedCoefficients[j]) < Math.Abs(ols.StandardizedCoefficients[j]));
    }

    /// <summary>
    /// Loshchilov and Hutter: with L2 in the gradient, Adam divides the decay term by sqrt(vhat), so a weight whose gradients
    /// have been large (here a feature present in 4 rows of 400 with a large value, in a problem with large residuals)
    /// hardly shrinks between its rare updates; decoupled decay shrinks it at the rate lr * weightDecay whatever its
    /// gradients. The rare input's first-layer weights start at their He values; its rows carry no signal.
    /// </summary>
    [Fact]
    public void DecoupledDecayShrinksTheWeightsOfARareFeature()
    {
        for (int seed = 1; seed <= 3; seed++)
        {
            const int n = 400, p = 4;
            var rng = new Random(seed);
            var x = new DenseMatrix(n, p + 1);
            for (int i = 0; i < n; i++)
            {
                double eta = 0;
                for (int j = 0; j < 3; j++) eta += 20 * (x[i, j] = TrainingCases.Normal(rng));
                x[i, 3] = i % 100 == 7 ? 5 : 0;
                x[i, p] = eta + 100 * TrainingCases.Normal(rng);
            }
            double Rare(SolverKind solver, double weightDecay) => FitEngine.Fit(x, TrainingCases.Spec(p, solver: solver, model: ModelKind.Mlp,
                training: new TrainingSpec { Epochs = 50, BatchSize = 4, LearningRate = 0.01, WeightDecay = weightDecay, Seed = seed, HiddenUnits = [16] })
                with { Standardize = false, FitIntercept = false }).StandardizedCoefficients[3];
            double none = Rare(SolverKind.Adam, 0), adam = Rare(SolverKind.Adam, 0.5), adamW = Rare(SolverKind.AdamW, 0.5);
            output.WriteLine($"seed {seed}: rare input's weight norm without decay {none:F4}, adam {adam:F4}, adamW {adamW:F4}");
            Assert.True(none > 1, "without decay the rare input's weights stay near their initial size");
            Assert.True(adamW < 0.25 * adam, $"adamW {adamW:G3} against adam {adam:G3}");
            Assert.True(adamW < 0.15 * none, $"adamW {adamW:G3} against no decay {none:G3}");
        }
    }

    /// <summary>The L1 part as a proximal step gives exact zeros: sgd on the lasso leaves the noise features at 0 and lands near coordinate descent.</summary>
    [Fact]
    public void SgdLassoGivesExactZerosNearCoordinateDescent()
    {
        var x = TrainingCases.Linear(500, 8, seed: 5);
        var cd = FitEngine.Fit(x, TrainingCases.Spec(8, penalty: Penalty.Lasso, lambda: 0.1, solver: SolverKind.Auto));
        var sgd = FitEngine.Fit(x, TrainingCases.Spec(8, penalty: Penalty.Lasso, lambda: 0.1, solver: SolverKind.Sgd,
            training: new TrainingSpec { Epochs = 100, BatchSize = 50, LearningRate = 0.01, Seed = 1 }));
        output.WriteLine($"cd  {string.Join(", ", cd.StandardizedCoefficients.Select(c => c.ToString("F4")))}");
        output.WriteLine($"sgd {string.Join(", ", sgd.StandardizedCoefficients.Select(c => c.ToString("F4")))}");
        for (int j = 4; j < 8; j++) Assert.Equal(0, cd.StandardizedCoefficients[j]);
        Assert.True(sgd.StandardizedCoefficients.Skip(4).Count(c => c == 0) >= 2, "noise features at exactly 0");
        Assert.All(sgd.StandardizedCoefficients.Skip(4), c => Assert.True(Math.Abs(c) < 0.01));
        Assert.Equal(sgd.StandardizedCoefficients.Count(c => c != 0), sgd.Path[0].NonZero);
        Assert.True(Distance(sgd.StandardizedCoefficients, cd.StandardizedCoefficients) < 0.05 * Norm(cd.StandardizedCoefficients));
    }
}
