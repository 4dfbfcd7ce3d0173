using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RegService.Numerics.Solvers;

/// <summary>The KKT check of <see cref="NaiveCd"/> over the features outside the strong set: the bounds, the screen, the exact rest.</summary>
public sealed partial class NaiveCd
{
    /// <summary>
    /// Gradients of the features outside the strong set, for the KKT check. Since
    /// |g_j - gRef_j| = |z_j'(r - rRef)|/n ≤ sqrt(z_j'z_j/n) ||r - rRef|| / sqrt(n), a feature whose bound
    /// |gRef_j| + that radius stays within lambda alpha v_j cannot violate KKT and is not recomputed: its
    /// Gradient entry holds the bound (an upper bound of |g_j|, which keeps the next strong rule safe).
    /// The same bound from the previous check (its residual and the bound it left, where the feature was outside
    /// then too) is usually much tighter, since the residual moves little between two checks; with the shadow, the
    /// bound of <see cref="ResidualSnapshots"/> too. The smallest is used.
    /// When many features need recomputing, all are, and the reference moves to the current residual (with the
    /// shadow, every feature is screened then, the strong set too, and the screen becomes the newest snapshot; there
    /// "many" counts the features screened at the checks since the last full screen too).
    /// </summary>
    private void CheckOutside(bool[] inStrong, double lambda)
    {
        _team?.Wake();   // the screen below may split its columns: have the helpers spinning by then
        int q = Beta.Length;
        double radius = Distance(_u, _rRef);
        // Before the first check every previous bound is infinite, whatever this radius.
        double radiusLast = _checked ? Distance(_u, _rLast) : 0;
        _checked = true;
        double bound = lambda * _alpha;
        var upper = _upper;
        ReferenceBounds(_gRef, _previous, _norms, radius, radiusLast, upper);
        _snapshots?.Extrapolate(_u)?.Tighten(_norms, _shadowWeights!, upper);
        var gradient = Gradient;
        var previous = _previous;
        _candidates.Clear();
        Settle(inStrong, upper, _cd.PenaltyFactors, bound, previous, gradient, _candidates);
        _u.CopyTo(_rLast, 0);
        // With the shadow, a full screen also renews the snapshots, so it is taken once the features screened since the
        // last one would reach half of a full screen (as renting against buying): stale snapshots leave more and more
        // candidates at each later check.
        bool full = (_candidates.Count + (_shadow is null ? 0 : _screenedSinceFull)) * 2 > q;
        _screenedSinceFull = full ? 0 : _screenedSinceFull + _candidates.Count;
        if (full)
        {
            _candidates.Clear();
            for (int j = 0; j < q; j++)
                if (!inStrong[j] || _shadow is not null) _candidates.Add(j);
        }
        _unsettled.Clear();
        _unsettled.AddRange(_candidates);
        if (_shadow is not null) Screen(lambda, full ? inStrong : null);
        ComputeGradientsOf(_candidates);
        // What this check left for each feature outside the strong set: the next check's bound starts from it.
        foreach (int j in _unsettled)
            if (!inStrong[j]) previous[j] = Math.Abs(gradient[j]);
        _refPending = full;
    }

    /// <summary>
    /// <c>upper[j] = min(|gRef_j| + norm_j radius, previous_j + norm_j radiusLast)</c>: the bounds of |g_j| from the reference
    /// residual and from the last check (<paramref name="previous"/> infinite where that check left none), vectorized
    /// (<see cref="Vector{T}"/>; every element the same operations in the same order as <see cref="ReferenceBoundsScalar"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ReferenceBounds(ReadOnlySpan<double> gRef, ReadOnlySpan<double> previous, ReadOnlySpan<double> norms,
        double radius, double radiusLast, Span<double> upper)
    {
        int q = upper.Length, i = 0;
        if (gRef.Length < q || previous.Length < q || norms.Length < q) throw new ArgumentException("a bound needs every feature's reference, previous bound and norm");
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            var a = new Vector<double>(radius);
            var b = new Vector<double>(radiusLast);
            for (; i + w <= q; i += w)
            {
                var norm = new Vector<double>(norms[i..]);
                var fromRef = Vector.Abs(new Vector<double>(gRef[i..])) + norm * a;
                var fromLast = new Vector<double>(previous[i..]) + norm * b;
                Vector.Min(fromRef, fromLast).CopyTo(upper[i..]);
            }
        }
        for (; i < q; i++) upper[i] = Math.Min(Math.Abs(gRef[i]) + norms[i] * radius, previous[i] + norms[i] * radiusLast);
    }

    /// <summary>
    /// Sorts the features by their bounds <paramref name="upper"/>: one in the strong set gets an infinite previous bound,
    /// one whose bound is within <c>bound v_j</c> is settled (its previous bound and gradient entry become that bound), and
    /// the rest are appended to <paramref name="candidates"/>, ascending. Vectorized (<see cref="Vector{T}"/>): a block with
    /// no strong feature stores its settled bounds by a select and appends the lanes of its candidates (<see cref="LaneBits"/>,
    /// the twin's test <c>u &gt; bound v_j</c> per lane); a block with a strong feature goes feature by feature as
    /// <see cref="SettleScalar"/>, so the two write the same values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Settle(ReadOnlySpan<bool> inStrong, ReadOnlySpan<double> upper, ReadOnlySpan<double> v, double bound,
        Span<double> previous, Span<double> gradient, List<int> candidates)
    {
        int q = inStrong.Length, j = 0;
        if (upper.Length < q || v.Length < q || previous.Length < q || gradient.Length < q) throw new ArgumentException("settling needs every feature's bound, penalty factor, previous bound and gradient");
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            var b = new Vector<double>(bound);
            var flags = MemoryMarshal.AsBytes(inStrong);
            for (; j + w <= q; j += w)
            {
                if (AnyFlag(flags.Slice(j, w)))
                {
                    SettleScalar(inStrong[j..(j + w)], upper[j..(j + w)], v[j..(j + w)], bound, previous[j..(j + w)], gradient[j..(j + w)], candidates, j);
                    continue;
                }
                var u = new Vector<double>(upper[j..]);
                var over = Vector.GreaterThan(u, b * new Vector<double>(v[j..]));
                uint lanes = LaneBits.Of(over);
                if (lanes == 0)
                {
                    u.CopyTo(previous[j..]);
                    u.CopyTo(gradient[j..]);
                    continue;
                }
                Vector.ConditionalSelect(over, new Vector<double>(previous[j..]), u).CopyTo(previous[j..]);
                Vector.ConditionalSelect(over, new Vector<double>(gradient[j..]), u).CopyTo(gradient[j..]);
                for (; lanes != 0; lanes &= lanes - 1) candidates.Add(j + BitOperations.TrailingZeroCount(lanes));
            }
        }
        SettleScalar(inStrong[j..q], upper[j..q], v[j..q], bound, previous[j..q], gradient[j..q], candidates, j);
    }

    /// <summary>Whether any of a vector's worth of flags (bytes 0 or 1) is set, read as one word where it fits one.</summary>
    private static bool AnyFlag(ReadOnlySpan<byte> flags) => flags.Length switch
    {
        8 => MemoryMarshal.Read<ulong>(flags) != 0,
        4 => MemoryMarshal.Read<uint>(flags) != 0,
        2 => MemoryMarshal.Read<ushort>(flags) != 0,
        _ => flags.ContainsAnyExcept((byte)0),
    };

    /// <summary>The scalar twin of <see cref="Settle"/> (features numbered from <paramref name="offset"/>).</summary>
    internal static void SettleScalar(ReadOnlySpan<bool> inStrong, ReadOnlySpan<double> upper, ReadOnlySpan<double> v, double bound,
        Span<double> previous, Span<double> gradient, List<int> candidates, int offset = 0)
    {
        for (int k = 0; k < inStrong.Length; k++)
        {
            if (inStrong[k])
            {
                previous[k] = double.PositiveInfinity;
                continue;
            }
            double u = upper[k];
            if (u > bound * v[k]) candidates.Add(offset + k);
            else previous[k] = gradient[k] = u;
        }
    }

    /// <summary>The scalar twin of <see cref="ReferenceBounds"/>.</summary>
    internal static void ReferenceBoundsScalar(ReadOnlySpan<double> gRef, ReadOnlySpan<double> previous, ReadOnlySpan<double> norms,
        double radius, double radiusLast, Span<double> upper)
    {
        for (int i = 0; i < upper.Length; i++) upper[i] = Math.Min(Math.Abs(gRef[i]) + norms[i] * radius, previous[i] + norms[i] * radiusLast);
    }

    /// <summary>
    /// Settles the candidates whose screened gradient (the 16-bit shadow against the residual in single precision),
    /// widened by its error bound, is within
    /// lambda alpha v_j: their Gradient entry holds that upper bound of |g_j|. The rest stay candidates.
    /// With <paramref name="snapshot"/> the candidates are every feature in order: their signed single-precision
    /// screened gradients become the newest snapshot, and those flagged in <paramref name="snapshot"/> (the strong set) are dropped.
    /// </summary>
    private void Screen(double lambda, bool[]? snapshot)
    {
        double bound = lambda * _alpha;
        var rs = _rShadow!;
        double scale = _shadowError * LogisticKernels.ToSingleNormBound(_u, rs) / _n;
        int count = _candidates.Count;
        var screened = _screened ??= new double[Beta.Length];
        void Range(int from, int to) =>
            SingleDots.Dots(_shadow, _n, CollectionsMarshal.AsSpan(_candidates)[from..to], rs, screened.AsSpan(from, to - from));
        int chunk = SweepChunk(_n);
        if (_team is null || count < 2 * chunk)
            Range(0, count);
        else
            _team.For((count + chunk - 1) / chunk, k => Range(k * chunk, Math.Min(count, (k + 1) * chunk)));
        var steps = _steps!;
        for (int s = 0; s < count; s++) screened[s] *= steps[_candidates[s]];
        if (snapshot is not null) _snapshots!.Take(screened.AsSpan(0, count), _u, scale);
        int kept = 0;
        for (int s = 0; s < count; s++)
        {
            int j = _candidates[s];
            if (snapshot is not null && snapshot[j]) continue;
            double upper = Math.Abs(screened[s]) / _n + scale * _shadowWeights![j];
            if (upper <= bound * _cd.PenaltyFactors[j]) Gradient[j] = upper;
            else _candidates[kept++] = j;
        }
        _candidates.RemoveRange(kept, count - kept);
    }

    private bool _refPending;
    private long _screenedSinceFull;   // candidates screened since the last full screen

    /// <summary>||a - b|| / sqrt(n).</summary>
    private double Distance(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < _n; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }
        return Math.Sqrt(sum / _n);
    }
}
