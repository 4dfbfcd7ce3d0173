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
/// lambda, so it follows the local curvature. Coefficient bounds (glmnet's lower.limits / upper.limits) are a projection
/// after the prox: for one coordinate the prox of alpha |b| plus the indicator of [lower, upper] is the clamped soft
/// threshold. Momentum restarts (O'Donoghue and Candès 2015, gradient scheme) when the step and the momentum point apart. Each trial point costs one fused pass over the data
/// (<see cref="GradientKernels.Step"/>): its loss, and the gradient at the momentum point that follows it.
/// </summary>
/// <remarks>
/// A lambda's iterations end when both hold: the prox-gradient mapping G = L (y - z) (zero exactly at the optimum) has
/// ||G||_2 (features and intercept) at most <c>Tolerance</c> times the square root of the null deviance per row, and
/// the objective changed by less than <c>Tolerance</c> (relative, or within rounding) in the last step. The mapping
/// bounds the error: dist(0, dF(z)) &lt;= 2 ||G(y)||, so with F mu-strongly convex ||z - b*|| &lt;= 2 ||G|| / mu (the
/// L2 part gives mu &gt;= lambda (1 - alpha) min v_j). The achieved ||G||_2 / sqrt(null deviance) is on each point. <c>MaxIterations</c> bounds iterations over the
/// whole path; a lambda that runs out is reported as not converged with its last iterate.
/// </remarks>
public static class ProximalGradientPath
{
    public const string SolverName = "proximalGradient";

    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames, GlmFamily family,
                              PathSettings settings, IProgress<FitProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(x);
        bool binomial = family.Kind == Family.Binomial;
        ArgumentNullException.ThrowIfNull(settings);
        int p = featureCols.Length;
        if (featureNames.Length != p) throw new ArgumentException("one name per feature column is needed");
        if (settings.PenaltyFactors.Length != p) throw new ArgumentException($"{settings.PenaltyFactors.Length} penalty factors for {p} features");
        int n = rows?.Length ?? x.Rows;
        if (n == 0) throw new ArgumentException("no rows to fit");

        // The rows fitted: the data set's own columns, or a compact copy of the selected rows.
        var (source, cols) = FittedRows.Features(x, featureCols, rows);
        var y = new double[n];
        var target = x.Column(targetCol);
        for (int i = 0; i < n; i++) y[i] = target[rows is null ? i : rows[i]];
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

        // As the coordinate-descent solvers: scaled by the standard deviation about the mean, also without an intercept.
        var standardized = Standardization.Features(featureNames, settings.FitIntercept, settings.Standardize, j =>
        {
            var c = source.Column(cols[j]);
            double mean = System.Numerics.Tensors.TensorPrimitives.Sum<double>(c) / n;
            return (mean, Vec.SumSquaredDeviations(c, mean) / n, null);
        });

        var solver = new Fista(source, cols, y, standardized.Means, standardized.Scales, standardized.Excluded, settings, family, standardized.Warnings);
        return PathDriver.Run(solver, settings, progress, ct);
    }

    /// <summary>FISTA at one lambda, warm-started; the iteration budget spans the path.</summary>
    private sealed class Fista : IPointSolver
    {
        private readonly GradientKernels _kernel;
        private readonly double[] _y, _means, _scales, _v;
        private readonly bool[] _excluded;
        private readonly PathSettings _settings;
        private readonly bool _binomial, _intercept;
        private readonly int _n, _p;
        private readonly double[] _w, _raw;
        private double[] _etaX, _etaZ;

        /// <summary>The loss and full gradient at the solution of the last lambda, when its KKT check computed them.</summary>
        private readonly double[] _carriedGradient;
        private double _carriedLoss;
        private bool _carried;
        private double _lipschitz = 1.0;

        private const double Eps = 2.220446049250313e-16;

        /// <summary>
        /// The rounding floor of ||G||: the step y - g / L is rounded at eps |y_j| per coordinate (L eps ||y|| in G), and
        /// each g_j = (x_j'r - m_j sum r) / (n s_j) carries about eps (sqrt(s_j² + m_j²) ||r|| / sqrt(n) + |m_j sum r| / n) / s_j
        /// (||r||² = 2 n loss for gaussian, at most n for binomial), times 256: the fused pass extrapolates the predictor
        /// from the last two (eta_y = eta_z + m (eta_z - eta_x)) and its drift was measured to stall ||G|| near 100 eps
        /// of those terms. A tolerance under the floor is met at the floor (the achieved value is reported).
        /// </summary>
        private double Floor(double[] at, double loss, double sumR)
        {
            double rms = _binomial ? 1.0 : Math.Sqrt(2 * loss), mean = Math.Abs(sumR) / _n, g2 = 0;
            for (int j = 0; j < _p; j++)
            {
                if (_excluded[j]) continue;
                double e = (Math.Sqrt(_scales[j] * _scales[j] + _means[j] * _means[j]) * rms + Math.Abs(_means[j]) * mean) / _scales[j];
                g2 += e * e;
            }
            return 256 * Eps * (_lipschitz * System.Numerics.Tensors.TensorPrimitives.Norm<double>(at) + Math.Sqrt(g2));
        }

        /// <summary>Relative slack of the backtracking test, above the rounding of a loss summed over many rows.</summary>
        private const double RoundingSlack = 1e-12;

        private readonly List<string> _warnings;
        private readonly GlmFamily _family;
        private readonly double[] _beta;
        private double _b0, _nullDeviance, _lastLoss, _achieved;

        public Fista(DenseMatrix x, int[] cols, double[] y, double[] means, double[] scales, bool[] excluded, PathSettings settings, GlmFamily family,
                     List<string> warnings)
        {
            _family = family;
            _warnings = warnings;
            int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
            _kernel = new GradientKernels(x, cols, (long)x.Rows * cols.Length > 200_000 ? threads : 1);
            _y = y;
            _means = means;
            _scales = scales;
            _excluded = excluded;
            _v = settings.PenaltyFactors;
            _settings = settings;
            _binomial = family.Kind == Family.Binomial;
            _intercept = settings.FitIntercept;
            _n = y.Length;
            _p = cols.Length;
            _w = new double[_p];
            _raw = new double[_p];
            _etaX = new double[_n];
            _etaZ = new double[_n];
            _carriedGradient = new double[_p + 1];
            _beta = new double[_p];
            _working = new OuterWorkingSet(_v, settings.Alpha, excluded);
            _limits = CoefficientBounds.Standardized(settings.LowerLimits, settings.UpperLimits, scales);
        }

        private readonly CoefficientBounds? _limits;

        /// <summary>The features whose gradients the passes compute at the current lambda, chosen afresh at each.</summary>
        private readonly OuterWorkingSet _working;

        /// <summary>loss/n at (b0, b) on the standardized scale; with <paramref name="grad"/>, its gradient (b entries, then b0).</summary>
        private double Loss(double[] b, double b0, double[]? grad)
        {
            double loss = _kernel.Evaluate(_w, Weights(b, b0), _y, _binomial, grad is null ? default : _raw.AsSpan(), out double sumR);
            if (grad is not null) Gradient(grad, sumR);
            return loss / _n;
        }

        public int Rows => _n;
        public int Features => _p;
        public EarlyStop Stop => _family.Stop;
        public bool BudgetSpansPath => true;

        /// <summary>The intercept-only model: the null deviance, and the gradient there (features are not fitted first).</summary>
        public double Start(CancellationToken ct)
        {
            double ybar = _y.Average();
            _b0 = _intercept ? _family.Link(ybar) : 0;
            var g0 = new double[_p + 1];
            double nullLoss = Loss(_beta, _b0, g0);
            _nullDeviance = 2 * nullLoss;   // per row: gaussian the variance (about the mean), binomial -2 log-likelihood / n
            double max = 0;
            for (int j = 0; j < _p; j++)
                if (!_excluded[j] && _v[j] > 0) max = Math.Max(max, Math.Abs(g0[j]) / _v[j]);
            return max;
        }

        public PointOutcome Solve(in PathStep step, CancellationToken ct)
        {
            var (iterations, converged, loss, achieved) = Solve(step.Lambda, step.PreviousLambda, _settings.Alpha, _beta, ref _b0, _nullDeviance, step.Budget, ct);
            _lastLoss = loss;
            _achieved = achieved;
            return new PointOutcome(converged, iterations);
        }

        public PathPoint Point(in PathStep step)
        {
            var coef = new double[_p];
            double intercept = _b0;
            int nonZero = 0;
            for (int j = 0; j < _p; j++)
            {
                coef[j] = _beta[j] / _scales[j];
                intercept -= _means[j] * coef[j];
                if (_beta[j] != 0) nonZero++;
            }
            return new PathPoint(step.Lambda, intercept, coef, (double[])_beta.Clone(), nonZero, null)
            {
                DevianceRatio = 1 - 2 * _lastLoss / _nullDeviance,
                StoppingValue = _achieved,
            };
        }

        public PathFrame Frame() => new(_means, _scales, _nullDeviance, _warnings);

        /// <summary>The unstandardized weights of (b, b0) into <see cref="_w"/>; returns the constant c of eta = c + X w.</summary>
        private double Weights(double[] b, double b0)
        {
            double c = b0;
            for (int j = 0; j < _p; j++)
            {
                _w[j] = b[j] / _scales[j];
                c -= _means[j] * _w[j];
            }
            return c;
        }

        /// <summary>The gradient of loss/n on the standardized scale (b entries, then b0) from X'r and sum r; entries
        /// outside <paramref name="working"/> (when given) are 0.</summary>
        private void Gradient(double[] grad, double sumR, bool[]? working = null)
        {
            for (int j = 0; j < _p; j++)
                grad[j] = _excluded[j] || working is not null && !working[j] ? 0 : (_raw[j] - _means[j] * sumR) / (_n * _scales[j]);
            grad[_p] = _intercept ? sumR / _n : 0;
        }

        /// <summary>FISTA at one lambda from (b0, beta); returns iterations, convergence, the final loss/n and the last ||G||_2 / sqrt(null deviance).</summary>
        /// <remarks>
        /// Each iteration is one pass over the data (<see cref="GradientKernels.Step"/>): the loss at the trial point z
        /// for the backtracking test and, speculatively, the gradient at the next momentum point y' = z + m (z - x),
        /// whose predictor is extrapolated from those of z and x. A rejected trial (L doubled) costs one more pass.
        /// Gradients are computed only over a working set: the nonzero and unpenalized features and those passing the
        /// sequential strong rule |g_j| &gt;= alpha (2 lambda - lambda_prev) v_j at the warm start. Once the working set has
        /// converged, one full pass checks the KKT conditions of every other feature (|g_j| &lt;= alpha lambda v_j);
        /// violators join and the iterations go on. Features outside the set stay exactly 0, as their prox step keeps them.
        /// </remarks>
        private (int Iterations, bool Converged, double Loss, double Achieved) Solve(double lambda, double previousLambda, double alpha, double[] beta,
                                                                   ref double b0, double nullDeviance, int budget, CancellationToken ct)
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
            void AddRidge(double[] grad, double[] at)
            {
                for (int j = 0; j < p; j++) grad[j] += l2 * _v[j] * at[j];
            }

            // One full pass at x: its loss and predictor, and the gradient of every feature there (the first momentum point
            // is x itself), from which the strong rule picks the working set.
            // After a KKT check the previous lambda left exactly that at this point: then the pass is skipped.
            double lossX, sumR;
            if (_carried)
            {
                lossX = _carriedLoss;
                _carriedGradient.CopyTo(g, 0);
                _carried = false;
            }
            else
            {
                lossX = _kernel.Step(_w, Weights(xk, xk[p]), _y, _binomial, _etaX, _etaX, 0, _raw, null, out sumR, out _) / _n;
                Gradient(g, sumR);
            }
            // The nonzero features (all with alpha 0), then the strong rule's and the unpenalized ones.
            var working = _working;
            working.Clear();
            for (int j = 0; j < p; j++)
                if (!_excluded[j] && (xk[j] != 0 || alpha == 0)) working.Add(j);
            working.JoinStrong(new AbsoluteGradient(g), lambda, previousLambda);
            int[] set = working.Sorted();
            for (int j = 0; j < p; j++)
                if (!working.Contains(j)) g[j] = 0;
            AddRidge(g, yk);
            double smoothY = lossX + Ridge(yk);
            double fx = lossX + Ridge(xk) + Penalty1(xk);
            double t = 1;
            double threshold = _settings.Tolerance * Math.Sqrt(nullDeviance), achieved = double.PositiveInfinity;
            _lipschitz = Math.Max(_lipschitz * 0.5, 1e-8);
            int it = 0;
            bool converged = false;
            while (it < budget)
            {
                ct.ThrowIfCancellationRequested();
                it++;
                double lossZ, lossNext, norm2, tNext, momentum;
                bool restart;
                while (true)
                {
                    double step = 1 / _lipschitz, dot = 0;
                    norm2 = 0;
                    for (int j = 0; j < p; j++)
                    {
                        if (_excluded[j]) { z[j] = 0; continue; }
                        double u = yk[j] - step * g[j], th = step * l1 * _v[j];
                        z[j] = u > th ? u - th : u < -th ? u + th : 0.0;
                        // The projection onto the box after the prox (the prox of the L1 term plus the box, coordinate-wise).
                        if (_limits is not null) z[j] = _limits.Clamp(j, z[j]);
                    }
                    z[p] = yk[p] - step * g[p];
                    double agree = 0;
                    for (int j = 0; j <= p; j++)
                    {
                        double d = z[j] - yk[j];
                        dot += g[j] * d;
                        norm2 += d * d;
                        agree -= d * (z[j] - xk[j]);
                    }
                    // Gradient restart (decided before the pass, as it needs only z): the step z - y and the momentum
                    // z - x point apart.
                    restart = agree > 0;
                    tNext = (1 + Math.Sqrt(1 + 4 * t * t)) / 2;
                    momentum = restart ? 0 : (t - 1) / tNext;
                    lossZ = _kernel.Step(_w, Weights(z, z[p]), _y, _binomial, _etaZ, _etaX, momentum, _raw, set, out sumR, out lossNext) / _n;
                    double smoothZ = lossZ + Ridge(z);
                    // The slack covers the rounding of a loss summed over the rows: without it, steps whose true change is
                    // below rounding would fail the test and double L without end.
                    if (smoothZ <= smoothY + dot + 0.5 * _lipschitz * norm2 + RoundingSlack * Math.Abs(smoothY) || norm2 == 0) break;
                    _lipschitz *= 2;
                }
                double fz = lossZ + Ridge(z) + Penalty1(z);
                double mapped = _lipschitz * Math.Sqrt(norm2);   // ||G||_2, G = L (y - z)
                achieved = mapped / Math.Sqrt(nullDeviance);
                double floor = Floor(yk, lossZ, sumR);
                double change = Math.Abs(fz - fx);
                t = restart ? 1 : tNext;
                for (int j = 0; j <= p; j++)
                {
                    double next = z[j];
                    yk[j] = next + momentum * (next - xk[j]);
                    xk[j] = next;
                }
                (_etaX, _etaZ) = (_etaZ, _etaX);
                fx = fz;
                lossX = lossZ;
                Gradient(g, sumR, working.Flags);
                AddRidge(g, yk);
                smoothY = lossNext / _n + Ridge(yk);
                if (mapped <= Math.Max(threshold, floor) && change <= _settings.Tolerance * Math.Abs(fz) + 1e-14 * Math.Abs(fz))
                {
                    if (working.Count == p)
                    {
                        converged = true;
                        break;
                    }
                    // The working set has converged: check every other feature at x with one full pass.
                    it++;
                    _kernel.Step(_w, Weights(xk, xk[p]), _y, _binomial, _etaZ, _etaX, 0, _raw, null, out sumR, out _);
                    (_etaX, _etaZ) = (_etaZ, _etaX);
                    Gradient(g, sumR);
                    if (working.JoinViolators(new AbsoluteGradient(g), lambda) == 0)
                    {
                        converged = true;
                        g.CopyTo(_carriedGradient, 0);
                        _carriedLoss = lossX;
                        _carried = true;
                        break;
                    }
                    // Violators join; restart the momentum from x with the gradient just computed.
                    set = working.Sorted();
                    for (int j = 0; j < p; j++)
                        if (!working.Contains(j)) g[j] = 0;
                    xk.CopyTo(yk, 0);
                    AddRidge(g, yk);
                    smoothY = lossX + Ridge(yk);
                    t = 1;
                }
            }
            for (int j = 0; j < p; j++) beta[j] = xk[j];
            b0 = xk[p];
            return (it, converged, lossX, achieved);
        }
    }
}
