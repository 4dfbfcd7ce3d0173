using System.Numerics;
using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>What one coordinate-descent solve at one lambda did.</summary>
public readonly record struct CdOutcome(bool Converged, int Passes, int ScreenedOut);

/// <summary>
/// How one coordinate-descent form keeps its coordinates: the gradient of a coordinate at its visit, its curvature,
/// and the update after a move. A small struct, so the generic loops of <see cref="CoordinateDescent"/> are compiled
/// once per form with every call inlined (as TensorPrimitives does with its operator structs).
/// </summary>
internal interface ICoordinates
{
    /// <summary>The current solution (indexed as the coordinates).</summary>
    double[] Beta { get; }

    /// <summary>g_j for the strong rule and the KKT check (an upper bound of |g_j| where a bound settled it).</summary>
    double[] Gradient { get; }

    /// <summary>Called before a pass over a nonempty set whose first coordinate is <paramref name="first"/>.</summary>
    void Begin(int first);

    /// <summary>g_j = (the loss's negative gradient) at coordinate <paramref name="j"/>'s visit.</summary>
    double GradientAt(int j);

    /// <summary>The curvature A_jj of the quadratic in b_j.</summary>
    double Curvature(int j);

    /// <summary>The weight of a change of b_j in the convergence measure (usually <see cref="Curvature"/>).</summary>
    double ChangeWeight(int j);

    /// <summary>b_j stays: <paramref name="g"/> was its gradient; <paramref name="next"/> is the next coordinate of the pass or -1.</summary>
    void Stay(int j, double g, int next);

    /// <summary>b_j moved by <paramref name="delta"/> (Beta already holds the new value): update the gradient or residual.</summary>
    void Move(int j, double delta, double g, int next);

    /// <summary>After the passes of a round, before the KKT check: the gradients outside the strong set.</summary>
    void BeforeKkt(bool[] inStrong, double lambda);

    /// <summary>At the end of a solve, converged or not.</summary>
    void Finish(List<int> strong);

    /// <summary>
    /// The smooth part of the objective at the current solution, from Beta and Gradient alone (every nonzero coordinate is
    /// in <paramref name="active"/>), for a form whose whole state is Beta and Gradient; NaN for any other form, which
    /// then cannot be extrapolated (<see cref="CoordinateDescent.Extrapolates"/>).
    /// </summary>
    double Smooth(List<int> active);
}

/// <summary>
/// The strong-rule / active-set / KKT coordinate-descent loop shared by the covariance form, the naive form and the
/// weighted naive Newton subproblem, for
/// <code>
/// minimize (1/2) b'Ab - c'b + lambda * sum_j v_j [ (1 - alpha)/2 b_j^2 + alpha |b_j| ]   (lower_j ≤ b_j ≤ upper_j with Bounds)
/// </code>
/// (Friedman, Hastie &amp; Tibshirani 2010; sequential strong rules, Tibshirani et al. 2012).
/// </summary>
/// <remarks>
/// One solve: the sequential strong rule picks the features with |g_j| ≥ alpha v_j (2 lambda - lambda_prev) plus
/// every nonzero and unpenalized one (or every feature, without screening); a full pass over them settles the active
/// set, passes over the active set run until the largest weighted change max_j A_jj Δb_j² falls below the tolerance,
/// then a full pass confirms; finally the KKT conditions |g_j| ≤ lambda alpha v_j are checked over the features left
/// out, and any violators join and the solve goes on. The token is checked before every round and every active pass.
/// With <see cref="Extrapolates"/> the active passes are extrapolated every few passes (the covariance form). A solve
/// is converged only when the last pass of its round was a full pass over the strong set whose change is below the
/// tolerance and the KKT check adds nobody: a budget that runs out in the active passes, or after a KKT check added
/// features, ends it unconverged.
/// </remarks>
internal sealed class CoordinateDescent(int count, double[] penaltyFactors, double alpha)
{
    private readonly bool[] _inStrong = new bool[count];
    private readonly bool[] _inActive = new bool[count];
    private readonly List<int> _active = [];
    private readonly List<int> _strong = new(count);

    private double[]? _scores;
    private int[]? _order;

    public double[] PenaltyFactors { get; } = penaltyFactors;
    public double Alpha { get; } = alpha;

    /// <summary>
    /// Box constraints on the coordinates (glmnet's cl, already on this problem's scale), or null. Each update is clamped
    /// after the soft threshold, as glmnet's elnet: b_j = max(lower_j, min(upper_j, b_j)); since lower_j ≤ 0 ≤ upper_j the
    /// strong rule and the KKT check over coordinates at 0 stay as they are (a coordinate at 0 with |g_j| ≤ lambda alpha
    /// v_j is optimal whatever its bounds), and a coordinate at a bound is settled by the passes.
    /// </summary>
    public CoefficientBounds? Bounds { get; init; }

    /// <summary>
    /// When true, a solve starts from a working set (Celer, Massias et al. 2018) rather than the whole strong set:
    /// the nonzero and unpenalized coordinates, then the strong-rule candidates closest to their KKT bound, at most
    /// <see cref="WorkingSetSize"/>(nonzero count) in all. The KKT check over the rest is the same, so the solution is too.
    /// </summary>
    public bool WorkingSets { get; init; }

    /// <summary>
    /// The working set's size for a warm start with <paramref name="required"/> nonzero or unpenalized coordinates: a quarter
    /// more candidates than those, at least 32 in all (twice the nonzero count until 2026-12-06: on the wide workloads the
    /// passes over the candidates that stay at 0 cost more than the few extra KKT checks a smaller set needs).
    /// </summary>
    internal static int WorkingSetSize(int required) => Math.Max(required + required / 4, 32);

    /// <summary>
    /// The passes over the active set run until their largest weighted change is below this share of the tolerance (1:
    /// glmnet's rule); the full pass that ends a solve, and so the convergence test, is unchanged, so a value below 1 only
    /// tightens. With a warm start extrapolated along the path (<see cref="NaiveCd"/>) the first passes change less for the
    /// same distance to the solution: what is left of the distance lies along the directions the passes shrink slowly, and
    /// glmnet's rule stopped some solves there short of where glmnet's own solves stop; the active set's passes (its
    /// columns in cache) settle it.
    /// </summary>
    public double SettleFactor { get; init; } = 1.0;

    /// <summary>
    /// <see cref="SettleFactor"/> of the gaussian forms (covariance and naive residual; they kept the same sequence of
    /// iterates until the covariance form's active passes were extrapolated, <see cref="Extrapolates"/>): half the tolerance. At glmnet's rule alone 3 of 100 lambdas of lasso_path_500_10k (from the extrapolated
    /// start) ended up to 2.1e-6 above default glmnet's objective, and wlasso_path_50k_500 (covariance form) up to 1.55e-6
    /// at lambda 45 of 80; at half, +2.6e-8 and +5.2e-7 (570 passes instead of 516, glmnet 693; lasso_path_50k_500 561
    /// instead of 516, +5.8e-7 instead of +7.1e-7). 0.25 and 0.1 cost 617 and 715 passes there for no need.
    /// </summary>
    internal const double GaussianSettle = 0.5;

    /// <summary>
    /// When true, the passes over the active set are extrapolated (Anderson acceleration of coordinate descent: Bertrand &amp;
    /// Massias 2021, skglm's AndersonCD): after every <see cref="AndersonDepth"/> + 1 passes in a row over the active set, the
    /// affine combination of the last iterates whose successive differences cancel best replaces the current point when the
    /// objective is lower there (<see cref="TryExtrapolate"/>). Each try that moves costs about one pass and is counted as one; the
    /// stopping rule is unchanged (the largest weighted change of a pass). Only for a form whose whole state is Beta and
    /// Gradient and which computes <see cref="ICoordinates.Smooth"/> (the covariance form).
    /// </summary>
    public bool Extrapolates { get; init; }

    /// <summary>Iterate differences combined by an extrapolation (skglm's K = 5).</summary>
    internal const int AndersonDepth = 5;

    private double[]? _history, _gradientCopy;
    private readonly double[] _normal = new double[AndersonDepth * AndersonDepth];
    private readonly double[] _weights = new double[AndersonDepth];

    /// <summary>Extrapolations tried and taken since the solver was made (for tests and the benchmark's notes).</summary>
    internal (int Tried, int Taken) Extrapolations => (_tried, _taken);
    private int _tried, _taken;

    /// <summary>Coordinates that have been nonzero at some point (never shrinks).</summary>
    public List<int> Active => _active;

    /// <summary>Marks <paramref name="j"/> as having been nonzero.</summary>
    public void MarkActive(int j)
    {
        if (_inActive[j]) return;
        _inActive[j] = true;
        _active.Add(j);
    }

    /// <summary>
    /// Solves at <paramref name="lambda"/> from the current solution. <paramref name="previousLambda"/> is the lambda of
    /// the warm start for the strong rule; without <paramref name="screen"/> every coordinate is in the strong set.
    /// Stops after <paramref name="maxPasses"/> passes, unconverged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public CdOutcome Solve<T>(ref T c, double lambda, double previousLambda, double tolerance, int maxPasses, CancellationToken ct, bool screen = true)
        where T : struct, ICoordinates
    {
        int q = count;
        var v = PenaltyFactors;
        var beta = c.Beta;
        var gradient = c.Gradient;
        var strong = _strong;
        strong.Clear();
        double rule = Alpha * Math.Max(2 * lambda - previousLambda, 0);
        Array.Clear(_inStrong);
        if (screen) AddStrong(beta, gradient, v, rule, _inStrong, strong);
        else
        {
            Array.Fill(_inStrong, true);
            for (int j = 0; j < q; j++) strong.Add(j);
        }
        if (WorkingSets) Trim(ref c, lambda);
        int screenedOut = q - strong.Count, passes = 0;
        bool converged;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (passes >= maxPasses)
            {
                // The budget ran out in a round whose KKT check added features: they have not been solved for.
                converged = false;
                break;
            }
            double change = Pass(ref c, strong, lambda);
            passes++;
            // Whether the round's last pass was over the whole strong set: only such a pass's change can end a solve.
            bool confirmed = true;
            while ((change >= tolerance || (passes == 1 && change > 0)) && passes < maxPasses)
            {
                // Settle the active set before another full pass.
                int recorded = 0;
                do
                {
                    ct.ThrowIfCancellationRequested();
                    change = Pass(ref c, _active, lambda);
                    passes++;
                    if (!Extrapolates) continue;
                    Record(beta, recorded++);
                    if (recorded <= AndersonDepth) continue;
                    recorded = 0;
                    if (change >= tolerance * SettleFactor && passes < maxPasses && TryExtrapolate(ref c, lambda))
                        passes++;
                } while (change >= tolerance * SettleFactor && passes < maxPasses);
                if (passes >= maxPasses)
                {
                    confirmed = false;
                    break;
                }
                change = Pass(ref c, strong, lambda);
                passes++;
            }
            c.BeforeKkt(_inStrong, lambda);
            if (!confirmed || change >= tolerance)
            {
                converged = false;
                break;
            }

            // KKT over the features the strong rule left out.
            int added = AddViolators(gradient, v, lambda * Alpha, _inStrong, strong);
            if (added == 0)
            {
                converged = true;
                break;
            }
            screenedOut -= added;
        }
        c.Finish(strong);
        return new CdOutcome(converged, passes, screenedOut);
    }

    /// <summary>
    /// The sequential strong rule: flags and appends (ascending) every j with b_j != 0, v_j = 0 or |g_j| >= rule v_j.
    /// Vectorized (<see cref="Vector{T}"/>): each block tests its lanes with the twin's three tests and appends the lanes
    /// that join (<see cref="LaneBits"/>), so the two give the same set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddStrong(ReadOnlySpan<double> beta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, double rule,
        Span<bool> flags, List<int> into)
    {
        int q = flags.Length, j = 0;
        if (beta.Length < q || gradient.Length < q || v.Length < q) throw new ArgumentException("the strong rule needs every feature's coefficient, gradient and penalty factor");
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            var r = new Vector<double>(rule);
            for (; j + w <= q; j += w)
            {
                var f = new Vector<double>(v[j..]);
                // b_j != 0, v_j == 0 or |g_j| >= rule v_j, lane by lane as the twin tests them.
                var join = Vector.OnesComplement(Vector.Equals(new Vector<double>(beta[j..]), Vector<double>.Zero))
                           | Vector.Equals(f, Vector<double>.Zero)
                           | Vector.GreaterThanOrEqual(Vector.Abs(new Vector<double>(gradient[j..])), r * f);
                for (uint lanes = LaneBits.Of(join); lanes != 0; lanes &= lanes - 1)
                {
                    int k = j + BitOperations.TrailingZeroCount(lanes);
                    flags[k] = true;
                    into.Add(k);
                }
            }
        }
        AddStrongScalar(beta[j..q], gradient[j..q], v[j..q], rule, flags[j..q], into, j);
    }

    /// <summary>The scalar twin of <see cref="AddStrong"/> (features numbered from <paramref name="offset"/>).</summary>
    internal static void AddStrongScalar(ReadOnlySpan<double> beta, ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, double rule,
        Span<bool> flags, List<int> into, int offset = 0)
    {
        for (int k = 0; k < flags.Length; k++)
        {
            if (beta[k] != 0 || v[k] == 0 || Math.Abs(gradient[k]) >= rule * v[k])
            {
                flags[k] = true;
                into.Add(offset + k);
            }
        }
    }

    /// <summary>
    /// The KKT check over the features not flagged: flags and appends (ascending) every j with |g_j| > bound v_j, and returns
    /// how many. Vectorized (<see cref="Vector{T}"/>): a block with every |g_j| at most bound v_j is passed over at one test,
    /// any other block is decided feature by feature as <see cref="AddViolatorsScalar"/> does (violators are rare).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int AddViolators(ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, double bound, Span<bool> flags, List<int> into)
    {
        int q = flags.Length, j = 0, added = 0;
        if (gradient.Length < q || v.Length < q) throw new ArgumentException("the KKT check needs every feature's gradient and penalty factor");
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            var b = new Vector<double>(bound);
            for (; j + w <= q; j += w)
            {
                if (Vector.LessThanOrEqualAll(Vector.Abs(new Vector<double>(gradient[j..])), b * new Vector<double>(v[j..]))) continue;
                added += AddViolatorsScalar(gradient[j..(j + w)], v[j..(j + w)], bound, flags[j..(j + w)], into, j);
            }
        }
        return added + AddViolatorsScalar(gradient[j..q], v[j..q], bound, flags[j..q], into, j);
    }

    /// <summary>The scalar twin of <see cref="AddViolators"/> (features numbered from <paramref name="offset"/>).</summary>
    internal static int AddViolatorsScalar(ReadOnlySpan<double> gradient, ReadOnlySpan<double> v, double bound, Span<bool> flags,
        List<int> into, int offset = 0)
    {
        int added = 0;
        for (int k = 0; k < flags.Length; k++)
        {
            if (flags[k] || Math.Abs(gradient[k]) <= bound * v[k]) continue;
            flags[k] = true;
            into.Add(offset + k);
            added++;
        }
        return added;
    }

    /// <summary>
    /// Cuts the strong set to a working set: the nonzero and unpenalized coordinates, then the others ranked by the
    /// distance of their gradient to the KKT bound in units of the column norm, (lambda alpha v_j - |g_j|) / sqrt(A_jj)
    /// (the gap-safe score of Celer and skglm: a small distance means the constraint is nearly active). The strong set
    /// keeps its order, so the passes still walk the columns in memory order.
    /// </summary>
    private void Trim<T>(ref T c, double lambda) where T : struct, ICoordinates
    {
        var strong = _strong;
        var beta = c.Beta;
        var gradient = c.Gradient;
        var v = PenaltyFactors;
        int required = 0;
        foreach (int j in strong)
            if (beta[j] != 0 || v[j] == 0) required++;
        int size = WorkingSetSize(required);
        if (strong.Count <= size) return;
        var scores = _scores ??= new double[count];
        var order = _order ??= new int[count];
        int others = 0;
        double l1 = lambda * Alpha;
        foreach (int j in strong)
        {
            if (beta[j] != 0 || v[j] == 0) continue;
            double norm = Math.Sqrt(c.Curvature(j));
            scores[others] = norm > 0 ? (l1 * v[j] - Math.Abs(gradient[j])) / norm : double.PositiveInfinity;
            order[others++] = j;
        }
        int keep = size - required;
        SelectSmallest(scores.AsSpan(0, others), order.AsSpan(0, others), keep);
        for (int s = keep; s < others; s++) _inStrong[order[s]] = false;
        strong.RemoveAll(j => !_inStrong[j]);
    }

    /// <summary>
    /// Reorders <paramref name="keys"/> (and <paramref name="items"/> alike) so that the first <paramref name="k"/> are the k
    /// smallest, in no particular order (quickselect, Hoare 1961): the working set needs which coordinates, not their ranking.
    /// </summary>
    internal static void SelectSmallest(Span<double> keys, Span<int> items, int k)
    {
        int lo = 0, hi = keys.Length - 1;
        while (lo < hi && k > lo && k <= hi)
        {
            // Median of three as the pivot; Hoare partition around it.
            int mid = lo + (hi - lo) / 2;
            double a = keys[lo], b = keys[mid], c = keys[hi];
            double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i > j) break;
                (keys[i], keys[j]) = (keys[j], keys[i]);
                (items[i], items[j]) = (items[j], items[i]);
                i++;
                j--;
            }
            // Now keys[lo..j] <= pivot <= keys[i..hi], and any entries between equal the pivot.
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return;
        }
    }

    /// <summary>Keeps the active coordinates' values after a pass as iterate <paramref name="slot"/> of the extrapolation.</summary>
    private void Record(double[] beta, int slot)
    {
        int m = _active.Count;
        if (_history is null || _history.Length < (AndersonDepth + 1) * m)
            _history = new double[(AndersonDepth + 1) * Math.Max(m, 16)];
        var row = _history.AsSpan(slot * m, m);
        for (int a = 0; a < m; a++) row[a] = beta[_active[a]];
    }

    /// <summary>
    /// One Anderson extrapolation from the K + 1 iterates h_0..h_K last recorded (K = <see cref="AndersonDepth"/>; h_K is the
    /// current point): with U the K x m matrix of differences h_(k+1) - h_k, the weights z = (U U')^-1 1 / 1'(U U')^-1 1 and
    /// the point e = sum_k z_k h_(k+1), clamped to the bounds. The form moves to e (one update per changed coordinate) and stays
    /// there when the objective (<see cref="ICoordinates.Smooth"/> plus the penalty) is lower, else Beta and Gradient are put
    /// back as they were. Nothing moves when U U' is singular to working precision (the iterates no longer change).
    /// </summary>
    /// <returns>
    /// Whether the form was moved (kept or put back: the work of about a pass); false when nothing moved: U U' singular, the
    /// objective not finite (then nothing could be compared), or every coordinate already at its extrapolated value.
    /// </returns>
    private bool TryExtrapolate<T>(ref T c, double lambda) where T : struct, ICoordinates
    {
        const int K = AndersonDepth;
        int m = _active.Count;
        var h = _history!;
        var beta = c.Beta;
        var normal = _normal;
        // U U' from the differences of successive iterates.
        for (int k = 0; k < K; k++)
        {
            for (int l = 0; l <= k; l++)
            {
                double sum = 0;
                for (int a = 0; a < m; a++)
                    sum += (h[(k + 1) * m + a] - h[k * m + a]) * (h[(l + 1) * m + a] - h[l * m + a]);
                normal[k * K + l] = normal[l * K + k] = sum;
            }
        }
        if (!SolveOnes(normal, _weights)) return false;
        double before = Objective(ref c, lambda);
        if (!double.IsFinite(before)) return false;
        _tried++;

        var gradient = c.Gradient;
        var copy = _gradientCopy ??= new double[gradient.Length];
        gradient.CopyTo(copy, 0);
        var bounds = Bounds;
        bool moved = false;
        for (int a = 0; a < m; a++)
        {
            int j = _active[a];
            double e = 0;
            for (int k = 0; k < K; k++) e += _weights[k] * h[(k + 1) * m + a];
            if (bounds is not null) e = bounds.Clamp(j, e);
            double d = e - beta[j];
            if (d == 0 || !double.IsFinite(d)) continue;
            beta[j] = e;
            c.Move(j, d, 0, -1);
            moved = true;
        }
        if (!moved) return false;
        if (Objective(ref c, lambda) < before)
        {
            _taken++;
            return true;
        }
        for (int a = 0; a < m; a++) beta[_active[a]] = h[K * m + a];
        copy.CopyTo(gradient, 0);
        return true;
    }

    /// <summary>The objective at the current point: the form's smooth part plus the penalty over the active coordinates.</summary>
    private double Objective<T>(ref T c, double lambda) where T : struct, ICoordinates
    {
        var beta = c.Beta;
        var v = PenaltyFactors;
        double l1 = lambda * Alpha, l2 = lambda * (1 - Alpha) / 2, penalty = 0;
        foreach (int j in _active)
        {
            // Unpenalized coordinates add nothing (their term would be 0 * inf at the lambda of 1e300 that starts a path
            // with unpenalized features, and the objective NaN).
            if (v[j] == 0) continue;
            double b = beta[j];
            penalty += v[j] * (l1 * Math.Abs(b) + l2 * b * b);
        }
        return c.Smooth(_active) + penalty;
    }

    /// <summary>
    /// z = M^-1 1 / (1'M^-1 1) for the K x K symmetric <paramref name="normal"/> (overwritten) by Cholesky; false when a pivot is not
    /// above 1e-14 of the largest diagonal entry (or not finite), i.e. when the differences are linearly dependent to working precision.
    /// </summary>
    internal static bool SolveOnes(double[] normal, double[] z)
    {
        const int K = AndersonDepth;
        double largest = 0;
        for (int k = 0; k < K; k++) largest = Math.Max(largest, normal[k * K + k]);
        if (!(largest > 0) || !double.IsFinite(largest)) return false;
        for (int k = 0; k < K; k++)
        {
            double d = normal[k * K + k];
            for (int l = 0; l < k; l++) d -= normal[k * K + l] * normal[k * K + l];
            if (!(d > 1e-14 * largest)) return false;
            d = Math.Sqrt(d);
            normal[k * K + k] = d;
            for (int i = k + 1; i < K; i++)
            {
                double s = normal[i * K + k];
                for (int l = 0; l < k; l++) s -= normal[i * K + l] * normal[k * K + l];
                normal[i * K + k] = s / d;
            }
        }
        // L L' z = 1
        for (int k = 0; k < K; k++)
        {
            double s = 1;
            for (int l = 0; l < k; l++) s -= normal[k * K + l] * z[l];
            z[k] = s / normal[k * K + k];
        }
        for (int k = K - 1; k >= 0; k--)
        {
            double s = z[k];
            for (int l = k + 1; l < K; l++) s -= normal[l * K + k] * z[l];
            z[k] = s / normal[k * K + k];
        }
        double total = 0;
        for (int k = 0; k < K; k++) total += z[k];
        if (!(Math.Abs(total) > 0) || !double.IsFinite(total)) return false;
        for (int k = 0; k < K; k++) z[k] /= total;
        return true;
    }

    /// <summary>One cyclic pass over <paramref name="set"/>; returns max_j w_j Δb_j².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Pass<T>(ref T c, List<int> set, double lambda) where T : struct, ICoordinates
    {
        int count = set.Count;
        if (count == 0) return 0;
        var v = PenaltyFactors;
        var beta = c.Beta;
        var bounds = Bounds;
        double largest = 0;
        double l1 = lambda * Alpha, l2 = lambda * (1 - Alpha);
        c.Begin(set[0]);
        for (int s = 0; s < count; s++)
        {
            int j = set[s];
            int next = s + 1 < count ? set[s + 1] : -1;
            double g = c.GradientAt(j);
            double ajj = c.Curvature(j);
            double den = ajj + l2 * v[j];
            double bj = beta[j];
            double nb = bj;
            if (den > 0)
            {
                // b_j = S(g_j + A_jj b_j, lambda alpha v_j) / (A_jj + lambda (1 - alpha) v_j)
                double u = g + ajj * bj;
                double t = l1 * v[j];
                nb = u > t ? (u - t) / den : u < -t ? (u + t) / den : 0.0;
                if (bounds is not null) nb = bounds.Clamp(j, nb);
            }
            if (nb == bj)
            {
                c.Stay(j, g, next);
                continue;
            }
            double d = nb - bj;
            beta[j] = nb;
            c.Move(j, d, g, next);
            largest = Math.Max(largest, c.ChangeWeight(j) * d * d);
            MarkActive(j);
        }
        return largest;
    }
}
