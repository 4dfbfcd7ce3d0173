using System.Diagnostics;
using RegService.Numerics.Data;
using RegService.Numerics.Selection;
using RegService.Numerics.Training;

namespace RegService.Numerics.Fitting;

/// <summary>The engine's entry point: picks the solver for a spec and runs it.</summary>
public static class FitEngine
{
    /// <summary>Gaussian fits use the covariance form (a Gram matrix) when rows exceed features and features are at most this many.</summary>
    public const int MaxCovarianceFeatures = 2000;

    /// <summary>
    /// Fits <paramref name="spec"/> on <paramref name="x"/>. Bad specs throw <see cref="ArgumentException"/>;
    /// a numerical breakdown throws <see cref="NumericalBreakdownException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/>. Non-convergence is a status in the result, not an exception.
    /// </summary>
    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        ExpansionSpec? expansion = null;
        string[]? inputNames = null;
        if (spec.Expansion is { PolynomialDegree: > 1 })
        {
            // Penalty factors refer to the expanded features: they are checked after the expansion.
            Validate(x, spec with { PenaltyFactors = null });
            inputNames = spec.FeatureNames;
            expansion = spec.Expansion;
            (x, spec) = FeatureExpansion.Apply(x, spec);
        }
        Validate(x, spec);
        if (spec.Model == ModelKind.Mlp || spec.Solver is SolverKind.Sgd or SolverKind.Adam or SolverKind.AdamW)
            return Expanded(NetworkTrainer.Fit(x, spec, progress, ct), inputNames, expansion);
        int threads = spec.MaxThreads > 0 ? spec.MaxThreads : Environment.ProcessorCount;
        var folds = MakeFolds(x, spec);
        int n = x.Rows, p = spec.FeatureColumns.Length;

        progress?.Report(new FitProgress(0.0, "gram"));
        var watch = Stopwatch.StartNew();
        PathSource source = (spec.Family, spec.Penalty) switch
        {
            _ when spec.Solver == SolverKind.ProximalGradient => new ProximalGradientSource(x, spec, folds, threads),
            // Ridge with more features than rows: the n x n dual instead of the p x p Gram. Penalty none (lambda 0)
            // stays on the Gram: its normal equations are singular when p > n either way.
            (Family.Gaussian, Penalty.Ridge) when spec.PenaltyFactors is null && p > n => new DualSource(x, spec, folds),
            (Family.Gaussian, Penalty.Ridge or Penalty.None) when spec.PenaltyFactors is null =>
                new GramSource(x, spec, folds, closedForm: true, threads, ct),
            (Family.Gaussian, _) when n > p && p <= MaxCovarianceFeatures => new GramSource(x, spec, folds, closedForm: false, threads, ct),
            (Family.Gaussian, _) => new NaiveSource(x, spec, folds),
            (Family.Binomial, _) => new BinomialSource(x, spec, folds),
            _ => throw new ArgumentException($"no solver for family {spec.Family}"),
        };
        double setup = watch.Elapsed.TotalSeconds;

        var result = PathFitter.Fit(x, spec, source, folds, progress, ct);
        var timings = new Dictionary<string, double> { [source is GramSource ? "gram" : "setup"] = setup };
        foreach (var (key, value) in result.Timings) timings[key] = key == "total" ? value + setup : value;
        return Expanded(result with { Timings = timings }, inputNames, expansion);
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

    private static void Validate(DenseMatrix x, FitSpec spec)
    {
        int p = spec.FeatureColumns.Length;
        if (spec.FeatureNames.Length != p)
            throw new ArgumentException("one name per feature column is needed");
        foreach (var c in spec.FeatureColumns.Append(spec.TargetColumn))
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        if (spec.Lambdas is not null && spec.Path is not null)
            throw new ArgumentException("give lambdas or a path, not both");
        if (spec.Lambdas is null && spec.Path is null && spec.Penalty != Penalty.None)
            throw new ArgumentException("a penalized fit needs lambdas or a path");
        if (spec.Lambdas is { Length: 0 })
            throw new ArgumentException("at least one lambda is needed");
        foreach (var lambda in spec.Lambdas ?? [])
            if (!double.IsFinite(lambda) || lambda < 0) throw new ArgumentException($"lambda {lambda} is not a finite non-negative number");
        if (spec.Penalty == Penalty.None && (spec.Lambdas ?? []).Any(l => l != 0))
            throw new ArgumentException("penalty none takes lambda 0 only");
        if (spec.Path is { } path && (path.Count < 1 || path.MinRatio is <= 0 or >= 1 || (path.MinRatio is { } r && double.IsNaN(r))))
            throw new ArgumentException("a path needs count >= 1 and minRatio in (0, 1)");
        if (!(spec.L1Ratio >= 0 && spec.L1Ratio <= 1))
            throw new ArgumentException($"l1Ratio {spec.L1Ratio} is outside [0, 1]");
        if (spec.PenaltyFactors is { } factors)
        {
            if (factors.Length != p) throw new ArgumentException($"{factors.Length} penalty factors for {p} features");
            if (factors.Any(f => !double.IsFinite(f) || f < 0)) throw new ArgumentException("penalty factors must be finite and >= 0");
            if (factors.All(f => f == 0)) throw new ArgumentException("every penalty factor is 0: nothing is penalized");
        }
        if (!(spec.Tolerance > 0) || !double.IsFinite(spec.Tolerance)) throw new ArgumentException("tolerance must be a positive number");
        if (spec.MaxIterations < 1) throw new ArgumentException("maxIterations must be positive");
        if (spec.Family == Family.Binomial)
        {
            var y = x.Column(spec.TargetColumn);
            foreach (var v in y)
                if (v != 0 && v != 1) throw new ArgumentException($"the binomial family needs a 0/1 target; found {v}");
        }
        switch (spec.Validation)
        {
            case ValidationMethod.Holdout when spec.Holdout is null:
                throw new ArgumentException("holdout validation needs a holdout spec");
            case ValidationMethod.KFold when spec.KFold is null:
                throw new ArgumentException("k-fold validation needs a k-fold spec");
            case ValidationMethod.KFold when spec.KFold.FoldIds is { } ids && ids.Length != x.Rows:
                throw new ArgumentException($"{ids.Length} fold ids for {x.Rows} rows");
            case ValidationMethod.KFold when spec.KFold.FoldIds is null && (spec.KFold.Folds < 2 || spec.KFold.Folds > x.Rows):
                throw new ArgumentException($"folds must be in [2, {x.Rows}]");
            case ValidationMethod.LeaveOneOut or ValidationMethod.Gcv
                when spec.Family != Family.Gaussian || spec.Penalty is not (Penalty.Ridge or Penalty.None) || spec.PenaltyFactors is not null:
                throw new ArgumentException("leave-one-out and GCV are for gaussian ridge without penalty factors");
            case ValidationMethod.LeaveOneOut or ValidationMethod.Gcv when spec.Solver is not (SolverKind.Auto or SolverKind.ClosedForm):
                throw new ArgumentException("leave-one-out and GCV come from the closed form; use k-fold or holdout with another solver");
        }
    }
}
