using System.Buffers;

namespace RegService.Numerics.Fitting;

/// <summary>The prior a linear fit corresponds to: none (flat), Gaussian (ridge), Laplace (lasso), or their product (elastic net).</summary>
public enum PriorKind { Flat, Gaussian, Laplace, GaussianLaplace }

/// <summary>
/// The Bayesian reading of a linear fit: the prior whose posterior mode (MAP) is the fitted model, per weight on the scale
/// the penalty acts on (<see cref="Standardized"/>: the standardized weights when standardize is on, else the original ones).
/// <para>
/// A penalized fit minimizes (1/2n)|y - b0 - Xb|² + lambda P(b) (gaussian) or -(1/n) loglik + lambda P(b) (binomial). Multiplied
/// by n/sigma² (binomial: by n, its dispersion is 1), that is the negative log posterior of the likelihood times the prior
/// exp(-(n lambda / sigma²) P(b)), P(b) = sum_j v_j [(1 - a)/2 b_j² + a |b_j|]. So per weight, with penalty factor v_j = 1:
/// <code>
/// ridge (a = 0):        b_j ~ N(0, sigma² / (n lambda))                               GaussianVariance
/// lasso (a = 1):        b_j ~ Laplace(0, sigma² / (n lambda))                         LaplaceScale
/// elastic net:          density ∝ exp(-b_j² / (2 GaussianVariance) - |b_j| / LaplaceScale),
///                       GaussianVariance = sigma² / (n lambda (1 - a)), LaplaceScale = sigma² / (n lambda a)
/// none, or lambda 0:    flat (improper)
/// </code>
/// A feature's own values divide by its (rescaled) penalty factor v_j; factor 0 leaves it flat. For the gaussian family sigma²
/// is estimated from the residuals, RSS / (n - df), df counting the intercept and the fit's degrees of freedom: ridge and elastic
/// net the trace of the smoother Z_A (Z_A'Z_A / n + lambda (1 - a) V)⁻¹ Z_A' / n over the features with nonzero coefficients A
/// (Zou and Hastie 2005; all features for ridge), lasso the number of nonzero coefficients (Zou, Hastie and Tibshirani 2007),
/// none the number of features fitted. Assumptions: the noise is gaussian with one variance (sigma² is plugged in, not
/// integrated over), the rows are independent, the intercept has a flat prior, and the fitted lambda is taken as known (it was
/// chosen on the data, so the reading is empirical Bayes at best). Model bayesianRidge reads its own evidence instead:
/// Gaussian with variance 1/lambda and sigma² = 1/alpha (<see cref="Source"/> "evidence").
/// </para>
/// </summary>
/// <param name="Kind">The prior's form.</param>
/// <param name="Source">"map" (the penalty read as a prior) or "evidence" (bayesianRidge's precisions).</param>
/// <param name="Standardized">True when the prior is on the standardized weights (standardize on).</param>
/// <param name="NoiseVariance">sigma² (gaussian); null for binomial, and when the residuals have no degrees of freedom left.</param>
/// <param name="DegreesOfFreedom">df used for sigma², the intercept included; null when not estimated.</param>
/// <param name="GaussianVariance">The Gaussian factor's variance per weight (penalty factor 1); null when there is none or it is not known.</param>
/// <param name="LaplaceScale">The Laplace factor's scale per weight (penalty factor 1); null when there is none or it is not known.</param>
/// <param name="Note">Why a value is missing, or a caveat of this fit; null when there is none.</param>
public sealed record PriorReading(
    PriorKind Kind,
    string Source,
    bool Standardized,
    double? NoiseVariance,
    double? DegreesOfFreedom,
    double? GaussianVariance,
    double? LaplaceScale,
    string? Note = null)
{
    /// <summary>Most nonzero coefficients for which the smoother's degrees of freedom are computed (a Cholesky of that order).</summary>
    public const int MaxSmootherFeatures = FitEngine.MaxCovarianceFeatures;

    /// <summary>bayesianRidge: the evidence's prior, N(0, 1/lambda) per fit-scale weight with noise variance 1/alpha.</summary>
    public static PriorReading Evidence(FitSpec spec, double alpha, double lambda) =>
        new(PriorKind.Gaussian, "evidence", spec.Standardize, 1.0 / alpha, null, 1.0 / lambda, null);

    /// <summary>
    /// The MAP reading of a linear fit's returned model (<paramref name="result"/> at its lambda, fitted on all rows of
    /// <paramref name="x"/>). <paramref name="gram"/> is the all-rows shifted Gram of [features, target] when the solver
    /// built one (it saves the pass the smoother's degrees of freedom need otherwise).
    /// </summary>
    internal static PriorReading Map(DenseMatrix x, FitSpec spec, FitResult result, (double[] Gram, double[] Sums, double[] Shift)? gram,
        int threads, CancellationToken ct)
    {
        int n = x.Rows, p = spec.FeatureColumns.Length;
        double lambda = result.Lambda, a = spec.Alpha;
        bool flat = spec.Penalty == Penalty.None || !(lambda > 0);
        var kind = flat ? PriorKind.Flat : a >= 1 ? PriorKind.Laplace : a <= 0 ? PriorKind.Gaussian : PriorKind.GaussianLaplace;
        string? note = spec.Training is { WeightDecay: > 0 }
            ? "weightDecay adds an L2 term that this reading leaves out (adamW's decoupled decay is not a penalty of the objective)"
            : spec.Bounded
                ? "with lowerLimits/upperLimits the prior is this one truncated to the bounds (its MAP is the bounded fit); the degrees of freedom count a coefficient held at a nonzero bound as free"
                : null;
        int intercept = spec.FitIntercept ? 1 : 0;

        double? sigma2 = null, df = null;
        if (spec.Family == Family.Multinomial && spec.MultinomialGrouped && kind is PriorKind.Laplace or PriorKind.GaussianLaplace)
            note = "multinomialType grouped: the Laplace factor is on each feature's vector of class coefficients, density ∝ exp(-||b_j||_2 / laplaceScale)";
        if (spec.Family != Family.Gaussian) sigma2 = 1.0;   // binomial, poisson, multinomial: the likelihood has no noise scale
        else
        {
            double rss = result.TrainMetrics is RegressionMetrics m ? m.Mse * m.Rows : double.NaN;
            var beta = result.StandardizedCoefficients;
            var active = Enumerable.Range(0, p).Where(j => beta[j] != 0).ToArray();
            if (kind is PriorKind.Gaussian or PriorKind.GaussianLaplace)
            {
                if (active.Length > MaxSmootherFeatures)
                    note = $"sigma² is not estimated: the smoother's degrees of freedom need a Cholesky of order {active.Length} (at most {MaxSmootherFeatures})";
                else df = intercept + Smoother(x, spec, active, lambda * (1 - a), gram, threads, ct);
            }
            else
            {
                // Lasso: the number of nonzero coefficients; none: the features fitted (a constant one left out has coefficient 0).
                df = intercept + active.Length;
            }
            if (df is { } d && n - d > 0 && double.IsFinite(rss)) sigma2 = rss / (n - d);
            else if (df is not null) note = $"sigma² is not estimated: the fit uses {df:G4} degrees of freedom of {n} rows";
        }
        double? Scale(double share) => !flat && share > 0 && sigma2 is { } s ? s / (n * lambda * share) : null;
        return new PriorReading(kind, "map", spec.Standardize, spec.Family != Family.Gaussian ? null : sigma2, df,
            kind is PriorKind.Gaussian or PriorKind.GaussianLaplace ? Scale(1 - a) : null,
            kind is PriorKind.Laplace or PriorKind.GaussianLaplace ? Scale(a) : null,
            note);
    }

    /// <summary>
    /// trace(Z_A (Z_A'Z_A/n + l2 V)⁻¹ Z_A'/n) = q - l2 sum_j v_j [(A + l2 V)⁻¹]_jj with A = Z_A'Z_A/n over the
    /// <paramref name="active"/> features (standardized as the fit was), by one Cholesky L L' and the column norms of L⁻¹.
    /// </summary>
    private static double Smoother(DenseMatrix x, FitSpec spec, int[] active, double l2, (double[] Gram, double[] Sums, double[] Shift)? all,
        int threads, CancellationToken ct)
    {
        if (active.Length == 0) return 0;
        int p = spec.FeatureColumns.Length, k = active.Length + 1, n = x.Rows;
        var index = active.Append(p).ToArray();   // into [features, target]
        // The Gram's copy and A in pooled buffers (fresh k x k arrays cost a page fault per 4 KB); A is factored in place.
        int square = ArraySizes.Square(k, $"the Gram matrix of {k - 1} features");
        var gram = ArrayPool<double>.Shared.Rent(square);
        var buffer = ArrayPool<double>.Shared.Rent(square);
        try
        {
            var sums = new double[k];
            var shift = new double[k];
            if (all is { } g)
            {
                for (int a = 0; a < k; a++)
                {
                    sums[a] = g.Sums[index[a]];
                    shift[a] = g.Shift[index[a]];
                    for (int b = 0; b < k; b++) gram[(long)a * k + b] = g.Gram[(long)index[a] * (p + 1) + index[b]];
                }
            }
            else
            {
                var cols = index.Select(j => j < p ? spec.FeatureColumns[j] : spec.TargetColumn).ToArray();
                if (spec.FitIntercept && spec.ColumnShift is { } columnShift)
                    for (int a = 0; a < k; a++) shift[a] = columnShift[cols[a]];
                GramKernel.ShiftedGram(x, cols, shift, null, gram.AsSpan(0, square), sums, threads, ct);
            }
            var names = active.Select(j => spec.FeatureNames[j]).ToArray();
            var system = NormalSystem.From(gram, sums, shift, n, names, spec.Standardize, spec.FitIntercept, ct, buffer);
            var v = LambdaGrid.RescalePenaltyFactors(spec.PenaltyFactors, p);
            int q = system.Active.Length;
            var m = system.A;
            var penalty = new double[q];
            for (int u = 0; u < q; u++)
            {
                penalty[u] = l2 * v[active[system.Active[u]]];
                m[(long)u * q + u] += penalty[u];
            }
            SymmetricSolve.CholeskyFactor(m.AsSpan(0, q * q), q, ct);
            // [(M)⁻¹]_jj = |L⁻¹ e_j|²: forward substitution from row j on (x_i = 0 above j), q³/6 in all.
            var column = new double[q];
            double df = q;
            for (int j = 0; j < q; j++)
            {
                if (penalty[j] == 0) continue;
                ct.ThrowIfCancellationRequested();
                column[j] = 1.0 / m[(long)j * q + j];
                double norm2 = column[j] * column[j];
                for (int i = j + 1; i < q; i++)
                {
                    long row = (long)i * q;
                    column[i] = -System.Numerics.Tensors.TensorPrimitives.Dot(m.AsSpan((int)(row + j), i - j), column.AsSpan(j, i - j)) / m[row + i];
                    norm2 += column[i] * column[i];
                }
                df -= penalty[j] * norm2;
            }
            return df;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(gram);
            ArrayPool<double>.Shared.Return(buffer);
        }
    }
}
