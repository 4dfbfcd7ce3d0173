using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Every validation fold's shifted Gram matrix in one pass over the data (k-fold cross-validation). The rows are taken
/// in chunks of consecutive rows; a chunk's columns are copied into one buffer in fold order (the chunk's rows of fold 0,
/// then of fold 1, ..., ascending within a fold), so each fold's rows are contiguous, and one grouped Gram
/// (<see cref="GramKernel.GroupedShiftedGram"/>) adds every fold's part.
/// </summary>
/// <remarks>
/// The regroup buffer (up to <see cref="RegroupChunkBytes"/>) is allocated by <see cref="LargeArrays.Allocate"/> (pinned,
/// huge pages advised) and kept for the next call that needs no more: filling fresh memory costs page faults that took
/// about as long as the copy, and a pooled array without huge pages made the 10-fold CV's fold Grams about twice as slow
/// on AVX-512. Calls at the same time each take their own (the kept one goes to one of them).
/// </remarks>
internal static class FoldGrams
{
    /// <summary>Bytes of the fold-sorted copy of the rows at most (larger data is regrouped and summed in chunks of rows).</summary>
    internal const long RegroupChunkBytes = 32L << 20;

    /// <summary>Chunks at least this large are written around the cache (they would not stay in it anyway).</summary>
    private const long MinNonTemporalRegroupBytes = 8L << 20;

    /// <summary>Below this many values a chunk is regrouped on one thread.</summary>
    private const long MinParallelRegroupValues = 1L << 16;

    /// <summary>The regroup buffer of the last call, for the next (see the remarks).</summary>
    private static double[]? s_buffer;

    /// <summary>
    /// Adds to <paramref name="grams"/>[f] and <paramref name="sums"/>[f] the shifted Gram and column sums of columns
    /// <paramref name="cols"/> over the rows of fold f (<paramref name="foldOfRow"/>[i] is row i's fold), regrouping at most
    /// <paramref name="maxChunkRows"/> rows at a time (0: the <see cref="RegroupChunkBytes"/> budget; tests use small chunks).
    /// </summary>
    public static void Add(DenseMatrix x, int[] cols, double[] shift, int[] foldOfRow, double[][] grams, double[][] sums,
                           int threads, int maxChunkRows, CancellationToken ct)
    {
        int n = x.Rows, k = cols.Length, foldCount = grams.Length;
        if (n == 0) return;
        if (foldOfRow.Length != n) throw new ArgumentException($"{foldOfRow.Length} fold labels for {n} rows", nameof(foldOfRow));
        int chunkRows = (int)Math.Clamp(RegroupChunkBytes / ((long)k * sizeof(double)), 1, n);
        if (maxChunkRows > 0) chunkRows = Math.Min(chunkRows, maxChunkRows);
        int length = ArraySizes.Product(chunkRows, k, "the regrouped rows");
        var buffer = Interlocked.Exchange(ref s_buffer, null);
        if (buffer is null || buffer.Length < length) buffer = LargeArrays.Allocate(length);
        try
        {
            var chunk = new GramKernel.ColumnBlock(buffer, chunkRows, k);
            var compactCols = Enumerable.Range(0, k).ToArray();
            var groupStart = new int[foldCount + 1];
            var order = new int[chunkRows];
            for (int start = 0; start < n; start += chunkRows)
            {
                int m = Math.Min(chunkRows, n - start);
                SortByFold(foldOfRow, start, m, groupStart, order);
                bool nonTemporal = (long)m * k * sizeof(double) >= MinNonTemporalRegroupBytes;
                int first = start;
                // order holds positions in [0, m) by construction (SortByFold), so the columns skip Regroup's check of it.
                void Column(int c) => RegroupUnchecked(x.Column(cols[c]).Slice(first, m), order.AsSpan(0, m), buffer.AsSpan(c * chunkRows, m), nonTemporal);
                if (threads > 1 && (long)m * k >= MinParallelRegroupValues)
                    Parallel.For(0, k, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct }, Column);
                else
                    for (int c = 0; c < k; c++) Column(c);
                GramKernel.GroupedShiftedGram(chunk, compactCols, shift, groupStart, grams, sums, threads, ct, accumulate: true);
            }
        }
        finally
        {
            Volatile.Write(ref s_buffer, buffer);
        }
    }

    /// <summary>
    /// A stable counting sort of rows [start, start + m) by fold: fold f's rows go to positions
    /// [groupStart[f], groupStart[f + 1]), and order[j] is the row (counted from start) that goes to position j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortByFold(int[] foldOfRow, int start, int m, int[] groupStart, int[] order)
    {
        int foldCount = groupStart.Length - 1;
        var next = new int[foldCount];
        for (int i = start; i < start + m; i++) next[foldOfRow[i]]++;
        groupStart[0] = 0;
        for (int f = 0; f < foldCount; f++)
        {
            groupStart[f + 1] = groupStart[f] + next[f];
            next[f] = groupStart[f];
        }
        for (int i = start; i < start + m; i++) order[next[foldOfRow[i]]++] = i - start;
    }

    /// <summary>
    /// <c>target[j] = source[order[j]]</c>. With <paramref name="nonTemporal"/>, the target is written with streaming stores
    /// of the widest tier (<see cref="KernelIsa.Current"/>), which spares reading the target's lines before they are
    /// overwritten (the regrouped data is far larger than the cache); otherwise, and on the scalar tier, plain stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Regroup(ReadOnlySpan<double> source, ReadOnlySpan<int> order, Span<double> target, bool nonTemporal)
    {
        int m = target.Length;
        if (order.Length != m) throw new ArgumentException("order and target differ in length");
        foreach (int o in order)
            if ((uint)o >= (uint)source.Length) throw new ArgumentOutOfRangeException(nameof(order), $"row {o} is outside the source");
        RegroupUnchecked(source, order, target, nonTemporal);
    }

    /// <summary><see cref="Regroup"/> without the check of <paramref name="order"/> against the source (the caller's guarantee).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RegroupUnchecked(ReadOnlySpan<double> source, ReadOnlySpan<int> order, Span<double> target, bool nonTemporal)
    {
        int m = target.Length;
        var path = nonTemporal ? KernelIsa.Current : KernelPath.Scalar;
        fixed (double* src = source)
        fixed (double* dst = target)
        fixed (int* o = order)
        {
            int j = 0;
            if (path == KernelPath.Vector512)
            {
                for (; j < m && ((nint)(dst + j) & 63) != 0; j++) dst[j] = src[o[j]];
                for (; j <= m - 8; j += 8)
                    Avx512F.StoreAlignedNonTemporal(dst + j, Vector512.Create(src[o[j]], src[o[j + 1]], src[o[j + 2]], src[o[j + 3]],
                                                                              src[o[j + 4]], src[o[j + 5]], src[o[j + 6]], src[o[j + 7]]));
                Sse.StoreFence();
            }
            else if (path == KernelPath.Vector256)
            {
                for (; j < m && ((nint)(dst + j) & 31) != 0; j++) dst[j] = src[o[j]];
                for (; j <= m - 4; j += 4)
                    Avx.StoreAlignedNonTemporal(dst + j, Vector256.Create(src[o[j]], src[o[j + 1]], src[o[j + 2]], src[o[j + 3]]));
                Sse.StoreFence();
            }
            else if (path == KernelPath.Vector128 && Sse2.IsSupported)
            {
                for (; j < m && ((nint)(dst + j) & 15) != 0; j++) dst[j] = src[o[j]];
                for (; j <= m - 2; j += 2)
                    Sse2.StoreAlignedNonTemporal(dst + j, Vector128.Create(src[o[j]], src[o[j + 1]]));
                Sse.StoreFence();
            }
            for (; j < m; j++) dst[j] = src[o[j]];
        }
    }

    /// <summary>Scalar twin of <see cref="Regroup"/>.</summary>
    internal static void RegroupScalar(ReadOnlySpan<double> source, ReadOnlySpan<int> order, Span<double> target)
    {
        for (int j = 0; j < target.Length; j++) target[j] = source[order[j]];
    }
}
