using RegService.Numerics.Fitting;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Closed-form ridge (and unpenalized least squares) for the gaussian family:
/// minimizes <c>(1/2n) ||y - b0 - Xb||^2 + lambda/2 ||b||^2</c> on the standardized scale.
/// </summary>
/// <remarks>
/// From the shifted Gram matrix of [features, target] (<see cref="Kernels.GramKernel"/>):
/// <c>A = Z'Z/n</c>, <c>c = Z'y/n</c> for the centered, scaled features <c>Z</c>, and
/// <c>beta = (A + lambda I)^-1 c</c> by Cholesky for one lambda, or by one symmetric
/// eigendecomposition <c>A = V D V'</c> for many (<c>beta = V (D + lambda I)^-1 V'c</c>).
/// Original-scale coefficients are <c>b_j = beta_j / s_j</c>, <c>b0 = mean(y) - sum_j mean_j b_j</c>.
/// A generated path starts, like glmnet's alpha = 0 path, at max_j |c_j| / 1e-3.
/// </remarks>
public static class ClosedFormRidge
{
    public const string SolverName = "closedFormRidge";

    public static PathFit FromGram(double[] gram, double[] sums, double[] shift, int n, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        var system = NormalSystem.From(gram, sums, shift, n, featureNames, settings.Standardize, settings.FitIntercept, ct);
        var lambdas = settings.Lambdas ?? LambdaGrid.Geometric(LambdaMax(system), settings.Generate?.Count ?? 100,
            settings.Generate?.MinRatio ?? LambdaGrid.DefaultMinRatio(n, featureNames.Length));
        var eigen = lambdas.Length > 1 ? system.Eigen(ct) : null;
        var points = new PathPoint[lambdas.Length];
        for (int l = 0; l < lambdas.Length; l++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new FitProgress((double)l / lambdas.Length, $"lambda {l + 1} of {lambdas.Length}"));
            var beta = eigen is null ? system.Solve(lambdas[l], ct) : system.Solve(eigen, lambdas[l]);
            points[l] = system.Point(lambdas[l], beta) with { DevianceRatio = DevianceRatio(system, beta, ct) };
        }
        return new PathFit
        {
            Lambdas = lambdas,
            Points = points,
            FeatureMeans = system.FeatureMeans,
            FeatureScales = system.Scales,
            NullDeviance = system.TargetVariance,
            Rows = n,
            Warnings = [.. system.Warnings],
            Form = eigen is null ? "cholesky" : "eigen",
        };
    }

    /// <summary>glmnet's start of an alpha = 0 path: max_j |c_j| / 1e-3.</summary>
    public static double LambdaMax(NormalSystem system)
    {
        double max = 0;
        foreach (var c in system.C) max = Math.Max(max, Math.Abs(c));
        return max / 1e-3;
    }

    /// <summary>1 - RSS/TSS with RSS/n = var(y) - 2c'b + b'Ab.</summary>
    private static double DevianceRatio(NormalSystem system, double[] beta, CancellationToken ct)
    {
        int q = beta.Length;
        var a = system.A;
        double cb = 0, bab = 0;
        for (int u = 0; u < q; u++)
        {
            if ((u & 255) == 0) ct.ThrowIfCancellationRequested();
            cb += system.C[u] * beta[u];
            double row = System.Numerics.Tensors.TensorPrimitives.Dot<double>(a.AsSpan((int)((long)u * q), q), beta);
            bab += beta[u] * row;
        }
        double yVar = system.TargetVariance;
        return yVar > 0 ? 1 - Math.Max(yVar - 2 * cb + bab, 0) / yVar : double.NaN;
    }
}
