using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    /// <summary>
    /// Walks the cache lines of the source data of the next row block (rows [lo, hi) of every selected column)
    /// and prefetches them into L2 a few at a time, so that loading them overlaps the arithmetic of the current block.
    /// </summary>
    private unsafe struct Prefetcher
    {
        private readonly double* _data;
        private readonly long* _colOffset;
        private readonly int _k;
        private long _lo, _hi;
        private int _col;
        private byte* _cur, _end;

        public Prefetcher(double* data, long* colOffset, int k)
        {
            _data = data;
            _colOffset = colOffset;
            _k = k;
            _col = k;
        }

        /// <summary>Cache lines of the current range, counted generously (an upper bound).</summary>
        public long Lines { get; private set; }

        public void Reset(long lo, long hi)
        {
            _lo = lo;
            _hi = hi;
            _col = -1;
            _cur = _end = null;
            Lines = hi > lo && Sse.IsSupported ? _k * ((hi - lo) * sizeof(double) / 64 + 2) : 0;
            if (Lines == 0)
                _col = _k;
        }

        /// <summary>
        /// Hands out the next contiguous run of at most <paramref name="budget"/> lines (and at most one line per
        /// row, within one column) as a start and a per-row step for a kernel to prefetch while it runs over
        /// <paramref name="m"/> rows; with nothing left, an idle (already cached) address and step 0.
        /// </summary>
        public void Take(ref int budget, int m, byte* idle, out byte* start, out nint step)
        {
            start = idle;
            step = 0;
            if (budget <= 0 || _col >= _k)
                return;
            if (_cur >= _end)
            {
                if (++_col >= _k)
                    return;
                double* column = _data + _colOffset[_col];
                _cur = (byte*)((nint)(column + _lo) & ~(nint)63);
                _end = (byte*)(column + _hi);
            }
            nint bytes = (nint)Math.Min(_end - _cur, (long)Math.Min(budget, m) * 64);
            start = _cur;
            step = (bytes + m - 1) / m;
            _cur += bytes;
            budget -= (int)((bytes + 63) / 64);
        }
    }
}
