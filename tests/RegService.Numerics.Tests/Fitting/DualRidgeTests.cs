using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Selection;
using RegService.Numerics.Tests.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>The dual closed form (p > n) against the primal closed form on the same problems.</summary>
public class DualRidgeTests
{
    private const double Tolerance = 1e-9;

    private static Folds? MakeFolds(DenseMatrix x, FitSpec spec) => spec.Validation switch
    {
        ValidationMethod.KFold => Folds.Random(x.Rows, spec.KFold!.Folds, spec.KFold.Seed, null),
        ValidationMethod.Holdout => Folds.Holdout(x.Rows, spec.Holdout!.Fraction, spec.Holdout.Seed),
        _ => null,
    };

    private static FitResult Run(DenseMatrix x, FitSpec spec, bool dual)
    {
        var folds = MakeFolds(x, spec);
        PathSource source = dual
            ? new DualSource(x, spec, folds)
            : new GramSource(x, spec, folds, closedForm: true, threads: 1, CancellationToken.None);
        return PathFitter.Fit(x, spec, source, folds, null, CancellationToken.None);
    }

    private static void Close(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (var v in expected) if (double.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]) || double.IsPositiveInfinity(expected[i])) { Assert.Equal(expected[i], actual[i]); continue; }
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Max(scale, 1e-300),
                $"{what}[{i}]: primal {expected[i]:R}, dual {actual[i]:R} (scale {scale:G3})");
        }
    }

    private static void Close(double expected, double actual, string what) => Close([expected], [actual], what);

    private static void CloseMetrics(IFitMetrics? expected, IFitMetrics? actual, string what)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is null) return;
        Assert.Equal(expected.Rows, actual!.Rows);
        Close(expected.Loss, actual.Loss, what + ".loss");
        Close(expected.DevianceRatio, actual.DevianceRatio, what + ".devianceRatio");
    }

    private static void AssertSame(FitResult primal, FitResult dual)
    {
        Assert.Equal(primal.Solver, dual.Solver);
        Assert.Equal(primal.Path.Length, dual.Path.Length);
        for (int l = 0; l < primal.Path.Length; l++)
        {
            var a = primal.Path[l];
            var b = dual.Path[l];
            Close(a.Lambda, b.Lambda, $"lambda {l}");
            Close(a.Coefficients, b.Coefficients, $"point {l} coefficients");
            Close(a.StandardizedCoefficients, b.StandardizedCoefficients, $"point {l} standardized");
            Close([a.Intercept, .. a.Coefficients], [b.Intercept, .. b.Coefficients], $"point {l} intercept");
            Close(a.DevianceRatio, b.DevianceRatio, $"point {l} deviance ratio");
            Assert.Equal(a.NonZero, b.NonZero);
            CloseMetrics(a.Validation, b.Validation, $"point {l} validation");
        }
        Close(primal.Lambda, dual.Lambda, "chosen lambda");
        Close(primal.Coefficients, dual.Coefficients, "coefficients");
        Close(primal.Intercept, dual.Intercept, "intercept");
        Close(primal.FeatureMeans, dual.FeatureMeans, "means");
        Close(primal.FeatureScales, dual.FeatureScales, "scales");
        Close(primal.NullDeviance, dual.NullDeviance, "null deviance");
        Assert.Equal(primal.DualityGap, dual.DualityGap);
        Assert.Equal(primal.LambdaMin is null, dual.LambdaMin is null);
        if (primal.LambdaMin is { } min) Close(min, dual.LambdaMin!.Value, "lambda min");
        if (primal.Lambda1se is { } oneSe) Close(oneSe, dual.Lambda1se!.Value, "lambda 1se");
        Assert.Equal(primal.Curve is null, dual.Curve is null);
        if (primal.Curve is { } curve)
        {
            Close(curve.Mean, dual.Curve!.Mean, "curve mean");
            Close(curve.StandardError, dual.Curve.StandardError, "curve standard error");
        }
        CloseMetrics(primal.TrainMetrics, dual.TrainMetrics, "train");
        CloseMetrics(primal.ValidationMetrics, dual.ValidationMetrics, "validation");
        Assert.Equal(primal.Warnings, dual.Warnings);
    }

    public static TheoryData<int, int, bool, bool> Shapes() => new()
    {
        { 50, 60, true, true }, { 50, 60, false, true }, { 50, 60, true, false }, { 50, 60, false, false },
        { 30, 600, true, true }, { 30, 600, false, false },
    };

    private static FitSpec Spec(int p, bool intercept, bool standardize, double[]? lambdas) =>
        SyntheticData.Spec(p, Penalty.Ridge, 0, lambdas) with { FitIntercept = intercept, Standardize = standardize, MaxThreads = 1 };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OneLambdaMatchesThePrimal(int n, int p, bool intercept, bool standardize)
    {
        var x = SyntheticData.Gaussian(n, p, seed: n + p);
        var spec = Spec(p, intercept, standardize, [0.3]);
        AssertSame(Run(x, spec, dual: false), Run(x, spec, dual: true));
    }

    [Fact]
    public void OneLambdaMatchesThePrimalWithManyMoreFeaturesThanRows()
    {
        var x = SyntheticData.Gaussian(30, 2000, seed: 11);
        foreach (var (intercept, standardize) in new[] { (true, true), (false, false) })
        {
            var spec = Spec(2000, intercept, standardize, [0.05]);
            AssertSame(Run(x, spec, dual: false), Run(x, spec, dual: true));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SeveralLambdasAndTheDefaultPathMatchThePrimal(int n, int p, bool intercept, bool standardize)
    {
        var x = SyntheticData.Gaussian(n, p, seed: 2 * n + p);
        AssertSame(Run(x, Spec(p, intercept, standardize, [2, 0.5, 0.1, 0.02]), false), Run(x, Spec(p, intercept, standardize, [2, 0.5, 0.1, 0.02]), true));
        var path = Spec(p, intercept, standardize, null) with { Path = new LambdaPathSpec(Count: 30) };
        AssertSame(Run(x, path, false), Run(x, path, true));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LeaveOneOutAndGcvMatchThePrimal(int n, int p, bool intercept, bool standardize)
    {
        var x = SyntheticData.Gaussian(n, p, seed: 3 * n + p);
        foreach (var method in new[] { ValidationMethod.LeaveOneOut, ValidationMethod.Gcv })
        {
            var spec = Spec(p, intercept, standardize, null) with { Path = new LambdaPathSpec(Count: 25), Validation = method };
            AssertSame(Run(x, spec, false), Run(x, spec, true));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void KFoldAndHoldoutMatchThePrimal(int n, int p, bool intercept, bool standardize)
    {
        var x = SyntheticData.Gaussian(n, p, seed: 4 * n + p);
        var kfold = Spec(p, intercept, standardize, null) with
        {
            Path = new LambdaPathSpec(Count: 20), Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5, Seed: 3),
        };
        AssertSame(Run(x, kfold, false), Run(x, kfold, true));
        var holdout = Spec(p, intercept, standardize, [1, 0.1]) with { Validation = ValidationMethod.Holdout, Holdout = new HoldoutSpec(0.3, 5) };
        AssertSame(Run(x, holdout, false), Run(x, holdout, true));
    }

    [Fact]
    public void ConstantFeaturesGetZeroAndTheSameWarning()
    {
        var x = SyntheticData.Gaussian(40, 70, seed: 9);
        x.Column(3).Fill(2.5);
        x.Column(10).Fill(0);
        var spec = Spec(70, true, true, [0.2, 0.05]) with { Validation = ValidationMethod.Gcv };
        var dual = Run(x, spec, true);
        AssertSame(Run(x, spec, false), dual);
        Assert.Equal(0, dual.Coefficients[3]);
        Assert.Equal(0, dual.Coefficients[10]);
        Assert.Contains(dual.Warnings, w => w.Contains("'x4' has zero variance"));
    }

    [Fact]
    public void TheEngineRoutesWideRidgeToTheDual()
    {
        var x = SyntheticData.Gaussian(20, 50, seed: 5);
        var spec = Spec(50, true, true, [0.1]);
        var engine = FitEngine.Fit(x, spec);
        var dual = Run(x, spec, true);
        Assert.Equal(dual.Coefficients, engine.Coefficients);
        Assert.Equal(dual.Intercept, engine.Intercept);
    }

    [Fact]
    public void ThreeRowsOfEightThousandFeaturesMatchTheDualFormula()
    {
        const int n = 3, p = 8000;
        const double lambda = 1;
        var rng = new Random(8);
        var x = new DenseMatrix(n, p + 1);
        for (int j = 0; j <= p; j++)
            for (int i = 0; i < n; i++) x[i, j] = (j % 7) + rng.NextDouble() * (1 + j % 3);
        var result = FitEngine.Fit(x, Spec(p, true, true, [lambda]) with { MaxThreads = 0 });

        // beta = Z' (ZZ' + n lambda I)^-1 y_c for the centered, standardized Z, solved naively (3 x 3).
        var z = new double[n, p];
        var means = new double[p];
        var scales = new double[p];
        for (int j = 0; j < p; j++)
        {
            means[j] = (x[0, j] + x[1, j] + x[2, j]) / n;
            double v = 0;
            for (int i = 0; i < n; i++) v += (x[i, j] - means[j]) * (x[i, j] - means[j]);
            scales[j] = Math.Sqrt(v / n);
            for (int i = 0; i < n; i++) z[i, j] = (x[i, j] - means[j]) / scales[j];
        }
        double yMean = (x[0, p] + x[1, p] + x[2, p]) / n;
        var m = new double[n, n + 1];
        for (int a = 0; a < n; a++)
        {
            for (int b = 0; b < n; b++)
            {
                double s = 0;
                for (int j = 0; j < p; j++) s += z[a, j] * z[b, j];
                m[a, b] = s + (a == b ? n * lambda : 0);
            }
            m[a, n] = x[a, p] - yMean;
        }
        for (int c = 0; c < n; c++)
            for (int r = c + 1; r < n; r++)
            {
                double f = m[r, c] / m[c, c];
                for (int k = c; k <= n; k++) m[r, k] -= f * m[c, k];
            }
        var alpha = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = m[r, n];
            for (int k = r + 1; k < n; k++) s -= m[r, k] * alpha[k];
            alpha[r] = s / m[r, r];
        }
        var expected = new double[p];
        double intercept = yMean;
        for (int j = 0; j < p; j++)
        {
            double beta = 0;
            for (int i = 0; i < n; i++) beta += z[i, j] * alpha[i];
            expected[j] = beta / scales[j];
            intercept -= means[j] * expected[j];
        }
        Close(expected, result.Coefficients, "coefficients");
        Close(intercept, result.Intercept, "intercept");
    }
}
