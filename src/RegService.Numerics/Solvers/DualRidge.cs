using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Closed-form ridge in the dual, for more features than rows: the same problem and answer as
/// <see cref="ClosedFormRidge"/> (<c>(A + lambda I) beta = c</c> with <c>A = Z'Z/n</c>, <c>c = Z'y/n</c>), solved through
/// the n x n kernel <c>Kn = ZZ'/n</c> by the push-through identity <c>beta = Z' (Kn + lambda I)^-1 y_c / n</c>.
/// </summary>
/// <remarks>
/// <c>Z</c> holds the rows' features centered (with an intercept) and scaled (with standardization) exactly as
/// <see cref="NormalSystem"/> does on the same rows: the 1/n standard deviation, constant features left out with
/// coefficient 0 and a warning. One lambda: Cholesky of <c>Kn + lambda I</c>. Several: one eigendecomposition
/// <c>Kn = U diag(s) U'</c>, then <c>beta = Z' U diag(1/(s + lambda)) U' y_c / n</c>. Leave-one-out and GCV use the
/// hat matrix <c>H = U diag(s/(s + lambda)) U'</c> (plus 1/n with an intercept). Memory is O(n^2 + n p); nothing is p x p.
/// </remarks>
public static class DualRidge
{
    /// <summary>The path on <paramref name="rows"/> of <paramref name="x"/> (all rows when null).</summary>
    public static PathFit Fit(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames, PathSettings settings,
        IProgress<FitProgress>? progress = null, CancellationToken ct = default)
    {
        int threads = settings.MaxThreads > 0 ? settings.MaxThreads : Environment.ProcessorCount;
        var system = DualSystem.From(x, featureCols, targetCol, rows, featureNames, settings.Standardize, settings.FitIntercept, threads, ct);
        return PathDriver.Run(new PointSolver(system, featureNames.Length), settings, progress, ct);
    }

    /// <summary>
    /// One lambda by Cholesky of the kernel, or, when the path has several, from one eigendecomposition made at the
    /// first. Every generated lambda is fitted, as <see cref="ClosedFormRidge"/> does.
    /// </summary>
    private sealed class PointSolver(DualSystem system, int features) : IPointSolver
    {
        private EigenRidgePath? _eigen;
        private double[]? _projected;
        private readonly double[] _alpha = new double[system.Rows];
        private double[] _beta = [];
        private double _ratio;

        public int Rows => system.Rows;
        public int Features => features;
        public EarlyStop Stop => EarlyStop.None;

        public double Start(CancellationToken ct) => ClosedFormRidge.MaxAbs(system.C(ct));

        public PointOutcome Solve(in PathStep step, CancellationToken ct)
        {
            if (step.Index == 0 && step.Count > 1)
            {
                _eigen = system.Eigen(ct);
                _projected = new double[system.Rows];
                _eigen.Project(system.ScaledTarget, _projected);
            }
            if (_eigen is null) system.SolveDual(step.Lambda, _alpha, ct);
            else _eigen.SolveProjected(_projected!, step.Lambda, _alpha);
            _beta = system.Primal(_alpha, ct);
            _ratio = system.DevianceRatio(_beta, ct);
            return new PointOutcome(true, 0);
        }

        public PathPoint Point(in PathStep step) => system.Point(step.Lambda, _beta) with { DevianceRatio = _ratio };

        public PathFrame Frame() => new(system.FeatureMeans, system.Scales, system.TargetVariance, [.. system.Warnings]);
    }

    /// <summary>GCV per lambda from the dual (the same values as <see cref="RidgeCriteria.Gcv"/> on the primal).</summary>
    public static ValidationCurve Gcv(DualSystem system, EigenRidgePath eigen, double[] lambdas, bool fitIntercept)
    {
        int n = system.Rows;
        var s = eigen.Eigenvalues.ToArray();
        var w = new double[n];
        eigen.Project(system.CenteredTarget, w);
        var mean = new double[lambdas.Length];
        for (int l = 0; l < lambdas.Length; l++)
        {
            double rss = 0, df = fitIntercept ? 1 : 0;
            for (int k = 0; k < n; k++)
            {
                double sk = Math.Max(s[k], 0), shifted = sk + lambdas[l];
                double shrink = shifted > 0 ? sk / shifted : 0;   // the hat matrix's eigenvalue
                df += shrink;
                rss += (1 - shrink) * (1 - shrink) * w[k] * w[k];
            }
            rss /= n;
            double denominator = 1 - df / n;
            mean[l] = denominator > 0 ? rss / (denominator * denominator) : double.PositiveInfinity;
        }
        return new ValidationCurve("mse", mean, [.. lambdas.Select(_ => double.NaN)]);
    }

    /// <summary>Leave-one-out mean squared error per lambda with its standard error (as <see cref="RidgeCriteria.LeaveOneOut"/>).</summary>
    public static ValidationCurve LeaveOneOut(DualSystem system, EigenRidgePath eigen, double[] lambdas, bool fitIntercept, CancellationToken ct)
    {
        int n = system.Rows, count = lambdas.Length;
        var s = eigen.Eigenvalues.ToArray();
        var yc = system.CenteredTarget;
        var w = new double[n];
        eigen.Project(yc, w);
        // U with rows i = (u_0[i], u_1[i], ...): row i of the eigenvector matrix.
        var u = new double[ArraySizes.Square(n, "the kernel's eigenvectors")];
        for (int k = 0; k < n; k++)
        {
            var vector = eigen.Eigenvector(k);
            for (int i = 0; i < n; i++) u[(long)i * n + k] = vector[i];
        }
        var shrink = new double[count][];
        for (int l = 0; l < count; l++)
        {
            shrink[l] = new double[n];
            for (int k = 0; k < n; k++)
            {
                double sk = Math.Max(s[k], 0), shifted = sk + lambdas[l];
                shrink[l][k] = shifted > 0 ? sk / shifted : 0;
            }
        }
        double baseLeverage = fitIntercept ? 1.0 / n : 0;
        var sum = new double[count];
        var square = new double[count];
        var fit = new double[n];
        var lev = new double[n];
        for (int i = 0; i < n; i++)
        {
            if ((i & 63) == 0) ct.ThrowIfCancellationRequested();
            var ui = u.AsSpan((int)((long)i * n), n);
            TensorPrimitives.Multiply<double>(ui, w, fit);
            TensorPrimitives.Multiply<double>(ui, ui, lev);
            for (int l = 0; l < count; l++)
            {
                double h = baseLeverage + TensorPrimitives.Dot<double>(lev, shrink[l]);
                double e = (yc[i] - TensorPrimitives.Dot<double>(fit, shrink[l])) / (1 - h);
                sum[l] += e * e;
                square[l] += e * e * e * e;
            }
        }
        var mean = new double[count];
        var se = new double[count];
        for (int l = 0; l < count; l++)
        {
            mean[l] = sum[l] / n;
            double variance = n > 1 ? Math.Max(square[l] / n - mean[l] * mean[l], 0) * n / (n - 1) : double.NaN;
            se[l] = Math.Sqrt(variance / n);
        }
        return new ValidationCurve("mse", mean, se);
    }
}

/// <summary>
/// The rows of a ridge problem in the dual: the centered, scaled features <c>Z</c> (stored transposed, one row of the
/// data per column), the centered target and the kernel <c>Kn = ZZ'/n</c>.
/// </summary>
public sealed class DualSystem
{
    private readonly int[] _active;
    private readonly DenseMatrix _zt;      // q x n: column i is row i of Z over the active features
    private readonly double[] _kernel;     // n x n, Kn = ZZ'/n
    private readonly double[] _yc;         // y - mean (or y without an intercept)
    private readonly double[] _ycScaled;   // y_c / n

    private DualSystem(int[] active, DenseMatrix zt, double[] kernel, double[] yc, double[] means, double[] scales, double yMean,
        double targetVariance, List<string> warnings)
    {
        _active = active;
        _zt = zt;
        _kernel = kernel;
        _yc = yc;
        _ycScaled = [.. yc.Select(v => v / yc.Length)];
        FeatureMeans = means;
        Scales = scales;
        TargetMean = yMean;
        TargetVariance = targetVariance;
        Warnings = warnings;
    }

    /// <summary>Rows fitted.</summary>
    public int Rows => _yc.Length;

    /// <summary>Features (indices into the feature list) with variance; the others have coefficient 0.</summary>
    public int[] Active => _active;
    public double[] FeatureMeans { get; }
    public double[] Scales { get; }
    public double TargetMean { get; }

    /// <summary>(1/n) sum (y - mean)^2, or (1/n) sum y^2 without an intercept.</summary>
    public double TargetVariance { get; }
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>y - mean (y without an intercept).</summary>
    public double[] CenteredTarget => _yc;

    /// <summary>(y - mean) / n: the right-hand side of the dual system.</summary>
    public double[] ScaledTarget => _ycScaled;

    /// <summary>
    /// Builds Z from <paramref name="rows"/> of <paramref name="x"/> (all when null): each feature centered at its mean
    /// over those rows with an intercept, and divided by its standard deviation (1/n) with standardization, as glmnet
    /// and <see cref="NormalSystem"/>; a feature with zero variance is left out with a warning.
    /// </summary>
    public static DualSystem From(DenseMatrix x, int[] featureCols, int targetCol, int[]? rows, string[] featureNames,
        bool standardize, bool fitIntercept, int threads, CancellationToken ct)
    {
        int n = rows?.Length ?? x.Rows, p = featureCols.Length;
        if (n == 0) throw new ArgumentException("the dual closed form needs at least one row");
        var column = new double[n];
        var means = new double[p];
        var scales = new double[p];
        var active = new List<int>(p);
        var warnings = new List<string>();
        var centers = new double[p];
        for (int j = 0; j < p; j++)
        {
            if ((j & 255) == 0) ct.ThrowIfCancellationRequested();
            Take(x, featureCols[j], rows, column);
            double mean = TensorPrimitives.Sum<double>(column) / n;
            double variance = Vec.SumSquaredDeviations(column, mean) / n;
            var scale = Standardization.Of(mean, variance, fitIntercept, standardize);
            means[j] = scale.Center;
            scales[j] = scale.Scale;
            if (scale.Excluded)
            {
                warnings.Add(Standardization.ZeroVarianceWarning(featureNames[j]));
                continue;
            }
            centers[j] = means[j];
            active.Add(j);
        }

        int q = active.Count;
        // Uninitialized (every value is written below): zeroing hundreds of megabytes up front is page faults that
        // no token check could interrupt; here they are spread over the writes, which check the token every 16 features.
        var zt = new DenseMatrix(q, n, LargeArrays.Allocate(ArraySizes.Product(q, n, $"the {n} rows of {q} features")));
        for (int u = 0; u < q; u++)
        {
            if ((u & 15) == 0) ct.ThrowIfCancellationRequested();
            int j = active[u];
            Take(x, featureCols[j], rows, column);
            double center = centers[j], inverse = 1 / scales[j];
            var data = zt.Data;
            for (int i = 0; i < n; i++) data[(long)i * q + u] = (column[i] - center) * inverse;
        }

        Take(x, targetCol, rows, column);
        double yMean = fitIntercept ? TensorPrimitives.Sum<double>(column) / n : 0.0;
        var yc = new double[n];
        for (int i = 0; i < n; i++) yc[i] = column[i] - yMean;
        double targetVariance = TensorPrimitives.SumOfSquares<double>(yc) / n;

        // Kn = ZZ'/n: the Gram matrix of the columns of Z' (the blocked kernel, which checks the token).
        var kernel = new double[ArraySizes.Square(n, $"the kernel of {n} rows")];
        if (q > 0)
            GramKernel.ShiftedGram(zt, [.. Enumerable.Range(0, n)], new double[n], null, kernel, new double[n], threads, ct);
        TensorPrimitives.Divide(kernel, n, kernel);
        return new DualSystem([.. active], zt, kernel, yc, means, scales, yMean, targetVariance, warnings);
    }

    private static void Take(DenseMatrix x, int col, int[]? rows, double[] target)
    {
        var source = x.Column(col);
        if (rows is null) source.CopyTo(target);
        else for (int i = 0; i < rows.Length; i++) target[i] = source[rows[i]];
    }

    /// <summary>c = Z'y/n, the primal right-hand side (over the active features).</summary>
    public double[] C(CancellationToken ct = default) => Primal(_ycScaled, ct);

    /// <summary>The dual coefficients alpha = (Kn + lambda I)^-1 y_c / n, by Cholesky.</summary>
    public void SolveDual(double lambda, double[] alpha, CancellationToken ct = default) =>
        SymmetricSolve.RidgeSolve(_kernel, _ycScaled, lambda, alpha, ct);

    /// <summary>One eigendecomposition of Kn serving every lambda.</summary>
    public EigenRidgePath Eigen(CancellationToken ct = default) => new(_kernel, Rows, ct);

    /// <summary>beta = Z' alpha over the active features.</summary>
    public double[] Primal(double[] alpha, CancellationToken ct = default)
    {
        int q = _active.Length, n = Rows;
        var beta = new double[q];
        for (int i = 0; i < n; i++)
        {
            if ((i & 255) == 0) ct.ThrowIfCancellationRequested();
            if (alpha[i] != 0)
                TensorPrimitives.MultiplyAdd<double>(_zt.Column(i), alpha[i], beta, beta);
        }
        return beta;
    }

    /// <summary>1 - RSS/TSS with the residuals y_c - Z beta.</summary>
    public double DevianceRatio(double[] beta, CancellationToken ct = default)
    {
        int n = Rows;
        double rss = 0;
        for (int i = 0; i < n; i++)
        {
            if ((i & 255) == 0) ct.ThrowIfCancellationRequested();
            double e = _yc[i] - TensorPrimitives.Dot<double>(_zt.Column(i), beta);
            rss += e * e;
        }
        double yVar = TargetVariance;
        return yVar > 0 ? 1 - rss / n / yVar : double.NaN;
    }

    /// <summary>The model at <paramref name="lambda"/> on both scales (as <see cref="NormalSystem.Point"/>).</summary>
    public PathPoint Point(double lambda, double[] beta) => NormalSystem.PointOf(lambda, beta, _active, Scales, FeatureMeans, TargetMean);
}
