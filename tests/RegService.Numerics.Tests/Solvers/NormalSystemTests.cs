using RegService.Numerics.Kernels;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

public class NormalSystemTests
{
    /// <summary>
    /// A built in vectors (every feature active) has, on every tier, the bits of the scalar formula
    /// <c>((G_ab [− G'_ab] · factor) − S_a S_b / n) / (n s_a · s_b)</c>, from one Gram and from a difference of two, with and
    /// without an intercept, at every order up to twice the widest vector plus one and beyond; a constant feature (left out)
    /// takes the scalar path and gives the same values.
    /// </summary>
    [Fact]
    public void RowsInVectorsGiveTheScalarFormulasBits()
    {
        foreach (var path in KernelIsa.Available)
            using (KernelIsa.Force(path))
                foreach (int p in Enumerable.Range(1, 2 * 8 + 1).Append(40).Append(203))
                    foreach (bool intercept in new[] { true, false })
                        foreach (bool difference in new[] { false, true })
                            foreach (bool constant in new[] { false, true })
                                Check(p, intercept, difference, constant && p > 1);
    }

    private static void Check(int p, bool intercept, bool difference, bool constant)
    {
        var rng = new Random(p * 8 + (intercept ? 4 : 0) + (difference ? 2 : 0) + (constant ? 1 : 0));
        int k = p + 1, n = 500, m = 37;
        // A real Gram (rows of data), so the variances are positive; the fold's from its first m rows.
        var x = new double[n, k];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < k; a++)
                x[i, a] = constant && a == 0 ? 1.5 : rng.NextDouble() * (a + 1) - 0.3;
        double[] shift = [.. Enumerable.Range(0, k).Select(a => intercept ? 0.4 * a : 0.0)];
        double[] Gram(int from, int to)
        {
            var g = new double[k * k];
            for (int i = from; i < to; i++)
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                        g[a * k + b] += (x[i, a] - shift[a]) * (x[i, b] - shift[b]);
            return g;
        }
        double[] Sums(int from, int to)
        {
            var s = new double[k];
            for (int i = from; i < to; i++)
                for (int a = 0; a < k; a++) s[a] += x[i, a] - shift[a];
            return s;
        }
        var gramAll = Gram(0, n);
        var sumsAll = Sums(0, n);
        var gramFold = Gram(0, m);
        var sumsFold = Sums(0, m);
        string[] names = [.. Enumerable.Range(0, p).Select(j => $"x{j}")];
        const double factor = 1.0 + 1.0 / 1024;   // a weighted fold fit rescales its Gram and sums a little
        int rows = difference ? n - m : n;
        var system = difference
            ? NormalSystem.FromDifference(gramAll, gramFold, sumsAll, sumsFold, factor, shift, rows, names, true, intercept)
            : NormalSystem.From(gramAll, sumsAll, shift, rows, names, true, intercept);
        Assert.True((constant ? p - 1 : p) == system.Active.Length, $"p {p} intercept {intercept} difference {difference} constant {constant}: {system.Active.Length} active, scales {string.Join(",", system.Scales)}");

        double G(int a, int b) => difference ? (gramAll[a * k + b] - gramFold[a * k + b]) * factor : gramAll[a * k + b];
        double S(int a) => difference ? (sumsAll[a] - sumsFold[a]) * factor : sumsAll[a];
        double Cross(int a, int b) => intercept ? G(a, b) - S(a) * S(b) / rows : G(a, b);
        int q = system.Active.Length;
        for (int u = 0; u < q; u++)
        {
            int ju = system.Active[u];
            double nsu = rows * system.Scales[ju];
            for (int v = 0; v < q; v++)
            {
                int jv = system.Active[v];
                Assert.Equal(Cross(ju, jv) / (nsu * system.Scales[jv]), system.A[u * q + v]);
            }
        }
    }
}
