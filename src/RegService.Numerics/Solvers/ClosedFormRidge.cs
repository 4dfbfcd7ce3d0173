using System.Diagnostics;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Metrics;
using RegService.Numerics.Selection;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Closed-form ridge (and unpenalized least squares) for the gaussian family:
/// minimizes <c>(1/2n) ||y - b0 - Xb||^2 + lambda/2 ||b||^2</c> on the standardized scale.
/// </summary>
/// <remarks>
/// One pass over the data builds the Gram matrix of [features, target], shifted by a value near
/// each column mean so that centering loses no precision (<see cref="GramKernel"/>). From it:
/// <c>A = Z'Z/n</c>, <c>c = Z'y/n</c> for the centered, scaled features <c>Z</c>, and
/// <c>beta = (A + lambda I)^-1 c</c> by Cholesky for one lambda, or by one symmetric
/// eigendecomposition <c>A = V D V'</c> for many (<c>beta = V (D + lambda I)^-1 V'c</c>).
/// Original-scale coefficients are <c>b_j = beta_j / s_j</c>, <c>b0 = mean(y) - sum_j mean_j b_j</c>.
/// With a holdout, the held-out rows' Gram is subtracted from the full one, so every lambda's
/// training fit and the final refit on all rows cost one data pass plus one over the held-out rows.
/// </remarks>
public static class ClosedFormRidge
{
    public const string SolverName = "closedFormRidge";

    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        if (spec.Family != Family.Gaussian) throw new ArgumentException("closed-form ridge fits the gaussian family only");
        if (spec.Penalty is not (Penalty.Ridge or Penalty.None)) throw new ArgumentException("closed-form ridge fits the ridge penalty (or none) only");
        if (spec.Lambdas is not { Length: > 0 }) throw new ArgumentException("at least one lambda is needed");

        var total = Stopwatch.StartNew();
        var timings = new Dictionary<string, double>();
        int p = spec.FeatureColumns.Length, k = p + 1;
        var cols = new int[k];
        spec.FeatureColumns.CopyTo(cols, 0);
        cols[p] = spec.TargetColumn;
        var shift = new double[k];
        if (spec.FitIntercept && spec.ColumnShift is { } columnShift)
            for (int a = 0; a < k; a++) shift[a] = columnShift[cols[a]];

        // G = (X - s)'(X - s) over all rows, and over the held-out rows when there are any.
        progress?.Report(new FitProgress(0.0, "gram"));
        var watch = Stopwatch.StartNew();
        var gramAll = new double[k * k];
        var sumsAll = new double[k];
        GramKernel.ShiftedGram(x, cols, shift, null, gramAll, sumsAll, spec.MaxThreads, ct);
        int[]? trainRows = null, validationRows = null;
        double[]? gramTrain = null, sumsTrain = null;
        if (spec.Holdout is { } holdout)
        {
            (trainRows, validationRows) = Splits.Holdout(x.Rows, holdout.Fraction, holdout.Seed);
            var gramValidation = new double[k * k];
            var sumsValidation = new double[k];
            GramKernel.ShiftedGram(x, cols, shift, validationRows, gramValidation, sumsValidation, spec.MaxThreads, ct);
            gramTrain = new double[k * k];
            sumsTrain = new double[k];
            for (int i = 0; i < gramAll.Length; i++) gramTrain[i] = gramAll[i] - gramValidation[i];
            for (int i = 0; i < k; i++) sumsTrain[i] = sumsAll[i] - sumsValidation[i];
        }
        timings["gram"] = watch.Elapsed.TotalSeconds;
        ct.ThrowIfCancellationRequested();

        var warnings = new List<string>();
        PathPoint[] path;
        int chosen;
        (int Min, int OneSe)? selection = null;
        watch.Restart();
        if (validationRows is not null)
        {
            // Every lambda fitted on the training rows, scored on the held-out rows.
            var system = NormalSystem.From(gramTrain!, sumsTrain!, shift, trainRows!.Length, spec);
            path = SolvePath(system, spec, x, validationRows, progress, ct, 0.1, 0.8);
            selection = Select(path);
            chosen = spec.Rule == SelectionRule.Min ? selection.Value.Min : selection.Value.OneSe;
            timings["path"] = watch.Elapsed.TotalSeconds;
        }
        else
        {
            chosen = spec.Lambdas.Length - 1;
            path = [];
        }

        // The final model: all rows; every lambda when there is no holdout, else the chosen one.
        watch.Restart();
        var full = NormalSystem.From(gramAll, sumsAll, shift, x.Rows, spec);
        warnings.AddRange(full.Warnings);
        if (validationRows is null)
        {
            path = SolvePath(full, spec, x, null, progress, ct, 0.1, 0.9);
        }
        var finalPoint = validationRows is null
            ? path[chosen]
            : full.Point(spec.Lambdas[chosen], full.Solve(spec.Lambdas[chosen]), null, x, spec);
        timings["solve"] = watch.Elapsed.TotalSeconds;

        progress?.Report(new FitProgress(0.95, "metrics"));
        watch.Restart();
        var train = RegressionMetrics.Compute(x, spec.FeatureColumns, spec.TargetColumn, finalPoint.Intercept, finalPoint.Coefficients, null);
        timings["metrics"] = watch.Elapsed.TotalSeconds;
        timings["total"] = total.Elapsed.TotalSeconds;

        return new FitResult
        {
            Status = FitStatus.Converged,
            Solver = SolverName,
            Lambda = spec.Lambdas[chosen],
            Intercept = finalPoint.Intercept,
            Coefficients = finalPoint.Coefficients,
            StandardizedCoefficients = finalPoint.StandardizedCoefficients,
            FeatureNames = spec.FeatureNames,
            TrainMetrics = train,
            ValidationMetrics = path[chosen].Validation,
            Path = path,
            LambdaMin = selection is { } s1 ? path[s1.Min].Lambda : null,
            Lambda1se = selection is { } s2 ? path[s2.OneSe].Lambda : null,
            TrainRows = trainRows?.Length ?? x.Rows,
            ValidationRows = validationRows?.Length ?? 0,
            Iterations = 0,
            Warnings = warnings,
            FeatureMeans = full.FeatureMeans,
            FeatureScales = full.Scales,
            Timings = timings,
        };
    }

    private static PathPoint[] SolvePath(
        NormalSystem system, FitSpec spec, DenseMatrix x, int[]? validationRows,
        IProgress<FitProgress>? progress, CancellationToken ct, double from, double to)
    {
        var lambdas = spec.Lambdas!;
        var points = new PathPoint[lambdas.Length];
        EigenRidgePath? eigen = lambdas.Length > 1 ? system.Eigen() : null;
        for (int l = 0; l < lambdas.Length; l++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new FitProgress(from + (to - from) * l / lambdas.Length, $"lambda {l + 1} of {lambdas.Length}"));
            var beta = eigen is null ? system.Solve(lambdas[l]) : system.Solve(eigen, lambdas[l]);
            points[l] = system.Point(lambdas[l], beta, validationRows, x, spec);
        }
        return points;
    }

    /// <summary>
    /// Indices of the lambda with the least validation MSE (ties go to the larger lambda) and of the
    /// largest lambda whose validation MSE is within one standard error of that minimum.
    /// </summary>
    private static (int Min, int OneSe) Select(PathPoint[] path)
    {
        int best = 0;
        for (int l = 1; l < path.Length; l++)
        {
            double mse = path[l].Validation!.Loss, bestMse = path[best].Validation!.Loss;
            if (mse < bestMse || (mse == bestMse && path[l].Lambda > path[best].Lambda)) best = l;
        }
        double se = path[best].Validation!.LossStandardError;
        double bound = path[best].Validation!.Loss + (double.IsFinite(se) ? se : 0);
        int oneSe = best;
        for (int l = 0; l < path.Length; l++)
            if (path[l].Validation!.Loss <= bound && path[l].Lambda > path[oneSe].Lambda) oneSe = l;
        return (best, oneSe);
    }
}
