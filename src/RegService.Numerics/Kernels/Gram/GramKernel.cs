using System.Buffers;
using System.Runtime.CompilerServices;

namespace RegService.Numerics.Kernels;

/// <summary>
/// Shifted (centered) Gram matrices of a subset of columns of a column-major <see cref="DenseMatrix"/>,
/// computed in a single pass over the data.
/// </summary>
/// <remarks>
/// <para>
/// The blocked kernel follows the packing design of optimized BLAS level-3 routines
/// (Goto &amp; van de Geijn, "Anatomy of high-performance matrix multiplication", ACM TOMS 2008):
/// each thread takes a block of rows, packs it (subtracting the shift, gathering the selected rows)
/// into panels of 8 columns in which one row of a panel is one 64-byte cache line, and runs a
/// register-blocked FMA micro-kernel over the tiles of the upper triangle (a SYRK update). While the
/// kernels of one block run, they prefetch the source lines of the next block into L2, so the memory
/// traffic of packing overlaps the arithmetic.
/// </para>
/// <para>
/// The rows are cut into about 16 segments, a number that depends only on the problem size. Threads
/// claim segments dynamically (so a thread slowed down by other load on its core simply does fewer),
/// each segment accumulates into its own k x k buffer, and finished segments are added to the total in
/// segment order. The triangle is mirrored at the end, so the result is exactly symmetric and bitwise
/// reproducible whatever the thread count and scheduling. <see cref="GroupedShiftedGram"/> runs the same
/// job for several groups of contiguous rows at once (as the validation folds of a cross-validation need):
/// no segment straddles two groups, and each group's segments are folded into that group's total.
/// </para>
/// <para>
/// Memory, outside the managed heap: per thread one packed block (a few hundred rows x k rounded up to a multiple of 8),
/// and up to threads + 3 accumulators of k x k (rounded likewise; more, up to one per segment, within 16 MB), of which only the upper triangle of 8 x 8 tiles is
/// cleared, written and folded. A call's blocks are kept for the next call of the same sizes (up to 32 MB, blocks up to
/// 8 MB; <c>GramKernel.Memory.cs</c>), so repeated fits do not fault the pages in again.
/// </para>
/// <para>
/// Files by role: this one holds the API and its checks; <c>GramKernel.Scalar.cs</c> the scalar twins;
/// <c>GramKernel.Planning.cs</c> block sizes, segments and threads; <c>GramKernel.Job.cs</c> the scheduler and its native
/// memory; <c>GramKernel.Tiles.cs</c> the tile loop and each instruction-set tier's tile; <c>GramKernel.MicroKernels.cs</c> the
/// register-blocked kernels; <c>GramKernel.Prefetcher.cs</c> the L2 prefetcher; <c>GramKernel.Packing.cs</c> the packers;
/// <c>GramKernel.Memory.cs</c> the native blocks kept between calls.
/// The tier is <see cref="KernelIsa.Current"/>.
/// </para>
/// <para>
/// Row indices that are not in ascending order are sorted (on a copy) first so that the data is read
/// front to back; the result does not depend on the order of <c>rows</c>.
/// </para>
/// </remarks>
public static partial class GramKernel
{
    /// <summary>
    /// Column-major data as the kernels read it: column c is <c>Data[c * Rows .. c * Rows + Rows)</c>. A
    /// <see cref="DenseMatrix"/> is one; a pooled buffer longer than <c>Rows * Columns</c> (the fold regrouping's) is another.
    /// </summary>
    internal readonly record struct ColumnBlock(double[] Data, int Rows, int Columns)
    {
        public static implicit operator ColumnBlock(DenseMatrix x) =>
            x is null ? throw new ArgumentNullException(nameof(x)) : new(x.Data, x.Rows, x.Columns);
    }

    /// <summary>Columns per packed panel: one row of a panel is one 64-byte cache line.</summary>
    internal const int PanelWidth = 8;

    /// <summary>Default number of rows packed and multiplied per block.</summary>
    internal const int DefaultBlockRows = 256;

    /// <summary>Packed bytes per block the block-size heuristic aims for (kept well inside L2).</summary>
    private const long PackedBlockBudgetBytes = 512 * 1024;

    /// <summary>At most this many row segments (each with its own accumulator while in flight).</summary>
    private const int MaxSegments = 16;

    /// <summary>Segment accumulators beyond threads + 3 are allowed while all of them fit this many bytes (see <see cref="MaxBuffers"/>).</summary>
    private const long RunAheadBytes = 16L << 20;

    /// <summary>Below this many multiply-adds per thread, extra threads are not worth starting.</summary>
    private const long MinMultiplyAddsPerThread = 1L << 22;

    /// <summary>
    /// Computes the shifted Gram matrix and the shifted column sums of the selected columns over the selected rows:
    /// <c>gram[a*k + b] = Σ_{r∈R} (X[r, cols[a]] − shift[a]) · (X[r, cols[b]] − shift[b])</c> and
    /// <c>sums[a] = Σ_{r∈R} (X[r, cols[a]] − shift[a])</c>, where <c>k = cols.Length</c>.
    /// </summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices, each in <c>[0, x.Columns)</c>; repeats are allowed.</param>
    /// <param name="shift">One shift per selected column (<c>shift.Length == cols.Length</c>), usually the column means.</param>
    /// <param name="rows">The row indices R, each in <c>[0, x.Rows)</c>, in any order, repeats allowed;
    /// <see langword="null"/> means all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix; the first k*k values are overwritten.</param>
    /// <param name="sums">Receives the k shifted column sums; the first k values are overwritten.</param>
    /// <param name="maxThreads">Upper bound on the threads used (rows are split between them);
    /// 0 means <see cref="Environment.ProcessorCount"/>. Small problems use fewer threads.</param>
    /// <param name="ct">Checked between row blocks.</param>
    /// <remarks>
    /// With an exact shift (the column means over R) the sums are ~0 and <c>gram</c> is the centered cross-product
    /// matrix; with any other shift, the matrix centered at the means over R is <c>gram[a,b] − sums[a]·sums[b]/|R|</c>
    /// (an exact identity; with a shift close to the means the correction is small and loses little precision). Vectorized and multi-threaded code adds the terms in another order
    /// than <see cref="ShiftedGramScalar"/> (and uses fused multiply-adds), so the last bits can differ from the
    /// scalar twin. The result does not depend on <paramref name="maxThreads"/>: repeated calls give identical bits.
    /// </remarks>
    /// <exception cref="ArgumentException">Length mismatches or indices out of range.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was canceled.</exception>
    public static void ShiftedGram(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows,
                                   Span<double> gram, Span<double> sums, int maxThreads = 0, CancellationToken ct = default)
        => ShiftedGramCore(x, cols, shift, rows, gram, sums, maxThreads, ct, KernelPath.Auto, blockRows: 0, forceThreads: false);

    /// <summary>
    /// Weighted twin of <see cref="ShiftedGram"/>: <c>gram[a*k + b] = Σ_i w_i (X[r_i, cols[a]] − shift[a]) (X[r_i, cols[b]] − shift[b])</c>
    /// and <c>sums[a] = Σ_i w_i (X[r_i, cols[a]] − shift[a])</c>, where <c>r_i</c> is the i-th row of <paramref name="rows"/>
    /// (row i when it is null) and <c>w_i = weights[i]</c>. This is the Hessian block <c>X'WX</c> of a weighted
    /// least-squares or Newton step, in one pass.
    /// </summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices, each in <c>[0, x.Columns)</c>; repeats are allowed.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="weights">One finite weight ≥ 0 per selected row, by position in <paramref name="rows"/> (or per row of
    /// <paramref name="x"/> when <paramref name="rows"/> is null).</param>
    /// <param name="rows">The row indices, in any order, repeats allowed; <see langword="null"/> means all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k weighted shifted column sums.</param>
    /// <param name="maxThreads">Upper bound on the threads used; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="ct">Checked between row blocks.</param>
    /// <remarks>
    /// Each packed row is scaled by <c>sqrt(w_i)</c> and the same SYRK kernels run, so the cost is that of
    /// <see cref="ShiftedGram"/>. With the weighted means as shift the sums are ~0; otherwise the weighted centered
    /// matrix is <c>gram[a,b] − sums[a]·sums[b]/Σw</c>. The result does not depend on <paramref name="maxThreads"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">Length mismatches, indices out of range, or a negative or non-finite weight.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was canceled.</exception>
    public static void WeightedShiftedGram(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                           int[]? rows, Span<double> gram, Span<double> sums, int maxThreads = 0, CancellationToken ct = default)
        => WeightedShiftedGramCore(x, cols, shift, weights, rows, gram, sums, maxThreads, ct, KernelPath.Auto, blockRows: 0, forceThreads: false);

    /// <summary>
    /// <see cref="WeightedShiftedGram"/> for a Gram matrix that grows by columns: only the entries of the columns from
    /// <paramref name="fromColumn"/> on (<c>gram[a*k + b]</c> and <c>gram[b*k + a]</c> for every a and b ≥
    /// <paramref name="fromColumn"/>) and all the sums are computed; the entries among the earlier columns are left
    /// unspecified, for the caller to take from the matrix it had. The computed entries and the sums are bit for bit those of
    /// <see cref="WeightedShiftedGram"/> on the same arguments (the same tiles run; the others are skipped), at about
    /// <c>1 − (fromColumn / k)²</c> of its multiply-adds.
    /// </summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="weights">One weight per selected row.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="fromColumn">The first column whose entries are computed, in [0, k].</param>
    /// <param name="gram">Receives the entries of the columns from <paramref name="fromColumn"/> on.</param>
    /// <param name="sums">Receives the k weighted shifted column sums.</param>
    /// <param name="maxThreads">Upper bound on the threads; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="ct">Checked between row blocks.</param>
    internal static void WeightedShiftedGramFrom(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                                 int[]? rows, int fromColumn, Span<double> gram, Span<double> sums, int maxThreads = 0,
                                                 CancellationToken ct = default)
        => WeightedShiftedGramCore(x, cols, shift, weights, rows, gram, sums, maxThreads, ct, KernelPath.Auto, blockRows: 0, forceThreads: false,
                                   fromColumn);

    /// <summary>Implementation of <see cref="WeightedShiftedGram"/> with the knobs of <see cref="ShiftedGramCore"/>.</summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="weights">One weight per selected row.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k weighted shifted column sums.</param>
    /// <param name="maxThreads">Upper bound on the threads; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="ct">Checked between row blocks.</param>
    /// <param name="path">Instruction-set path.</param>
    /// <param name="blockRows">Rows per block (multiple of 8), 0 for the heuristic.</param>
    /// <param name="forceThreads">Use exactly <paramref name="maxThreads"/> threads.</param>
    /// <param name="fromColumn">Compute only the entries of the columns from this one on (<see cref="WeightedShiftedGramFrom"/>).</param>
    internal static void WeightedShiftedGramCore(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                                 int[]? rows, Span<double> gram, Span<double> sums, int maxThreads, CancellationToken ct,
                                                 KernelPath path, int blockRows, bool forceThreads, int fromColumn = 0)
    {
        bool ascending = true;
        if (rows is not null)
            ValidateRows(rows, x.Rows, out ascending);
        int count = rows?.Length ?? x.Rows;
        if (weights.Length != count)
            throw new ArgumentException($"weights has {weights.Length} values but there are {count} rows", nameof(weights));
        double[] sqrtWeights = ArrayPool<double>.Shared.Rent(Math.Max(count, 1));
        try
        {
            for (int i = 0; i < count; i++)
            {
                double w = weights[i];
                if (!(w >= 0 && w <= double.MaxValue))
                    throw new ArgumentException($"weights[{i}] = {w} is not a finite number >= 0", nameof(weights));
                sqrtWeights[i] = Math.Sqrt(w);
            }
            if (rows is not null && !ascending)
            {
                // Read the data front to back: sort the rows, and their weights with them (on copies).
                rows = (int[])rows.Clone();
                Array.Sort(rows, sqrtWeights, 0, count);
            }
            ShiftedGramCore(x, cols, shift, rows, gram, sums, maxThreads, ct, path, blockRows, forceThreads, sqrtWeights, fromColumn);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sqrtWeights);
        }
    }

    private static void ValidateWeights(ReadOnlySpan<double> weights, int count)
    {
        if (weights.Length != count)
            throw new ArgumentException($"weights has {weights.Length} values but there are {count} rows", nameof(weights));
        for (int i = 0; i < weights.Length; i++)
        {
            if (!(weights[i] >= 0) || double.IsPositiveInfinity(weights[i]))
                throw new ArgumentException($"weights[{i}] = {weights[i]} is not a finite number >= 0", nameof(weights));
        }
    }

    /// <summary>Implementation of <see cref="ShiftedGram"/> with the knobs tests and tuning need.</summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k shifted column sums.</param>
    /// <param name="maxThreads">Upper bound on the threads; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="ct">Checked between row blocks.</param>
    /// <param name="path">Instruction-set path; a path the hardware lacks falls back to the next one.</param>
    /// <param name="blockRows">Rows per block (multiple of 8), 0 for the heuristic.</param>
    /// <param name="forceThreads">Use exactly <paramref name="maxThreads"/> threads (as far as there are segments), ignoring the small-problem heuristic.</param>
    /// <param name="sqrtWeights">Square roots of the row weights by position (rows already ascending), or null for no weights.</param>
    /// <param name="fromColumn">Compute only the entries of the columns from this one on (<see cref="WeightedShiftedGramFrom"/>).</param>
    internal static void ShiftedGramCore(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows,
                                         Span<double> gram, Span<double> sums, int maxThreads, CancellationToken ct,
                                         KernelPath path, int blockRows, bool forceThreads, double[]? sqrtWeights = null, int fromColumn = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxThreads);
        ArgumentOutOfRangeException.ThrowIfNegative(blockRows);
        int k = Validate(x, cols, shift, gram, sums);
        ArgumentOutOfRangeException.ThrowIfNegative(fromColumn);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fromColumn, k);
        ct.ThrowIfCancellationRequested();

        if (rows is not null)
        {
            ValidateRows(rows, x.Rows, out bool ascending);
            if (!ascending)
                rows = SortedCopy(rows, x.Rows);
        }

        int count = rows?.Length ?? x.Rows;
        if (k == 0)
            return;
        if (count == 0)
        {
            gram[..(k * k)].Clear();
            sums[..k].Clear();
            return;
        }

        // The one-group case of the grouped job: the single group's total is reduced into the spans here.
        var job = CreateJob(x, cols, shift, rows, [0, count], outGrams: null, outSums: null, accumulate: false,
                            maxThreads, ct, path, blockRows, forceThreads, sqrtWeights, fromColumn);
        try
        {
            Execute(job, ct);
            job.ReduceFinal(gram, sums);
        }
        finally
        {
            job.Free();
        }
    }

    /// <summary>
    /// One shifted Gram matrix and column-sum vector per group of contiguous rows, in a single job:
    /// group g is the rows <c>[groupStart[g], groupStart[g + 1])</c> of <paramref name="x"/>, and receives
    /// <c>grams[g][a*k + b] = Σ_{r in g} (X[r, cols[a]] − shift[a]) · (X[r, cols[b]] − shift[b])</c> and
    /// <c>sums[g][a] = Σ_{r in g} (X[r, cols[a]] − shift[a])</c>.
    /// </summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices, each in <c>[0, x.Columns)</c>; repeats are allowed.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="groupStart">G + 1 non-decreasing row indices in <c>[0, x.Rows]</c>; rows before the first or from the
    /// last are not read. Groups may be empty.</param>
    /// <param name="grams">G arrays of at least k*k values each, one per group.</param>
    /// <param name="sums">G arrays of at least k values each, one per group.</param>
    /// <param name="maxThreads">Upper bound on the threads; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="ct">Checked between row blocks.</param>
    /// <param name="accumulate">Add the group's matrix and sums to the values already in <paramref name="grams"/> and
    /// <paramref name="sums"/> (so a caller can pass its rows in chunks) instead of overwriting them.</param>
    /// <remarks>
    /// The rows are cut into segments that never straddle a group boundary; threads claim segments dynamically, and
    /// finished segments are folded into their group's total strictly in segment order, so the result does not depend
    /// on <paramref name="maxThreads"/> or on scheduling. With one group the result is bitwise that of
    /// <see cref="ShiftedGram"/> over the same rows. Memory is that of <see cref="ShiftedGram"/>: the groups' totals
    /// are folded one after the other, so only one of them is in flight at a time. When <paramref name="ct"/> is canceled,
    /// the outputs of some groups may already have been written.
    /// </remarks>
    /// <exception cref="ArgumentException">Length mismatches, indices out of range or group starts not in order.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was canceled.</exception>
    internal static void GroupedShiftedGram(ColumnBlock x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[] groupStart,
                                            double[][] grams, double[][] sums, int maxThreads, CancellationToken ct, bool accumulate)
        => GroupedShiftedGramCore(x, cols, shift, groupStart, grams, sums, maxThreads, ct, accumulate, KernelPath.Auto, blockRows: 0, forceThreads: false);

    /// <summary>Implementation of <see cref="GroupedShiftedGram"/> with the knobs of <see cref="ShiftedGramCore"/>.</summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="groupStart">G + 1 non-decreasing row indices.</param>
    /// <param name="grams">One k x k output per group.</param>
    /// <param name="sums">One k-vector output per group.</param>
    /// <param name="maxThreads">Upper bound on the threads; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="ct">Checked between row blocks.</param>
    /// <param name="accumulate">Add into the outputs instead of overwriting them.</param>
    /// <param name="path">Instruction-set path.</param>
    /// <param name="blockRows">Rows per block (multiple of 8), 0 for the heuristic.</param>
    /// <param name="forceThreads">Use exactly <paramref name="maxThreads"/> threads.</param>
    internal static void GroupedShiftedGramCore(ColumnBlock x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[] groupStart,
                                                double[][] grams, double[][] sums, int maxThreads, CancellationToken ct, bool accumulate,
                                                KernelPath path, int blockRows, bool forceThreads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxThreads);
        ArgumentOutOfRangeException.ThrowIfNegative(blockRows);
        ArgumentNullException.ThrowIfNull(groupStart);
        ArgumentNullException.ThrowIfNull(grams);
        ArgumentNullException.ThrowIfNull(sums);
        int k = ValidateColumns(x, cols, shift);
        if (groupStart.Length == 0)
            throw new ArgumentException("groupStart needs at least one value", nameof(groupStart));
        int groups = groupStart.Length - 1;
        if (grams.Length != groups || sums.Length != groups)
            throw new ArgumentException($"{groups} groups need {groups} grams and sums, not {grams.Length} and {sums.Length}", nameof(grams));
        if ((uint)groupStart[0] > (uint)x.Rows)
            throw new ArgumentException($"groupStart[0] = {groupStart[0]} is outside [0, {x.Rows}]", nameof(groupStart));
        for (int g = 0; g < groups; g++)
        {
            if (groupStart[g + 1] < groupStart[g] || groupStart[g + 1] > x.Rows)
                throw new ArgumentException($"groupStart[{g + 1}] = {groupStart[g + 1]} is outside [{groupStart[g]}, {x.Rows}]", nameof(groupStart));
            if (grams[g] is null || grams[g].Length < (long)k * k)
                throw new ArgumentException($"grams[{g}] has {grams[g]?.Length ?? 0} values but {k} x {k} are needed", nameof(grams));
            if (sums[g] is null || sums[g].Length < k)
                throw new ArgumentException($"sums[{g}] has {sums[g]?.Length ?? 0} values but {k} are needed", nameof(sums));
        }
        ct.ThrowIfCancellationRequested();
        if (k == 0)
            return;
        if (!accumulate)
        {
            // Groups with rows are overwritten when their total is reduced; empty ones are zero.
            for (int g = 0; g < groups; g++)
            {
                if (groupStart[g + 1] == groupStart[g])
                {
                    grams[g].AsSpan(0, k * k).Clear();
                    sums[g].AsSpan(0, k).Clear();
                }
            }
        }
        if (groupStart[groups] == groupStart[0])
            return;

        var job = CreateJob(x, cols, shift, rows: null, groupStart, grams, sums, accumulate, maxThreads, ct, path, blockRows, forceThreads, sqrtWeights: null);
        try
        {
            Execute(job, ct);
        }
        finally
        {
            job.Free();
        }
    }
    private static int Validate(ColumnBlock x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, Span<double> gram, Span<double> sums)
    {
        int k = ValidateColumns(x, cols, shift);
        if (gram.Length < (long)k * k)
            throw new ArgumentException($"gram has {gram.Length} values but {k} x {k} are needed", nameof(gram));
        if (sums.Length < k)
            throw new ArgumentException($"sums has {sums.Length} values but {k} are needed", nameof(sums));
        return k;
    }

    private static int ValidateColumns(ColumnBlock x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift)
    {
        int k = cols.Length;
        if (shift.Length != k)
            throw new ArgumentException($"shift has {shift.Length} values but there are {k} columns", nameof(shift));
        for (int a = 0; a < k; a++)
        {
            if ((uint)cols[a] >= (uint)x.Columns)
                throw new ArgumentException($"cols[{a}] = {cols[a]} is outside [0, {x.Columns})", nameof(cols));
        }
        return k;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ValidateRows(int[] rows, int n, out bool ascending)
    {
        ascending = true;
        int previous = int.MinValue;
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if ((uint)r >= (uint)n)
                throw new ArgumentException($"rows[{i}] = {r} is outside [0, {n})", nameof(rows));
            if (r < previous)
                ascending = false;
            previous = r;
        }
    }

    /// <summary>
    /// Ascending copy of valid row indices: a counting sort (O(n + |rows|)) when the subset is dense enough,
    /// a comparison sort otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] SortedCopy(int[] rows, int n)
    {
        var sorted = new int[rows.Length];
        if (rows.Length < n / 16)
        {
            rows.CopyTo(sorted, 0);
            Array.Sort(sorted);
            return sorted;
        }
        var counts = new int[n];
        foreach (int r in rows)
            counts[r]++;
        int pos = 0;
        for (int r = 0; r < n; r++)
        {
            for (int c = counts[r]; c > 0; c--)
                sorted[pos++] = r;
        }
        return sorted;
    }
}
