namespace RegService.Numerics.Solvers;

/// <summary>
/// A coordinate-descent solver of the penalized gaussian problem on standardized features, in either
/// form: covariance (<see cref="CovarianceCd"/>) or naive residual updates (<see cref="NaiveCd"/>).
/// After <see cref="Solve"/>, <see cref="Gradient"/> holds g = Z'(y - Z b)/n for every coordinate in the
/// strong set and every one the KKT check computed; a coordinate that a bound showed to satisfy KKT may
/// hold that bound instead (an upper bound of |g_j|, never below it).
/// </summary>
public interface ICdCore
{
    double[] Beta { get; }
    double[] Gradient { get; }
    CdOutcome Solve(double lambda, double previousLambda, double tolerance, int maxPasses, CancellationToken ct = default);
}
