using System.Text.Json;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Tests.Paths;

/// <summary>
/// Coefficients between path lambdas as glmnet's <c>coef(fit, s = , exact = FALSE)</c>: known answers first, then glmnet's
/// own output (tests/fixtures/interp/gauss_lasso_interp.json, made by tests/fixtures/make_glmnet_interp_fixture.R).
/// </summary>
public class PathInterpolationTests
{
    private static readonly double[] Lambdas = [1.0, 0.5, 0.1];

    [Fact]
    public void BetweenTwoPointsTheWeightIsLinearInLambdaNotInLogLambda()
    {
        var point = PathInterpolation.Locate(Lambdas, 0.3);
        Assert.Equal((1, 2, false), (point.Left, point.Right, point.Clamped));
        Assert.True(point.Interpolated);
        // (s - lambda_right) / (lambda_left - lambda_right) = 0.2 / 0.4; log-linear would give log(3) / log(5) = 0.68.
        Assert.Equal(0.5, point.Fraction, 1e-15);
        var (intercept, coefficients) = PathInterpolation.Model(point, [0.0, 2.0, 4.0], [[0.0, 0.0], [1.0, -1.0], [3.0, -2.0]]);
        Assert.Equal(3.0, intercept, 1e-15);
        Assert.Equal(2.0, coefficients[0], 1e-15);
        Assert.Equal(-1.5, coefficients[1], 1e-15);
    }

    [Fact]
    public void OutsideThePathTheNearerEndStandsForItAsGlmnetClamps()
    {
        Assert.Equal(new PathBlend(0, 0, 1, Clamped: true), PathInterpolation.Locate(Lambdas, 7));
        Assert.Equal(new PathBlend(2, 2, 1, Clamped: true), PathInterpolation.Locate(Lambdas, 0.01));
        Assert.Equal(new PathBlend(2, 2, 1, Clamped: true), PathInterpolation.Locate(Lambdas, 0));
        Assert.Equal(new PathBlend(0, 0, 1, Clamped: true), PathInterpolation.Locate([0.2], 0.05));
    }

    [Fact]
    public void OnAPathBlendWithinTheToleranceThatPointIsTaken()
    {
        Assert.Equal(new PathBlend(1, 1, 1, false), PathInterpolation.Locate(Lambdas, 0.5));
        Assert.Equal(new PathBlend(1, 1, 1, false), PathInterpolation.Locate(Lambdas, 0.5 * (1 + 1e-10), tolerance: 1e-9));
        Assert.True(PathInterpolation.Locate(Lambdas, 0.5 * (1 + 1e-10)).Interpolated);
    }

    [Fact]
    public void APathGivenInIncreasingOrderGivesTheSameModel()
    {
        var point = PathInterpolation.Locate([0.1, 0.5, 1.0], 0.3);
        Assert.Equal((1, 0), (point.Left, point.Right));
        Assert.Equal(0.5, point.Fraction, 1e-15);
        Assert.Equal(new PathBlend(2, 2, 1, true), PathInterpolation.Locate([0.1, 0.5, 1.0], 3));
    }

    [Fact]
    public void BadInputIsRefused()
    {
        Assert.Throws<ArgumentException>(() => PathInterpolation.Locate([], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PathInterpolation.Locate(Lambdas, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => PathInterpolation.Locate(Lambdas, -1));
    }

    [Fact]
    public void GlmnetsLambdaInterpAndCoefExactFalseAreReproduced()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture()));
        var root = doc.RootElement;
        double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];
        var lambdas = Doubles(root.GetProperty("lambda"));
        var intercepts = Doubles(root.GetProperty("a0"));
        var betas = root.GetProperty("beta").EnumerateArray().Select(Doubles).ToArray();
        var s = Doubles(root.GetProperty("s"));
        var left = root.GetProperty("left").EnumerateArray().Select(v => v.GetInt32() - 1).ToArray();
        var right = root.GetProperty("right").EnumerateArray().Select(v => v.GetInt32() - 1).ToArray();
        var frac = Doubles(root.GetProperty("frac"));
        var wantIntercept = Doubles(root.GetProperty("coef_intercept"));
        var wantBeta = root.GetProperty("coef_beta").EnumerateArray().Select(Doubles).ToArray();
        Assert.True(s.Length >= 8 && s.Count(v => v > lambdas[0]) >= 1 && s.Count(v => v < lambdas[^1]) >= 1, "the fixture covers both ends");

        int interpolated = 0;
        for (int i = 0; i < s.Length; i++)
        {
            var point = PathInterpolation.Locate(lambdas, s[i]);
            Assert.Equal((left[i], right[i]), (point.Left, point.Right));
            Assert.Equal(frac[i], point.Fraction, 1e-12);
            if (point.Interpolated) interpolated++;
            var (intercept, beta) = PathInterpolation.Model(point, intercepts, betas);
            AssertClose(wantIntercept[i], intercept, $"intercept at s = {s[i]}");
            for (int j = 0; j < beta.Length; j++) AssertClose(wantBeta[i][j], beta[j], $"beta[{j}] at s = {s[i]}");
        }
        Assert.True(interpolated >= 4, $"{interpolated} values of s fall between path points");
    }

    /// <summary>1e-12 relative to the larger of the value and 1 (glmnet's own path, so only rounding separates them).</summary>
    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{what}: glmnet {expected}, here {actual}");

    internal static string Fixture()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "interp", "gauss_lasso_interp.json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tests/fixtures/interp/gauss_lasso_interp.json not found above the test binaries");
    }
}
