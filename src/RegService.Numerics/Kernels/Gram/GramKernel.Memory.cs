using System.Runtime.InteropServices;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    /// <summary>
    /// The native blocks of finished calls, kept for the next call that asks for the same size: a fresh block's first touch
    /// is a page fault per 4 KB page, and at k = 501 one call's accumulators and packed blocks are about 12 MB, faulted in
    /// again on every fit (3-5% of a 50,000 x 500 lasso fit's CPU, docs/benchmarks.md). At most <see cref="CacheBytes"/> are
    /// kept, in blocks of at most <see cref="MaxCachedBlockBytes"/>; larger blocks are freed as before.
    /// </summary>
    internal static unsafe class NativeBlocks
    {
        /// <summary>Bytes kept between calls at most.</summary>
        internal const long CacheBytes = 32L << 20;

        /// <summary>Larger blocks are not kept (a call of several thousand columns would pin hundreds of megabytes).</summary>
        internal const long MaxCachedBlockBytes = 8L << 20;

        private static readonly object Gate = new();
        private static readonly List<(nint Pointer, nuint Bytes)> Kept = [];
        private static long _keptBytes;

        /// <summary>Bytes kept now (for tests).</summary>
        internal static long KeptBytes
        {
            get { lock (Gate) return _keptBytes; }
        }

        /// <summary>A 64-byte aligned block of <paramref name="bytes"/>, a kept one of that size when there is one (its contents are old).</summary>
        public static nint Rent(nuint bytes)
        {
            lock (Gate)
            {
                for (int i = Kept.Count - 1; i >= 0; i--)
                {
                    if (Kept[i].Bytes != bytes) continue;
                    nint p = Kept[i].Pointer;
                    Kept.RemoveAt(i);
                    _keptBytes -= (long)bytes;
                    return p;
                }
            }
            return (nint)NativeMemory.AlignedAlloc(bytes, 64);
        }

        /// <summary>Keeps <paramref name="p"/> for a later <see cref="Rent"/> when it fits the budget, else frees it.</summary>
        public static void Return(nint p, nuint bytes)
        {
            if ((long)bytes <= MaxCachedBlockBytes)
            {
                lock (Gate)
                {
                    if (_keptBytes + (long)bytes <= CacheBytes)
                    {
                        Kept.Add((p, bytes));
                        _keptBytes += (long)bytes;
                        return;
                    }
                }
            }
            NativeMemory.AlignedFree((void*)p);
        }
    }
}
