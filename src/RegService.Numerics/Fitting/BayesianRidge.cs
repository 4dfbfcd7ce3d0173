using System.Diagnostics;
using System.Numerics.Tensors;

namespace RegService.Numerics.Fitting;

/// <summary>
/// Settings of <see cref="ModelKind.BayesianRidge"/>, scikit-learn's BayesianRidge defaults: Gamma(alpha1, alpha2) on the noise
/// precision and Gamma(lambda1, lambda2) on the weight precision (shape, rate), at most <paramref name="MaxIterations"/>
/// fixed-point steps, stopped once the coefficients move by less than <paramref name="Tolerance"/> in sum of absolute values.
/// </summary>
public sealed record BayesianSpec(
    double Alpha1 = BayesianSpec.DefaultHyperprior, double Alpha2 = BayesianSpec.DefaultHyperprior, double Lambda1 = BayesianSpec.DefaultHyperprior,
    double Lambda2 = BayesianSpec.DefaultHyperprior, int MaxIterations = BayesianSpec.DefaultMaxIterations, double Tolerance = BayesianSpec.DefaultTolerance)
{
    /// <summary>scikit-learn's alpha_1, alpha_2, lambda_1 and lambda_2 default.</summary>
    public const double DefaultHyperprior = 1e-6;
    public const int DefaultMaxIterations = 300;
    public const double DefaultTolerance = 1e-3;

    /// <summary>Most fixed-point steps a spec may ask for.</summary>
    public const int MaxIterationsLimit = 100_000;
}

/// <summary>
/// What evidence maximization found. <see cref="Alpha"/> is the noise precision (1/sigma²), <see cref="Lambda"/> the weight
/// precision (the prior of every weight on the fit's scale is N(0, 1/lambda)); <see cref="LogMarginalLikelihood"/> holds the
/// log evidence at each step and, last, at the returned precisions (scikit-learn's scores_). <see cref="CoefficientStd"/>
/// are posterior standard deviations of the original-scale coefficients. <see cref="Covariance"/> is the posterior covariance
/// of the fit-scale weights (standardized when standardize is on), the lower triangle packed by rows (p(p+1)/2 values).
/// </summary>
public sealed record BayesianReport(
    double Alpha,
    double Lambda,
    double[] LogMarginalLikelihood,
    double[] CoefficientStd,
    int Iterations,
    bool Converged,
    BayesianSpec Settings,
    double[] Covariance);

/// <summary>
/// Bayesian ridge regression (MacKay 1992; Tipping 2001; scikit-learn's <c>BayesianRidge</c>): y = Xw + e with
/// e ~ N(0, 1/alpha), w ~ N(0, I/lambda), alpha ~ Gamma(alpha1, alpha2), lambda ~ Gamma(lambda1, lambda2). The precisions
/// maximize the evidence by MacKay's fixed point, from one eigendecomposition X'X = V diag(e) V' of the centered (and, with
/// standardize, scaled) design:
/// <code>
/// w = V diag(1 / (e + lambda/alpha)) V' X'y                       (posterior mean)
/// gamma = sum_i alpha e_i / (lambda + alpha e_i)                  (effective number of parameters)
/// lambda &lt;- (gamma + 2 lambda1) / (|w|² + 2 lambda2)
/// alpha  &lt;- (n - gamma + 2 alpha1) / (|y - Xw|² + 2 alpha2)
/// </code>
/// stopped when sum |w_new - w_old| &lt; tolerance; Sigma = V diag(1 / (lambda + alpha e)) V' is the posterior covariance.
/// </summary>
/// <remarks>
/// The Gram of [features, target] is built by the shifted Gram kernel and standardized as every solver's (<see cref="NormalSystem"/>:
/// centered with an intercept, divided by the 1/n standard deviation with standardize, constant features left out with
/// coefficient 0 and their prior as posterior). With standardize off it is scikit-learn's setting, and agrees with its
/// <c>alpha_</c>, <c>lambda_</c>, <c>coef_</c>, <c>sigma_</c> and <c>predict(return_std=True)</c> (tests/fixtures/sklearn). Two
/// differences: the residual sum of squares is taken from the Gram (y'y - sum z_i² (e_i + 2r)/(e_i + r)², r = lambda/alpha,
/// z = V'X'y), not from the rows, which loses relative precision only when the fit is nearly exact; and with more features
/// than rows the covariance includes the directions X does not see (prior variance 1/lambda there), where scikit-learn's
/// <c>sigma_</c> keeps only the row space. The last log evidence is taken at the returned coefficients (scikit-learn 1.2
/// pairs the new residual with the previous step's coefficients).
/// </remarks>
public static class BayesianRidge
{
    /// <summary>numpy's finfo(float64).eps, which scikit-learn adds to var(y) for the starting alpha.</summary>
    private const double MachineEpsilon = 2.220446049250313e-16;

    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        var settings = spec.Bayesian ?? new BayesianSpec();
        var total = Stopwatch.StartNew();
        var timings = new Dictionary<string, double>();
        int n = x.Rows, p = spec.FeatureColumns.Length, k = p + 1;
        int threads = spec.MaxThreads > 0 ? spec.MaxThreads : Environment.ProcessorCount;

        progress?.Report(new FitProgress(0.0, "gram"));
        var cols = new int[k];
        spec.FeatureColumns.CopyTo(cols, 0);
        cols[p] = spec.TargetColumn;
        var shift = new double[k];
        if (spec.FitIntercept && spec.ColumnShift is { } columnShift)
            for (int a = 0; a < k; a++) shift[a] = columnShift[cols[a]];
        var gram = new double[ArraySizes.Square(k, $"the Gram matrix of {p} features")];
        var sums = new double[k];
        GramKernel.ShiftedGram(x, cols, shift, null, gram, sums, threads, ct);
        var system = NormalSystem.From(gram, sums, shift, n, spec.FeatureNames, spec.Standardize, spec.FitIntercept, ct);
        timings["gram"] = total.Elapsed.TotalSeconds;

        var watch = Stopwatch.StartNew();
        progress?.Report(new FitProgress(0.3, "eigendecomposition"));
        var eigen = system.Eigen(ct);
        int q = system.Active.Length;
        // On X'X = n A and X'y = n c: e_i = n d_i (rounding noise below 0 is 0), z = V'X'y, y'y = n var.
        var e = new double[q];
        var z = new double[q];
        for (int i = 0; i < q; i++)
        {
            e[i] = n * Math.Max(eigen.Eigenvalues[i], 0.0);
            z[i] = n * TensorPrimitives.Dot(eigen.Eigenvector(i), system.C);
        }
        double yy = n * system.TargetVariance;
        timings["eigen"] = watch.Elapsed.TotalSeconds;

        watch.Restart();
        progress?.Report(new FitProgress(0.5, "evidence"));
        // scikit-learn's start: alpha = 1 / (var(y) + eps), var about the mean whether or not an intercept is fitted.
        double alpha = 1.0 / (Variance(x.Column(spec.TargetColumn)) + MachineEpsilon);
        double lambda = 1.0;
        var coef = new double[q];
        var previous = new double[q];
        var scores = new List<double>();
        int iterations = 0;
        bool converged = false;
        for (int iter = 0; iter < settings.MaxIterations; iter++)
        {
            ct.ThrowIfCancellationRequested();
            iterations = iter + 1;
            var (norm2, rss) = Posterior(eigen, e, z, yy, alpha, lambda, coef);
            scores.Add(LogEvidence(settings, n, e, alpha, lambda, norm2, rss));

            // MacKay's update.
            double gamma = 0;
            for (int i = 0; i < q; i++) gamma += alpha * e[i] / (lambda + alpha * e[i]);
            lambda = (gamma + 2 * settings.Lambda1) / (norm2 + 2 * settings.Lambda2);
            alpha = (n - gamma + 2 * settings.Alpha1) / (rss + 2 * settings.Alpha2);

            if (iter != 0 && SumAbsDifference(previous, coef) < settings.Tolerance)
            {
                converged = true;
                break;
            }
            coef.CopyTo(previous, 0);
        }
        var (finalNorm2, finalRss) = Posterior(eigen, e, z, yy, alpha, lambda, coef);
        scores.Add(LogEvidence(settings, n, e, alpha, lambda, finalNorm2, finalRss));
        timings["evidence"] = watch.Elapsed.TotalSeconds;

        // The equivalent glmnet lambda: the posterior mean solves (A + lambda/(alpha n) I) w = c on the fit's scale.
        double glmnetLambda = lambda / (alpha * n);
        var point = system.Point(glmnetLambda, coef);
        var covariance = Covariance(eigen, e, system.Active, p, alpha, lambda);
        var std = new double[p];
        for (int j = 0; j < p; j++) std[j] = Math.Sqrt(covariance[Packed(j, j)]) / system.Scales[j];

        watch.Restart();
        progress?.Report(new FitProgress(0.95, "metrics"));
        var train = GlmFamily.Gaussian.Metrics(x, spec.FeatureColumns, spec.TargetColumn, point.Intercept, point.Coefficients, null);
        timings["metrics"] = watch.Elapsed.TotalSeconds;
        timings["total"] = total.Elapsed.TotalSeconds;

        var warnings = new List<string>(system.Warnings);
        if (!converged)
            warnings.Add($"bayesianRidge did not converge within {settings.MaxIterations} iterations (the coefficients still moved by {SumAbsDifference(previous, coef):G3} in sum of absolute values, tolerance {settings.Tolerance:G3}); the precisions are the last iterate");
        return new FitResult
        {
            Status = converged ? FitStatus.Converged : FitStatus.NotConverged,
            Solver = ClosedFormRidge.SolverName,
            Lambda = glmnetLambda,
            Intercept = point.Intercept,
            Coefficients = point.Coefficients,
            StandardizedCoefficients = point.StandardizedCoefficients,
            FeatureNames = spec.FeatureNames,
            TrainMetrics = train,
            Path = [point with { DevianceRatio = train.DevianceRatio, Converged = converged, Iterations = iterations }],
            TrainRows = n,
            Iterations = iterations,
            NullDeviance = system.TargetVariance,
            Warnings = warnings,
            FeatureMeans = system.FeatureMeans,
            FeatureScales = system.Scales,
            Timings = timings,
            Bayesian = new BayesianReport(alpha, lambda, [.. scores], std, iterations, converged, settings, covariance),
            Prior = PriorReading.Evidence(spec, alpha, lambda),
        };
    }

    /// <summary>
    /// Predictive standard deviations sqrt(1/alpha + u' Sigma u) of rows of <paramref name="x"/>, with u_j = x_j / scale_j
    /// (uncentered, as scikit-learn's <c>predict(return_std=True)</c>: the intercept's own uncertainty is not included).
    /// </summary>
    /// <param name="x">The rows.</param>
    /// <param name="columns">The fitted features' columns of <paramref name="x"/>, in the fit's order.</param>
    /// <param name="scales">The fit's feature scales.</param>
    /// <param name="covariance">The packed posterior covariance (<see cref="BayesianReport.Covariance"/>).</param>
    /// <param name="alpha">The noise precision.</param>
    public static double[] PredictiveStd(DenseMatrix x, int[] columns, double[] scales, double[] covariance, double alpha)
    {
        int p = columns.Length;
        if (scales.Length != p || covariance.LongLength != (long)p * (p + 1) / 2)
            throw new ArgumentException($"{p} features need {p} scales and {(long)p * (p + 1) / 2} covariance values; got {scales.Length} and {covariance.Length}");
        var std = new double[x.Rows];
        var u = new double[p];
        for (int i = 0; i < x.Rows; i++)
        {
            for (int j = 0; j < p; j++) u[j] = x.Column(columns[j])[i] / scales[j];
            double quad = 0;
            for (int j = 0; j < p; j++)
            {
                // Sigma symmetric: u'Su = sum_j u_j (S_jj u_j + 2 sum_{l<j} S_jl u_l).
                long row = Packed(j, 0);
                double cross = TensorPrimitives.Dot(covariance.AsSpan((int)row, j), u.AsSpan(0, j));
                quad += u[j] * (covariance[row + j] * u[j] + 2 * cross);
            }
            std[i] = Math.Sqrt(Math.Max(quad, 0) + 1.0 / alpha);
        }
        return std;
    }

    /// <summary>Index of (j, l), l &lt;= j, in the lower triangle packed by rows.</summary>
    public static long Packed(int j, int l) => (long)j * (j + 1) / 2 + l;

    /// <summary>
    /// The posterior mean at (alpha, lambda) into <paramref name="coef"/>, with |w|² and the residual sum of squares:
    /// w = sum_i z_i / (e_i + r) v_i with r = lambda / alpha, |y - Xw|² = y'y - sum_i z_i² (e_i + 2r) / (e_i + r)².
    /// </summary>
    private static (double Norm2, double Rss) Posterior(EigenRidgePath eigen, double[] e, double[] z, double yy, double alpha, double lambda, double[] coef)
    {
        double r = lambda / alpha, norm2 = 0, explained = 0;
        Array.Clear(coef);
        for (int i = 0; i < e.Length; i++)
        {
            double denominator = e[i] + r, w = z[i] / denominator;
            norm2 += w * w;
            explained += z[i] * z[i] * (e[i] + 2 * r) / (denominator * denominator);
            TensorPrimitives.MultiplyAdd(eigen.Eigenvector(i), w, coef, coef);
        }
        return (norm2, Math.Max(yy - explained, 0.0));
    }

    /// <summary>scikit-learn's log marginal likelihood (with the Gamma hyperpriors' log densities, up to their constants).</summary>
    private static double LogEvidence(BayesianSpec s, int n, double[] e, double alpha, double lambda, double norm2, double rss)
    {
        double logDetSigma = 0;
        foreach (double ei in e) logDetSigma -= Math.Log(lambda + alpha * ei);
        double score = s.Lambda1 * Math.Log(lambda) - s.Lambda2 * lambda + s.Alpha1 * Math.Log(alpha) - s.Alpha2 * alpha;
        return score + 0.5 * (e.Length * Math.Log(lambda) + n * Math.Log(alpha) - alpha * rss - lambda * norm2 + logDetSigma - n * Math.Log(2 * Math.PI));
    }

    /// <summary>Sigma = V diag(1 / (lambda + alpha e)) V' over the active features, packed over all p; a feature left out keeps its prior 1/lambda.</summary>
    private static double[] Covariance(EigenRidgePath eigen, double[] e, int[] active, int p, double alpha, double lambda)
    {
        var packed = new double[checked((long)p * (p + 1) / 2)];
        for (int j = 0; j < p; j++) packed[Packed(j, j)] = 1.0 / lambda;
        int q = active.Length;
        // Column u of V as a row (over the eigenvectors i), and the same scaled by 1 / (lambda + alpha e_i): Sigma_uv is their dot.
        var columns = new double[q][];
        var scaled = new double[q][];
        for (int u = 0; u < q; u++)
        {
            columns[u] = new double[q];
            scaled[u] = new double[q];
        }
        for (int i = 0; i < q; i++)
        {
            var v = eigen.Eigenvector(i);
            double weight = 1.0 / (lambda + alpha * e[i]);
            for (int u = 0; u < q; u++)
            {
                columns[u][i] = v[u];
                scaled[u][i] = v[u] * weight;
            }
        }
        for (int u = 0; u < q; u++)
            for (int w = 0; w <= u; w++)
            {
                int ju = active[u], jw = active[w];
                packed[ju >= jw ? Packed(ju, jw) : Packed(jw, ju)] = TensorPrimitives.Dot(scaled[u], columns[w]);
            }
        return packed;
    }

    private static double SumAbsDifference(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += Math.Abs(a[i] - b[i]);
        return s;
    }

    /// <summary>numpy's var: about the mean, 1/n.</summary>
    private static double Variance(ReadOnlySpan<double> y)
    {
        double mean = 0;
        foreach (double v in y) mean += v;
        mean /= y.Length;
        double s = 0;
        foreach (double v in y) s += (v - mean) * (v - mean);
        return s / y.Length;
    }
}
