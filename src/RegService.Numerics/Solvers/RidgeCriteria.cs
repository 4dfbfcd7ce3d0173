using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Leave-one-out and generalized cross-validation of ridge, from one eigendecomposition A = V D V' of
/// A = Z'Z/n, with w = V'c, for every lambda:
/// <code>
/// fitted z_i'beta = sum_k U_ik w_k / (d_k + lambda),   U_ik = v_k . z_i
/// leverage h_ii   = 1/n (intercept) + (1/n) sum_k U_ik^2 / (d_k + lambda)
/// LOO residual    = e_i / (1 - h_ii)                      (exact for a linear smoother)
/// GCV             = (RSS/n) / (1 - df/n)^2,  df = sum_k d_k / (d_k + lambda) (+ 1 for the intercept)
/// </code>
/// GCV needs only the Gram matrix; LOO takes one pass over the rows (q^2 per row for U, 2q per row and lambda).
/// </summary>
public static class RidgeCriteria
{
    /// <summary>GCV per lambda (no standard error: it is not an average over rows).</summary>
    public static ValidationCurve Gcv(NormalSystem system, EigenRidgePath eigen, double[] lambdas, int rows, bool fitIntercept)
    {
        int q = eigen.Dimension;
        var d = eigen.Eigenvalues.ToArray();
        var w = new double[q];
        eigen.Project(system.C, w);
        var mean = new double[lambdas.Length];
        for (int l = 0; l < lambdas.Length; l++)
        {
            double cb = 0, bab = 0, df = fitIntercept ? 1 : 0;
            for (int k = 0; k < q; k++)
            {
                double dk = Math.Max(d[k], 0), inv = 1 / (dk + lambdas[l]);
                if (!double.IsFinite(inv)) continue;
                cb += w[k] * w[k] * inv;
                bab += dk * w[k] * w[k] * inv * inv;
                df += dk * inv;
            }
            double rss = Math.Max(system.TargetVariance - 2 * cb + bab, 0);
            double denominator = 1 - df / rows;
            mean[l] = denominator > 0 ? rss / (denominator * denominator) : double.PositiveInfinity;
        }
        return new ValidationCurve("mse", mean, [.. lambdas.Select(_ => double.NaN)]);
    }

    /// <summary>Leave-one-out mean squared error per lambda, with its standard error over rows.</summary>
    public static ValidationCurve LeaveOneOut(DenseMatrix x, int[] featureCols, int targetCol, NormalSystem system, EigenRidgePath eigen,
        double[] lambdas, bool fitIntercept, int threads, CancellationToken ct)
    {
        int n = x.Rows, q = eigen.Dimension, count = lambdas.Length;
        var d = eigen.Eigenvalues.ToArray();
        var w = new double[q];
        eigen.Project(system.C, w);
        var vectors = new double[q][];
        for (int k = 0; k < q; k++) vectors[k] = eigen.Eigenvector(k).ToArray();
        var inverse = new double[count][];
        for (int l = 0; l < count; l++)
        {
            inverse[l] = new double[q];
            for (int k = 0; k < q; k++)
            {
                double inv = 1 / (Math.Max(d[k], 0) + lambdas[l]);
                inverse[l][k] = double.IsFinite(inv) ? inv : 0;
            }
        }
        var columns = system.Active.Select(j => featureCols[j]).ToArray();
        var means = system.Active.Select(j => system.FeatureMeans[j]).ToArray();
        var scales = system.Active.Select(j => system.Scales[j]).ToArray();
        var y = x.Data.AsMemory((int)((long)targetCol * n), n);
        double yMean = system.TargetMean, baseLeverage = fitIntercept ? 1.0 / n : 0;

        int parts = Math.Max(1, Math.Min(threads, n / 1024 + 1));
        var sums = new double[parts][];
        var squares = new double[parts][];
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts, CancellationToken = ct }, t =>
        {
            int from = (int)((long)n * t / parts), to = (int)((long)n * (t + 1) / parts);
            var sum = sums[t] = new double[count];
            var square = squares[t] = new double[count];
            var z = new double[q];
            var fit = new double[q];
            var lev = new double[q];
            var ySpan = y.Span;
            for (int i = from; i < to; i++)
            {
                if ((i & 4095) == 0) ct.ThrowIfCancellationRequested();
                for (int u = 0; u < q; u++) z[u] = (x.Data[(long)columns[u] * n + i] - means[u]) / scales[u];
                for (int k = 0; k < q; k++)
                {
                    double uik = TensorPrimitives.Dot<double>(vectors[k], z);
                    fit[k] = uik * w[k];
                    lev[k] = uik * uik;
                }
                double yc = ySpan[i] - yMean;
                for (int l = 0; l < count; l++)
                {
                    double h = baseLeverage + TensorPrimitives.Dot<double>(lev, inverse[l]) / n;
                    double e = (yc - TensorPrimitives.Dot<double>(fit, inverse[l])) / (1 - h);
                    sum[l] += e * e;
                    square[l] += e * e * e * e;
                }
            }
        });
        var mean = new double[count];
        var se = new double[count];
        for (int l = 0; l < count; l++)
        {
            double s = 0, s2 = 0;
            for (int t = 0; t < parts; t++) { s += sums[t][l]; s2 += squares[t][l]; }
            mean[l] = s / n;
            double variance = n > 1 ? Math.Max(s2 / n - mean[l] * mean[l], 0) * n / (n - 1) : double.NaN;
            se[l] = Math.Sqrt(variance / n);
        }
        return new ValidationCurve("mse", mean, se);
    }
}
