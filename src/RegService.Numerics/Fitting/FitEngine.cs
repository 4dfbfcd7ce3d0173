using RegService.Numerics.Data;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Fitting;

/// <summary>The engine's entry point: picks the solver for a spec and runs it.</summary>
public static class FitEngine
{
    /// <summary>
    /// Fits <paramref name="spec"/> on <paramref name="x"/>. Bad specs throw <see cref="ArgumentException"/>;
    /// a numerical breakdown throws <see cref="NumericalBreakdownException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/>. Non-convergence is a status in the result, not an exception.
    /// </summary>
    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        Validate(x, spec);
        return (spec.Family, spec.Penalty) switch
        {
            (Family.Gaussian, Penalty.Ridge or Penalty.None) => ClosedFormRidge.Fit(x, spec, progress, ct),
            _ => throw new ArgumentException($"no solver for family {spec.Family} with penalty {spec.Penalty} yet"),
        };
    }

    private static void Validate(DenseMatrix x, FitSpec spec)
    {
        if (spec.FeatureColumns.Length != spec.FeatureNames.Length)
            throw new ArgumentException("one name per feature column is needed");
        foreach (var c in spec.FeatureColumns.Append(spec.TargetColumn))
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        foreach (var lambda in spec.Lambdas ?? [])
            if (!double.IsFinite(lambda) || lambda < 0) throw new ArgumentException($"lambda {lambda} is not a finite non-negative number");
        if (spec.Penalty == Penalty.None && (spec.Lambdas ?? []).Any(l => l != 0))
            throw new ArgumentException("penalty none takes lambda 0 only");
    }
}
