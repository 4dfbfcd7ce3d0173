using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Coordinate descent with naive residual updates (Friedman, Hastie &amp; Tibshirani 2010), for p &gt; n:
/// the same problem and the same strong-rule / active-set / KKT scheme as <see cref="CovarianceCd"/>,
/// but each update reads its feature column: g_j = z_j'r/n, then r -= Δb_j z_j.
/// </summary>
/// <remarks>
/// The standardized column z_j = (x_j - m_j)/s_j is never formed. The residual is kept as r = u + t
/// (a vector and a scalar), so an update is one dot product and one axpy over the raw column:
/// z_j'r = (x_j'u + t n m_j)/s_j (r sums to zero), and r -= d z_j is u -= (d/s_j) x_j, t += d m_j/s_j.
/// The KKT check bounds, screens or computes every gradient outside the strong set, the screens and sweeps split across the
/// fit's helper threads (<see cref="FitTeam"/>); it also feeds the next strong rule.
/// </remarks>
public sealed partial class NaiveCd : ICdCore
{

    private readonly ReadOnlyMemory<double>[] _columns;
    private readonly double[] _means;
    private readonly double[] _scales;
    private readonly double[] _diagonal;
    private readonly double[] _norms;      // sqrt(z_j'z_j/n)
    private readonly double _alpha;
    private readonly int _n;
    private readonly int _threads;
    private readonly FitTeam? _team;   // the helper threads of the screens and gradient sweeps (threads - 1 of them), or null
    private readonly double[] _u;
    private double _t;
    private readonly double[] _rRef;
    private readonly double[] _gRef;
    private readonly double[] _rLast;      // the residual at the last KKT check
    private readonly double[] _previous;   // the bound of |g_j| the last check left (infinite where j was in the strong set)
    private readonly double[] _upper;      // a check's bounds of |g_j|
    private bool _checked;
    private readonly List<int> _candidates = [];
    private readonly List<int> _unsettled = [];
    private readonly CoordinateDescent _cd;
    private double _raw;   // x_j'u of the coordinate a pass visits next

    // 16-bit fixed-point shadow of the standardized columns for the KKT screen (null when not worth it or too large):
    // ẑ_j = _steps[j] q_j. A screen's error is at most _shadowError ||r|| _shadowWeights[j] / n (see ShadowWeight).
    private readonly short[]? _shadow;
    private readonly double[]? _steps;
    private readonly double[]? _shadowWeights;
    private readonly float[]? _rShadow;
    private readonly double _shadowError;      // (γ_n + 3u) with u = 2^-24, rounded up
    private double[]? _screened;
    private readonly ResidualSnapshots? _snapshots;

    /// <param name="columns">Raw feature columns (length n each).</param>
    /// <param name="means">Column means (0 without an intercept).</param>
    /// <param name="scales">Column scales s_j (1 when not standardizing).</param>
    /// <param name="variances">(1/n) sum (x_j - m_j)^2, so z_j'z_j/n = variance / s_j^2.</param>
    /// <param name="centeredTarget">y - mean(y) (or y without an intercept); copied.</param>
    /// <param name="penaltyFactors">v_j, rescaled.</param>
    /// <param name="alpha">l1Ratio.</param>
    /// <param name="threads">Threads for the gradient sweeps of the KKT check.</param>
    /// <param name="workingSets">Start each solve from a working set rather than the whole strong set (<see cref="CoordinateDescent.WorkingSets"/>).</param>
    /// <param name="bounds">Box constraints on the standardized coefficients (<see cref="CoordinateDescent.Bounds"/>), or null.</param>
    /// <param name="shadow">The columns' shadow, built by the caller's read of the data (<see cref="Shadow.Build"/> of every
    /// column, then <see cref="Shadow.Keep"/>), or null to build it here when <see cref="UseShadow"/> says so.</param>
    /// <param name="extrapolate">Start each lambda of a path from the last two solutions extrapolated (<see cref="WarmStart"/>)
    /// rather than from the last one.</param>
    /// <param name="team">The fit's helper threads (<paramref name="threads"/> - 1 of them) for the screens and gradient sweeps, shared
    /// with the caller's setup; null to start them here. <see cref="Release"/> stops them.</param>
    internal NaiveCd(ReadOnlyMemory<double>[] columns, double[] means, double[] scales, double[] variances, double[] centeredTarget,
        double[] penaltyFactors, double alpha, int threads, bool workingSets = false, CoefficientBounds? bounds = null,
        Shadow? shadow = null, bool extrapolate = true, FitTeam? team = null)
    {
        _extrapolate = extrapolate;
        int q = columns.Length;
        _columns = columns;
        _means = means;
        _scales = scales;
        _alpha = alpha;
        _cd = new CoordinateDescent(q, penaltyFactors, alpha)
        {
            WorkingSets = workingSets, Bounds = bounds, SettleFactor = CoordinateDescent.GaussianSettle,
        };
        _n = centeredTarget.Length;
        _threads = Math.Max(1, threads);
        _team = _threads > 1 ? team ?? new FitTeam(_threads - 1) : null;
        _u = (double[])centeredTarget.Clone();
        Beta = new double[q];
        Gradient = new double[q];
        _diagonal = new double[q];
        _norms = new double[q];
        for (int j = 0; j < q; j++)
        {
            _diagonal[j] = variances[j] / (scales[j] * scales[j]);
            _norms[j] = Math.Sqrt(_diagonal[j]);
        }
        if (shadow is null && UseShadow(_n, q))
        {
            shadow = Shadow.Rent(_n, q);
            Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, t =>
            {
                for (int j = (int)((long)q * t / _threads); j < (int)((long)q * (t + 1) / _threads); j++)
                    shadow.Build(j, columns[j].Span, means[j], scales[j], variances[j], centeredTarget);
            });
        }
        if (shadow is not null)
        {
            if (shadow.Count != q || shadow.Rows != _n) throw new ArgumentException("the shadow must hold every column", nameof(shadow));
            _shadow = shadow.Data;
            _steps = shadow.Steps;
            _shadowWeights = shadow.Weights;
            shadow.Gradients.AsSpan(0, q).CopyTo(Gradient);
            _rShadow = new float[_n];
            _shadowError = ShadowErrorFactor(_n);
            _snapshots = new ResidualSnapshots(q, _n);
        }
        else ComputeGradients(null);
        C = (double[])Gradient.Clone();
        _rRef = (double[])_u.Clone();
        _gRef = (double[])Gradient.Clone();
        _rLast = new double[_n];
        _previous = new double[q];
        Array.Fill(_previous, double.PositiveInfinity);
        _upper = new double[q];
    }

    /// <summary>
    /// Ends this solver's use of its buffers: a shadow of at most <see cref="Shadow.MaxSpareBytes"/> becomes the spare the
    /// next fit's solver takes. The solver must not be used afterwards.
    /// </summary>
    public void Release()
    {
        if (_shadow is { } shadow) Shadow.Return(shadow);
        _team?.Stop();
    }

    /// <summary>The screen is used when its error bound is tight (n u well below 1) and its 16-bit copy is at most 256 MB.</summary>
    internal static bool UseShadow(int n, int q) => n >= 64 && (n + 3) * Unit < 1e-3 && (long)q * n <= 128L << 20;

    private const double Unit = 1.0 / (1 << 24);

    /// <summary>
    /// A bound, relative to ||ẑ_j|| ||r||, on the single-precision part of a screen's error, |ẑ_j'r − fl32(ẑ_j'r̂)| with r̂
    /// the residual rounded to single precision: its rounding costs at most u on every product, and any order of summation
    /// of the n products in single precision adds at most γ_n = n u / (1 − n u) of Σ|ẑ_ij r̂_i| ≤ ||ẑ_j|| ||r̂||
    /// (the 16-bit entries convert to float exactly, and the step is a factor outside the sum).
    /// </summary>
    internal static double ShadowErrorFactor(int n) => (n * Unit / (1 - n * Unit) + 3 * Unit) * 1.0001;

    /// <summary>
    /// The weight w_j of column j in a screen's error bound E ||r|| w_j / n (E = <see cref="ShadowErrorFactor"/>): since
    /// z_j'r − ẑ_j'r = (z_j − ẑ_j)'r ≤ ||z_j − ẑ_j|| ||r||, w_j = max(||ẑ_j||, ||z_j||) + ||z_j − ẑ_j|| / E, slightly rounded up.
    /// </summary>
    internal static double ShadowWeight(in SingleDots.QuantizedColumn column, double norm, double factor) =>
        (Math.Max(Math.Sqrt(column.NormSquared), norm) + Math.Sqrt(column.ErrorSquared) / factor) * (1 + 1e-9);

    public double[] Beta { get; }
    public double[] Gradient { get; }

    /// <summary>c = Z'y/n, the gradient at b = 0.</summary>
    public double[] C { get; }

    /// <summary>z_j'z_j/n: 1 for standardized features.</summary>
    public double Diagonal(int j) => _diagonal[j];

    public CdOutcome Solve(double lambda, double previousLambda, double tolerance, int maxPasses, CancellationToken ct = default)
    {
        if (_extrapolate) WarmStart(lambda, previousLambda);
        var coordinates = new Coordinates(this);
        var outcome = _cd.Solve(ref coordinates, lambda, previousLambda, tolerance, maxPasses, ct);
        _solvedLambda = lambda;
        return outcome;
    }

    private readonly bool _extrapolate;

    private double[]? _older;             // the solution at _olderLambda, the lambda solved before the last
    private double[]? _olderResidual;     // its residual (the offset folded in)
    private double _olderLambda = double.NaN, _solvedLambda = double.NaN;

    /// <summary>
    /// Moves the warm start along the path: b + rho (b - b_older), rho = (lambda_prev - lambda) / (lambda_older - lambda_prev)
    /// (on a lasso path the solution is affine in lambda between two knots), and since r = y - Zb is affine in b, the
    /// residual moves the same way, r + rho (r - r_older), in O(n) rather than one axpy per coordinate. A coordinate that
    /// this would carry across 0 (or away from 0 after it left) is set to 0 instead, and the residual corrected by its column.
    /// Only the starting point changes: the passes, their convergence test and the KKT check are those of any warm start.
    /// </summary>
    private void WarmStart(double lambda, double previousLambda)
    {
        var beta = Beta;
        int q = beta.Length;
        var older = _older ??= new double[q];
        var olderResidual = _olderResidual ??= new double[_n];
        FoldOffset();
        bool along = previousLambda == _solvedLambda && _olderLambda > previousLambda && lambda < previousLambda
            && lambda > 0 && _olderLambda < 1e300 && _cd.Bounds is null;
        double ratio = along ? (previousLambda - lambda) / (_olderLambda - previousLambda) : 0;
        if (!(ratio > 0 && ratio <= 2)) along = false;
        if (along)
        {
            var u = _u;
            for (int i = 0; i < u.Length; i++)
            {
                double r = u[i];
                u[i] = r + ratio * (r - olderResidual[i]);
                olderResidual[i] = r;
            }
            foreach (int j in _cd.Active)
            {
                double b = beta[j], o = older[j];
                older[j] = b;
                double d = ratio * (b - o);
                if (d == 0) continue;
                double nb = b + d;
                if (b != 0 && (nb > 0) == (b > 0))
                {
                    beta[j] = nb;
                    continue;
                }
                // Not carried across 0: b_j + e with e = -b_j; the residual gets back (d - e) z_j.
                double back = d + b;
                beta[j] = 0;
                _t -= back * _means[j] / _scales[j];
                Vec.Axpy(back / _scales[j], _columns[j].Span, _u);
            }
        }
        else
        {
            foreach (int j in _cd.Active) older[j] = beta[j];
            _u.CopyTo(olderResidual, 0);
        }
        _olderLambda = previousLambda == _solvedLambda ? previousLambda : double.NaN;
    }

    /// <summary>
    /// The naive form: each visit leaves in Gradient[j] the coordinate's gradient just after its own update. An update
    /// and the next coordinate's inner product run as one loop over the residual.
    /// </summary>
    private readonly struct Coordinates(NaiveCd owner) : ICoordinates
    {
        public double[] Beta => owner.Beta;
        public double[] Gradient => owner.Gradient;

        public void Begin(int first) => owner._raw = TensorPrimitives.Dot<double>(owner._columns[first].Span, owner._u);

        // g_j = z_j'r/n = (x_j'u + t n m_j) / (n s_j)
        public double GradientAt(int j) => (owner._raw + owner._t * owner._n * owner._means[j]) / (owner._n * owner._scales[j]);
        public double Curvature(int j) => owner._diagonal[j];
        public double ChangeWeight(int j) => owner._diagonal[j];

        public void Stay(int j, double g, int next)
        {
            owner.Gradient[j] = g;
            if (next >= 0) owner._raw = TensorPrimitives.Dot<double>(owner._columns[next].Span, owner._u);
        }

        // r -= d z_j: u -= (d/s_j) x_j, t += d m_j/s_j
        public void Move(int j, double delta, double g, int next)
        {
            owner.Gradient[j] = g - owner._diagonal[j] * delta;
            owner._t += delta * owner._means[j] / owner._scales[j];
            if (next >= 0)
                owner._raw = Vec.AxpyDot(-delta / owner._scales[j], owner._columns[j].Span, owner._u, owner._columns[next].Span);
            else
                Vec.Axpy(-delta / owner._scales[j], owner._columns[j].Span, owner._u);
        }

        public void BeforeKkt(bool[] inStrong, double lambda)
        {
            owner.FoldOffset();
            owner.CheckOutside(inStrong, lambda);
        }

        public void Finish(List<int> strong) => owner.Finish(strong);

        public double Smooth(List<int> active) => double.NaN;
    }

    /// <summary>
    /// Makes the gradients of the nonzero coordinates exact (they enter the deviance and the duality gap). A zero
    /// coordinate of the strong set keeps the gradient of its last visit, which the later updates of that pass,
    /// each below the tolerance, have moved only slightly; it only guides the next strong rule. When the
    /// reference of the KKT bound moves, every strong gradient is made exact first, since the bound needs them exact.
    /// Many are split across the fit's threads as the check's exact gradients are (the helper still spins after the check).
    /// </summary>
    private void Finish(List<int> strong)
    {
        var finishing = _finishing;
        finishing.Clear();
        foreach (int j in strong)
            if (Beta[j] != 0 || _refPending) finishing.Add(j);
        ComputeGradientsOf(finishing);
        if (_refPending) MoveReference();
    }

    private readonly List<int> _finishing = [];

    /// <summary>Makes the current residual and gradients the reference of the bound (all gradients must be exact).</summary>
    private void MoveReference()
    {
        _u.CopyTo(_rRef, 0);
        Gradient.CopyTo(_gRef, 0);
        _refPending = false;
    }

    private void ComputeGradientsOf(List<int> features)
    {
        int count = features.Count, chunk = SweepChunk(_n) / 4;
        if (_team is null || count < 2 * chunk)
        {
            foreach (int j in features) Gradient[j] = GradientOf(j);
            return;
        }
        _team.For((count + chunk - 1) / chunk, k =>
        {
            for (int s = k * chunk; s < Math.Min(count, (k + 1) * chunk); s++) Gradient[features[s]] = GradientOf(features[s]);
        });
    }

    /// <summary>
    /// Columns per item of a screen split between the fit's threads (<see cref="FitTeam"/>: items are taken as threads come
    /// free): about 256 KB of the 16-bit copy, a multiple of the screen's four columns per sweep (260 columns of 500 rows).
    /// The exact gradients take a quarter as many (double columns).
    /// </summary>
    internal static int SweepChunk(int n) => Math.Max(4, (131072 / Math.Max(n, 1)) & ~3);

    /// <summary>z_j'r/n with r = u + t.</summary>
    private double GradientOf(int j) =>
        (TensorPrimitives.Dot<double>(_columns[j].Span, _u) + _t * _n * _means[j]) / (_n * _scales[j]);

    private void FoldOffset()
    {
        if (_t == 0) return;
        TensorPrimitives.Add(_u, _t, _u);
        _t = 0;
    }

    /// <summary>Gradients of every coordinate not flagged in <paramref name="skip"/>, split across threads.</summary>
    private void ComputeGradients(bool[]? skip)
    {
        int q = Beta.Length;
        if (_threads == 1 || (long)q * _n < 1_000_000)
        {
            for (int j = 0; j < q; j++)
                if (skip is null || !skip[j]) Gradient[j] = GradientOf(j);
            return;
        }
        Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, t =>
        {
            int from = (int)((long)q * t / _threads), to = (int)((long)q * (t + 1) / _threads);
            for (int j = from; j < to; j++)
                if (skip is null || !skip[j]) Gradient[j] = GradientOf(j);
        });
    }
}
