using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>Seeded synthetic regression data and an independent KKT check of a solution.</summary>
internal static class SyntheticData
{
    /// <summary>n x (p + 1) matrix: p correlated features (shifted and scaled differently), target last.</summary>
    public static DenseMatrix Gaussian(int n, int p, int seed, int signal = 5, double rho = 0.4, bool binary = false, double noise = 1.0)
    {
        var rng = new Random(seed);
        var x = new DenseMatrix(n, p + 1);
        var common = new double[n];
        for (int i = 0; i < n; i++) common[i] = Normal(rng);
        for (int j = 0; j < p; j++)
        {
            double shift = 3 * (rng.NextDouble() - 0.5), scale = 0.5 + 2 * rng.NextDouble();
            var col = x.Column(j);
            for (int i = 0; i < n; i++) col[i] = shift + scale * (Math.Sqrt(rho) * common[i] + Math.Sqrt(1 - rho) * Normal(rng));
        }
        var y = x.Column(p);
        for (int i = 0; i < n; i++)
        {
            double eta = 0.5;
            for (int j = 0; j < Math.Min(signal, p); j++) eta += (j % 2 == 0 ? 1.5 : -1.0) * x[i, j] / (1 + j);
            y[i] = binary ? (rng.NextDouble() < 1 / (1 + Math.Exp(-eta)) ? 1 : 0) : eta + noise * Normal(rng);
        }
        return x;
    }

    public static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    public static FitSpec Spec(int p, Penalty penalty, double l1Ratio = 1, double[]? lambdas = null) => new()
    {
        FeatureColumns = [.. Enumerable.Range(0, p)],
        FeatureNames = [.. Enumerable.Range(0, p).Select(j => $"x{j + 1}")],
        TargetColumn = p,
        Penalty = penalty,
        L1Ratio = l1Ratio,
        Lambdas = lambdas,
        Path = lambdas is null ? new LambdaPathSpec() : null,
        Tolerance = 1e-14,
    };

    /// <summary>
    /// The largest KKT violation of a gaussian elastic-net point, on the standardized scale, computed from
    /// the data directly: g_j = (x_j - m_j)'r / (n s_j) must equal lambda v_j (alpha sign b_j + (1 - alpha) beta_j)
    /// for nonzero coefficients and be at most lambda alpha v_j in size for zeros; the residuals sum to 0.
    /// </summary>
    public static double KktViolation(DenseMatrix x, FitSpec spec, double[] means, double[] scales, double[] v, PathPoint point)
    {
        int n = x.Rows, p = spec.FeatureColumns.Length;
        double alpha = spec.Penalty switch { Penalty.Lasso => 1, Penalty.ElasticNet => spec.L1Ratio!.Value, _ => 0 };
        var r = new double[n];
        var y = x.Column(spec.TargetColumn);
        for (int i = 0; i < n; i++)
        {
            double e = y[i] - point.Intercept;
            for (int j = 0; j < p; j++) e -= x[i, spec.FeatureColumns[j]] * point.Coefficients[j];
            r[i] = e;
        }
        double worst = spec.FitIntercept ? Math.Abs(r.Sum() / n) : 0;
        for (int j = 0; j < p; j++)
        {
            var col = x.Column(spec.FeatureColumns[j]);
            double g = 0;
            for (int i = 0; i < n; i++) g += (col[i] - means[j]) * r[i];
            g /= n * scales[j];
            double beta = point.Coefficients[j] * scales[j];
            double lambda = point.Lambda;
            double violation = beta != 0
                ? Math.Abs(g - lambda * v[j] * (alpha * Math.Sign(beta) + (1 - alpha) * beta))
                : Math.Max(Math.Abs(g) - lambda * alpha * v[j], 0);
            worst = Math.Max(worst, violation);
        }
        return worst;
    }
}
