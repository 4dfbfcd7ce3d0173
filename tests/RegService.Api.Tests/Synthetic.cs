using System.Globalization;
using System.Text;

namespace RegService.Api.Tests;

/// <summary>Seeded data sets with a known signal, as CSV text and as columns.</summary>
public sealed class Synthetic
{
    private Synthetic(string[] names, double[][] columns)
    {
        Names = names;
        Columns = columns;
    }

    public string[] Names { get; }
    public double[][] Columns { get; }
    public int Rows => Columns[0].Length;

    public double[] Column(string name) => Columns[Array.IndexOf(Names, name)];

    /// <summary>Features a..e uniform on [0, 1); y = 3a - 2b + c/2 + noise (d and e carry no signal).</summary>
    public static Synthetic Gaussian(int rows, int seed)
    {
        var rng = new Random(seed);
        var x = Features(rng, rows, 5);
        var y = new double[rows];
        for (int i = 0; i < rows; i++) y[i] = 3 * x[0][i] - 2 * x[1][i] + 0.5 * x[2][i] + 0.3 * (rng.NextDouble() - 0.5);
        return new(["a", "b", "c", "d", "e", "y"], [.. x, y]);
    }

    /// <summary>Features a..e uniform on [-1, 1); y = 1 with probability 1 / (1 + e^-(2a - 2b)).</summary>
    public static Synthetic Binomial(int rows, int seed)
    {
        var rng = new Random(seed);
        var x = Features(rng, rows, 5);
        for (int j = 0; j < 5; j++)
            for (int i = 0; i < rows; i++) x[j][i] = 2 * x[j][i] - 1;
        var y = new double[rows];
        for (int i = 0; i < rows; i++)
            y[i] = rng.NextDouble() < 1 / (1 + Math.Exp(-(2 * x[0][i] - 2 * x[1][i]))) ? 1 : 0;
        return new(["a", "b", "c", "d", "e", "y"], [.. x, y]);
    }

    /// <summary>The columns named, as CSV with a header row (round-trip formatting, so values are exact).</summary>
    public string Csv(params string[] columns)
    {
        if (columns.Length == 0) columns = Names;
        var sb = new StringBuilder(string.Join(",", columns)).Append('\n');
        var data = columns.Select(Column).ToArray();
        for (int i = 0; i < Rows; i++)
            sb.Append(string.Join(",", data.Select(c => c[i].ToString("R", CultureInfo.InvariantCulture)))).Append('\n');
        return sb.ToString();
    }

    private static double[][] Features(Random rng, int rows, int count)
    {
        var x = new double[count][];
        for (int j = 0; j < count; j++)
        {
            x[j] = new double[rows];
            for (int i = 0; i < rows; i++) x[j][i] = rng.NextDouble();
        }
        return x;
    }
}
