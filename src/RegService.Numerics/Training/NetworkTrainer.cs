using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Training;

// PLACEHOLDER (replaced by the stochastic-solver work): sgd, adam, adamW and the MLP.
public static class NetworkTrainer
{
    public static FitResult Fit(DenseMatrix x, FitSpec spec, IProgress<FitProgress>? progress, CancellationToken ct) =>
        throw new ArgumentException("stochastic solvers and the MLP are not available yet");
}
