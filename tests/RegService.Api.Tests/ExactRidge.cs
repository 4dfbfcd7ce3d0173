using System.Globalization;

namespace RegService.Api.Tests;

/// <summary>
/// An independent reference for ridge in decimal arithmetic (28 significant digits): two-pass means,
/// explicit standardization, the normal equations (Z'Z/n + lambda I) beta = Z'y/n solved by Gaussian
/// elimination with partial pivoting. Slow and exact enough to judge a double result to 1e-8.
/// </summary>
public static class ExactRidge
{
    public static (string[] Names, decimal[][] Columns) ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        var names = lines[0].Split(',').Select(n => n.Trim('"')).ToArray();
        var columns = names.Select(_ => new decimal[lines.Length - 1]).ToArray();
        for (int i = 1; i < lines.Length; i++)
        {
            var fields = lines[i].Split(',');
            for (int j = 0; j < names.Length; j++)
                columns[j][i - 1] = decimal.Parse(fields[j].Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return (names, columns);
    }

    /// <summary>Intercept and original-scale coefficients of the standardized ridge fit with an intercept.</summary>
    public static (decimal Intercept, decimal[] Coefficients) Fit(decimal[][] features, decimal[] y, decimal lambda)
    {
        int n = y.Length, p = features.Length;
        var mean = features.Select(c => c.Sum() / n).ToArray();
        decimal yMean = y.Sum() / n;
        var scale = new decimal[p];
        for (int j = 0; j < p; j++)
            scale[j] = Sqrt(features[j].Sum(v => (v - mean[j]) * (v - mean[j])) / n);
        var z = new decimal[p][];
        for (int j = 0; j < p; j++) z[j] = features[j].Select(v => (v - mean[j]) / scale[j]).ToArray();

        var a = new decimal[p, p + 1];
        for (int j = 0; j < p; j++)
        {
            for (int k = 0; k < p; k++)
            {
                decimal s = 0;
                for (int i = 0; i < n; i++) s += z[j][i] * z[k][i];
                a[j, k] = s / n + (j == k ? lambda : 0);
            }
            decimal c = 0;
            for (int i = 0; i < n; i++) c += z[j][i] * (y[i] - yMean);
            a[j, p] = c / n;
        }
        var beta = Solve(a, p);
        var coef = new decimal[p];
        decimal intercept = yMean;
        for (int j = 0; j < p; j++)
        {
            coef[j] = beta[j] / scale[j];
            intercept -= mean[j] * coef[j];
        }
        return (intercept, coef);
    }

    private static decimal[] Solve(decimal[,] a, int p)
    {
        for (int col = 0; col < p; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < p; r++)
                if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            for (int c = 0; c <= p; c++) (a[col, c], a[pivot, c]) = (a[pivot, c], a[col, c]);
            for (int r = col + 1; r < p; r++)
            {
                decimal f = a[r, col] / a[col, col];
                for (int c = col; c <= p; c++) a[r, c] -= f * a[col, c];
            }
        }
        var x = new decimal[p];
        for (int r = p - 1; r >= 0; r--)
        {
            decimal s = a[r, p];
            for (int c = r + 1; c < p; c++) s -= a[r, c] * x[c];
            x[r] = s / a[r, r];
        }
        return x;
    }

    private static decimal Sqrt(decimal v)
    {
        if (v == 0) return 0;
        decimal x = (decimal)Math.Sqrt((double)v);
        for (int i = 0; i < 4; i++) x = (x + v / x) / 2;
        return x;
    }
}
