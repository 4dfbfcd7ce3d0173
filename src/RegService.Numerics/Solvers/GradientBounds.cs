using System.Runtime.CompilerServices;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Gradients of the binomial path's features outside the working set, known exactly at some earlier point and bounded
/// since. Feature j's gradient was last computed exactly (<see cref="Reference"/>) at a point whose probabilities were
/// kept as a snapshot (the weighted means v mu, <see cref="LogisticPass.Prob"/>); since ||z_j|| = sqrt(n) BoundNorms[j],
/// |g_j - g_j(ref)| ≤ BoundNorms[j] ||v mu - (v mu)_ref|| / sqrt(n), the difference centered when z_j sums to 0 (an intercept
/// without observation weights: with them z_j is centered at the weighted mean, so the difference is not). A few snapshots are kept; features still
/// referring to a retired one are screened when it retires.
/// A reference may also come from the single-precision screen (<see cref="Screen"/>): g_j(ref) then holds the screened value and
/// the bound adds its rounding bound (<see cref="LogisticKernels.SingleDotErrorFactor"/>), so a feature far from its threshold
/// is settled by a sweep over half the bytes; one close to it gets its exact gradient (<see cref="Settle"/>).
/// </summary>
internal sealed class GradientBounds(LogisticData data, LogisticPass pass, bool[] inSet, bool intercept, int threads, CancellationToken ct)
{
    private const int MaxSnapshots = 4;
    private readonly int _n = data.Rows, _p = data.Features;
    private readonly double[] _gRef = new double[data.Features];
    private readonly double[] _slack = new double[data.Features];   // the screen's rounding bound on _gRef (0: exact)
    private readonly bool _screens = Shadow.Worth(data);
    private Shadow? _shadow;   // made at the first screen
    private readonly List<Snapshot> _snapshots = [];
    private int[]? _refSnapshot;
    private int _epoch;            // bumped by every pass: the point moved
    private int _nextSnapshotId;
    private double[]? _spareSnapshot;   // the retired snapshot's buffer, reused
    private ResidualSnapshots? _lines;   // residuals at which every feature outside the working set was screened
    private ResidualSnapshots.Line? _line;
    private int _lineEpoch = -1;
    private double[]? _centered;

    private sealed class Snapshot(int id, double[] prob, int epoch)
    {
        public int Id { get; } = id;
        public double[] Prob { get; } = prob;
        public int Epoch { get; } = epoch;
        public int DeltaEpoch { get; set; } = -1;
        public double Delta { get; set; }
    }

    /// <summary>g_j at the point of its reference: exact after <see cref="Settle"/>, screened (within its rounding bound) after <see cref="Screen"/>.</summary>
    public double Reference(int j) => _gRef[j];

    /// <summary>
    /// A lower bound on |g_j| at the point of the last pass: from a reference taken there (exact, or screened less its rounding
    /// bound), else 0.
    /// </summary>
    public double LowerBound(int j) =>
        _refSnapshot is not null && _snapshots.Count > 0 && _snapshots[^1].Epoch == _epoch && _refSnapshot[j] == _snapshots[^1].Id
            ? Math.Max(Math.Abs(_gRef[j]) - _slack[j], 0.0)
            : 0.0;

    /// <summary>The fit is over: the single-precision copy's buffer may serve the next fit (a later screen would make a new copy).</summary>
    public void Release()
    {
        _shadow?.Release();
        _shadow = null;
    }

    /// <summary>The point moved (a pass ran): distances to the snapshots are stale.</summary>
    public void Moved() => _epoch++;

    /// <summary>An upper bound on |g_j| at the current point (feature outside the working set).</summary>
    public double Bound(int j)
    {
        if (_refSnapshot is null) return double.PositiveInfinity;
        var snap = SnapshotById(_refSnapshot[j]);
        if (snap is null) return double.PositiveInfinity;
        if (snap.DeltaEpoch != _epoch)
        {
            snap.Delta = Distance(snap.Prob);
            snap.DeltaEpoch = _epoch;
        }
        double bound = Math.Abs(_gRef[j]) + _slack[j];
        if (snap.Delta != 0) bound += data.BoundNorms[j] * snap.Delta;
        if (_lines is null || bound == 0) return bound;
        if (_lineEpoch != _epoch)
        {
            _line = _lines.Extrapolate(Residual());
            _lineEpoch = _epoch;
        }
        return _line is { } line ? Math.Min(bound, line.Bound(j, data.BoundNorms[j], NormBound(data, j))) : bound;
    }

    /// <summary>
    /// References at the current point for every feature of <paramref name="outer"/> (all features outside the working set),
    /// screened where the family screens (<see cref="Screen"/>), else exact, kept with the residual as a snapshot of
    /// <see cref="ResidualSnapshots"/>: later bounds then charge only the part of the residual's move off the line through the
    /// last two such residuals, not its whole distance from a reference.
    /// </summary>
    public void ScreenAll(List<int> outer, bool screens)
    {
        if (screens) Screen(outer);
        else Settle(outer);
        var gradients = new double[_p];
        double error = 0;
        foreach (int j in outer)
        {
            gradients[j] = _gRef[j];
            if (_slack[j] != 0) error = Math.Max(error, _slack[j] / NormBound(data, j));
        }
        (_lines ??= new ResidualSnapshots(_p, _n)).TakeGradients(gradients, Residual(), error * (1 + 1e-12));
        _lineEpoch = -1;
    }

    /// <summary>An upper bound of ||ẑ_j|| and ||z_j||: the norm the screen's rounding bound of feature j is scaled by.</summary>
    private static double NormBound(LogisticData data, int j) => Math.Max(Math.Sqrt(data.Rows) * data.BoundNorms[j] * (1 + 1e-7), double.Epsilon);

    /// <summary>The residual v (y − mu) of the current point, centered when every z_j sums to 0 (as in <see cref="Distance"/>).</summary>
    private double[] Residual()
    {
        var r = pass.Resid;
        if (!intercept || data.Weight is not null) return r;
        var c = _centered ??= new double[_n];
        Vec.Shift(r, Vec.Sum(r) / _n, c);
        return c;
    }

    /// <summary>Exact gradients of <paramref name="features"/> at the current point (its pass must be exact), which becomes their reference.</summary>
    public void Settle(List<int> features)
    {
        if (features.Count == 0) return;
        var current = CurrentSnapshot();
        var todo = features.Where(j => _refSnapshot![j] != current.Id || _slack[j] != 0).ToArray();
        Refer(todo, ExactGradients(todo), null, current.Id);
    }

    /// <summary>
    /// Screened gradients of <paramref name="features"/> at the current point (its pass must be exact) in single precision,
    /// which become their reference with the screen's rounding bound; features whose reference is already at this point are
    /// left alone. Without a single-precision copy of the columns (too few rows), the exact gradients instead.
    /// </summary>
    public void Screen(List<int> features)
    {
        if (features.Count == 0) return;
        if (!_screens)
        {
            Settle(features);
            return;
        }
        var current = CurrentSnapshot();
        var todo = features.Where(j => _refSnapshot![j] != current.Id).ToArray();
        var (values, slack) = ScreenedGradients(todo);
        Refer(todo, values, slack, current.Id);
    }

    private void Refer(int[] features, double[] values, double[]? slack, int snapshot)
    {
        for (int k = 0; k < features.Length; k++)
        {
            int j = features[k];
            _gRef[j] = values[k];
            _slack[j] = slack?[k] ?? 0.0;
            _refSnapshot![j] = snapshot;
        }
    }

    /// <summary>A live snapshot by id (the live ones have consecutive ids), or null.</summary>
    private Snapshot? SnapshotById(int id)
    {
        if (_snapshots.Count == 0) return null;
        int index = id - _snapshots[0].Id;
        return (uint)index < (uint)_snapshots.Count ? _snapshots[index] : null;
    }

    /// <summary>The snapshot of the current probabilities, taken if not yet; the oldest is retired beyond <see cref="MaxSnapshots"/>.</summary>
    private Snapshot CurrentSnapshot()
    {
        _refSnapshot ??= Enumerable.Repeat(-1, _p).ToArray();
        if (_snapshots.Count > 0 && _snapshots[^1].Epoch == _epoch) return _snapshots[^1];
        var buffer = _spareSnapshot ?? new double[_n];
        _spareSnapshot = null;
        pass.Prob.CopyTo(buffer, 0);
        var snap = new Snapshot(_nextSnapshotId++, buffer, _epoch) { DeltaEpoch = _epoch, Delta = 0 };
        _snapshots.Add(snap);
        if (_snapshots.Count > MaxSnapshots)
        {
            // Features still referring to the oldest snapshot are screened (or settled) now.
            int oldest = _snapshots[0].Id;
            var todo = Enumerable.Range(0, _p).Where(j => _refSnapshot[j] == oldest && !inSet[j]).ToArray();
            if (!_screens)
                Refer(todo, ExactGradients(todo), null, snap.Id);
            else
            {
                var (values, slack) = ScreenedGradients(todo);
                Refer(todo, values, slack, snap.Id);
            }
            _spareSnapshot = _snapshots[0].Prob;
            _snapshots.RemoveAt(0);
        }
        return snap;
    }

    /// <summary>
    /// g_j = (1/n) z_j'v(y - mu) at the current point, for each of <paramref name="features"/>: four columns per sweep of the
    /// residuals (<see cref="ColumnKernels.AddShiftedDots"/>), in parallel when worth it.
    /// </summary>
    private double[] ExactGradients(int[] features)
    {
        var values = new double[features.Length];
        var resid = pass.Resid;
        var source = data.Source;
        ForEach((features.Length + DotGroup - 1) / DotGroup, group =>
        {
            int first = group * DotGroup, count = Math.Min(DotGroup, features.Length - first);
            Span<long> offsets = stackalloc long[DotGroup];
            Span<double> means = stackalloc double[DotGroup];
            for (int c = 0; c < count; c++)
            {
                int j = features[first + c];
                offsets[c] = (long)data.SourceColumns[j] * source.Rows;
                means[c] = data.Means[j];
            }
            var dots = values.AsSpan(first, count);
            ColumnKernels.AddShiftedDots(source.Data, offsets[..count], means[..count], resid, dots);
            for (int c = 0; c < count; c++) dots[c] /= _n * data.Scales[features[first + c]];
        }, DotGroup);
        return values;
    }

    /// <summary>Columns per sweep of the residuals in <see cref="ExactGradients"/> (the column kernels' width).</summary>
    private const int DotGroup = 4;

    /// <summary>
    /// g_j in single precision (<see cref="LogisticKernels.SingleDot"/> of the shadow column and the rounded residuals) and
    /// a bound on its error: |g_j − g̃_j| ≤ factor max(||z_j||, ||ẑ_j||) max(||r||, ||r̂||) / n.
    /// </summary>
    private (double[] Values, double[] Slack) ScreenedGradients(int[] features)
    {
        var shadow = _shadow ??= new Shadow(data);
        var values = new double[features.Length];
        var slack = new double[features.Length];
        if (features.Length == 0) return (values, slack);
        double rNorm = shadow.Round(pass.Resid);
        double scale = LogisticKernels.SingleDotErrorFactor * rNorm / _n;
        var rs = shadow.Residual;
        ForEach((features.Length + DotGroup - 1) / DotGroup, group =>
        {
            int first = group * DotGroup, count = Math.Min(DotGroup, features.Length - first);
            if (count < DotGroup)
            {
                for (int k = first; k < first + count; k++)
                {
                    var column = shadow.Column(features[k], out double norm);
                    values[k] = LogisticKernels.SingleDot(column, rs) / _n;
                    slack[k] = scale * norm;
                }
                return;
            }
            // Four columns per sweep of the rounded residuals.
            double n0, n1, n2, n3;
            var c0 = shadow.Column(features[first], out n0);
            var c1 = shadow.Column(features[first + 1], out n1);
            var c2 = shadow.Column(features[first + 2], out n2);
            var c3 = shadow.Column(features[first + 3], out n3);
            var dots = values.AsSpan(first, DotGroup);
            LogisticKernels.SingleDot4(c0, c1, c2, c3, rs, dots);
            for (int c = 0; c < DotGroup; c++) dots[c] /= _n;
            slack[first] = scale * n0;
            slack[first + 1] = scale * n1;
            slack[first + 2] = scale * n2;
            slack[first + 3] = scale * n3;
        }, DotGroup / 2);   // a float column is half the bytes of a double one
        return (values, slack);
    }

    /// <summary>
    /// Runs <paramref name="one"/>(k) for k below <paramref name="count"/> (column sweeps, each of <paramref name="columns"/>
    /// columns; in parallel when worth it).
    /// </summary>
    private void ForEach(int count, Action<int> one, int columns = 1)
    {
        if (threads > 1 && pass.Team is { } team && count > 1 && (long)count * columns * _n >= 1L << 20)
        {
            // Chunks of about 64K values each, so short columns do not drown in scheduling.
            int perChunk = (int)Math.Clamp((1L << 16) / ((long)_n * columns), 1, count);
            int chunks = (count + perChunk - 1) / perChunk;
            team.For(chunks, c =>
            {
                ct.ThrowIfCancellationRequested();
                for (int k = c * perChunk, end = Math.Min(count, k + perChunk); k < end; k++) one(k);
            });
        }
        else
        {
            for (int k = 0; k < count; k++) one(k);
        }
    }

    /// <summary>
    /// The single-precision copy of the standardized columns ẑ_j = fl((x_j − m_j) / s_j), each made when first screened, with
    /// a bound on max(||z_j||, ||ẑ_j||), and the residuals rounded (r̂).
    /// </summary>
    private sealed class Shadow(LogisticData data)
    {
        private readonly int _n = data.Rows;
        private readonly float[] _z = Take(data.Rows * data.Features);
        private readonly double[] _norm = new double[data.Features];   // 0: not made yet

        public float[] Residual { get; } = new float[data.Rows];

        /// <summary>
        /// The copy's buffer goes back here at the end of a fit (<see cref="Release"/>) for the next fit to take: a fresh one
        /// (40 MB for 50,000 x 200) cost the first touch of every page, about a quarter of poisson_path_50k_200's CPU (docs/benchmarks.md,
        /// 2026-12-06). Held weakly, so a full collection frees it; a fit that finds none, or none of a fitting size, allocates.
        /// Its stale values are never read: each column is rewritten before its first use (<see cref="Column"/>).
        /// </summary>
        private static readonly WeakReference<float[]> s_spare = new(null!);

        private static float[] Take(int length)
        {
            lock (s_spare)
            {
                // Not one more than twice as long (plus 4 MB): a small fit does not pin a large buffer.
                if (s_spare.TryGetTarget(out var spare) && spare.Length >= length && spare.Length <= 2L * length + (1 << 20))
                {
                    s_spare.SetTarget(null!);
                    return spare;
                }
            }
            return GC.AllocateUninitializedArray<float>(length);
        }

        /// <summary>Hands the buffer back for the next fit (kept unless a longer one is there); this copy is not used afterwards.</summary>
        public void Release()
        {
            lock (s_spare)
            {
                if (!s_spare.TryGetTarget(out var spare) || spare.Length < _z.Length) s_spare.SetTarget(_z);
            }
        }

        /// <summary>Worth it when a double sweep is long enough to matter and the copy is at most 512 MB.</summary>
        public static bool Worth(LogisticData data) => data.Rows >= MinRows && (long)data.Rows * data.Features <= 128L << 20;

        /// <summary>Rows below which the exact sweep is cheap enough.</summary>
        public const int MinRows = 64;

        /// <summary>r̂ = fl(r); returns a bound of max(||r||, ||r̂||) (<see cref="LogisticKernels.ToSingleNormBound"/>).</summary>
        public double Round(double[] r) => LogisticKernels.ToSingleNormBound(r, Residual);

        /// <summary>ẑ_j, made on first use (each feature by one thread at a time: a sweep lists a feature once).</summary>
        public ReadOnlySpan<float> Column(int j, out double norm)
        {
            var z = _z.AsSpan(j * _n, _n);
            if (_norm[j] == 0)
            {
                LogisticKernels.ToSingleShifted(data.Column(j), data.Means[j], 1 / data.Scales[j], z);
                // |ẑ_i| ≤ |z_i| (1 + u), so ||ẑ|| ≤ ||z|| (1 + u); the slack also covers the roundings of ||z|| and of z in double.
                _norm[j] = NormBound(data, j);
            }
            norm = _norm[j];
            return z;
        }
    }

    /// <summary>||p - p_ref|| / sqrt(n), p - p_ref centered when the intercept is fitted (as z_j is), with a little slack for rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double Distance(double[] probRef)
    {
        double mean = intercept && data.Weight is null ? LogisticKernels.SumDifference(pass.Prob, probRef) / _n : 0.0;
        double ss = LogisticKernels.CenteredDistance(pass.Prob, probRef, mean);
        return ss == 0 ? 0 : Math.Sqrt(ss / _n) * (1 + 1e-12);
    }
}
