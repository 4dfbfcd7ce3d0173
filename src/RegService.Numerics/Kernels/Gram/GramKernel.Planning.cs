
namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    /// <summary>Chooses the block size, the segments and the thread count, and creates the job (not yet allocated).</summary>
    private static GramJob CreateJob(ColumnBlock x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows, int[] groupStart,
                                     double[][]? outGrams, double[][]? outSums, bool accumulate, int maxThreads, CancellationToken ct,
                                     KernelPath path, int blockRows, bool forceThreads, double[]? sqrtWeights, int fromColumn = 0)
    {
        int count = groupStart[^1] - groupStart[0];
        path = KernelIsa.Resolve(path);
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
            long work = (long)count * (kp * kp - (long)fromColumn * fromColumn) / 2;
            threads = (int)Math.Max(1, Math.Min(threads, work / MinMultiplyAddsPerThread));
        }
        return new GramJob(x, cols, shift, rows, kp, mb, segmentStart, segmentGroup, threads, path, ct, sqrtWeights, outGrams, outSums, accumulate,
                           fromColumn / PanelWidth);
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
    /// a packed block and a zero row, and at most min(segments, <see cref="MaxBuffers"/>) accumulators of kp x kp plus kp sums,
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
        long buffers = Math.Min(segments, MaxBuffers((int)threads, (int)segments, (int)kp));
        double bytes = sizeof(double) * (threads * ((double)mb * kp + mb) + buffers * ((double)kp * kp + kp));
        return bytes >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)bytes;
    }

    /// <summary>
    /// The most segment accumulators (kp x kp plus kp sums) one call holds at once: one per thread, the running total, and
    /// finished segments waiting for an earlier one to be folded. At least threads + 3; more, up to one per segment, while
    /// they fit <see cref="RunAheadBytes"/>: a worker whose thread the system takes off its core mid-segment holds up the
    /// fold, and with only threads + 3 buffers the other worker ran three segments ahead and then waited for it, so both
    /// cores were lost instead of one (200,000 x 200 on two threads at load 19: waits of 7-345 ms in 7 of 16 calls of
    /// 0.4-1 s). Buffers are taken only when needed, so a call whose workers keep pace holds about threads + 1.
    /// </summary>
    private static int MaxBuffers(int threads, int segments, int kp)
    {
        long bufferBytes = ((long)kp * kp + kp) * sizeof(double);
        long fit = RunAheadBytes / Math.Max(bufferBytes, 1);
        return (int)Math.Max(threads + 3L, Math.Min(segments, fit));
    }

    /// <summary>
    /// Cuts the rows into segments that depend only on the group sizes and the block size: about
    /// (blocks + 1) / 2 segments in all (at most <see cref="MaxSegments"/>), shared between the groups in proportion
    /// to their rows (rounded down), at least one per non-empty group and none shorter than about two blocks; a group of
    /// 8 segments or more ends with shorter ones (the last two a quarter, the two before half the others). Boundaries inside a group
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
            // With enough blocks the group's last four segments are shorter (weights 4, ..., 4, 2, 2, 1, 1): the segment
            // a thread claims last is then about a 54th of 16 segments' rows instead of a 16th, so the threads finish
            // closer together. Otherwise equal segments.
            bool taper = share >= 8 && groupBlocks >= 8L * share;
            long weights = taper ? 4L * share - 10 : share;
            long before = 0;
            for (int s = 0; s < share; s++)
            {
                start.Add(groupStart[g] + (int)((rows * before / weights) & ~7L));
                group.Add(g);
                before += !taper ? 1 : s < share - 4 ? 4 : s < share - 2 ? 2 : 1;
            }
        }
        start.Add(groupStart[groups]);
        return (start.ToArray(), group.ToArray());
    }

    /// <summary>
    /// Rows per block: as many as keep the packed block within the budget, between 64 and <see cref="DefaultBlockRows"/>. Where
    /// the core's L2 holds less than twice the budget (512 KB on AMD Zen 2 and 3), the block is cut to about half the L2 but
    /// not below 128 rows (nor below what the budget gives): the other half holds the next block's source lines, which the
    /// kernels prefetch into L2 while they run. With a 400 KB block and 400 KB prefetched into a 512 KB L2, the packed panels
    /// and the prefetched lines evicted each other (k = 200 on Zen 3: 256 rows -> 160 rows took about 2% off one thread's CPU).
    /// </summary>
    private static int ChooseBlockRows(int kp)
    {
        long rowBytes = (long)kp * sizeof(double);
        int rows = (int)Math.Clamp((PackedBlockBudgetBytes / rowBytes) & ~7L, 64, DefaultBlockRows);
        long half = L2Bytes / 2;
        if (half > 0 && half < PackedBlockBudgetBytes)
            rows = Math.Min(rows, (int)Math.Max(128, (half / rowBytes) & ~7L));
        return rows;
    }

    /// <summary>The L2 cache of CPU 0 in bytes as Linux reports it (<c>/sys/devices/system/cpu/cpu0/cache</c>), 0 where unknown.</summary>
    private static readonly long L2Bytes = ReadL2Bytes();

    private static long ReadL2Bytes()
    {
        try
        {
            const string Root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(Root))
                return 0;
            foreach (string dir in Directory.EnumerateDirectories(Root, "index*"))
            {
                string level = File.ReadAllText(Path.Combine(dir, "level")).Trim();
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                if (level != "2" || type == "Instruction")
                    continue;
                string size = File.ReadAllText(Path.Combine(dir, "size")).Trim();
                long scale = size.EndsWith('K') ? 1024 : size.EndsWith('M') ? 1024 * 1024 : 1;
                return long.TryParse(size.TrimEnd('K', 'M'), out long value) && value > 0 ? value * scale : 0;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
