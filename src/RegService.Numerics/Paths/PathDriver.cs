namespace RegService.Numerics.Paths;

/// <summary>One lambda of a path, as the driver hands it to a point solver.</summary>
/// <param name="Index">0-based position in the sequence.</param>
/// <param name="Count">Lambdas in the sequence (a generated path may stop before its count).</param>
/// <param name="Lambda">The lambda to solve at.</param>
/// <param name="PreviousLambda">The lambda of the warm start (lambda_max, or the first lambda if larger, before the first point), for the strong rule.</param>
/// <param name="Budget">Iterations the solver may spend here (its unit: passes, Newton steps or gradient steps).</param>
/// <param name="Generated">True when the sequence is the generated grid (its first lambda is lambda_max).</param>
/// <param name="Following">The lambdas after this one in the sequence, which a solver may start on ahead (a generated
/// path may stop before them).</param>
public readonly record struct PathStep(int Index, int Count, double Lambda, double PreviousLambda, int Budget, bool Generated,
                                       ReadOnlyMemory<double> Following = default);

/// <summary>What one point solve did; the driver stamps it on the point (the duality gap, where a solver computes one, is on the point).</summary>
/// <param name="Converged">The tolerance was met within the budget.</param>
/// <param name="Iterations">Iterations spent at this lambda.</param>
/// <param name="ScreenedOut">Features the strong rule left out at this lambda.</param>
/// <param name="EndsPath">The solver asks a generated path to stop after this point (binomial: the classes are separated).</param>
public readonly record struct PointOutcome(bool Converged, int Iterations, int ScreenedOut = 0, bool EndsPath = false);

/// <summary>How a family's generated path stops early (glmnet's devmax and fdev).</summary>
public enum EarlyStop
{
    /// <summary>Every generated lambda is fitted (the closed forms, which cost nothing per lambda).</summary>
    None,

    /// <summary>glmnet's elnet: the deviance ratio exceeds 0.999 or grew by less than 1e-5 of itself.</summary>
    Relative,

    /// <summary>glmnet's lognet: the deviance ratio exceeds 0.999 or grew by less than 1e-5 (absolute).</summary>
    Absolute,

    /// <summary>glmnet's fishnet: the deviance ratio exceeds 0.999 or grew by less than 1e-4 of itself over the last 5 lambdas.</summary>
    Poisson,
}

/// <summary>
/// A solver of one lambda, warm-started from its own last solution, that <see cref="PathDriver"/> runs along a path.
/// </summary>
public interface IPointSolver
{
    /// <summary>Rows fitted (for the default lambda.min.ratio).</summary>
    int Rows { get; }

    /// <summary>Features, excluded ones included.</summary>
    int Features { get; }

    /// <summary>How a generated path stops early.</summary>
    EarlyStop Stop { get; }

    /// <summary>True when <see cref="PathSettings.MaxIterations"/> bounds the whole path, false when it bounds each lambda.</summary>
    bool BudgetSpansPath => false;

    /// <summary>
    /// Fits the model at lambda = infinity (the intercept and the unpenalized features) and returns
    /// max_j |g_j| / v_j over the penalized features there: lambda_max times max(alpha, 1e-3). 0 when none is penalized.
    /// </summary>
    double Start(CancellationToken ct);

    /// <summary>Solves at <see cref="PathStep.Lambda"/> from the current solution within <see cref="PathStep.Budget"/>.</summary>
    PointOutcome Solve(in PathStep step, CancellationToken ct);

    /// <summary>The current solution as a path point: both scales, the deviance ratio and, where computed, the duality gap.</summary>
    PathPoint Point(in PathStep step);

    /// <summary>
    /// Called after each point joins <paramref name="points"/> and once more at the end (<paramref name="final"/>):
    /// a solver whose deviance at some point was provisional corrects it here.
    /// </summary>
    void Revise(List<PathPoint> points, bool final) { }

    /// <summary>The rest of the fitted path, read once after the last point (warnings may have grown along the way).</summary>
    PathFrame Frame();
}

/// <summary>What a <see cref="PathFit"/> holds besides its points.</summary>
public sealed record PathFrame(double[] FeatureMeans, double[] FeatureScales, double NullDeviance, List<string> Warnings);

/// <summary>
/// The one path loop: lambda_max, the grid (<see cref="LambdaGrid"/>), warm starts, the early stop, cancellation,
/// progress and the <see cref="PathFit"/>, around any <see cref="IPointSolver"/>. Explicit lambdas are fitted in the
/// order given, without early stop; a generated path runs from lambda_max down. With <see cref="PathSettings.KeepPartial"/>
/// a cancellation or a spent path budget after some lambdas returns those lambdas, marked <see cref="PathFit.Partial"/>.
/// </summary>
public static class PathDriver
{
    public static PathFit Run(IPointSolver solver, PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        double lambdaMax = LambdaGrid.LambdaMax(solver.Start(ct), settings.Alpha);
        bool generated = settings.Lambdas is null;
        double[] lambdas = settings.Lambdas ?? Generate(settings.Generate, lambdaMax, solver.Rows, solver.Features);

        var points = new List<PathPoint>(lambdas.Length);
        double previousLambda = Math.Max(lambdaMax, lambdas.Length > 0 ? lambdas[0] : 0);
        int used = 0;
        bool stoppedEarly = false;
        string? stopReason = null;
        PartialReason? partial = null;
        for (int l = 0; l < lambdas.Length; l++)
        {
            int budget = Math.Max(0, settings.MaxIterations - (solver.BudgetSpansPath ? used : 0));
            var step = new PathStep(l, lambdas.Length, lambdas[l], previousLambda, budget, generated, lambdas.AsMemory(l + 1));
            PointOutcome outcome;
            try
            {
                ct.ThrowIfCancellationRequested();
                outcome = solver.Solve(step, ct);
            }
            catch (OperationCanceledException) when (settings.KeepPartial && points.Count > 0 && ct.IsCancellationRequested)
            {
                partial = PartialReason.Canceled;
                break;
            }
            used += outcome.Iterations;
            if (settings.KeepPartial && solver.BudgetSpansPath && points.Count > 0 && !outcome.Converged && used >= settings.MaxIterations)
            {
                // glmnet's maxit: the path ends at the last lambda fitted within the budget; this one is dropped.
                partial = PartialReason.MaxIterations;
                break;
            }
            points.Add(solver.Point(step) with
            {
                Converged = outcome.Converged,
                Iterations = outcome.Iterations,
                ScreenedOut = outcome.ScreenedOut,
            });
            solver.Revise(points, final: false);
            progress?.Report(new FitProgress((l + 1.0) / lambdas.Length, $"lambda {l + 1} of {lambdas.Length}")
            {
                LambdaIndex = l + 1,
                LambdaCount = lambdas.Length,
                Lambda = lambdas[l],
                DevianceRatio = points[l].DevianceRatio,
            });
            if (generated && l + 1 < lambdas.Length && (outcome.EndsPath || ShouldStop(solver.Stop, l, lambdas.Length, points, settings.DevianceStep)))
            {
                stoppedEarly = true;
                stopReason = outcome.EndsPath
                    ? $"the solver ended it at the deviance ratio {points[l].DevianceRatio:G4} (its warning says why)"
                    : LambdaGrid.StopReason(solver.Stop, points[l].DevianceRatio, settings.DevianceStep);
                // The path is done: its share of the fit's progress is used up, however many lambdas were left.
                progress?.Report(new FitProgress(1, $"lambda {l + 1} of {l + 1} (stopped early)")
                {
                    LambdaIndex = l + 1,
                    LambdaCount = l + 1,
                    Lambda = lambdas[l],
                    DevianceRatio = points[l].DevianceRatio,
                });
                break;
            }
            previousLambda = lambdas[l];
        }
        // A partial path ends with the solver's state past its last point (a solve interrupted or out of budget): a
        // deviance still provisional there (binomial) stays the model's estimate rather than one taken at that state.
        if (partial is null) solver.Revise(points, final: true);

        var frame = solver.Frame();
        return new PathFit
        {
            Lambdas = [.. points.Select(pt => pt.Lambda)],
            Points = [.. points],
            FeatureMeans = frame.FeatureMeans,
            FeatureScales = frame.FeatureScales,
            NullDeviance = frame.NullDeviance,
            Rows = solver.Rows,
            Warnings = frame.Warnings,
            StoppedEarly = stoppedEarly,
            StopReason = stopReason,
            Partial = partial,
        };
    }

    /// <summary>The generated grid: <c>count</c> lambdas from lambda_max down to lambda_max * minRatio; [0] when lambda_max is 0.</summary>
    private static double[] Generate(LambdaPathSpec? spec, double lambdaMax, int rows, int features)
    {
        int count = spec?.Count ?? LambdaPathSpec.DefaultCount;
        if (!(lambdaMax > 0)) return new double[Math.Min(count, 1)];
        return LambdaGrid.Geometric(lambdaMax, count, spec?.MinRatio ?? LambdaGrid.DefaultMinRatio(rows, features));
    }

    private static bool ShouldStop(EarlyStop rule, int l, int count, List<PathPoint> points, double step)
    {
        double ratio = points[l].DevianceRatio, previous = l > 0 ? points[l - 1].DevianceRatio : 0;
        return rule switch
        {
            EarlyStop.Relative => LambdaGrid.ShouldStop(l, count, ratio, previous, step: step),
            EarlyStop.Absolute => LambdaGrid.ShouldStop(l, count, ratio, previous, relative: false, step: step),
            EarlyStop.Poisson => LambdaGrid.ShouldStopPoisson(l, count, ratio, l + 1 >= LambdaGrid.MinPathLambdas ? points[l + 1 - LambdaGrid.MinPathLambdas].DevianceRatio : 0, step),
            _ => false,
        };
    }
}
