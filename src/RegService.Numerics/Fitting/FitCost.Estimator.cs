using System.Globalization;

namespace RegService.Numerics.Fitting;

/// <summary>How <see cref="FitCost.Estimate"/> adds up a fit's memory and work, route by route, as the engine fits it.</summary>
public sealed partial record FitCost
{
    /// <summary>Accumulates the parts: some held for the whole fit, the others by phase (all counted: see <see cref="Run"/>).</summary>
    private sealed class Estimator
    {
        private readonly FitSpec _spec;
        private readonly long _n, _columns;
        private readonly int _p, _threads, _lambdas, _folds;
        private readonly long _m;               // rows of one validation fit
        private readonly double _nameLength;
        private readonly List<CostItem> _held = [];
        private readonly List<(string Phase, List<CostItem> Items)> _phases = [];
        private double _work;

        public Estimator(FitSpec spec, int rows, int datasetColumns, double? averageNameLength)
        {
            _spec = spec;
            _n = rows;
            _columns = datasetColumns;
            int inputs = spec.FeatureColumns.Length;
            var expansion = spec.Expansion is { PolynomialDegree: > 1 } e ? e : null;
            _p = expansion is null ? inputs : FeatureExpansion.Count(inputs, expansion);
            _threads = spec.MaxThreads > 0 ? spec.MaxThreads : Environment.ProcessorCount;
            _lambdas = Stochastic || spec.Penalty == Penalty.None || spec.Model == ModelKind.BayesianRidge ? 1 : spec.Lambdas?.Length ?? spec.Path?.Count ?? LambdaPathSpec.DefaultCount;
            _lambdas = Math.Max(_lambdas, 1);
            (_folds, _m) = spec.Validation switch
            {
                ValidationMethod.Holdout when spec.Holdout is { } h => (1, rows - Splits.HeldOutCount(rows, h.Fraction)),
                ValidationMethod.KFold when spec.KFold is { } k =>
                    (Math.Max(k.FoldIds is { } ids ? ids.Distinct().Count() : k.Folds, 1), 0L),
                _ => (0, 0L),
            };
            // The largest training part of a fold: all rows but the smallest fold (about n/K rows).
            if (spec.Validation == ValidationMethod.KFold) _m = _folds > 1 ? rows - rows / _folds : rows;
            _m = Math.Clamp(_m, 0, rows);
            double inputName = spec.FeatureNames.Length > 0 ? spec.FeatureNames.Average(s => (double)s.Length) : 8;
            // An expanded name joins up to `degree` input names with '*' and powers like "^2".
            _nameLength = averageNameLength ?? (expansion is null ? inputName : expansion.PolynomialDegree * (inputName + 3));
        }

        private bool Stochastic => _spec.Model == ModelKind.Mlp || _spec.Solver is SolverKind.Sgd or SolverKind.Adam or SolverKind.AdamW;

        private static long Doubles(double count) => Bytes(count * sizeof(double));

        private static long Bytes(double bytes) => bytes >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)Math.Ceiling(Math.Max(bytes, 0));

        private void Hold(string what, long bytes)
        {
            if (bytes > 0) _held.Add(new CostItem(what, bytes));
        }

        private List<CostItem> Phase(string name)
        {
            var items = new List<CostItem>();
            _phases.Add((name, items));
            return items;
        }

        private static void Add(List<CostItem> phase, string what, long bytes)
        {
            if (bytes > 0) phase.Add(new CostItem(what, bytes));
        }

        public FitCost Run()
        {
            long n = _n, p = _p, k = p + 1;
            long loaded = Doubles((double)n * _columns);
            if (_spec.Expansion is { PolynomialDegree: > 1 })
            {
                Hold($"expanded matrix ({p:N0} features)", Doubles((double)n * (k + 1)));
                _work += (double)n * p;
            }
            if (_folds > 0) Hold("fold assignment", Bytes(12.0 * n));

            string route;
            if (Stochastic) route = StochasticCost();
            else
            {
                bool gaussian = _spec.Family == Family.Gaussian;
                route = _spec switch
                {
                    { Solver: SolverKind.ProximalGradient } => ProximalGradientCost(),
                    _ when _spec.ClosedFormFits =>
                        p > n ? DualCost() : GramCost(closedForm: true),
                    _ when gaussian && n > p && p <= FitEngine.MaxCovarianceFeatures => GramCost(closedForm: false),
                    _ when gaussian => NaiveCost(),
                    _ when _spec.Family == Family.Multinomial => MultinomialCost(),
                    _ => BinomialCost(),
                };
                // Each point of a path holds its coefficients on both scales; every validation fit keeps its path to the end.
                Hold($"path of {_lambdas:N0} lambdas (coefficients on both scales)", Doubles(_lambdas * (2.0 * p + 16)));
                if (_folds > 0) Hold($"validation paths ({_folds} fits)", Doubles((double)_folds * _lambdas * (2.0 * p + 16)));
                if (_spec.Relax is not null)
                {
                    // The relaxed lasso: a refit per lambda (both scales) beside every path, and up to one lambda-0 solve per
                    // distinct active set, whose work is taken as the path's own (RelaxedPath).
                    Hold($"relaxed refits ({1 + _folds} paths)", Doubles((1.0 + _folds) * _lambdas * (2.0 * p + 16)));
                    _work *= 2;
                }
                Hold("per-row vectors (metrics, predictions)", Doubles(4.0 * n));
            }
            // The API's result document: per lambda a dictionary of the coefficients by name and its JSON text
            // (the name, quotes, colon, number and comma: about 25 bytes besides the name), and the fold ids.
            long documentLambdas = _lambdas;
            Hold("result document", Bytes(documentLambdas * p * (_nameLength + 25 + 32) + 3 * p * (_nameLength + 25 + 32) + (_folds > 1 ? 12.0 * n : 0)));
            if (_spec.Model == ModelKind.BayesianRidge)
            {
                // One eigendecomposition always (the evidence iterates on it), and the posterior covariance: p x p to build,
                // p(p+1)/2 kept with the fit and written in its stored JSON (about 25 bytes a number).
                Hold("posterior covariance (eigenvectors, packed, stored JSON)", Doubles(2.0 * p * p + p * (p + 1) / 2.0) + Bytes(25.0 * p * (p + 1) / 2));
                _work += 10.0 * p * p * p;
            }

            // Every phase counts, not only the largest: what a phase leaves behind is garbage that the collector need not
            // have reclaimed when the next phase allocates (large arrays go to the large object heap, collected with
            // generation 2 only), and each fold fit's copies likewise stay until a full collection.
            var items = _held.Concat(_phases.SelectMany(ph => ph.Items.Select(i => i with { What = $"{ph.Phase}: {i.What}" })))
                .OrderByDescending(i => i.Bytes).ToList();
            long working = items.Sum(i => i.Bytes);
            long peak = Bytes(loaded + Margin * working + Overhead);
            items.Insert(0, new CostItem($"loaded data set matrix ({n:N0} x {_columns:N0})", loaded));
            return new FitCost(peak, Math.Max(_work, 1), route, items)
            {
                LoadedBytes = loaded,
                WorkingBytes = working,
                Rows = (int)n,
                Features = _p,
                Lambdas = _lambdas,
                ValidationFits = _folds,
            };
        }

        /// <summary>
        /// Gaussian fits from Gram matrices (<see cref="GramSource"/>): the (p+1)² Gram of all rows and of every fold are
        /// held for the whole fit; the pass uses the kernel's native accumulators (and, for k folds, the regroup buffer);
        /// a path needs the normal system (centered cross-products and A) and, for the closed form with several lambdas,
        /// one symmetric eigendecomposition; each fold fit copies its training Gram and does the same.
        /// </summary>
        private string GramCost(bool closedForm)
        {
            long n = _n, p = _p, k = p + 1;
            double k2 = (double)k * k, p2 = (double)p * p;
            Hold(_folds > 0 ? $"Gram matrices of {k:N0}² (all rows and {_folds} folds)" : $"Gram matrix of {k:N0}²", Doubles((1 + _folds) * (k2 + k)));
            _work += n * k2;

            var pass = Phase("Gram pass");
            if (_spec.Validation == ValidationMethod.KFold)
            {
                long chunkRows = Math.Clamp(GramSource.RegroupChunkBytes / (k * sizeof(double)), 1, Math.Max(n, 1));
                Add(pass, "regroup buffer", Doubles((double)chunkRows * k));
                Add(pass, "Gram kernel accumulators (native)", GramKernel.NativeBytes(chunkRows, ClampInt(k), _threads, _folds));
            }
            else
                Add(pass, "Gram kernel accumulators (native)", GramKernel.NativeBytes(n, ClampInt(k), _threads));

            bool eigen = closedForm && _lambdas > 1;
            // NormalSystem.From: the centered cross-products (k²) and A (p²); the eigendecomposition holds at once the
            // symmetrized copy, MathNet's eigenvectors and block-diagonal matrices, the column-major copy and the
            // sorted eigenvectors (5 p²); one lambda is a Cholesky of a pooled copy of A + lambda I (p²).
            double system = k2 + p2;
            double solve = eigen ? 5 * p2 : closedForm ? p2 : 0;
            string solveName = eigen ? "eigendecomposition workspace" : closedForm ? "Cholesky copy" : "";
            var full = Phase("path on all rows");
            Add(full, "normal system (cross-products and A)", Doubles(system));
            if (solve > 0) Add(full, solveName, Doubles(solve));
            double fitWork = closedForm
                ? (eigen ? 9 * p2 * p : p2 * p / 3) + _lambdas * 2 * p2
                : _lambdas * AssumedPasses * 2 * p2;
            _work += fitWork * (1 + _folds);

            if (_folds > 0)
            {
                var folds = Phase("validation fits");
                int fits = _folds;
                Add(folds, $"{fits} fold fits: training Gram copies", Doubles(fits * (k2 + k)));
                Add(folds, $"{fits} fold fits: normal systems", Doubles(fits * system));
                if (solve > 0) Add(folds, $"{fits} fold fits: {solveName}", Doubles(fits * solve));
                if (_spec.Validation == ValidationMethod.Holdout) _work += _lambdas * 2.0 * (n - _m) * p;
                else _work += _folds * _lambdas * (double)k2;
            }
            if (closedForm && _spec.Validation is ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)
            {
                // RidgeCriteria: a second normal system and eigendecomposition, and (leave-one-out) a copy of the eigenvectors
                // and per lambda the inverse spectrum.
                var criterion = Phase("leave-one-out / GCV");
                Add(criterion, "normal system", Doubles(system));
                Add(criterion, "eigendecomposition workspace", Doubles(5 * p2 + _lambdas * (double)p));
                if (_spec.Validation == ValidationMethod.LeaveOneOut)
                {
                    Add(criterion, "eigenvector copy", Doubles(p2));
                    _work += 2 * n * p2 + 2.0 * n * _lambdas * p;
                }
                _work += 9 * p2 * p;
            }
            return closedForm ? "closedForm primal gram" : "covariance cd";
        }

        /// <summary>
        /// The closed form when features outnumber rows, by the n x n kernel K = Z Z': the standardized rows (n p), K (n²)
        /// and the eigendecomposition of K (5 n²), per lambda the coefficients Z' alpha; each fold fit the same
        /// on its training rows.
        /// </summary>
        private string DualCost()
        {
            long n = _n, p = _p;
            double n2 = (double)n * n;
            var full = Phase("path on all rows");
            Add(full, $"standardized features ({n:N0} x {p:N0})", Doubles((double)n * (p + 1)));
            Add(full, $"kernel matrix {n:N0}²", Doubles(n2));
            Add(full, "eigendecomposition workspace", Doubles(5 * n2));
            Add(full, "per-lambda solutions", Doubles(4.0 * (n + p)));
            double fitWork = n2 * p + 9 * n2 * n + _lambdas * 2.0 * n * p;
            _work += fitWork;
            if (_folds > 0)
            {
                long m = _m;
                double m2 = (double)m * m;
                int fits = _folds;
                var folds = Phase("validation fits");
                Add(folds, $"{fits} fold fits: standardized rows", Doubles(fits * (double)m * (p + 1)));
                Add(folds, $"{fits} fold fits: kernel and eigendecomposition", Doubles(fits * 6 * m2));
                _work += _folds * (m2 * p + 9 * m2 * m + _lambdas * 2.0 * m * p);
            }
            if (_spec.Validation is ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)
            {
                var criterion = Phase("leave-one-out / GCV");
                Add(criterion, "kernel and eigendecomposition", Doubles(7 * n2 + (double)n * (p + 1) + _lambdas * (double)n));
                _work += 9 * n2 * n + 2.0 * n * _lambdas * n;
            }
            return "closedForm dual kernel";
        }

        /// <summary>
        /// Naive coordinate descent (<see cref="NaiveSource"/>): the all-rows path reads the loaded columns in place, with
        /// per-row vectors and a 16-bit shadow of the standardized columns where <see cref="NaiveCd.UseShadow"/>
        /// allows; each fold fit gathers its training rows into a compact copy and builds its own shadow.
        /// </summary>
        private string NaiveCost()
        {
            long n = _n, p = _p;
            var full = Phase("path on all rows");
            Add(full, "residuals and per-feature state", Doubles(8.0 * n + 16.0 * p));
            if (NaiveCd.UseShadow(ClampInt(n), ClampInt(p)))
                Add(full, "16-bit shadow of the columns", Bytes(2.0 * n * p + 4.0 * n));
            _work += _lambdas * (AssumedPasses * 4.0 * n * Math.Min(p, n) + 2.0 * n * p);
            if (_folds > 0)
            {
                long m = _m;
                int fits = _folds;
                var folds = Phase("validation fits");
                Add(folds, $"{fits} fold fits: gathered rows ({m:N0} x {p + 1:N0})", Doubles(fits * (double)m * (p + 1)));
                Add(folds, $"{fits} fold fits: residuals and state", Doubles(fits * (8.0 * m + 16.0 * p)));
                if (NaiveCd.UseShadow(ClampInt(m), ClampInt(p)))
                    Add(folds, $"{fits} fold fits: 16-bit shadows", Bytes(fits * (2.0 * m * p + 4.0 * m)));
                _work += _folds * _lambdas * (AssumedPasses * 4.0 * m * Math.Min(p, m) + 2.0 * m * p);
            }
            return "naive cd";
        }

        /// <summary>
        /// Proximal Newton (<see cref="BinomialSource"/>, <see cref="LogisticPathSolver"/>): per-row vectors (probabilities,
        /// weights, residuals, up to five probability snapshots, the naive residuals); when the candidate features do not
        /// outnumber the rows, the weighted Gram of the working set (up to all features) is built by the Gram kernel, and the
        /// new matrix, its centered copy and the previous model's matrix are alive at once (3 p²). A fold fit copies its
        /// training rows into a compact matrix.
        /// </summary>
        private string BinomialCost()
        {
            long n = _n, p = _p;
            bool gram = p <= n;
            var full = Phase("path on all rows");
            Add(full, "per-row vectors", Doubles(16.0 * n + 16.0 * p));
            if (gram)
            {
                Add(full, "weighted Gram matrices of the working set", Doubles(3.0 * p * p + 4 * p));
                Add(full, "Gram kernel accumulators (native)", GramKernel.NativeBytes(n, ClampInt(p), _threads));
            }
            _work += BinomialWork(n, p, gram);
            if (_folds > 0)
            {
                long m = _m;
                bool foldGram = p <= m;
                int fits = _folds;
                var folds = Phase("validation fits");
                Add(folds, $"{fits} fold fits: compact training rows ({m:N0} x {p:N0})", Doubles(fits * (double)m * p));
                Add(folds, $"{fits} fold fits: per-row vectors", Doubles(fits * (16.0 * m + 16.0 * p)));
                if (foldGram)
                {
                    Add(folds, $"{fits} fold fits: weighted Gram matrices", Doubles(fits * (3.0 * p * p + 4 * p)));
                    Add(folds, $"{Math.Min(_threads, fits)} concurrent fold fits: Gram kernel accumulators (native)", Math.Min(_threads, fits) * GramKernel.NativeBytes(m, ClampInt(p), 1));
                }
                _work += _folds * BinomialWork(m, p, foldGram);
            }
            return gram ? "proximal newton gram" : "proximal newton naive";
        }

        /// <summary>Classes a multinomial estimate assumes when the spec is not resolved (a resolved spec carries its count).</summary>
        public const int AssumedClasses = 10;

        /// <summary>
        /// Multinomial proximal Newton (<see cref="MultinomialSource"/>): a standardized copy of the rows, per class four per-row
        /// vectors (linear predictor, probabilities, weights, working residual) and with class offsets their K x n values, per
        /// lambda every class's coefficients; each
        /// Newton step does coordinate-descent passes over the rows per class; the resolved spec's class count (else
        /// <see cref="AssumedClasses"/>).
        /// </summary>
        private string MultinomialCost()
        {
            long n = _n, p = _p, k = _spec.Classes ?? AssumedClasses;
            var full = Phase("path on all rows");
            Add(full, "standardized rows", Doubles((double)n * p));
            Add(full, "per-class per-row vectors", Doubles(4.0 * k * n + 4.0 * k * p));
            if (_spec.ClassOffsets is not null)
                Add(full, "class offsets (one per class and row)", Doubles((double)k * n));
            Hold($"class models of {_lambdas:N0} lambdas", Doubles(_lambdas * 3.0 * k * p));
            _work += _lambdas * AssumedNewtonSteps * k * AssumedPasses * 2.0 * n * p;
            if (_folds > 0)
            {
                long m = _m;
                var folds = Phase("validation fits");
                Add(folds, $"{_folds} fold fits: standardized training rows ({m:N0} x {p:N0})", Doubles(_folds * ((double)m * p + 4.0 * k * m)));
                _work += _folds * _lambdas * AssumedNewtonSteps * k * AssumedPasses * 2.0 * m * p;
            }
            return "proximal newton multinomial";
        }

        private double BinomialWork(long n, long p, bool gram)
        {
            double passes = _lambdas * AssumedNewtonSteps * 4.0 * n * p;
            return gram
                ? passes + (_lambdas / 5.0 + 1) * n * (double)p * p + _lambdas * AssumedNewtonSteps * AssumedPasses * 2.0 * p * p
                : passes + _lambdas * AssumedNewtonSteps * AssumedPasses * 4.0 * n * Math.Min(p, n);
        }

        /// <summary>
        /// Proximal gradient (<see cref="ProximalGradientSource"/>): per-row and per-feature vectors, the kernel's strip copy of
        /// the columns (<see cref="Kernels.GradientKernels"/>: n x p) and per-thread buffers; a fold fit copies its training
        /// rows into a compact matrix, and its kernel copies them once more.
        /// </summary>
        private string ProximalGradientCost()
        {
            long n = _n, p = _p;
            var full = Phase("path on all rows");
            Add(full, $"the gradient kernel's strip copy ({n:N0} x {p:N0})", Doubles((double)n * p));
            Add(full, "per-row vectors and kernel buffers", Doubles(10.0 * n + 24.0 * p + _threads * 11.0 * p));
            _work += _lambdas * AssumedGradientIterations * 4.0 * n * p;
            if (_folds > 0)
            {
                long m = _m;
                int fits = _folds;
                var folds = Phase("validation fits");
                Add(folds, $"{fits} fold fits: compact training rows ({m:N0} x {p:N0})", Doubles(fits * (double)m * p));
                Add(folds, $"{fits} fold fits: the gradient kernel's strip copies", Doubles(fits * (double)m * p));
                Add(folds, $"{fits} fold fits: per-row vectors", Doubles(fits * (10.0 * m + 24.0 * p + 11.0 * p)));
                _work += _folds * _lambdas * AssumedGradientIterations * 4.0 * m * p;
            }
            return "proximal gradient";
        }

        /// <summary>
        /// The stochastic solvers (<see cref="NetworkTrainer"/>): the standardized row-major copy of the rows (when within
        /// <see cref="TrainingData.RowMajorBudgetBytes"/>), the parameters with their gradient, moments and penalty
        /// coefficients (native), per worker the batch buffers, the private block of first-layer weights and replicas of the
        /// later layers, and the evaluation buffers.
        /// </summary>
        private string StochasticCost()
        {
            long n = _n, p = _p;
            var training = (_spec.Training ?? new TrainingSpec()).Resolved(_spec.ChosenSolver, _spec.Model);
            var hidden = _spec.Model == ModelKind.Mlp ? training.HiddenUnits! : [];
            long[] sizes = [p, .. hidden.Select(h => (long)Math.Max(h, 1)), 1];
            int layers = sizes.Length - 1;
            double parameters = 0, multiplyAdds = 0;
            for (int l = 0; l < layers; l++)
            {
                parameters += (double)sizes[l] * sizes[l + 1] + sizes[l + 1];
                multiplyAdds += (double)sizes[l] * sizes[l + 1];
            }
            long copies = Math.Max(training.Augmentation?.Copies ?? 1, 1);
            long batch = Math.Max(Math.Min(training.BatchSize!.Value, n * copies), 1);
            long h1 = sizes[1];
            int available = _threads;
            int threads = batch * multiplyAdds >= NetworkTrainer.MinParallelStepMultiplyAdds ? available : 1;
            threads = layers == 1 ? 1 : (int)Math.Clamp(threads, 1, Math.Max(1, h1 / 8));
            double later = layers > 1 ? parameters - (p * h1 + h1) : 0;
            double widths = sizes.Skip(1).Sum();

            if ((double)n * p * sizeof(double) <= TrainingData.RowMajorBudgetBytes)
                Hold($"standardized row-major copy ({n:N0} x {p:N0})", Doubles((double)n * p));
            Hold("per-row vectors (targets, order, predictions)", Doubles(3.0 * n + n * copies / 2.0));
            Hold("parameters, gradient, moments and penalty terms (native)", Doubles(10.0 * parameters));
            Hold($"{threads} worker(s): batch and first-layer blocks, replicas (native)", Doubles(threads * (
                batch * (p + 2 * widths + 3) + EvalBlock * (p + widths + 1) + 7.0 * p * h1 / threads + 8 * h1 + 4 * later
                + (layers > 2 ? (double)sizes[1] * sizes[2] : 0)) + 2.0 * batch * h1));
            var final = Phase("final evaluation");
            Add(final, "evaluation blocks (native)", Doubles(Environment.ProcessorCount * EvalBlock * (p + widths + 1.0)));
            Add(final, "model copies", Doubles(2 * parameters));
            long epochs = Math.Max(training.Epochs!.Value, 1);
            // Forward and backward (about three times the forward multiply-adds, two flops each) for each training row and copy,
            // and one forward evaluation pass of every row per epoch.
            _work += epochs * ((double)n * copies * 6 * multiplyAdds + n * 2 * multiplyAdds);
            return _spec.Model == ModelKind.Mlp ? "mlp" : "stochastic";
        }

        private const int EvalBlock = 256;

        private static int ClampInt(long value) => (int)Math.Clamp(value, 0, int.MaxValue);
    }
}
