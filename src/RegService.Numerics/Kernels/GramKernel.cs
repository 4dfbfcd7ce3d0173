using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RegService.Numerics.Data;

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
/// Memory, allocated once per call outside the managed heap: per thread one packed block (a few hundred
/// rows x k rounded up to a multiple of 8), and up to threads + 3 accumulators of k x k (rounded likewise).
/// </para>
/// <para>
/// Row indices that are not in ascending order are sorted (on a copy) first so that the data is read
/// front to back; the result does not depend on the order of <c>rows</c>.
/// </para>
/// </remarks>
public static class GramKernel
{
    /// <summary>Columns per packed panel: one row of a panel is one 64-byte cache line.</summary>
    internal const int PanelWidth = 8;

    /// <summary>Default number of rows packed and multiplied per block.</summary>
    internal const int DefaultBlockRows = 256;

    /// <summary>Packed bytes per block the block-size heuristic aims for (kept well inside L2).</summary>
    private const long PackedBlockBudgetBytes = 512 * 1024;

    /// <summary>At most this many row segments (each with its own accumulator while in flight).</summary>
    private const int MaxSegments = 16;

    /// <summary>Below this many multiply-adds per thread, extra threads are not worth starting.</summary>
    private const long MinMultiplyAddsPerThread = 1L << 22;

    /// <summary>Instruction-set path; tests force each path to cover the fallbacks.</summary>
    internal enum KernelPath
    {
        Auto,
        Vector512,
        Vector256,
        Scalar,
    }

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
    /// Plain scalar twin of <see cref="ShiftedGram"/> with the same contract: one thread, one term at a time in row order.
    /// Meant as a reference for tests; it is far slower.
    /// </summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices, each in <c>[0, x.Columns)</c>.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k shifted column sums.</param>
    public static void ShiftedGramScalar(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows,
                                         Span<double> gram, Span<double> sums)
    {
        int k = Validate(x, cols, shift, gram, sums);
        if (rows is not null)
            ValidateRows(rows, x.Rows, out _);
        int count = rows?.Length ?? x.Rows;
        for (int a = 0; a < k; a++)
        {
            ReadOnlySpan<double> ca = x.Column(cols[a]);
            double sa = shift[a];
            double s = 0;
            for (int i = 0; i < count; i++)
                s += ca[rows is null ? i : rows[i]] - sa;
            sums[a] = s;
            for (int b = a; b < k; b++)
            {
                ReadOnlySpan<double> cb = x.Column(cols[b]);
                double sb = shift[b];
                double g = 0;
                for (int i = 0; i < count; i++)
                {
                    int r = rows is null ? i : rows[i];
                    g += (ca[r] - sa) * (cb[r] - sb);
                }
                gram[a * k + b] = g;
                gram[b * k + a] = g;
            }
        }
    }

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

    /// <summary>Plain scalar twin of <see cref="WeightedShiftedGram"/>: one thread, one term at a time in row order. For tests.</summary>
    /// <param name="x">The column-major data.</param>
    /// <param name="cols">The column indices.</param>
    /// <param name="shift">One shift per selected column.</param>
    /// <param name="weights">One weight per selected row.</param>
    /// <param name="rows">The row indices, or <see langword="null"/> for all rows.</param>
    /// <param name="gram">Receives the k x k row-major symmetric matrix.</param>
    /// <param name="sums">Receives the k weighted shifted column sums.</param>
    public static void WeightedShiftedGramScalar(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                                 int[]? rows, Span<double> gram, Span<double> sums)
    {
        int k = Validate(x, cols, shift, gram, sums);
        if (rows is not null)
            ValidateRows(rows, x.Rows, out _);
        int count = rows?.Length ?? x.Rows;
        ValidateWeights(weights, count);
        for (int a = 0; a < k; a++)
        {
            ReadOnlySpan<double> ca = x.Column(cols[a]);
            double sa = shift[a];
            double s = 0;
            for (int i = 0; i < count; i++)
                s += weights[i] * (ca[rows is null ? i : rows[i]] - sa);
            sums[a] = s;
            for (int b = a; b < k; b++)
            {
                ReadOnlySpan<double> cb = x.Column(cols[b]);
                double sb = shift[b];
                double g = 0;
                for (int i = 0; i < count; i++)
                {
                    int r = rows is null ? i : rows[i];
                    g += weights[i] * (ca[r] - sa) * (cb[r] - sb);
                }
                gram[a * k + b] = g;
                gram[b * k + a] = g;
            }
        }
    }

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
    internal static void WeightedShiftedGramCore(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, ReadOnlySpan<double> weights,
                                                 int[]? rows, Span<double> gram, Span<double> sums, int maxThreads, CancellationToken ct,
                                                 KernelPath path, int blockRows, bool forceThreads)
    {
        ArgumentNullException.ThrowIfNull(x);
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
            ShiftedGramCore(x, cols, shift, rows, gram, sums, maxThreads, ct, path, blockRows, forceThreads, sqrtWeights);
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
    internal static void ShiftedGramCore(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows,
                                         Span<double> gram, Span<double> sums, int maxThreads, CancellationToken ct,
                                         KernelPath path, int blockRows, bool forceThreads, double[]? sqrtWeights = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxThreads);
        ArgumentOutOfRangeException.ThrowIfNegative(blockRows);
        int k = Validate(x, cols, shift, gram, sums);
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
                            maxThreads, ct, path, blockRows, forceThreads, sqrtWeights);
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
    internal static void GroupedShiftedGram(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[] groupStart,
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
    internal static void GroupedShiftedGramCore(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[] groupStart,
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

    /// <summary>Chooses the block size, the segments and the thread count, and creates the job (not yet allocated).</summary>
    private static GramJob CreateJob(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows, int[] groupStart,
                                     double[][]? outGrams, double[][]? outSums, bool accumulate, int maxThreads, CancellationToken ct,
                                     KernelPath path, int blockRows, bool forceThreads, double[]? sqrtWeights)
    {
        int count = groupStart[^1] - groupStart[0];
        path = Resolve(path);
        int kp = (cols.Length + PanelWidth - 1) / PanelWidth * PanelWidth;
        int mb = blockRows > 0 ? (blockRows + 7) & ~7 : ChooseBlockRows(kp);
        mb = Math.Min(mb, (count + 7) & ~7);

        // Fixed row segments, scheduled dynamically over the threads and folded in segment order: the result does
        // not depend on the thread count or on which thread ran what, and a thread slowed down by other load on
        // its core just ends up with fewer segments.
        var (segmentStart, segmentGroup) = PlanSegments(groupStart, mb);
        int segments = segmentGroup.Length;

        int threads = maxThreads == 0 ? Environment.ProcessorCount : maxThreads;
        threads = Math.Min(threads, segments);
        if (!forceThreads)
        {
            long work = (long)count * kp * kp / 2;
            threads = (int)Math.Max(1, Math.Min(threads, work / MinMultiplyAddsPerThread));
        }
        return new GramJob(x, cols, shift, rows, kp, mb, segmentStart, segmentGroup, threads, path, ct, sqrtWeights, outGrams, outSums, accumulate);
    }

    /// <summary>Allocates the job's buffers and runs its workers on the calling thread or in parallel.</summary>
    private static void Execute(GramJob job, CancellationToken ct)
    {
        job.Allocate();
        if (job.Threads == 1)
            job.Run(0);
        else
            Parallel.For(0, job.Threads, new ParallelOptions { MaxDegreeOfParallelism = job.Threads }, job.Run);
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// The most native bytes one call allocates for <paramref name="rows"/> rows of <paramref name="k"/> columns in
    /// <paramref name="groups"/> groups with at most <paramref name="maxThreads"/> threads (0: all processors): per thread
    /// a packed block and a zero row, and at most min(segments, threads + 3) accumulators of kp x kp plus kp sums,
    /// with the block size, segments and threads chosen as <see cref="CreateJob"/> chooses them. For cost estimates.
    /// </summary>
    internal static long NativeBytes(long rows, int k, int maxThreads, int groups = 1)
    {
        if (k <= 0 || rows <= 0) return 0;
        long kp = (k + PanelWidth - 1L) / PanelWidth * PanelWidth;
        long mb = Math.Min(ChooseBlockRows((int)Math.Min(kp, int.MaxValue)), (rows + 7) & ~7L);
        long blocks = (rows + mb - 1) / mb;
        // Each group's share is rounded down from the total but is at least one segment.
        long segments = Math.Clamp((blocks + 1) / 2, 1, MaxSegments) + Math.Max(groups - 1, 0);
        long threads = maxThreads == 0 ? Environment.ProcessorCount : maxThreads;
        threads = Math.Min(threads, segments);
        double work = (double)rows * kp * kp / 2;
        threads = (long)Math.Max(1, Math.Min(threads, work / MinMultiplyAddsPerThread));
        long buffers = Math.Min(segments, threads + 3);
        double bytes = sizeof(double) * (threads * ((double)mb * kp + mb) + buffers * ((double)kp * kp + kp));
        return bytes >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)bytes;
    }

    /// <summary>
    /// Cuts the rows into segments that depend only on the group sizes and the block size: about
    /// (blocks + 1) / 2 segments in all (at most <see cref="MaxSegments"/>), shared between the groups in proportion
    /// to their rows (rounded down), at least one per non-empty group and none shorter than about two blocks. Boundaries inside a group
    /// lie on multiples of 8 rows from its start, so that only the last block of a segment is ragged.
    /// </summary>
    /// <returns>The start row of every segment plus the end of the last one, and the group of every segment.</returns>
    private static (int[] Start, int[] Group) PlanSegments(int[] groupStart, int mb)
    {
        int groups = groupStart.Length - 1;
        long count = groupStart[groups] - groupStart[0];
        long blocks = (count + mb - 1) / mb;
        long total = Math.Clamp((blocks + 1) / 2, 1, MaxSegments);
        var start = new List<int>();
        var group = new List<int>();
        for (int g = 0; g < groups; g++)
        {
            long rows = groupStart[g + 1] - groupStart[g];
            if (rows == 0)
                continue;
            long groupBlocks = (rows + mb - 1) / mb;
            // The group's share of the segments, rounded down (each segment costs a k x k buffer to clear and fold);
            // with one group exactly `total`.
            int share = (int)Math.Clamp(total * rows / count, 1, Math.Max(1, (groupBlocks + 1) / 2));
            for (int s = 0; s < share; s++)
            {
                start.Add(groupStart[g] + (int)((rows * s / share) & ~7L));
                group.Add(g);
            }
        }
        start.Add(groupStart[groups]);
        return (start.ToArray(), group.ToArray());
    }

    private static int Validate(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, Span<double> gram, Span<double> sums)
    {
        int k = ValidateColumns(x, cols, shift);
        if (gram.Length < (long)k * k)
            throw new ArgumentException($"gram has {gram.Length} values but {k} x {k} are needed", nameof(gram));
        if (sums.Length < k)
            throw new ArgumentException($"sums has {sums.Length} values but {k} are needed", nameof(sums));
        return k;
    }

    private static int ValidateColumns(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift)
    {
        ArgumentNullException.ThrowIfNull(x);
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

    private static KernelPath Resolve(KernelPath requested)
    {
        bool has512 = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
        bool has256 = Vector256.IsHardwareAccelerated;
        return requested switch
        {
            KernelPath.Auto or KernelPath.Vector512 when has512 => KernelPath.Vector512,
            KernelPath.Auto or KernelPath.Vector512 or KernelPath.Vector256 when has256 => KernelPath.Vector256,
            _ => KernelPath.Scalar,
        };
    }

    /// <summary>Rows per block: as many as keep the packed block within the budget, between 64 and <see cref="DefaultBlockRows"/>.</summary>
    private static int ChooseBlockRows(int kp)
    {
        long rowsInBudget = PackedBlockBudgetBytes / ((long)kp * sizeof(double));
        return (int)Math.Clamp(rowsInBudget & ~7L, 64, DefaultBlockRows);
    }

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
        private readonly List<nint> _allocations = [];
        private int _nextSegment, _nextToFold, _buffersCreated;
        private bool _aborted;
        private SegmentBuffers _total, _final;

        /// <summary>Accumulator (kp x kp: entry b*kp + a holds G[a, b] for panel(a) ≤ panel(b)) and column sums (kp).</summary>
        private readonly record struct SegmentBuffers(nint Acc, nint Sums);

        public GramJob(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows, int kp, int mb,
                       int[] segmentStart, int[] segmentGroup, int threads, KernelPath path, CancellationToken ct, double[]? sqrtWeights,
                       double[][]? outGrams, double[][]? outSums, bool accumulate)
        {
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
            _maxBuffers = threads + 3;
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
                foreach (nint p in _allocations)
                    NativeMemory.AlignedFree((void*)p);
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
                    if (!ClearChecked((double*)buffers.Acc, (long)_kp * _kp) || !ProcessRows(t, _segmentStart[s], _segmentStart[s + 1], (double*)buffers.Acc, (double*)buffers.Sums))
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
                                int n = _kp * _kp;
                                Vec.Add(new ReadOnlySpan<double>((void*)done.Acc, n), new Span<double>((void*)_total.Acc, n));
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

                    // The AVX-512 kernels of this block prefetch the source lines of the next block. A sparse row
                    // subset would drag in mostly unused lines, so it is left to demand loads.
                    int next = start + m, nextEnd = Math.Min(end, next + _mb);
                    long lo = 0, hi = 0;
                    if (_path == KernelPath.Vector512 && next < nextEnd)
                    {
                        if (_rows is null)
                            (lo, hi) = (next, nextEnd);
                        else if (_rows[nextEnd - 1] - (long)_rows[next] < 2L * (nextEnd - next) + 64)
                            (lo, hi) = (_rows[next], _rows[nextEnd - 1] + 1L);
                    }
                    prefetcher.Reset(lo, hi);

                    if (sqrtWeights is not null)
                    {
                        if (_rows is null && _path == KernelPath.Vector512)
                            Pack.FullRows512Weighted(data, colOffset, shift, zero, sqrtWeights, start, m, _panels, packed, sums);
                        else
                            Pack.GatherWeighted(data, colOffset, shift, _k, rows, sqrtWeights, start, m, _panels, packed, sums);
                    }
                    else if (_rows is null && _path == KernelPath.Vector512)
                        Pack.FullRows512(data, colOffset, shift, zero, start, m, _panels, packed, sums);
                    else
                        Pack.Gather(data, colOffset, shift, _k, rows, start, m, _panels, packed, sums);

                    // With few rows and many columns one block is most of the work: the tile loops check the token
                    // per panel (m x 24 x kp multiply-adds at most between checks).
                    bool done = _path switch
                    {
                        KernelPath.Vector512 => Tiles512(packed, m, _panels, acc, _kp, ref prefetcher, _ct),
                        KernelPath.Vector256 => Tiles256(packed, m, _panels, acc, _kp, _ct),
                        _ => TilesScalar(packed, m, _panels, acc, _kp, _ct),
                    };
                    if (!done)
                        return false;
                }
            }
            return true;
        }

        /// <summary>
        /// Zeroes an accumulator in pieces of 8 MB, checking the token between them: a fresh accumulator of many columns
        /// is hundreds of megabytes, and its first touch (page faults) took about a second per 320 MB on virtual machines.
        /// </summary>
        /// <returns>False when canceled.</returns>
        private bool ClearChecked(double* p, long count)
        {
            const long Piece = 1L << 20;
            for (long at = 0; at < count; at += Piece)
            {
                if (_ct.IsCancellationRequested)
                    return false;
                NativeMemory.Clear(p + at, (nuint)Math.Min(Piece, count - at) * sizeof(double));
            }
            return true;
        }

        /// <summary>Writes the full symmetric matrix and the sums of the one group (the job of <see cref="ShiftedGramCore"/>).</summary>
        public void ReduceFinal(Span<double> gram, Span<double> sums) => Write(_final, gram, sums);

        /// <summary>Writes a folded total to <paramref name="gram"/> (mirroring the triangle) and <paramref name="sums"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Write(SegmentBuffers total, Span<double> gram, Span<double> sums)
        {
            double* acc = (double*)total.Acc;
            int k = _k;
            new ReadOnlySpan<double>((void*)total.Sums, k).CopyTo(sums);
            for (int b = 0; b < k; b++)
            {
                for (int a = 0; a <= b; a++)
                {
                    double g = acc[(long)b * _kp + a];
                    gram[a * k + b] = g;
                    gram[b * k + a] = g;
                }
            }
        }

        /// <summary>Writes (or adds) a group's folded total to its outputs as a full symmetric matrix.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ReduceGroup(int group, SegmentBuffers total)
        {
            double* acc = (double*)total.Acc;
            double* totalSums = (double*)total.Sums;
            double[] gram = _outGrams![group], sums = _outSums![group];
            int k = _k;
            if (!_accumulate)
            {
                Write(total, gram, sums);
                return;
            }
            for (int a = 0; a < k; a++)
                sums[a] += totalSums[a];
            for (int b = 0; b < k; b++)
            {
                for (int a = 0; a < b; a++)
                {
                    double g = acc[(long)b * _kp + a];
                    gram[a * k + b] += g;
                    gram[b * k + a] += g;
                }
                gram[b * k + b] += acc[(long)b * _kp + b];
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

        /// <summary>64-byte aligned native doubles, recorded for <see cref="Free"/>.</summary>
        private nint Alloc(nuint doubles, bool clear)
        {
            nuint bytes = Math.Max(doubles, 1) * sizeof(double);
            var p = (nint)NativeMemory.AlignedAlloc(bytes, 64);
            lock (_gate)
                _allocations.Add(p);
            if (clear)
                NativeMemory.Clear((void*)p, bytes);
            return p;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Tile loops. The packed block holds `panels` panels; panel p is m rows x 8 doubles at packed + p*m*8.
    // acc[b * kp + a] accumulates G[a, b]; a tile (A panels, B panel) updates acc[8*pb + j, 8*pa + i].
    // ---------------------------------------------------------------------------------------------

    /// <summary>Upper-triangle tiles of 3 A panels (24 columns) x 1 B panel (8 columns); diagonal tiles use only the A panels that are needed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Tiles512(double* packed, int m, int panels, double* acc, int kp, ref Prefetcher prefetcher, CancellationToken ct)
    {
        nint ps = (nint)m * PanelWidth;
        int tiles = 0;
        for (int pa0 = 0; pa0 < panels; pa0 += 3)
            tiles += panels - pa0;
        int linesPerTile = (int)((prefetcher.Lines + tiles - 1) / tiles);
        byte* idle = (byte*)packed;
        for (int pa0 = 0; pa0 < panels; pa0 += 3)
        {
            if (ct.IsCancellationRequested)
                return false;
            int na = Math.Min(3, panels - pa0);
            double* a = packed + pa0 * ps;
            for (int pb = pa0; pb < panels; pb++)
            {
                double* b = packed + pb * ps;
                double* c = acc + (nint)PanelWidth * pb * kp + PanelWidth * pa0;
                int budget = linesPerTile;
                prefetcher.Take(ref budget, m, idle, out byte* pf1, out nint step1);
                prefetcher.Take(ref budget, m, idle, out byte* pf2, out nint step2);
                switch (Math.Min(na, pb - pa0 + 1))
                {
                    case 3:
                        Kernel512x3(a, ps, b, m, c, kp, pf1, step1, pf2, step2);
                        break;
                    case 2:
                        Kernel512x2(a, ps, b, m, c, kp, pf1, step1, pf2, step2);
                        break;
                    default:
                        Kernel512x1(a, b, m, c, kp, pf1, step1, pf2, step2);
                        break;
                }
            }
        }
        return true;
    }

    /// <summary>Upper-triangle tiles of 1 A panel x half a B panel (4 columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Tiles256(double* packed, int m, int panels, double* acc, int kp, CancellationToken ct)
    {
        nint ps = (nint)m * PanelWidth;
        for (int pb = 0; pb < panels; pb++)
        {
            if (ct.IsCancellationRequested)
                return false;
            for (int pa = 0; pa <= pb; pa++)
            {
                double* a = packed + pa * ps;
                double* b = packed + pb * ps;
                double* c = acc + (nint)PanelWidth * pb * kp + PanelWidth * pa;
                Kernel256(a, b, m, c, kp);
                Kernel256(a, b + 4, m, c + 4 * (nint)kp, kp);
            }
        }
        return true;
    }

    /// <summary>Upper-triangle tiles of 1 A panel x 1 B panel, plain scalar code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool TilesScalar(double* packed, int m, int panels, double* acc, int kp, CancellationToken ct)
    {
        nint ps = (nint)m * PanelWidth;
        double* t = stackalloc double[PanelWidth * PanelWidth];
        for (int pb = 0; pb < panels; pb++)
        {
            if (ct.IsCancellationRequested)
                return false;
            for (int pa = 0; pa <= pb; pa++)
            {
                double* a = packed + pa * ps;
                double* b = packed + pb * ps;
                new Span<double>(t, PanelWidth * PanelWidth).Clear();
                for (int r = 0; r < m; r++, a += PanelWidth, b += PanelWidth)
                {
                    for (int j = 0; j < PanelWidth; j++)
                    {
                        double bj = b[j];
                        for (int i = 0; i < PanelWidth; i++)
                            t[j * PanelWidth + i] += a[i] * bj;
                    }
                }
                double* c = acc + (nint)PanelWidth * pb * kp + PanelWidth * pa;
                for (int j = 0; j < PanelWidth; j++)
                    for (int i = 0; i < PanelWidth; i++)
                        c[j * (nint)kp + i] += t[j * PanelWidth + i];
            }
        }
        return true;
    }

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

    // ---------------------------------------------------------------------------------------------
    // Micro-kernels. For r in [0, m): acc[:, j] += A[r, 0..8n) * B[r, j] for j in 0..8 (A in n zmm
    // vectors from n panels, B broadcast), then the accumulators are added to c (column j at c + j*ldc).
    // ---------------------------------------------------------------------------------------------

    /// <summary>3 x 8 micro-kernel: 24 zmm accumulators, 3 A vectors, B broadcasts straight from memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel512x3(double* a, nint aStride, double* b, int m, double* c, nint ldc, byte* pf1, nint step1, byte* pf2, nint step2)
    {
        Vector512<double> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c05 = default, c06 = default, c07 = default;
        Vector512<double> c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default, c16 = default, c17 = default;
        Vector512<double> c20 = default, c21 = default, c22 = default, c23 = default, c24 = default, c25 = default, c26 = default, c27 = default;
        double* a0 = a, a1 = a + aStride, a2 = a + 2 * aStride;
        for (int r = 0; r < m; r++)
        {
            Vector512<double> x0 = Vector512.LoadAligned(a0);
            Vector512<double> x1 = Vector512.LoadAligned(a1);
            Vector512<double> x2 = Vector512.LoadAligned(a2);
            Vector512<double> y = Vector512.Create(b[0]);
            c00 = Vector512.FusedMultiplyAdd(x0, y, c00); c10 = Vector512.FusedMultiplyAdd(x1, y, c10); c20 = Vector512.FusedMultiplyAdd(x2, y, c20);
            y = Vector512.Create(b[1]);
            c01 = Vector512.FusedMultiplyAdd(x0, y, c01); c11 = Vector512.FusedMultiplyAdd(x1, y, c11); c21 = Vector512.FusedMultiplyAdd(x2, y, c21);
            y = Vector512.Create(b[2]);
            c02 = Vector512.FusedMultiplyAdd(x0, y, c02); c12 = Vector512.FusedMultiplyAdd(x1, y, c12); c22 = Vector512.FusedMultiplyAdd(x2, y, c22);
            y = Vector512.Create(b[3]);
            c03 = Vector512.FusedMultiplyAdd(x0, y, c03); c13 = Vector512.FusedMultiplyAdd(x1, y, c13); c23 = Vector512.FusedMultiplyAdd(x2, y, c23);
            y = Vector512.Create(b[4]);
            c04 = Vector512.FusedMultiplyAdd(x0, y, c04); c14 = Vector512.FusedMultiplyAdd(x1, y, c14); c24 = Vector512.FusedMultiplyAdd(x2, y, c24);
            y = Vector512.Create(b[5]);
            c05 = Vector512.FusedMultiplyAdd(x0, y, c05); c15 = Vector512.FusedMultiplyAdd(x1, y, c15); c25 = Vector512.FusedMultiplyAdd(x2, y, c25);
            y = Vector512.Create(b[6]);
            c06 = Vector512.FusedMultiplyAdd(x0, y, c06); c16 = Vector512.FusedMultiplyAdd(x1, y, c16); c26 = Vector512.FusedMultiplyAdd(x2, y, c26);
            y = Vector512.Create(b[7]);
            c07 = Vector512.FusedMultiplyAdd(x0, y, c07); c17 = Vector512.FusedMultiplyAdd(x1, y, c17); c27 = Vector512.FusedMultiplyAdd(x2, y, c27);
            a0 += PanelWidth;
            a1 += PanelWidth;
            a2 += PanelWidth;
            b += PanelWidth;
            Sse.Prefetch1(pf1);
            Sse.Prefetch1(pf2);
            pf1 += step1;
            pf2 += step2;
        }
        AddTo(c, c00, c10, c20); AddTo(c + ldc, c01, c11, c21); AddTo(c + 2 * ldc, c02, c12, c22); AddTo(c + 3 * ldc, c03, c13, c23);
        AddTo(c + 4 * ldc, c04, c14, c24); AddTo(c + 5 * ldc, c05, c15, c25); AddTo(c + 6 * ldc, c06, c16, c26); AddTo(c + 7 * ldc, c07, c17, c27);
    }

    /// <summary>2 x 8 micro-kernel (16 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel512x2(double* a, nint aStride, double* b, int m, double* c, nint ldc, byte* pf1, nint step1, byte* pf2, nint step2)
    {
        Vector512<double> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c05 = default, c06 = default, c07 = default;
        Vector512<double> c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default, c16 = default, c17 = default;
        double* a0 = a, a1 = a + aStride;
        for (int r = 0; r < m; r++)
        {
            Vector512<double> x0 = Vector512.LoadAligned(a0);
            Vector512<double> x1 = Vector512.LoadAligned(a1);
            Vector512<double> y = Vector512.Create(b[0]);
            c00 = Vector512.FusedMultiplyAdd(x0, y, c00); c10 = Vector512.FusedMultiplyAdd(x1, y, c10);
            y = Vector512.Create(b[1]);
            c01 = Vector512.FusedMultiplyAdd(x0, y, c01); c11 = Vector512.FusedMultiplyAdd(x1, y, c11);
            y = Vector512.Create(b[2]);
            c02 = Vector512.FusedMultiplyAdd(x0, y, c02); c12 = Vector512.FusedMultiplyAdd(x1, y, c12);
            y = Vector512.Create(b[3]);
            c03 = Vector512.FusedMultiplyAdd(x0, y, c03); c13 = Vector512.FusedMultiplyAdd(x1, y, c13);
            y = Vector512.Create(b[4]);
            c04 = Vector512.FusedMultiplyAdd(x0, y, c04); c14 = Vector512.FusedMultiplyAdd(x1, y, c14);
            y = Vector512.Create(b[5]);
            c05 = Vector512.FusedMultiplyAdd(x0, y, c05); c15 = Vector512.FusedMultiplyAdd(x1, y, c15);
            y = Vector512.Create(b[6]);
            c06 = Vector512.FusedMultiplyAdd(x0, y, c06); c16 = Vector512.FusedMultiplyAdd(x1, y, c16);
            y = Vector512.Create(b[7]);
            c07 = Vector512.FusedMultiplyAdd(x0, y, c07); c17 = Vector512.FusedMultiplyAdd(x1, y, c17);
            a0 += PanelWidth;
            a1 += PanelWidth;
            b += PanelWidth;
            Sse.Prefetch1(pf1);
            Sse.Prefetch1(pf2);
            pf1 += step1;
            pf2 += step2;
        }
        AddTo(c, c00, c10); AddTo(c + ldc, c01, c11); AddTo(c + 2 * ldc, c02, c12); AddTo(c + 3 * ldc, c03, c13);
        AddTo(c + 4 * ldc, c04, c14); AddTo(c + 5 * ldc, c05, c15); AddTo(c + 6 * ldc, c06, c16); AddTo(c + 7 * ldc, c07, c17);
    }

    /// <summary>1 x 8 micro-kernel (8 accumulators), for diagonal tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel512x1(double* a, double* b, int m, double* c, nint ldc, byte* pf1, nint step1, byte* pf2, nint step2)
    {
        Vector512<double> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int r = 0; r < m; r++)
        {
            Vector512<double> x = Vector512.LoadAligned(a);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[0]), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[1]), c1);
            c2 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[2]), c2);
            c3 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[3]), c3);
            c4 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[4]), c4);
            c5 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[5]), c5);
            c6 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[6]), c6);
            c7 = Vector512.FusedMultiplyAdd(x, Vector512.Create(b[7]), c7);
            a += PanelWidth;
            b += PanelWidth;
            Sse.Prefetch1(pf1);
            Sse.Prefetch1(pf2);
            pf1 += step1;
            pf2 += step2;
        }
        AddTo(c, c0); AddTo(c + ldc, c1); AddTo(c + 2 * ldc, c2); AddTo(c + 3 * ldc, c3);
        AddTo(c + 4 * ldc, c4); AddTo(c + 5 * ldc, c5); AddTo(c + 6 * ldc, c6); AddTo(c + 7 * ldc, c7);
    }

    /// <summary>Vector256 micro-kernel: one A panel (2 ymm) x 4 B columns (8 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel256(double* a, double* b, int m, double* c, nint ldc)
    {
        Vector256<double> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<double> c10 = default, c11 = default, c12 = default, c13 = default;
        for (int r = 0; r < m; r++)
        {
            Vector256<double> x0 = Vector256.Load(a);
            Vector256<double> x1 = Vector256.Load(a + 4);
            Vector256<double> y = Vector256.Create(b[0]);
            c00 = Vector256.MultiplyAddEstimate(x0, y, c00); c10 = Vector256.MultiplyAddEstimate(x1, y, c10);
            y = Vector256.Create(b[1]);
            c01 = Vector256.MultiplyAddEstimate(x0, y, c01); c11 = Vector256.MultiplyAddEstimate(x1, y, c11);
            y = Vector256.Create(b[2]);
            c02 = Vector256.MultiplyAddEstimate(x0, y, c02); c12 = Vector256.MultiplyAddEstimate(x1, y, c12);
            y = Vector256.Create(b[3]);
            c03 = Vector256.MultiplyAddEstimate(x0, y, c03); c13 = Vector256.MultiplyAddEstimate(x1, y, c13);
            a += PanelWidth;
            b += PanelWidth;
        }
        AddTo(c, c00, c10); AddTo(c + ldc, c01, c11); AddTo(c + 2 * ldc, c02, c12); AddTo(c + 3 * ldc, c03, c13);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector512<double> v0)
        => Vector512.StoreAligned(Vector512.LoadAligned(c) + v0, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector512<double> v0, Vector512<double> v1)
    {
        Vector512.StoreAligned(Vector512.LoadAligned(c) + v0, c);
        Vector512.StoreAligned(Vector512.LoadAligned(c + 8) + v1, c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector512<double> v0, Vector512<double> v1, Vector512<double> v2)
    {
        Vector512.StoreAligned(Vector512.LoadAligned(c) + v0, c);
        Vector512.StoreAligned(Vector512.LoadAligned(c + 8) + v1, c + 8);
        Vector512.StoreAligned(Vector512.LoadAligned(c + 16) + v2, c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector256<double> v0, Vector256<double> v1)
    {
        Vector256.Store(Vector256.Load(c) + v0, c);
        Vector256.Store(Vector256.Load(c + 4) + v1, c + 4);
    }

    // ---------------------------------------------------------------------------------------------
    // Packing: rows [start, start + m) of the (selected) rows into panels of 8 columns, shift subtracted,
    // padding columns zero; the shifted values are also added to the per-thread column sums.
    // ---------------------------------------------------------------------------------------------

    private static class Pack
    {
        /// <summary>
        /// All-rows packing with AVX-512: eight column segments of eight rows are loaded, shifted and transposed
        /// in registers (unpack + 128-bit lane shuffles) into eight packed rows.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void FullRows512(double* data, long* colOffset, double* shift, double* zero,
                                              int start, int m, int panels, double* packed, double* sums)
        {
            for (int p = 0; p < panels; p++)
            {
                long* off = colOffset + p * PanelWidth;
                double* sh = shift + p * PanelWidth;
                double* s0 = off[0] >= 0 ? data + off[0] + start : zero;
                double* s1 = off[1] >= 0 ? data + off[1] + start : zero;
                double* s2 = off[2] >= 0 ? data + off[2] + start : zero;
                double* s3 = off[3] >= 0 ? data + off[3] + start : zero;
                double* s4 = off[4] >= 0 ? data + off[4] + start : zero;
                double* s5 = off[5] >= 0 ? data + off[5] + start : zero;
                double* s6 = off[6] >= 0 ? data + off[6] + start : zero;
                double* s7 = off[7] >= 0 ? data + off[7] + start : zero;
                Vector512<double> h0 = Vector512.Create(sh[0]), h1 = Vector512.Create(sh[1]), h2 = Vector512.Create(sh[2]), h3 = Vector512.Create(sh[3]);
                Vector512<double> h4 = Vector512.Create(sh[4]), h5 = Vector512.Create(sh[5]), h6 = Vector512.Create(sh[6]), h7 = Vector512.Create(sh[7]);
                double* dst = packed + (nint)p * m * PanelWidth;
                Vector512<double> total = default;
                int r = 0;
                for (; r <= m - 8; r += 8)
                {
                    Vector512<double> v0 = Vector512.Load(s0 + r) - h0;
                    Vector512<double> v1 = Vector512.Load(s1 + r) - h1;
                    Vector512<double> v2 = Vector512.Load(s2 + r) - h2;
                    Vector512<double> v3 = Vector512.Load(s3 + r) - h3;
                    Vector512<double> v4 = Vector512.Load(s4 + r) - h4;
                    Vector512<double> v5 = Vector512.Load(s5 + r) - h5;
                    Vector512<double> v6 = Vector512.Load(s6 + r) - h6;
                    Vector512<double> v7 = Vector512.Load(s7 + r) - h7;

                    // t0 = [v0_0 v1_0 | v0_2 v1_2 | v0_4 v1_4 | v0_6 v1_6], t1 = the odd elements, etc.
                    Vector512<double> t0 = Avx512F.UnpackLow(v0, v1), t1 = Avx512F.UnpackHigh(v0, v1);
                    Vector512<double> t2 = Avx512F.UnpackLow(v2, v3), t3 = Avx512F.UnpackHigh(v2, v3);
                    Vector512<double> t4 = Avx512F.UnpackLow(v4, v5), t5 = Avx512F.UnpackHigh(v4, v5);
                    Vector512<double> t6 = Avx512F.UnpackLow(v6, v7), t7 = Avx512F.UnpackHigh(v6, v7);

                    // 0x88 takes 128-bit lanes (0, 2) of each source, 0xDD lanes (1, 3):
                    // u0 = [v0_0 v1_0 | v0_4 v1_4 | v2_0 v3_0 | v2_4 v3_4], u1 = the same for elements 2 and 6, ...
                    Vector512<double> u0 = Avx512F.Shuffle4x128(t0, t2, 0x88), u1 = Avx512F.Shuffle4x128(t0, t2, 0xDD);
                    Vector512<double> u2 = Avx512F.Shuffle4x128(t1, t3, 0x88), u3 = Avx512F.Shuffle4x128(t1, t3, 0xDD);
                    Vector512<double> u4 = Avx512F.Shuffle4x128(t4, t6, 0x88), u5 = Avx512F.Shuffle4x128(t4, t6, 0xDD);
                    Vector512<double> u6 = Avx512F.Shuffle4x128(t5, t7, 0x88), u7 = Avx512F.Shuffle4x128(t5, t7, 0xDD);

                    Vector512<double> w0 = Avx512F.Shuffle4x128(u0, u4, 0x88), w4 = Avx512F.Shuffle4x128(u0, u4, 0xDD);
                    Vector512<double> w2 = Avx512F.Shuffle4x128(u1, u5, 0x88), w6 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
                    Vector512<double> w1 = Avx512F.Shuffle4x128(u2, u6, 0x88), w5 = Avx512F.Shuffle4x128(u2, u6, 0xDD);
                    Vector512<double> w3 = Avx512F.Shuffle4x128(u3, u7, 0x88), w7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);

                    double* d = dst + r * PanelWidth;
                    Vector512.StoreAligned(w0, d);
                    Vector512.StoreAligned(w1, d + 8);
                    Vector512.StoreAligned(w2, d + 16);
                    Vector512.StoreAligned(w3, d + 24);
                    Vector512.StoreAligned(w4, d + 32);
                    Vector512.StoreAligned(w5, d + 40);
                    Vector512.StoreAligned(w6, d + 48);
                    Vector512.StoreAligned(w7, d + 56);
                    total += ((w0 + w1) + (w2 + w3)) + ((w4 + w5) + (w6 + w7));
                }
                for (; r < m; r++)
                {
                    double* d = dst + r * PanelWidth;
                    d[0] = s0[r] - sh[0];
                    d[1] = s1[r] - sh[1];
                    d[2] = s2[r] - sh[2];
                    d[3] = s3[r] - sh[3];
                    d[4] = s4[r] - sh[4];
                    d[5] = s5[r] - sh[5];
                    d[6] = s6[r] - sh[6];
                    d[7] = s7[r] - sh[7];
                    total += Vector512.LoadAligned(d);
                }
                double* sp = sums + p * PanelWidth;
                Vector512.StoreAligned(Vector512.LoadAligned(sp) + total, sp);
            }
        }

        /// <summary>
        /// Portable packing, element by element: row <c>rows[start + i]</c> (or <c>start + i</c> when
        /// <paramref name="rows"/> is null) becomes packed row i.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Gather(double* data, long* colOffset, double* shift, int k, int* rows,
                                         int start, int m, int panels, double* packed, double* sums)
        {
            for (int p = 0; p < panels; p++)
            {
                double* dst = packed + (nint)p * m * PanelWidth;
                int c0 = p * PanelWidth;
                int nc = Math.Min(PanelWidth, k - c0);
                if (nc == PanelWidth)
                {
                    double* s0 = data + colOffset[c0], s1 = data + colOffset[c0 + 1], s2 = data + colOffset[c0 + 2], s3 = data + colOffset[c0 + 3];
                    double* s4 = data + colOffset[c0 + 4], s5 = data + colOffset[c0 + 5], s6 = data + colOffset[c0 + 6], s7 = data + colOffset[c0 + 7];
                    double h0 = shift[c0], h1 = shift[c0 + 1], h2 = shift[c0 + 2], h3 = shift[c0 + 3];
                    double h4 = shift[c0 + 4], h5 = shift[c0 + 5], h6 = shift[c0 + 6], h7 = shift[c0 + 7];
                    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
                    for (int i = 0; i < m; i++)
                    {
                        nint r = rows is null ? start + i : rows[start + i];
                        double* d = dst + i * PanelWidth;
                        double v0 = s0[r] - h0, v1 = s1[r] - h1, v2 = s2[r] - h2, v3 = s3[r] - h3;
                        double v4 = s4[r] - h4, v5 = s5[r] - h5, v6 = s6[r] - h6, v7 = s7[r] - h7;
                        d[0] = v0; d[1] = v1; d[2] = v2; d[3] = v3; d[4] = v4; d[5] = v5; d[6] = v6; d[7] = v7;
                        a0 += v0; a1 += v1; a2 += v2; a3 += v3; a4 += v4; a5 += v5; a6 += v6; a7 += v7;
                    }
                    double* sp = sums + c0;
                    sp[0] += a0; sp[1] += a1; sp[2] += a2; sp[3] += a3; sp[4] += a4; sp[5] += a5; sp[6] += a6; sp[7] += a7;
                }
                else
                {
                    for (int c = 0; c < PanelWidth; c++)
                    {
                        double* d = dst + c;
                        if (c >= nc)
                        {
                            for (int i = 0; i < m; i++)
                                d[i * PanelWidth] = 0;
                            continue;
                        }
                        double* s = data + colOffset[c0 + c];
                        double h = shift[c0 + c];
                        double acc = 0;
                        for (int i = 0; i < m; i++)
                        {
                            nint r = rows is null ? start + i : rows[start + i];
                            double v = s[r] - h;
                            d[i * PanelWidth] = v;
                            acc += v;
                        }
                        sums[c0 + c] += acc;
                    }
                }
            }
        }
        /// <summary>
        /// As <see cref="FullRows512"/>, each row scaled by its <c>sqrt(w)</c>; the sums receive <c>Σ w (x − shift)</c>
        /// (the packed values times <c>sqrt(w)</c> once more), accumulated per column before the transpose.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void FullRows512Weighted(double* data, long* colOffset, double* shift, double* zero, double* sqrtWeights,
                                                      int start, int m, int panels, double* packed, double* sums)
        {
            double* sw = sqrtWeights + start;
            for (int p = 0; p < panels; p++)
            {
                long* off = colOffset + p * PanelWidth;
                double* sh = shift + p * PanelWidth;
                double* s0 = off[0] >= 0 ? data + off[0] + start : zero;
                double* s1 = off[1] >= 0 ? data + off[1] + start : zero;
                double* s2 = off[2] >= 0 ? data + off[2] + start : zero;
                double* s3 = off[3] >= 0 ? data + off[3] + start : zero;
                double* s4 = off[4] >= 0 ? data + off[4] + start : zero;
                double* s5 = off[5] >= 0 ? data + off[5] + start : zero;
                double* s6 = off[6] >= 0 ? data + off[6] + start : zero;
                double* s7 = off[7] >= 0 ? data + off[7] + start : zero;
                Vector512<double> h0 = Vector512.Create(sh[0]), h1 = Vector512.Create(sh[1]), h2 = Vector512.Create(sh[2]), h3 = Vector512.Create(sh[3]);
                Vector512<double> h4 = Vector512.Create(sh[4]), h5 = Vector512.Create(sh[5]), h6 = Vector512.Create(sh[6]), h7 = Vector512.Create(sh[7]);
                Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                double* dst = packed + (nint)p * m * PanelWidth;
                int r = 0;
                for (; r <= m - 8; r += 8)
                {
                    Vector512<double> q = Vector512.Load(sw + r);
                    Vector512<double> v0 = (Vector512.Load(s0 + r) - h0) * q;
                    Vector512<double> v1 = (Vector512.Load(s1 + r) - h1) * q;
                    Vector512<double> v2 = (Vector512.Load(s2 + r) - h2) * q;
                    Vector512<double> v3 = (Vector512.Load(s3 + r) - h3) * q;
                    Vector512<double> v4 = (Vector512.Load(s4 + r) - h4) * q;
                    Vector512<double> v5 = (Vector512.Load(s5 + r) - h5) * q;
                    Vector512<double> v6 = (Vector512.Load(s6 + r) - h6) * q;
                    Vector512<double> v7 = (Vector512.Load(s7 + r) - h7) * q;
                    a0 = Vector512.FusedMultiplyAdd(v0, q, a0); a1 = Vector512.FusedMultiplyAdd(v1, q, a1);
                    a2 = Vector512.FusedMultiplyAdd(v2, q, a2); a3 = Vector512.FusedMultiplyAdd(v3, q, a3);
                    a4 = Vector512.FusedMultiplyAdd(v4, q, a4); a5 = Vector512.FusedMultiplyAdd(v5, q, a5);
                    a6 = Vector512.FusedMultiplyAdd(v6, q, a6); a7 = Vector512.FusedMultiplyAdd(v7, q, a7);

                    Vector512<double> t0 = Avx512F.UnpackLow(v0, v1), t1 = Avx512F.UnpackHigh(v0, v1);
                    Vector512<double> t2 = Avx512F.UnpackLow(v2, v3), t3 = Avx512F.UnpackHigh(v2, v3);
                    Vector512<double> t4 = Avx512F.UnpackLow(v4, v5), t5 = Avx512F.UnpackHigh(v4, v5);
                    Vector512<double> t6 = Avx512F.UnpackLow(v6, v7), t7 = Avx512F.UnpackHigh(v6, v7);
                    Vector512<double> u0 = Avx512F.Shuffle4x128(t0, t2, 0x88), u1 = Avx512F.Shuffle4x128(t0, t2, 0xDD);
                    Vector512<double> u2 = Avx512F.Shuffle4x128(t1, t3, 0x88), u3 = Avx512F.Shuffle4x128(t1, t3, 0xDD);
                    Vector512<double> u4 = Avx512F.Shuffle4x128(t4, t6, 0x88), u5 = Avx512F.Shuffle4x128(t4, t6, 0xDD);
                    Vector512<double> u6 = Avx512F.Shuffle4x128(t5, t7, 0x88), u7 = Avx512F.Shuffle4x128(t5, t7, 0xDD);
                    Vector512<double> w0 = Avx512F.Shuffle4x128(u0, u4, 0x88), w4 = Avx512F.Shuffle4x128(u0, u4, 0xDD);
                    Vector512<double> w2 = Avx512F.Shuffle4x128(u1, u5, 0x88), w6 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
                    Vector512<double> w1 = Avx512F.Shuffle4x128(u2, u6, 0x88), w5 = Avx512F.Shuffle4x128(u2, u6, 0xDD);
                    Vector512<double> w3 = Avx512F.Shuffle4x128(u3, u7, 0x88), w7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);

                    double* d = dst + r * PanelWidth;
                    Vector512.StoreAligned(w0, d);
                    Vector512.StoreAligned(w1, d + 8);
                    Vector512.StoreAligned(w2, d + 16);
                    Vector512.StoreAligned(w3, d + 24);
                    Vector512.StoreAligned(w4, d + 32);
                    Vector512.StoreAligned(w5, d + 40);
                    Vector512.StoreAligned(w6, d + 48);
                    Vector512.StoreAligned(w7, d + 56);
                }
                double* sp = sums + p * PanelWidth;
                double e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0, e5 = 0, e6 = 0, e7 = 0;
                for (; r < m; r++)
                {
                    double q = sw[r];
                    double* d = dst + r * PanelWidth;
                    d[0] = (s0[r] - sh[0]) * q; e0 += d[0] * q;
                    d[1] = (s1[r] - sh[1]) * q; e1 += d[1] * q;
                    d[2] = (s2[r] - sh[2]) * q; e2 += d[2] * q;
                    d[3] = (s3[r] - sh[3]) * q; e3 += d[3] * q;
                    d[4] = (s4[r] - sh[4]) * q; e4 += d[4] * q;
                    d[5] = (s5[r] - sh[5]) * q; e5 += d[5] * q;
                    d[6] = (s6[r] - sh[6]) * q; e6 += d[6] * q;
                    d[7] = (s7[r] - sh[7]) * q; e7 += d[7] * q;
                }
                sp[0] += Vector512.Sum(a0) + e0; sp[1] += Vector512.Sum(a1) + e1; sp[2] += Vector512.Sum(a2) + e2; sp[3] += Vector512.Sum(a3) + e3;
                sp[4] += Vector512.Sum(a4) + e4; sp[5] += Vector512.Sum(a5) + e5; sp[6] += Vector512.Sum(a6) + e6; sp[7] += Vector512.Sum(a7) + e7;
            }
        }

        /// <summary>
        /// As <see cref="Gather"/>, each row scaled by <c>sqrt(w)</c> (by position: <c>sqrtWeights[start + i]</c>);
        /// the sums receive <c>Σ w (x − shift)</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void GatherWeighted(double* data, long* colOffset, double* shift, int k, int* rows, double* sqrtWeights,
                                                 int start, int m, int panels, double* packed, double* sums)
        {
            double* sw = sqrtWeights + start;
            for (int p = 0; p < panels; p++)
            {
                double* dst = packed + (nint)p * m * PanelWidth;
                int c0 = p * PanelWidth;
                int nc = Math.Min(PanelWidth, k - c0);
                for (int c = 0; c < PanelWidth; c++)
                {
                    double* d = dst + c;
                    if (c >= nc)
                    {
                        for (int i = 0; i < m; i++)
                            d[i * PanelWidth] = 0;
                        continue;
                    }
                    double* s = data + colOffset[c0 + c];
                    double h = shift[c0 + c];
                    double acc = 0;
                    for (int i = 0; i < m; i++)
                    {
                        nint r = rows is null ? start + i : rows[start + i];
                        double q = sw[i];
                        double v = (s[r] - h) * q;
                        d[i * PanelWidth] = v;
                        acc += v * q;
                    }
                    sums[c0 + c] += acc;
                }
            }
        }
    }
}
