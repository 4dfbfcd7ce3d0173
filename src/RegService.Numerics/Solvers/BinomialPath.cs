namespace RegService.Numerics.Solvers;

/// <summary>
/// The binomial (logistic) elastic-net path with glmnet's objective:
/// <code>
/// -(1/n) sum_i [y_i eta_i - log(1 + e^eta_i)] + lambda * sum_j v_j [ (1 - alpha)/2 b_j^2 + alpha |b_j| ],  eta = b0 + x.b
/// </code>
/// with y in {0, 1}, the intercept unpenalized, on standardized features when <see cref="PathSettings.Standardize"/>
/// is on (means and 1/n standard deviations of the rows fitted; coefficients reported on both scales).
/// </summary>
/// <remarks>
/// <para>
/// Proximal Newton (IRLS), warm-started along the path as glmnet's lognet. At the current point the weights
/// w_i = p_i(1 - p_i) give the quadratic model of the loss; its minimizer with the penalty, the intercept
/// eliminated by weighted centering, is found by coordinate descent. The Newton steps at a lambda end when the
/// largest weighted squared change of a step, max(W Δb0², max_j H_jj Δb_j²) with H_jj the weighted second moment of
/// feature j (each weight counted as at least 1e-5, so vanishing weights cannot pass a large step off as small), is
/// below <c>Tolerance</c> times the null deviance per row over 2 (glmnet's thresh times its dev0, the null mean
/// negative log-likelihood), and the KKT conditions hold, with the exact gradient, over every feature outside the
/// working set; violators join and the Newton steps go on. At most <see cref="MaxNewtonSteps"/> steps and
/// <c>MaxIterations</c> coordinate-descent passes are spent per lambda; a lambda that runs out is marked not converged.
/// </para>
/// <para>
/// When rows outnumber features, the quadratic model of a working set (the strong set, |g_j| ≥ alpha v_j
/// (2 lambda - lambda_prev), plus features close to entering) is the weighted centered Gram matrix of that set, built
/// in one blocked pass (<see cref="Kernels.GramKernel.WeightedShiftedGram"/>) and solved by <see cref="CovarianceCd"/>
/// to 1% of the threshold. The Gram matrix is kept across Newton steps and lambdas while the weights stay within 5%
/// (L1) of those it was built with (a quasi-Newton step with the exact gradient; rebuilt when they drift or a step
/// contracts poorly), so most steps cost one pass over the data: the linear predictor, probabilities, weights, deviance
/// and X'(y - p) of the working set, in row blocks. Once the working set holds every feature, the last step of a lambda
/// (below the threshold, from a point with an exact pass) is taken on the quadratic model; the next pass then gives
/// both the next lambda's gradient and this point's exact deviance. When features outnumber rows, a naive weighted
/// coordinate descent on residuals (one dot and one update over the rows per coordinate) takes the Newton steps.
/// </para>
/// <para>
/// Gradients of features outside the working set are bounded by |g_j(ref)| + ||z_j|| ||p - p(ref)|| / n from their last
/// exact value, and, once every feature outside was referred at two points, by the drift of the residual along the line
/// through those two (<c>GradientBounds.ScreenAll</c>); they are computed exactly only when the bounds cannot settle
/// a KKT or strong-rule test. A step that would raise
/// the penalized objective is halved until it does not (glmnet takes full steps). A generated path stops as glmnet's
/// lognet: from the fifth lambda on, once the deviance ratio exceeds 0.999 or grows by less than 1e-5 (absolute), or
/// when every fitted probability is within 1e-9 of 0 or 1 (separation, reported as a warning naming the lambda).
/// Passes use fixed row segments reduced in order, so the result does not depend on the number of threads.
/// </para>
/// </remarks>
public static class BinomialPath
{
    public const string SolverName = "proximalNewton";

    /// <summary>Newton steps allowed per lambda.</summary>
    public const int MaxNewtonSteps = 100;

    /// <summary>How the Newton subproblem is solved; tests force each one.</summary>
    internal enum SubproblemMode { Auto, Gram, Naive }

    /// <summary>
    /// Fits the path on <paramref name="rows"/> of <paramref name="x"/> (null = all rows). The target column must hold
    /// 0 and 1 only, both present. Bad input throws <see cref="ArgumentException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/>; non-convergence and separation are reported in the result.
    /// </summary>
    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames,
                              PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
        => Fit(x, featureCols, targetCol, rows, featureNames, settings, progress, ct, SubproblemMode.Auto);

    /// <summary>
    /// The path of <paramref name="family"/> (binomial or poisson) with observation weights and an offset, each indexed like
    /// the rows of <paramref name="x"/> (null: none); the weights of the rows fitted are rescaled to sum to their count.
    /// </summary>
    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames,
                              PathSettings settings, GlmFamily family, double[]? weights, double[]? offset,
                              IProgress<FitProgress>? progress, CancellationToken ct)
        => Fit(x, featureCols, targetCol, rows, featureNames, settings, progress, ct, SubproblemMode.Auto, family, weights, offset);

    internal static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames,
                                PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct, SubproblemMode mode,
                                GlmFamily? family = null, double[]? weights = null, double[]? offset = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(featureCols);
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(settings);
        settings.CheckFor(featureCols.Length, featureNames.Length);
        if (settings.MaxIterations < 1) throw new ArgumentException("maxIterations must be at least 1");
        foreach (int c in featureCols.Append(targetCol))
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        if (settings.Lambdas is { } explicitLambdas)
        {
            if (explicitLambdas.Length == 0) throw new ArgumentException("no lambdas to fit");
            foreach (double l in explicitLambdas)
                if (!double.IsFinite(l) || l < 0) throw new ArgumentException($"lambda {l} is not a finite non-negative number");
        }
        ct.ThrowIfCancellationRequested();
        var data = LogisticData.Create(x, featureCols, targetCol, rows, featureNames, settings, family ?? GlmFamily.Binomial, weights, offset);
        var solver = new LogisticPathSolver(data, settings, mode, ct);
        try { return PathDriver.Run(solver, settings, progress, ct); }
        finally { solver.Release(); }
    }
}
