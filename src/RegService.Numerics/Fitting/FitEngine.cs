using System.Diagnostics;

namespace RegService.Numerics.Fitting;

/// <summary>The engine's entry point: picks the solver for a spec and runs it.</summary>
public static class FitEngine
{
    /// <summary>Gaussian fits use the covariance form (a Gram matrix) when rows exceed features and features are at most this many.</summary>
    public const int MaxCovarianceFeatures = 2000;

    /// <summary>
    /// Fits <paramref name="spec"/> on <paramref name="x"/>: the spec is checked and resolved first (<see cref="FitSpec.Resolve"/>).
    /// A bad spec throws <see cref="FitSpecException"/> (an <see cref="ArgumentException"/> listing every fault);
    /// a numerical breakdown throws <see cref="NumericalBreakdownException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/>, unless <see cref="FitSpec.KeepPartial"/> and a path fit has completed a lambda:
    /// then the result holds the completed lambdas and says why (<see cref="FitResult.Partial"/>). Non-convergence is a status in
    /// the result, not an exception.
    /// The result's <see cref="FitResult.Solver"/> names the resolved solver as the wire does (closedForm, ...).
    /// </summary>
    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        spec = spec.ResolveOrThrow(DataShape.Of(x));
        var solver = SpecNames.Of(spec.Solver);
        ExpansionSpec? expansion = spec.Expansion;
        string[]? inputNames = null;
        if (expansion is not null)
        {
            inputNames = spec.FeatureNames;
            (x, spec) = FeatureExpansion.Apply(x, spec);
        }
        int threads = spec.MaxThreads > 0 ? spec.MaxThreads : Environment.ProcessorCount;
        if (spec.Model == ModelKind.BayesianRidge)
            return Expanded(BayesianRidge.Fit(x, spec, progress, ct) with { Solver = solver }, inputNames, expansion);
        if (spec.Stochastic)
        {
            var trained = NetworkTrainer.Fit(x, spec, progress, ct) with { Solver = solver };
            if (spec.Model == ModelKind.Linear) trained = trained with { Prior = PriorReading.Map(x, spec, trained, null, threads, ct) };
            return Expanded(trained, inputNames, expansion);
        }
        if (spec.Family == Family.Gaussian && spec.Offset is not null) (x, spec) = WithoutOffset(x, spec);
        var folds = MakeFolds(x, spec);
        int n = x.Rows, p = spec.FeatureColumns.Length;

        progress?.Report(new FitProgress(0.0, "gram"));
        var watch = Stopwatch.StartNew();
        // The resolved solver decides (FitSpec.Rules); here only how each one stores the problem.
        using PathSource source = spec.Solver switch
        {
            SolverKind.ProximalGradient => new ProximalGradientSource(x, spec, folds, threads),
            // Ridge with more features than rows: the n x n dual instead of the p x p Gram. Penalty none (lambda 0)
            // stays on the Gram: its normal equations are singular when p > n either way.
            SolverKind.ClosedForm when spec.Penalty == Penalty.Ridge && p > n => new DualSource(x, spec, folds),
            SolverKind.ClosedForm => new GramSource(x, spec, folds, closedForm: true, threads, ct),
            SolverKind.CoordinateDescent when n > p && p <= MaxCovarianceFeatures => new GramSource(x, spec, folds, closedForm: false, threads, ct),
            SolverKind.CoordinateDescent => new NaiveSource(x, spec, folds),
            SolverKind.ProximalNewton when spec.Family == Family.Multinomial => new MultinomialSource(x, spec, folds),
            SolverKind.ProximalNewton => new BinomialSource(x, spec, folds),
            var other => throw new ArgumentException($"no path solver for {SpecNames.Of(other)}"),
        };
        double setup = watch.Elapsed.TotalSeconds;

        FitResult result;
        try
        {
            result = PathFitter.Fit(x, spec, source, folds, progress, ct) with { Solver = solver };
        }
        catch (NumericalBreakdownException e) when (spec.Penalty == Penalty.None)
        {
            // An unpenalized solve on a singular design: say which features make it so.
            if (IllPosed.Explain(x, spec, source, threads, ct) is not { } why) throw;
            throw new NumericalBreakdownException($"{e.Message} {why}", e);
        }
        // A partial result was canceled already: its prior and warnings are read to the end rather than thrown away.
        var priorToken = result.Partial is null ? ct : CancellationToken.None;
        result = result with
        {
            Prior = PriorReading.Map(x, spec, result, source.AllRowsGram, threads, priorToken),
            Warnings = [.. result.Warnings, .. IllPosed.Warnings(x, spec, source, result, threads, priorToken)],
        };
        var timings = new Dictionary<string, double> { [source is GramSource ? "gram" : "setup"] = setup };
        foreach (var (key, value) in result.Timings) timings[key] = key == "total" ? value + setup : value;
        return Expanded(result with { Timings = timings }, inputNames, expansion);
    }

    /// <summary>
    /// A gaussian fit with an offset is the fit of y - offset (as glmnet's elnet): the features and that target gathered into
    /// a compact matrix [features..., y - offset], the spec pointed at it (its column shifts carried over).
    /// </summary>
    private static (DenseMatrix X, FitSpec Spec) WithoutOffset(DenseMatrix x, FitSpec spec)
    {
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var offset = spec.Offset!;
        var compact = new DenseMatrix(n, p + 1);
        for (int j = 0; j < p; j++) x.Column(spec.FeatureColumns[j]).CopyTo(compact.Column(j));
        var y = x.Column(spec.TargetColumn);
        var target = compact.Column(p);
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            target[i] = y[i] - offset[i];
            mean += target[i];
        }
        double[]? shift = spec.ColumnShift is { } s ? [.. spec.FeatureColumns.Select(c => s[c]), mean / n] : null;
        return (compact, spec with { FeatureColumns = [.. Enumerable.Range(0, p)], TargetColumn = p, Offset = null, ColumnShift = shift });
    }

    private static FitResult Expanded(FitResult result, string[]? inputNames, ExpansionSpec? expansion) =>
        expansion is null ? result : result with { InputNames = inputNames, Expansion = expansion };

    private static Folds? MakeFolds(DenseMatrix x, FitSpec spec) => spec.Validation switch
    {
        ValidationMethod.Holdout => Folds.Holdout(x.Rows, spec.Holdout!.Fraction, spec.Holdout.Seed),
        ValidationMethod.KFold when spec.KFold!.FoldIds is { } ids => Folds.FromIds(ids),
        ValidationMethod.KFold => Folds.Random(x.Rows, spec.KFold.Folds, spec.KFold.Seed,
            spec.Family == Family.Binomial ? x.Column(spec.TargetColumn).ToArray() : null),
        _ => null,
    };
}
