using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    /// <summary>
    /// State of one call: inputs, native buffers, and the workers. The rows are cut into fixed segments, each in one
    /// group; a worker claims the next segment and accumulates it into a segment buffer, and the finished segments are
    /// folded strictly in segment order (buffers of segments that finish early wait in <c>_pending</c>): the first
    /// segment of a group becomes the group's running total, the others are added to it, and after the group's last
    /// segment the total is written to the group's outputs (or kept for <see cref="ReduceFinal"/>).
    /// </summary>
    private sealed unsafe class GramJob
    {
        private readonly double[] _data;
        private readonly int[]? _rows;
        private readonly long[] _colOffset;   // kp entries; -1 marks a padding column
        private readonly double[] _shift;     // kp entries; 0 for padding columns
        private readonly double[]? _sqrtWeights; // by position in the row set; null when unweighted
        private readonly int _k, _kp, _panels, _mb, _segments, _maxBuffers;
        private readonly int _firstPanel;   // B panels before it are skipped (WeightedShiftedGramFrom)
        private readonly KernelPath _path;
        private readonly CancellationToken _ct;
        private readonly int[] _segmentStart;   // segments + 1 entries
        private readonly int[] _segmentGroup;   // segments entries, non-decreasing
        private readonly double[][]? _outGrams, _outSums; // per group; null: the one total is kept for ReduceFinal
        private readonly bool _accumulate;
        private readonly nint[] _packed, _zero;   // per thread

        private readonly object _gate = new();
        private readonly Dictionary<int, SegmentBuffers> _pending = [];
        private readonly Stack<SegmentBuffers> _free = new();
        private readonly List<(nint Pointer, nuint Bytes)> _allocations = [];
        private int _nextSegment, _nextToFold, _buffersCreated;
        private bool _aborted;
        private SegmentBuffers _total, _final;

        /// <summary>Accumulator (kp x kp: entry b*kp + a holds G[a, b] for panel(a) ≤ panel(b)) and column sums (kp).</summary>
        private readonly record struct SegmentBuffers(nint Acc, nint Sums);

        public GramJob(ColumnBlock x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows, int kp, int mb,
                       int[] segmentStart, int[] segmentGroup, int threads, KernelPath path, CancellationToken ct, double[]? sqrtWeights,
                       double[][]? outGrams, double[][]? outSums, bool accumulate, int firstPanel = 0)
        {
            _firstPanel = firstPanel;
            _data = x.Data;
            _sqrtWeights = sqrtWeights;
            _rows = rows;
            _k = cols.Length;
            _kp = kp;
            _panels = kp / PanelWidth;
            _mb = mb;
            _segmentStart = segmentStart;
            _segmentGroup = segmentGroup;
            _segments = segmentGroup.Length;
            Threads = threads;
            // In flight at most: one buffer per thread, finished segments waiting for an earlier one, the running total.
            _maxBuffers = MaxBuffers(threads, _segments, kp);
            _path = path;
            _ct = ct;
            _outGrams = outGrams;
            _outSums = outSums;
            _accumulate = accumulate;
            _colOffset = new long[kp];
            _shift = new double[kp];
            for (int c = 0; c < kp; c++)
            {
                _colOffset[c] = c < _k ? (long)cols[c] * x.Rows : -1;
                _shift[c] = c < _k ? shift[c] : 0.0;
            }
            _packed = new nint[threads];
            _zero = new nint[threads];
        }

        public int Threads { get; }

        public void Allocate()
        {
            for (int t = 0; t < Threads; t++)
            {
                _packed[t] = Alloc((nuint)_mb * (nuint)_kp, clear: false);
                _zero[t] = Alloc((nuint)_mb, clear: true);
            }
        }

        public void Free()
        {
            lock (_gate)
            {
                foreach (var (p, bytes) in _allocations)
                    NativeBlocks.Return(p, bytes);
                _allocations.Clear();
            }
        }

        /// <summary>Worker <paramref name="t"/>: claims and processes segments until none is left or the call is canceled.</summary>
        public void Run(int t)
        {
            try
            {
                while (true)
                {
                    int s;
                    SegmentBuffers buffers;
                    lock (_gate)
                    {
                        // Waiting happens before a segment is claimed, so the segment to fold next is always
                        // held by a running worker or not yet claimed (then nothing is pending): no deadlock.
                        while (!_aborted && _nextSegment < _segments && _free.Count == 0 && _buffersCreated >= _maxBuffers)
                            Monitor.Wait(_gate);
                        if (_aborted || _nextSegment >= _segments)
                            return;
                        s = _nextSegment++;
                        if (!_free.TryPop(out buffers))
                        {
                            buffers = new SegmentBuffers(Alloc((nuint)_kp * (nuint)_kp, clear: false), Alloc((nuint)_kp, clear: false));
                            _buffersCreated++;
                        }
                    }

                    NativeMemory.Clear((void*)buffers.Sums, (nuint)_kp * sizeof(double));
                    if (!ClearChecked((double*)buffers.Acc, _kp) || !ProcessRows(t, _segmentStart[s], _segmentStart[s + 1], (double*)buffers.Acc, (double*)buffers.Sums))
                    {
                        Abort();
                        return;
                    }

                    List<(int Group, SegmentBuffers Total)>? completed = null;
                    lock (_gate)
                    {
                        _pending.Add(s, buffers);
                        while (_pending.Remove(_nextToFold, out SegmentBuffers done))
                        {
                            int f = _nextToFold++;
                            int g = _segmentGroup[f];
                            if (f == 0 || _segmentGroup[f - 1] != g)
                            {
                                _total = done;
                            }
                            else
                            {
                                AddTriangle((double*)done.Acc, (double*)_total.Acc, _kp);
                                Vec.Add(new ReadOnlySpan<double>((void*)done.Sums, _kp), new Span<double>((void*)_total.Sums, _kp));
                                _free.Push(done);
                            }
                            if (f == _segments - 1 || _segmentGroup[f + 1] != g)
                            {
                                if (_outGrams is null)
                                    _final = _total;
                                else
                                    (completed ??= []).Add((g, _total));
                                _total = default;
                            }
                        }
                        Monitor.PulseAll(_gate);
                    }

                    if (completed is not null)
                    {
                        // Each group's outputs are written by exactly one worker, outside the lock.
                        foreach (var (g, total) in completed)
                            ReduceGroup(g, total);
                        lock (_gate)
                        {
                            foreach (var (_, total) in completed)
                                _free.Push(total);
                            Monitor.PulseAll(_gate);
                        }
                    }
                }
            }
            catch
            {
                Abort();
                throw;
            }
        }

        /// <summary>Adds rows [start, end) of the row set into the segment accumulators; false when canceled.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool ProcessRows(int t, int start, int end, double* acc, double* sums)
        {
            double* packed = (double*)_packed[t];
            double* zero = (double*)_zero[t];
            fixed (double* data = _data)
            fixed (int* rows = _rows)
            fixed (long* colOffset = _colOffset)
            fixed (double* shift = _shift)
            fixed (double* sqrtWeights = _sqrtWeights)
            {
                var prefetcher = new Prefetcher(data, colOffset, _k);
                for (; start < end; start += _mb)
                {
                    if (_ct.IsCancellationRequested)
                        return false;
                    int m = Math.Min(_mb, end - start);

                    // The AVX-512 and AVX2 kernels of this block prefetch the source lines of the next block. A sparse row
                    // subset would drag in mostly unused lines, so it is left to demand loads.
                    int next = start + m, nextEnd = Math.Min(end, next + _mb);
                    long lo = 0, hi = 0;
                    if (_path is KernelPath.Vector512 or KernelPath.Vector256 && next < nextEnd)
                    {
                        if (_rows is null)
                            (lo, hi) = (next, nextEnd);
                        else if (_rows[nextEnd - 1] - (long)_rows[next] < 2L * (nextEnd - next) + 64)
                            (lo, hi) = (_rows[next], _rows[nextEnd - 1] + 1L);
                    }
                    prefetcher.Reset(lo, hi);

                    // The plain and the weighted Gram differ only in the row scale of the packers. All rows in order are
                    // packed with in-register transposes on the Vector512 and Vector256 tiers; row subsets are gathered.
                    bool full = _rows is null && _path is KernelPath.Vector512 or KernelPath.Vector256;
                    if (sqrtWeights is not null) PackBlock<SqrtWeighted>(full, data, colOffset, shift, zero, sqrtWeights, rows, start, m, packed, sums);
                    else PackBlock<Unscaled>(full, data, colOffset, shift, zero, null, rows, start, m, packed, sums);

                    // With few rows and many columns one block is most of the work: the tile loops check the token
                    // per group of 3 A panels (m x 24 x kp multiply-adds at most between checks).
                    int lastWidth = _k - (_panels - 1) * PanelWidth;
                    bool done = _path switch
                    {
                        KernelPath.Vector512 => Tiles<Tiles512>(packed, m, _panels, _firstPanel, lastWidth, acc, _kp, ref prefetcher, _ct),
                        KernelPath.Vector256 => Tiles<Tiles256>(packed, m, _panels, _firstPanel, lastWidth, acc, _kp, ref prefetcher, _ct),
                        KernelPath.Vector128 => Tiles<Tiles128>(packed, m, _panels, _firstPanel, lastWidth, acc, _kp, ref prefetcher, _ct),
                        _ => Tiles<TilesScalar>(packed, m, _panels, _firstPanel, lastWidth, acc, _kp, ref prefetcher, _ct),
                    };
                    if (!done)
                        return false;
                }
            }
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PackBlock<T>(bool full, double* data, long* colOffset, double* shift, double* zero, double* sqrtWeights, int* rows,
                                  int start, int m, double* packed, double* sums) where T : IRowScale
        {
            if (!full) Pack.Gather<T>(data, colOffset, shift, _k, rows, sqrtWeights, start, m, _panels, packed, sums);
            else if (_path == KernelPath.Vector512) Pack.FullRows512<T>(data, colOffset, shift, zero, sqrtWeights, start, m, _panels, packed, sums);
            else Pack.FullRows256<T>(data, colOffset, shift, zero, sqrtWeights, start, m, _panels, packed, sums);
        }

        /// <summary>
        /// Zeroes the part of an accumulator the tiles write (<see cref="UsedLength"/> values of each column), checking the token
        /// about every 8 MB: a fresh accumulator of many columns is hundreds of megabytes, and its first touch (page faults) took
        /// about a second per 320 MB on virtual machines.
        /// </summary>
        /// <returns>False when canceled.</returns>
        private bool ClearChecked(double* p, int kp)
        {
            const long Piece = 1L << 20;
            long cleared = 0;
            for (int b = 0; b < kp; b++)
            {
                if (cleared >= Piece)
                {
                    if (_ct.IsCancellationRequested)
                        return false;
                    cleared = 0;
                }
                int used = UsedLength(b);
                NativeMemory.Clear(p + (long)b * kp, (nuint)used * sizeof(double));
                cleared += used;
            }
            return !_ct.IsCancellationRequested;
        }

        /// <summary>
        /// Values of accumulator column <paramref name="b"/> the tiles write: rows a of the panels up to b's (panel(a) ≤ panel(b));
        /// the rest of the column (about half the accumulator) is never written nor read.
        /// </summary>
        private static int UsedLength(int b) => (b / PanelWidth + 1) * PanelWidth;

        /// <summary>total += done over the written part of two accumulators of <paramref name="kp"/> x <paramref name="kp"/>.</summary>
        private static void AddTriangle(double* done, double* total, int kp)
        {
            for (int b = 0; b < kp; b++)
            {
                int used = UsedLength(b);
                Vec.Add(new ReadOnlySpan<double>(done + (long)b * kp, used), new Span<double>(total + (long)b * kp, used));
            }
        }

        /// <summary>Writes the full symmetric matrix and the sums of the one group (the job of <see cref="ShiftedGramCore"/>).</summary>
        public void ReduceFinal(Span<double> gram, Span<double> sums) => Write(_final, gram, sums);

        /// <summary>Writes a folded total to <paramref name="gram"/> (mirroring the triangle) and <paramref name="sums"/>.</summary>
        private void Write(SegmentBuffers total, Span<double> gram, Span<double> sums)
        {
            new ReadOnlySpan<double>((void*)total.Sums, _k).CopyTo(sums);
            fixed (double* g = gram)
                Mirror((double*)total.Acc, _kp, g, _k, accumulate: false);
        }

        /// <summary>Writes (or adds) a group's folded total to its outputs as a full symmetric matrix.</summary>
        private void ReduceGroup(int group, SegmentBuffers total)
        {
            double[] gram = _outGrams![group], sums = _outSums![group];
            if (!_accumulate)
            {
                Write(total, gram, sums);
                return;
            }
            double* totalSums = (double*)total.Sums;
            for (int a = 0; a < _k; a++)
                sums[a] += totalSums[a];
            fixed (double* g = gram)
                Mirror((double*)total.Acc, _kp, g, _k, accumulate: true);
        }

        /// <summary>
        /// gram[a, b] and gram[b, a] = (or +=) acc[b * kp + a] for a ≤ b, in square tiles of <see cref="PanelWidth"/> x
        /// <see cref="PanelWidth"/>: the mirrored (column) writes of a tile fall on as many cache lines as it has rows, instead of
        /// one line per value as a row-by-row mirror of a matrix larger than L1 would touch.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Mirror(double* acc, int kp, double* gram, int k, bool accumulate)
        {
            for (int b0 = 0; b0 < k; b0 += PanelWidth)
            {
                int b1 = Math.Min(b0 + PanelWidth, k);
                for (int a0 = 0; a0 <= b0; a0 += PanelWidth)
                {
                    for (int b = b0; b < b1; b++)
                    {
                        int a1 = Math.Min(a0 + PanelWidth, b + 1);
                        double* column = acc + (long)b * kp;
                        for (int a = a0; a < a1; a++)
                        {
                            double v = column[a];
                            if (accumulate)
                            {
                                gram[(long)a * k + b] += v;
                                if (a != b) gram[(long)b * k + a] += v;
                            }
                            else
                            {
                                gram[(long)a * k + b] = v;
                                gram[(long)b * k + a] = v;
                            }
                        }
                    }
                }
            }
        }

        private void Abort()
        {
            lock (_gate)
            {
                _aborted = true;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>64-byte aligned native doubles (<see cref="NativeBlocks"/>: perhaps a kept block, holding old values), recorded for <see cref="Free"/>.</summary>
        private nint Alloc(nuint doubles, bool clear)
        {
            nuint bytes = Math.Max(doubles, 1) * sizeof(double);
            var p = NativeBlocks.Rent(bytes);
            lock (_gate)
                _allocations.Add((p, bytes));
            if (clear)
                NativeMemory.Clear((void*)p, bytes);
            return p;
        }
    }
}
