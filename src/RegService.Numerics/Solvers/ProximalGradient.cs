using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Kernels;
using RegService.Numerics.Paths;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Full-batch proximal gradient with FISTA acceleration (Beck and Teboulle 2009) for the gaussian and binomial
/// families, on the same objective as coordinate descent:
/// <code>
/// F(b0, b) = loss(b0, b) / n + lambda * sum_j v_j [ (1 - alpha)/2 b_j^2 + alpha |b_j| ]
/// </code>
/// on standardized features (the intercept unpenalized). The smooth part (loss and ridge term) takes gradient steps
/// of size 1/L; the L1 part is its proximal map (soft-thresholding by lambda alpha v_j / L). L is found by
/// backtracking: doubled until the quadratic upper bound holds at the new point, and halved at the start of each
/// lambda, so it follows the local curvature. Momentum restarts (O'Donoghue and Candès 2015, gradient scheme) when the
/// step and the momentum point apart. Each iteration costs one fused loss-and-gradient pass over the data
/// (<see cref="GradientKernels"/>) and one loss pass per backtracking trial.
/// </summary>
/// <remarks>
/// A lambda's iterations end when both hold: the prox-gradient map G = L (y - z) (zero exactly at the optimum) has
/// max_j G_j^2 below <c>Tolerance</c> times the null deviance per row, and the objective changed by less than
/// <c>Tolerance</c> (relative, or within rounding) in the last step. <c>MaxIterations</c> bounds iterations over the
/// whole path; a lambda that runs out is reported as not converged with its last iterate.
/// </remarks>
public static class ProximalGradientPath
{
    public const string SolverName = "proximalGradient";

    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames, bool binomial,
                              PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(settings);
        int p = featureCols.Length;
        if (featureNames.Length != p) throw new ArgumentException("one name per feature column is needed");
        if (settings.PenaltyFactors.Length != p) throw new ArgumentException($"{settings.PenaltyFactors.Length} penalty factors for {p} features");
        int n = rows?.Length ?? x.Rows;
        if (n == 0) throw new ArgumentException("no rows to fit");

        // The rows fitted: the data set's own columns, or a compact copy of the selected rows.
        DenseMatrix source;
        int[] cols;
        var y = new double[n];
        var target = x.Column(targetCol);
        if (rows is null)
        {
            source = x;
            cols = (int[])featureCols.Clone();
            target.CopyTo(y);
        }
        else
        {
            source = new DenseMatrix(n, p);
            for (int j = 0; j < p; j++)
            {
                var from = x.Column(featureCols[j]);
                var to = source.Column(j);
                for (int i = 0; i < n; i++) to[i] = from[rows[i]];
            }
            for (int i = 0; i < n; i++) y[i] = target[rows[i]];
            cols = [.. Enumerable.Range(0, p)];
        }
        if (binomial)
        {
            int ones = 0;
            foreach (double v in y)
            {
                if (v != 0 && v != 1) throw new ArgumentException($"the binomial target must be 0 or 1; found {v}");
                if (v == 1) ones++;
            }
            if (ones == 0 || ones == n) throw new ArgumentException($"the binomial target has only one class on the {n} rows fitted");
        }

        var warnings = new List<string>();
        var means = new double[p];
        var scales = new double[p];
        var excluded = new bool[p];
        for (int j = 0; j < p; j++)
        {
            var c = source.Column(cols[j]);
            double mean = System.Numerics.Tensors.TensorPrimitives.Sum<double>(c) / n;
            double variance = Vec.SumSquaredDeviations(c, mean) / n;
            double center = settings.FitIntercept ? mean : 0.0;
            means[j] = center;
            // As the coordinate-descent solvers: gaussian features are scaled by their standard deviation (also
            // without an intercept); binomial ones by their spread about the center (the root mean square without one).
            double spread = settings.FitIntercept || !binomial ? variance : Vec.SumSquaredDeviations(c, 0.0) / n;
            if ((settings.FitIntercept || !binomial) && variance <= 1e-26 * Math.Max(1.0, mean * mean))
            {
                excluded[j] = true;
                scales[j] = 1.0;
                warnings.Add($"feature '{featureNames[j]}' has zero variance on the rows fitted; its coefficient is 0");
                continue;
            }
            double scale = settings.Standardize ? Math.Sqrt(spread) : 1.0;
            scales[j] = scale > 0 ? scale : 1.0;
        }

        var solver = new Fista(source, cols, y, means, scales, excluded, settings, binomial);
        return solver.Run(featureNames, warnings, progress, ct);
    }

    private sealed class Fista
    {
        private readonly GradientKernels _kernel;
        private readonly double[] _y, _means, _scales, _v;
        private readonly bool[] _excluded;
        private readonly PathSettings _settings;
        private readonly bool _binomial, _intercept;
        private readonly int _n, _p;
        private readonly double[] _w, _raw;
        private double _lipschitz = 1.0;

        /// <summary>Relative slack of the backtracking test, above the rounding of a loss summed over many rows.</summary>
        private const double RoundingSlack = 1e-12;

        public Fista(DenseMatrix x, int[] cols, double[] y, double[] means, double[] scales, bool[] excluded, PathSettings settings, bool binomial)
        {
            int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
            _kernel = new GradientKernels(x, cols, (long)x.Rows * cols.Length > 200_000 ? threads : 1);
            _y = y;
            _means = means;
            _scales = scales;
            _excluded = excluded;
            _v = settings.PenaltyFactors;
            _settings = settings;
            _binomial = binomial;
            _intercept = settings.FitIntercept;
            _n = y.Length;
            _p = cols.Length;
            _w = new double[_p];
            _raw = new double[_p];
        }

        /// <summary>loss/n at (b0, b) on the standardized scale; with <paramref name="grad"/>, its gradient (b entries, then b0).</summary>
        private double Loss(double[] b, double b0, double[]? grad)
        {
            double c = b0;
            for (int j = 0; j < _p; j++)
            {
                _w[j] = b[j] / _scales[j];
                c -= _means[j] * _w[j];
            }
            double loss = _kernel.Evaluate(_w, c, _y, _binomial, grad is null ? default : _raw.AsSpan(), out double sumR);
            if (grad is not null)
            {
                for (int j = 0; j < _p; j++)
                    grad[j] = _excluded[j] ? 0 : (_raw[j] - _means[j] * sumR) / (_n * _scales[j]);
                grad[_p] = _intercept ? sumR / _n : 0;
            }
            return loss / _n;
        }

        public PathFit Run(string[] names, List<string> warnings, IProgress<FitProgress>? progress, CancellationToken ct)
        {
            double alpha = _settings.Alpha;
            // The intercept-only model: the null deviance and lambda_max.
            double ybar = _y.Average();
            double b0Null = _intercept ? (_binomial ? Math.Log(ybar / (1 - ybar)) : ybar) : 0;
            var zero = new double[_p];
            var g0 = new double[_p + 1];
            double nullLoss = Loss(zero, b0Null, g0);
            double nullDeviance = 2 * nullLoss;   // per row: gaussian the variance (about the mean), binomial -2 log-likelihood / n

            var generate = _settings.Generate;
            double[] lambdas;
            bool generated = _settings.Lambdas is null;
            if (generated)
            {
                double lambdaMax = 0;
                for (int j = 0; j < _p; j++)
                    if (!_excluded[j] && _v[j] > 0) lambdaMax = Math.Max(lambdaMax, Math.Abs(g0[j]) / (_v[j] * Math.Max(alpha, 1e-3)));
                double minRatio = generate?.MinRatio ?? LambdaGrid.DefaultMinRatio(_n, _p);
                lambdas = lambdaMax > 0 ? LambdaGrid.Geometric(lambdaMax, generate?.Count ?? 100, minRatio) : [0.0];
            }
            else lambdas = _settings.Lambdas!;

            var beta = new double[_p];
            double b0 = b0Null;
            var points = new List<PathPoint>();
            int budget = _settings.MaxIterations;
            bool stoppedEarly = false;
            double previousRatio = 0;
            for (int l = 0; l < lambdas.Length; l++)
            {
                ct.ThrowIfCancellationRequested();
                var (iterations, converged, loss) = Solve(lambdas[l], alpha, beta, ref b0, nullDeviance, budget, ct);
                budget = Math.Max(0, budget - iterations);
                double ratio = 1 - 2 * loss / nullDeviance;
                var coef = new double[_p];
                double intercept = b0;
                int nonZero = 0;
                for (int j = 0; j < _p; j++)
                {
                    coef[j] = beta[j] / _scales[j];
                    intercept -= _means[j] * coef[j];
                    if (beta[j] != 0) nonZero++;
                }
                points.Add(new PathPoint(lambdas[l], intercept, coef, (double[])beta.Clone(), nonZero, null)
                {
                    DevianceRatio = ratio,
                    Converged = converged,
                    Iterations = iterations,
                });
                progress?.Report(new FitProgress((l + 1.0) / lambdas.Length, $"lambda {l + 1} of {lambdas.Length}"));
                if (generated && l < lambdas.Length - 1 && LambdaGrid.ShouldStop(l, lambdas.Length, ratio, previousRatio))
                {
                    stoppedEarly = true;
                    break;
                }
                previousRatio = ratio;
            }
            return new PathFit
            {
                Lambdas = [.. points.Select(pt => pt.Lambda)],
                Points = [.. points],
                FeatureMeans = _means,
                FeatureScales = _scales,
                NullDeviance = nullDeviance,
                Rows = _n,
                Warnings = warnings,
                StoppedEarly = stoppedEarly,
                Form = "fista",
            };
        }

        /// <summary>FISTA at one lambda from (b0, beta); returns iterations, convergence and the final loss/n.</summary>
        private (int Iterations, bool Converged, double Loss) Solve(double lambda, double alpha, double[] beta, ref double b0,
                                                                   double nullDeviance, int budget, CancellationToken ct)
        {
            int p = _p;
            double l1 = lambda * alpha, l2 = lambda * (1 - alpha);
            var xk = new double[p + 1];
            var yk = new double[p + 1];
            var z = new double[p + 1];
            var g = new double[p + 1];
            beta.CopyTo(xk, 0);
            xk[p] = b0;
            xk.CopyTo(yk, 0);
            double Penalty1(double[] u)
            {
                double s = 0;
                for (int j = 0; j < p; j++) s += _v[j] * Math.Abs(u[j]);
                return l1 * s;
            }
            double Ridge(double[] u)
            {
                double s = 0;
                for (int j = 0; j < p; j++) s += _v[j] * u[j] * u[j];
                return 0.5 * l2 * s;
            }
            double lossX = Loss(xk, xk[p], null);
            double fx = lossX + Ridge(xk) + Penalty1(xk);
            double t = 1;
            double threshold = _settings.Tolerance * nullDeviance;
            _lipschitz = Math.Max(_lipschitz * 0.5, 1e-8);
            int it = 0;
            bool converged = false;
            while (it < budget)
            {
                ct.ThrowIfCancellationRequested();
                it++;
                double lossY = Loss(yk, yk[p], g);
                for (int j = 0; j < p; j++) g[j] += l2 * _v[j] * yk[j];
                double smoothY = lossY + Ridge(yk);
                double lossZ, gmax;
                while (true)
                {
                    double step = 1 / _lipschitz, dot = 0, norm2 = 0;
                    gmax = 0;
                    for (int j = 0; j < p; j++)
                    {
                        if (_excluded[j]) { z[j] = 0; continue; }
                        double u = yk[j] - step * g[j], th = step * l1 * _v[j];
                        z[j] = u > th ? u - th : u < -th ? u + th : 0.0;
                    }
                    z[p] = yk[p] - step * g[p];
                    for (int j = 0; j <= p; j++)
                    {
                        double d = z[j] - yk[j];
                        dot += g[j] * d;
                        norm2 += d * d;
                        gmax = Math.Max(gmax, Math.Abs(d));
                    }
                    lossZ = Loss(z, z[p], null);
                    double smoothZ = lossZ + Ridge(z);
                    // The slack covers the rounding of a loss summed over the rows: without it, steps whose true change is
                    // below rounding would fail the test and double L without end.
                    if (smoothZ <= smoothY + dot + 0.5 * _lipschitz * norm2 + RoundingSlack * Math.Abs(smoothY) || norm2 == 0) break;
                    _lipschitz *= 2;
                }
                double fz = lossZ + Ridge(z) + Penalty1(z);
                double mapped = _lipschitz * gmax;   // max_j |G_j|, G = L (y - z)
                double change = Math.Abs(fz - fx);
                // Gradient restart: the step z - y and the momentum z - x point apart.
                double agree = 0;
                for (int j = 0; j <= p; j++) agree += (yk[j] - z[j]) * (z[j] - xk[j]);
                double tNext = (1 + Math.Sqrt(1 + 4 * t * t)) / 2;
                double momentum = agree > 0 ? 0 : (t - 1) / tNext;
                t = agree > 0 ? 1 : tNext;
                for (int j = 0; j <= p; j++)
                {
                    double next = z[j];
                    yk[j] = next + momentum * (next - xk[j]);
                    xk[j] = next;
                }
                fx = fz;
                lossX = lossZ;
                if (mapped * mapped <= threshold && change <= _settings.Tolerance * Math.Abs(fz) + 1e-14 * Math.Abs(fz))
                {
                    converged = true;
                    break;
                }
            }
            for (int j = 0; j < p; j++) beta[j] = xk[j];
            b0 = xk[p];
            return (it, converged, lossX);
        }
    }
}
