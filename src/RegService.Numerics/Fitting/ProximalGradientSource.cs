using RegService.Numerics.Data;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Selection;

namespace RegService.Numerics.Fitting;

// PLACEHOLDER (replaced by the proximal-gradient work).
internal sealed class ProximalGradientSource(DenseMatrix x, FitSpec spec, Folds? folds, int threads) : PathSource(x, spec, folds)
{
    public override string Solver => threads > 0 ? "proximalGradient" : "proximalGradient";
    public override PathFit Fit(int fold, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct) => throw new ArgumentException("proximalGradient is not available yet");
    public override IFitMetrics Metrics(double intercept, double[] coefficients, int[]? rows) => throw new NotSupportedException();
    public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta) => throw new NotSupportedException();
    public override double RowLoss(double y, double eta) => throw new NotSupportedException();
}
