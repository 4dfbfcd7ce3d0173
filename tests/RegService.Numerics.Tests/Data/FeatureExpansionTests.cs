using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Data;

public class FeatureExpansionTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CountNamesAndColumnsAgree(bool interactions)
    {
        for (int p = 1; p <= 5; p++)
            for (int d = 1; d <= 4; d++)
            {
                var e = new ExpansionSpec(d, interactions);
                var x = Random(7, p, seed: p * 10 + d);
                int q = FeatureExpansion.Count(p, e);
                Assert.Equal(q, FeatureExpansion.Names([.. Enumerable.Range(1, p).Select(j => $"x{j}")], e).Length);
                Assert.Equal(q, FeatureExpansion.Expand(x, [.. Enumerable.Range(0, p)], e).Columns);
                Assert.Equal(interactions ? Binomial(p + d, d) - 1 : p * d, q);
            }
    }

    [Fact]
    public void CountsByHandAndOverflow()
    {
        Assert.Equal(9, FeatureExpansion.Count(3, new ExpansionSpec(2, true)));
        Assert.Equal(19, FeatureExpansion.Count(3, new ExpansionSpec(3, true)));
        Assert.Equal(6, FeatureExpansion.Count(3, new ExpansionSpec(2, false)));
        Assert.Equal(int.MaxValue, FeatureExpansion.Count(100_000, new ExpansionSpec(10, true)));
    }

    [Fact]
    public void NamesFollowPolynomialFeaturesOrder()
    {
        Assert.Equal(["a", "b", "c", "a^2", "a*b", "a*c", "b^2", "b*c", "c^2"],
            FeatureExpansion.Names(["a", "b", "c"], new ExpansionSpec(2, true)));
        Assert.Equal(["x1", "x2", "x1^2", "x2^2", "x1^3", "x2^3"], FeatureExpansion.Names(["x1", "x2"], new ExpansionSpec(3)));
        Assert.Equal(["a", "b", "a^2", "a*b", "b^2", "a^3", "a^2*b", "a*b^2", "b^3"],
            FeatureExpansion.Names(["a", "b"], new ExpansionSpec(3, true)));
    }

    /// <summary>Every expanded column is the product its name describes, computed here independently with Math.Pow.</summary>
    [Theory]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    public void ColumnsAreTheProductsTheirNamesDescribe(int degree, bool interactions)
    {
        var x = Random(13, 4, seed: degree);
        int[] columns = [3, 0, 2];
        string[] inputs = ["p", "q", "r"];
        var e = new ExpansionSpec(degree, interactions);
        var expanded = FeatureExpansion.Expand(x, columns, e);
        var names = FeatureExpansion.Names(inputs, e);
        for (int k = 0; k < names.Length; k++)
            for (int i = 0; i < x.Rows; i++)
            {
                double expected = 1;
                foreach (var factor in names[k].Split('*'))
                {
                    var parts = factor.Split('^');
                    int power = parts.Length == 2 ? int.Parse(parts[1]) : 1;
                    expected *= Math.Pow(x[i, columns[Array.IndexOf(inputs, parts[0])]], power);
                }
                Assert.Equal(expected, expanded[i, k], 1e-12 * Math.Max(1, Math.Abs(expected)));
            }
    }

    [Fact]
    public void ApplyPutsTheTargetLastAndShiftsByTheNewMeans()
    {
        var x = Random(20, 4, seed: 3);
        var spec = new FitSpec
        {
            FeatureColumns = [0, 2], FeatureNames = ["u", "v"], TargetColumn = 3, Lambdas = [0.1],
            Expansion = new ExpansionSpec(2, true), ColumnShift = [9, 9, 9, 9],
        };
        var (expanded, fitted) = FeatureExpansion.Apply(x, spec);
        Assert.Equal(6, expanded.Columns);
        Assert.Equal([0, 1, 2, 3, 4], fitted.FeatureColumns);
        Assert.Equal(["u", "v", "u^2", "u*v", "v^2"], fitted.FeatureNames);
        Assert.Equal(5, fitted.TargetColumn);
        Assert.Null(fitted.Expansion);
        Assert.Equal(x.Column(3).ToArray(), expanded.Column(5).ToArray());
        for (int j = 0; j < 6; j++) Assert.Equal(expanded.Column(j).ToArray().Average(), fitted.ColumnShift![j], 1e-14);

        Assert.Equal([0.0, 1, 1, 1, 1], FeatureExpansion.Apply(x, spec with { PenaltyFactors = [0, 1, 1, 1, 1] }).Spec.PenaltyFactors!);
        Assert.Contains("2 penalty factors for 5 expanded features",
            Assert.Throws<ArgumentException>(() => FeatureExpansion.Apply(x, spec with { PenaltyFactors = [1, 1] })).Message);
        Assert.Throws<ArgumentException>(() => FeatureExpansion.Apply(x, spec with { Expansion = new ExpansionSpec(11) }));
    }

    /// <summary>
    /// A degree-10 polynomial of t on 40 noisy points of sin(pi t), ridge over lambdas from 1e-10 to 10 scored by 5-fold
    /// cross-validation: tiny lambdas overfit and large ones underfit, so the validation error falls, then rises.
    /// </summary>
    [Fact]
    public void RidgeOnAPolynomialBasisOverfitsThenUnderfits()
    {
        var rng = new Random(4);
        int n = 40;
        var x = new DenseMatrix(n, 2);
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = 2 * rng.NextDouble() - 1;
            x[i, 1] = Math.Sin(Math.PI * x[i, 0]) + 0.3 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        }
        var lambdas = Enumerable.Range(0, 30).Select(k => 1e-10 * Math.Pow(1e11, k / 29.0)).ToArray();
        var result = FitEngine.Fit(x, new FitSpec
        {
            FeatureColumns = [0], FeatureNames = ["t"], TargetColumn = 1, Penalty = Penalty.Ridge, Lambdas = lambdas,
            Expansion = new ExpansionSpec(10), Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5, 1),
        });
        Assert.Equal(["t"], result.InputNames!);
        Assert.Equal(10, result.FeatureNames.Length);
        Assert.Equal("t^10", result.FeatureNames[^1]);
        var mean = result.Curve!.Mean;
        int best = Array.IndexOf(mean, mean.Min());
        Assert.InRange(best, 1, lambdas.Length - 2);
        Assert.True(mean[0] > 3 * mean[best], $"{mean[0]} at the smallest lambda against {mean[best]}");
        Assert.True(mean[^1] > 2 * mean[best], $"{mean[^1]} at the largest lambda against {mean[best]}");
    }

    private static DenseMatrix Random(int rows, int columns, int seed)
    {
        var rng = new Random(seed);
        var x = new DenseMatrix(rows, columns);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) x[i, j] = 2 * rng.NextDouble() - 0.5;
        return x;
    }

    private static int Binomial(int n, int k)
    {
        long c = 1;
        for (int i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return (int)c;
    }
}
