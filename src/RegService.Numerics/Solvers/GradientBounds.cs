using System.Runtime.CompilerServices;
using RegService.Numerics.Kernels;

namespace RegService.Numerics.Solvers;

/// <summary>
/// Gradients of the binomial path's features outside the working set, known exactly at some earlier point and bounded
/// since. Feature j's gradient was last computed exactly (<see cref="Reference"/>) at a point whose probabilities were
/// kept as a snapshot (the weighted means v mu, <see cref="LogisticPass.Prob"/>); since ||z_j|| = sqrt(n) BoundNorms[j],
/// |g_j - g_j(ref)| ≤ BoundNorms[j] ||v mu - (v mu)_ref|| / sqrt(n), the difference centered when z_j sums to 0 (an intercept
/// without observation weights: with them z_j is centered at the weighted mean, so the difference is not). A few snapshots are kept; features still
/// referring to a retired one are settled when it retires.
/// </summary>
internal sealed class GradientBounds(LogisticData data, LogisticPass pass, bool[] inSet, bool intercept, int threads, CancellationToken ct)
{
    private const int MaxSnapshots = 4;
    private readonly int _n = data.Rows, _p = data.Features;
    private readonly double[] _gRef = new double[data.Features];
    private readonly List<Snapshot> _snapshots = [];
    private int[]? _refSnapshot;
    private int _epoch;            // bumped by every pass: the point moved
    private int _nextSnapshotId;
    private double[]? _spareSnapshot;   // the retired snapshot's buffer, reused

    private sealed class Snapshot(int id, double[] prob, int epoch)
    {
        public int Id { get; } = id;
        public double[] Prob { get; } = prob;
        public int Epoch { get; } = epoch;
        public int DeltaEpoch { get; set; } = -1;
        public double Delta { get; set; }
    }

    /// <summary>g_j at the point where it was last computed exactly.</summary>
    public double Reference(int j) => _gRef[j];

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
        return snap.Delta == 0 ? Math.Abs(_gRef[j]) : Math.Abs(_gRef[j]) + data.BoundNorms[j] * snap.Delta;
    }

    /// <summary>Exact gradients of <paramref name="features"/> at the current point (its pass must be exact), which becomes their reference.</summary>
    public void Settle(List<int> features)
    {
        if (features.Count == 0) return;
        var current = CurrentSnapshot();
        var todo = features.Where(j => _refSnapshot![j] != current.Id).ToArray();
        var values = ExactGradients(todo);
        for (int k = 0; k < todo.Length; k++)
        {
            _gRef[todo[k]] = values[k];
            _refSnapshot![todo[k]] = current.Id;
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
            // Features still referring to the oldest snapshot are settled now.
            int oldest = _snapshots[0].Id;
            var todo = Enumerable.Range(0, _p).Where(j => _refSnapshot[j] == oldest && !inSet[j]).ToArray();
            var values = ExactGradients(todo);
            for (int k = 0; k < todo.Length; k++)
            {
                _gRef[todo[k]] = values[k];
                _refSnapshot[todo[k]] = snap.Id;
            }
            _spareSnapshot = _snapshots[0].Prob;
            _snapshots.RemoveAt(0);
        }
        return snap;
    }

    /// <summary>g_j = (1/n) z_j'v(y - mu) at the current point, for each of <paramref name="features"/> (in parallel when worth it).</summary>
    private double[] ExactGradients(int[] features)
    {
        var values = new double[features.Length];
        var resid = pass.Resid;
        void One(int k)
        {
            int j = features[k];
            values[k] = LogisticKernels.DotShifted(data.Column(j), data.Means[j], resid) / (_n * data.Scales[j]);
        }
        if (threads > 1 && features.Length > 1 && (long)features.Length * _n >= 1L << 20)
        {
            // Chunks of about 64K values each, so short columns do not drown in scheduling.
            int perChunk = (int)Math.Clamp((1L << 16) / _n, 1, features.Length);
            int chunks = (features.Length + perChunk - 1) / perChunk;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct }, c =>
            {
                for (int k = c * perChunk, end = Math.Min(features.Length, k + perChunk); k < end; k++) One(k);
            });
        }
        else
        {
            for (int k = 0; k < features.Length; k++) One(k);
        }
        return values;
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
