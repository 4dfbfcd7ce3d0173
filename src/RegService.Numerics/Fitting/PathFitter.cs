using System.Diagnostics;

namespace RegService.Numerics.Fitting;

/// <summary>
/// Runs a fit the way cv.glmnet does: the path on all rows fixes the lambdas; with validation, each
/// fold's path is fitted on the other rows at those lambdas and scored on the fold; the curve gives
/// lambda.min and lambda.1se, and the returned model is the all-rows path's point at the chosen lambda.
/// </summary>
internal static class PathFitter
{
    public static FitResult Fit(DenseMatrix x, FitSpec spec, PathSource source, Folds? folds, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var timings = new Dictionary<string, double>();
        int threads = spec.MaxThreads > 0 ? spec.MaxThreads : Environment.ProcessorCount;
        var settings = Settings(spec, threads);

        var watch = Stopwatch.StartNew();
        double share = folds is null ? 0.9 : 0.3;
        var full = source.Fit(-1, settings, Scale(progress, 0.05, share, "path"), ct);
        timings["path"] = watch.Elapsed.TotalSeconds;
        var lambdas = full.Lambdas;
        var warnings = new List<string>(full.Warnings);
        var notConverged = full.Points.Where(p => !p.Converged).Select(p => p.Lambda).ToList();
        if (notConverged.Count > 0)
            warnings.Add(NotConvergedWarning(source.Solver, full, spec.MaxIterations));
        if (full.StoppedEarly)
            warnings.Add($"the path stopped after {lambdas.Length} of {spec.Path?.Count ?? LambdaPathSpec.DefaultCount} lambdas: {full.StopReason}");
        if (full.Partial == PartialReason.MaxIterations)
            warnings.Add($"{source.Solver} spent its {spec.MaxIterations} iterations (maxIterations, over the whole path) after {lambdas.Length} lambdas; the path ends at the last lambda fitted within them");
        var partial = full.Partial;
        // The relaxed lasso: the refit of every lambda's active set (glmnet's relax.glmnet), after the path it relaxes.
        RelaxedPath.Refits? refit = null;
        if (spec.Relax is not null && partial != PartialReason.Canceled)
        {
            watch.Restart();
            if (!Interruptible(spec, ct, () => refit = RelaxedPath.Refit(source, -1, full, settings with { KeepPartial = false }, ct)))
                partial = PartialReason.Canceled;
            else
            {
                timings["relax"] = watch.Elapsed.TotalSeconds;
                if (refit!.NotConverged.Count > 0) warnings.Add($"the relaxed refit did not converge at lambda {Join(refit.NotConverged)}");
                if (refit.Separable.Count > 0) warnings.Add(RelaxedPath.SeparableWarning(refit.Separable, refit.StandIn, validation: false));
            }
        }
        double[] gammas = spec.Relax?.Gammas ?? [];
        double gamma = gammas.Length > 0 ? gammas.Max() : 1;
        ValidationCurve[]? relaxedCurves = null;
        (int MinLambda, int MinGamma, int OneSeLambda, int OneSeGamma)? relaxedSelection = null;

        int chosen = full.Points.Length - 1;
        ValidationCurve? curve = null;
        (int Min, int OneSe)? selection = null;
        IFitMetrics? validationMetrics = null;
        var points = full.Points;
        // A canceled all-rows path drops validation (the token has fired; the folds could not run); a path ended by its
        // budget is validated at the lambdas it completed. A cancellation during validation drops it as well.
        if (folds is not null && partial != PartialReason.Canceled)
        {
            watch.Restart();
            var foldSettings = settings with { Lambdas = lambdas, Generate = null, MaxThreads = 1, KeepPartial = false };
            int foldCount = folds.Rows.Length;
            var fits = new PathFit[foldCount];
            var foldRefits = new RelaxedPath.Refits[foldCount];
            var losses = new double[foldCount][];
            var foldProgress = progress is null ? null : new FoldProgress(progress, share, 0.9, foldCount);
            bool finished = Interruptible(spec, ct, () => Parallel.For(0, foldCount,
                new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct }, k =>
                {
                    fits[k] = source.Fit(k, foldSettings, foldProgress?.Of(k), ct);
                    losses[k] = source.FoldLoss(fits[k], k);
                    if (refit is not null) foldRefits[k] = RelaxedPath.Refit(source, k, fits[k], foldSettings, ct);
                    foldProgress?.Finished(k);
                }));
            timings["validation"] = watch.Elapsed.TotalSeconds;
            if (!finished) partial = PartialReason.Canceled;
            else
            {
                var foldNotConverged = fits.SelectMany(f => f.Points.Where(p => !p.Converged).Select(p => p.Lambda)).Distinct().ToList();
                if (foldNotConverged.Count > 0)
                    warnings.Add($"a validation fit did not converge at lambda {Join(foldNotConverged)}");
                foreach (var w in fits.SelectMany(f => f.Warnings).Distinct())
                    if (!warnings.Contains(w)) warnings.Add($"validation fit: {w}");

                string measure = SpecNames.Of(source.Measure);
                if (source.MeasureWarning is { } measureWarning) warnings.Add(measureWarning);
                if (folds.IsHoldout)
                {
                    // Per lambda: the training fit's metrics on the held-out rows, and its score by the measure.
                    var rows = folds.Rows[0];
                    var scored = fits[0].Points.Select(p => source.Metrics(p, rows)).ToArray();
                    curve = source.HoldoutCurve(fits[0].Points, rows, scored);
                    points = [.. points.Select((p, l) => p with { Validation = scored[l] })];
                }
                else
                {
                    var (mean, se) = SelectionRules.KFoldCurve(losses, source.FoldWeights());
                    curve = new ValidationCurve(measure, mean, se);
                }
                selection = SelectionRules.Select(lambdas, curve.Mean, curve.StandardError, ValidationMeasures.LargerIsBetter(source.Measure));
                chosen = spec.Rule == SelectionRule.Min ? selection.Value.Min : selection.Value.OneSe;
                if (refit is not null)
                {
                    // cv.glmnet(relax = TRUE): a curve per gamma from each fold's relaxed path, and the (lambda, gamma) of getOptcv.relaxed.
                    var refitNotConverged = foldRefits.SelectMany(r => r.NotConverged).Distinct().ToList();
                    if (refitNotConverged.Count > 0) warnings.Add($"a validation fit's relaxed refit did not converge at lambda {Join(refitNotConverged)}");
                    var foldSeparable = foldRefits.SelectMany(r => r.Separable).Distinct().OrderDescending().ToList();
                    if (foldSeparable.Count > 0) warnings.Add(RelaxedPath.SeparableWarning(foldSeparable, null, validation: true));
                    relaxedCurves = [.. gammas.Select(g => RelaxedCurve(source, folds, fits, foldRefits, g, measure))];
                    var picked = RelaxedPath.Select(lambdas, gammas, ValidationMeasures.LargerIsBetter(source.Measure)
                        ? [.. relaxedCurves.Select(c => c with { Mean = [.. c.Mean.Select(m => -m)] })]   // auc: getOptcv.relaxed negates
                        : relaxedCurves);
                    relaxedSelection = picked;
                    (chosen, gamma) = spec.Rule == SelectionRule.Min ? (picked.MinLambda, gammas[picked.MinGamma]) : (picked.OneSeLambda, gammas[picked.OneSeGamma]);
                    fits = [.. fits.Select((f, k) => RelaxedPath.Blend(f, foldRefits[k].Points, gamma))];
                }
                validationMetrics = folds.IsHoldout
                    ? refit is null ? points[chosen].Validation : source.Metrics(fits[0].Points[chosen], folds.Rows[0])
                    : source.OutOfFold(fits, chosen);
            }
        }

        ValidationCurve? criterion = null;
        if (folds is null && partial != PartialReason.Canceled && !Interruptible(spec, ct, () => criterion = source.Criterion(lambdas, threads, ct)))
            partial = PartialReason.Canceled;
        if (criterion is not null)
        {
            watch.Restart();
            curve = criterion;
            selection = SelectionRules.Select(lambdas, curve.Mean, curve.StandardError);
            chosen = spec.Rule == SelectionRule.Min ? selection.Value.Min : selection.Value.OneSe;
            timings["validation"] = watch.Elapsed.TotalSeconds;
        }

        if (partial == PartialReason.Canceled) folds = null;   // no validation: the result reports none
        var final = refit is null ? points[chosen] : RelaxedPath.Blend(points[chosen], refit.Points[chosen], gamma) with { Validation = points[chosen].Validation };
        RelaxedReport? relaxed = refit is null ? null : new RelaxedReport
        {
            Gammas = gammas,
            Gamma = gamma,
            RefitIntercepts = [.. refit.Points.Select(p => p.Intercept)],
            RefitCoefficients = [.. refit.Points.Select(p => p.Coefficients)],
            Refitted = refit.Refitted,
            Curves = folds is null ? null : relaxedCurves,
            LambdaMin = folds is not null && relaxedSelection is { } r1 ? lambdas[r1.MinLambda] : null,
            GammaMin = folds is not null && relaxedSelection is { } r2 ? gammas[r2.MinGamma] : null,
            Lambda1se = folds is not null && relaxedSelection is { } r3 ? lambdas[r3.OneSeLambda] : null,
            Gamma1se = folds is not null && relaxedSelection is { } r4 ? gammas[r4.OneSeGamma] : null,
        };
        watch.Restart();
        progress?.Report(new FitProgress(0.95, "metrics"));
        var train = source.Metrics(final, null);
        timings["metrics"] = watch.Elapsed.TotalSeconds;
        timings["total"] = total.Elapsed.TotalSeconds;

        return new FitResult
        {
            Status = notConverged.Count > 0 || refit?.NotConverged.Count > 0 ? FitStatus.NotConverged : FitStatus.Converged,
            Solver = source.Solver,
            Lambda = final.Lambda,
            Intercept = final.Intercept,
            Coefficients = final.Coefficients,
            StandardizedCoefficients = final.StandardizedCoefficients,
            FeatureNames = spec.FeatureNames,
            TrainMetrics = train,
            ValidationMetrics = validationMetrics,
            Path = points,
            Curve = curve,
            LambdaMin = selection is { } s1 ? lambdas[s1.Min] : null,
            Lambda1se = selection is { } s2 ? lambdas[s2.OneSe] : null,
            FoldIds = folds is { IsHoldout: false } ? folds.RowLabels() : null,
            TrainRows = folds is { IsHoldout: true } ? x.Rows - folds.Rows[0].Length : x.Rows,
            ValidationRows = folds is { IsHoldout: true } ? folds.Rows[0].Length : 0,
            Iterations = full.Iterations,
            DualityGap = final.DualityGap,
            StoppingValue = final.StoppingValue,
            NullDeviance = full.NullDeviance,
            Warnings = warnings,
            FeatureMeans = full.FeatureMeans,
            FeatureScales = full.FeatureScales,
            Timings = timings,
            Partial = partial,
            Relaxed = relaxed,
            ClassLabels = source.ClassLabels,
            Classes = final.Classes,
        };
    }

    /// <summary>
    /// The validation curve of the relaxed path at <paramref name="gamma"/>: each fold's penalized path blended with its refit, scored
    /// as the penalized path is (k-fold: the fold losses' weighted mean and standard error; holdout: the held-out rows' metrics).
    /// </summary>
    private static ValidationCurve RelaxedCurve(PathSource source, Folds folds, PathFit[] fits, RelaxedPath.Refits[] refits, double gamma, string measure)
    {
        var blended = fits.Select((f, k) => RelaxedPath.Blend(f, refits[k].Points, gamma)).ToArray();
        if (folds.IsHoldout) return source.HoldoutCurve(blended[0].Points, folds.Rows[0]);
        var (mean, se) = SelectionRules.KFoldCurve([.. blended.Select((f, k) => source.FoldLoss(f, k))], source.FoldWeights());
        return new ValidationCurve(measure, mean, se);
    }

    /// <summary>
    /// The not-converged warning with the iterations actually used: per unconverged lambda, and over the path, against
    /// the limit (per lambda for coordinate descent and proximal Newton, over the path for proximal gradient).
    /// </summary>
    internal static string NotConvergedWarning(string solver, PathFit fit, int maxIterations)
    {
        var points = fit.Points.Where(p => !p.Converged).ToList();
        string each = string.Join(", ", points.Take(5).Select(p => $"{p.Lambda:G6} after {p.Iterations}"))
            + (points.Count > 5 ? $" and {points.Count - 5} more" : "");
        return $"{solver} did not converge at lambda {each} iterations ({fit.Iterations} iterations in all, maxIterations {maxIterations}); those coefficients are the last iterate";
    }

    /// <summary>
    /// Runs <paramref name="work"/>; false when a fit that keeps partial results (<see cref="FitSpec.KeepPartial"/>) was
    /// canceled during it, which then returns what was done before it. Without KeepPartial the cancellation propagates.
    /// </summary>
    private static bool Interruptible(FitSpec spec, CancellationToken ct, Action work)
    {
        try
        {
            work();
            return true;
        }
        catch (Exception e) when (spec.KeepPartial && ct.IsCancellationRequested
                                  && (e is OperationCanceledException || e is AggregateException a && a.Flatten().InnerExceptions.All(i => i is OperationCanceledException)))
        {
            return false;
        }
    }

    /// <summary>The engine's path settings for a spec.</summary>
    public static PathSettings Settings(FitSpec spec, int threads) => new()
    {
        Alpha = spec.Alpha,
        PenaltyFactors = LambdaGrid.RescalePenaltyFactors(spec.PenaltyFactors, spec.FeatureColumns.Length),
        LowerLimits = spec.LowerLimits,
        UpperLimits = spec.UpperLimits,
        Lambdas = spec.Penalty == Penalty.None ? [0.0] : spec.Lambdas,
        Generate = spec.Lambdas is null && spec.Penalty != Penalty.None ? spec.Path ?? new LambdaPathSpec() : null,
        Standardize = spec.Standardize,
        FitIntercept = spec.FitIntercept,
        Tolerance = spec.Tolerance,
        Stopping = spec.Stopping,
        MaxIterations = spec.MaxIterations,
        MaxThreads = threads,
        KeepPartial = spec.KeepPartial,
    };

    private static IProgress<FitProgress>? Scale(IProgress<FitProgress>? progress, double from, double to, string stage) =>
        progress is null ? null : new Progress(p => progress.Report(p with { Fraction = from + (to - from) * p.Fraction, Stage = $"{stage}: {p.Stage}" }));

    /// <summary>
    /// The folds' paths, run in parallel, as one share [from, to] of the fit's progress: each fold's own fraction (its
    /// lambdas fitted) is kept, and every report gives their mean, so the fraction moves with every lambda of every fold
    /// instead of only when a whole fold ends. The details (lambda, deviance ratio) are the reporting fold's.
    /// </summary>
    private sealed class FoldProgress(IProgress<FitProgress> progress, double from, double to, int folds)
    {
        private readonly double[] _fractions = new double[folds];
        private int _done;

        public IProgress<FitProgress> Of(int fold) => new Progress(p => Report(fold, p, $", {p.Stage}"));

        public void Finished(int fold)
        {
            lock (_fractions) _done++;
            Report(fold, new FitProgress(1, ""), " finished");
        }

        /// <remarks>Under a lock, so reports leave in the order of their sums and the fraction never goes back; one
        /// report per lambda of a fold is rare beside the lambda's work.</remarks>
        private void Report(int fold, FitProgress detail, string what)
        {
            lock (_fractions)
            {
                _fractions[fold] = Math.Clamp(detail.Fraction, 0, 1);
                double sum = 0;
                for (int k = 0; k < folds; k++) sum += _fractions[k];
                progress.Report(detail with
                {
                    Fraction = from + (to - from) * sum / folds,
                    Stage = $"validation: fold {fold + 1} of {folds}{what} ({_done} of {folds} done)",
                    Fold = fold + 1,
                    Folds = folds,
                    FoldsDone = _done,
                });
            }
        }
    }

    internal static string Join(List<double> lambdas) =>
        string.Join(", ", lambdas.Take(10).Select(l => l.ToString("G6", System.Globalization.CultureInfo.InvariantCulture))) + (lambdas.Count > 10 ? $" and {lambdas.Count - 10} more" : "");

    private sealed class Progress(Action<FitProgress> report) : IProgress<FitProgress>
    {
        public void Report(FitProgress value) => report(value);
    }
}
