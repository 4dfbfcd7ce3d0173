using System.Collections.Concurrent;
using System.Numerics.Tensors;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The passes over the rows of <see cref="MultinomialPathSolver"/>'s Newton steps, blocked by rows (<see cref="RowBlock"/>)
/// and reading the standardized columns four at a time (<see cref="ColumnKernels"/>): a class's step in its linear predictor,
/// the exact gradient of a class's working set, the full gradient of every class for the KKT check, and the fused pass of an
/// ungrouped Gram-mode class step.
/// </summary>
/// <remarks>
/// The fused pass (<see cref="StepAndPrepare"/>) is the Gauss-Seidel hand-over from class k to class k + 1 (from the last class
/// to the first of the next Newton step): per block of rows, eta_k += Δb0_k + Z Δb_k, the softmax of the block (for class k
/// alone: one exponential per row), class k + 1's Newton weights and working residual, and z_j'(y_{k+1} - p_{k+1}) over the
/// working set, while the block's columns are still in cache. The columns are read once per class step instead of twice
/// (the step, then the next gradient), and the rows' probabilities once instead of three times.
/// Every pass runs its blocks of rows on up to <see cref="_threads"/> threads (<see cref="ForBlocks"/>): the blocks are cut
/// into at most <see cref="MaxSegments"/> runs of consecutive blocks (by the row count alone), each run adds its blocks in
/// order into sums of its own, and the runs' sums are added in order afterwards, so the results are the same bits whatever
/// the thread count (with one block per run, as up to 32 768 rows, the bits of a serial pass over the blocks).
/// </remarks>
internal sealed partial class MultinomialPathSolver
{
    /// <summary>Class k's Newton weights and working residual with their sums, the raw working-set gradient z_j'(y_k - p_k) (times n)
    /// and the drift sum |w - w_ref| from the weights of class k's cached Gram matrix (<see cref="Reference"/>; infinite
    /// without one built on this working set or a part of it).</summary>
    private sealed record ClassPrep(int Class, int[] Set, double[] Dots, double WeightSum, double ResidualSum, double Drift, ClassHessian? Reference);

    /// <summary>Class k's prepared quantities, made by the previous class's fused pass (null when there are none).</summary>
    private ClassPrep? _prepared;

    // Scratch: the features a step moves and their changes.
    private int[]? _stepColumns;
    private double[]? _stepCoefficients;
    private double[]? _zMax;   // max_i |z_ij| per feature (made on first use)

    /// <summary>One thread's scratch for a block of rows: row vectors and column offsets.</summary>
    private sealed class BlockScratch(int rows, int p)
    {
        public readonly double[] Max = new double[rows], Sum = new double[rows], Step = new double[rows];
        public readonly long[] StepOffsets = new long[p], GradOffsets = new long[p];
    }

    private readonly ConcurrentBag<BlockScratch> _blockScratch = [];

    /// <summary>The fit's helper threads for the passes (started at the first parallel pass; <see cref="Release"/> stops them).</summary>
    private FitTeam? _team;

    /// <summary>The path is over (or abandoned): the helper threads end (a later pass would start others).</summary>
    internal void Release()
    {
        _team?.Stop();
        _team = null;
        // The standardized columns are kept for the next fit of the same size (one buffer per process, at most KeptArrays'
        // 64 MB; nothing of the path's result refers to them).
        if (_zData.Length <= KeptArrays.MaxKeptValues) Interlocked.Exchange(ref s_keptColumns, _zData);
    }

    /// <summary>The standardized columns of the last fit released (pinned, on huge pages where the system allows): a fresh 16 MB
    /// buffer costs its page faults and the kernel's zeroing on first touch in every fit (about 2-4% of a fit of
    /// multinom_path_20k_100 on the 2-core VM).</summary>
    private static double[]? s_keptColumns;

    /// <summary>The kept columns if they have <paramref name="length"/> values (contents undefined), else a new buffer.</summary>
    private static double[] TakeKeptColumns(int length)
    {
        var kept = Interlocked.Exchange(ref s_keptColumns, null);
        return kept is not null && kept.Length == length ? kept : LargeArrays.Allocate(length);
    }

    private BlockScratch TakeScratch() => _blockScratch.TryTake(out var s) ? s : new BlockScratch(Math.Min(RowBlock, _n), _p);

    /// <summary>Passes touching fewer row-column values than this run on one thread (a block is then a few microseconds).</summary>
    internal const long ParallelWork = 1L << 17;

    private int Blocks => (_n + RowBlock - 1) / RowBlock;

    /// <summary>The most runs of blocks a pass is cut into (each with its own partial sums).</summary>
    internal const int MaxSegments = 32;

    /// <summary>Partial sums kept at most (doubles, over all runs); a pass whose runs would need more is one run, on one thread.</summary>
    private const long MaxParts = 1L << 21;

    /// <summary>The runs of blocks of a pass whose partial sums take <paramref name="perSegment"/> doubles per run.</summary>
    private int Segments(long perSegment) => perSegment * Math.Min(Blocks, MaxSegments) <= MaxParts ? Math.Min(Blocks, MaxSegments) : 1;

    /// <summary>
    /// <paramref name="body"/>(run, block, scratch) for every block of <see cref="RowBlock"/> rows, the blocks cut into
    /// <paramref name="segments"/> runs of consecutive blocks, each run's blocks in order on one thread; the runs on up to
    /// <see cref="_threads"/> threads when the pass touches at least <see cref="ParallelWork"/> values (<paramref name="work"/>).
    /// A body writes only its block's rows and its run's slot of any sums, which the caller adds in run order (<see cref="AddParts"/>).
    /// </summary>
    private void ForBlocks(int segments, long work, Action<int, int, BlockScratch> body)
    {
        int blocks = Blocks;
        void Run(int segment, BlockScratch scratch)
        {
            int end = (int)((long)blocks * (segment + 1) / segments);
            for (int b = (int)((long)blocks * segment / segments); b < end; b++) body(segment, b, scratch);
        }
        if (_threads > 1 && segments > 1 && work >= ParallelWork)
        {
            _team ??= new FitTeam(_threads - 1);
            _team.For(segments, segment =>
            {
                var scratch = TakeScratch();
                Run(segment, scratch);
                _blockScratch.Add(scratch);
            });
            return;
        }
        var one = TakeScratch();
        for (int segment = 0; segment < segments; segment++) Run(segment, one);
        _blockScratch.Add(one);
    }

    /// <summary>result[a] += parts[g * length + a] for every run g in order.</summary>
    private static void AddParts(double[] parts, int runs, Span<double> result)
    {
        int length = result.Length;
        for (int g = 0; g < runs; g++) TensorPrimitives.Add(result, parts.AsSpan(g * length, length), result);
    }

    /// <summary>The sum of <paramref name="parts"/> in order, from <paramref name="start"/>.</summary>
    private static double SumParts(ReadOnlySpan<double> parts, double start = 0)
    {
        double sum = start;
        foreach (double part in parts) sum += part;
        return sum;
    }

    /// <summary><see cref="Refresh"/>'s pass: the summed negative log-likelihood and the smallest probability of the observed class.</summary>
    private (double Loss, double Worst) RefreshBlocks()
    {
        int segments = Segments(2);
        var sums = new double[2 * segments];   // per run: loss, smallest observed probability
        sums.AsSpan(segments).Fill(1);
        Indicator(0);   // made before the threads read it
        ForBlocks(segments, (long)_n * 4 * _classes, (g, b, scratch) =>
        {
            int i0 = b * RowBlock;
            sums[g] += RefreshRows(i0, Math.Min(RowBlock, _n - i0), scratch.Max, scratch.Sum, ref sums[segments + g]);
        });
        return (SumParts(sums.AsSpan(0, segments)), Smallest(sums.AsSpan(segments, segments)));
    }

    private static double Smallest(ReadOnlySpan<double> parts)
    {
        double min = 1;
        foreach (double part in parts) min = Math.Min(min, part);
        return min;
    }

    /// <summary>The offsets in <see cref="_zData"/> of rows [i0, ...) of the features <paramref name="columns"/>.</summary>
    private void BlockOffsets(ReadOnlySpan<int> columns, int i0, Span<long> offsets)
    {
        for (int a = 0; a < columns.Length; a++) offsets[a] = (long)columns[a] * _n + i0;
    }

    private Span<double> Z(int j) => _zData.AsSpan(j * _n, _n);

    /// <summary>Steps whose bound on |s| = |Δb0_k + Z Δb_k| is at most this update the softmax by <see cref="ShiftClass(int, int, ReadOnlySpan{double}, ref double)"/>
    /// (e^±500 is far inside double's range); larger ones recompute it (<see cref="RefreshRows"/>).</summary>
    private const double ShiftLimit = 500;

    /// <summary>Class k's weights, residual and working-set gradient in one pass of their own.</summary>
    private ClassPrep PrepareClass(int k, int[] set)
    {
        var (reference, hessian) = Reference(k, set);
        int q = set.Length, segments = Segments(q + 3);
        var dotParts = new double[segments * q];
        var sums = new double[3 * segments];   // per run: sum w, sum r, sum |w - w_ref|
        Indicator(0);   // made before the threads read it
        ForBlocks(segments, (long)_n * (q + 4), (g, b, scratch) =>
        {
            int i0 = b * RowBlock, len = Math.Min(RowBlock, _n - i0);
            ClassRows(k, i0, len, reference, ref sums[g], ref sums[segments + g], ref sums[2 * segments + g]);
            var offsets = scratch.GradOffsets.AsSpan(0, q);
            BlockOffsets(set, i0, offsets);
            ColumnKernels.AddDots(_zData, offsets, _q[k].AsSpan(i0, len), dotParts.AsSpan(g * q, q));
        });
        var dots = new double[q];
        AddParts(dotParts, segments, dots);
        double wsum = SumParts(sums.AsSpan(0, segments)), rsum = SumParts(sums.AsSpan(segments, segments));
        double drift = SumParts(sums.AsSpan(2 * segments, segments));
        return new ClassPrep(k, set, dots, wsum, rsum, reference is null ? double.PositiveInfinity : drift, hessian);
    }

    /// <summary>Class k's cached Gram matrix and its weights when it was built on this working set or a part of it (the working
    /// set only grows: <see cref="GrowHessian"/> adds the new features).</summary>
    private (double[]? Weights, ClassHessian? Hessian) Reference(int k, int[] set)
    {
        var cached = _hessians[k];
        return cached is not null && IsSubset(cached.Set, set) ? (cached.WeightRef, cached) : (null, null);
    }

    /// <summary>Whether the sorted <paramref name="part"/> is contained in the sorted <paramref name="set"/>.</summary>
    private static bool IsSubset(int[] part, int[] set)
    {
        int o = 0;
        for (int a = 0; a < set.Length && o < part.Length; a++)
            if (set[a] == part[o]) o++;
        return o == part.Length;
    }

    /// <summary>
    /// <paramref name="cached"/> extended to the larger working set <paramref name="set"/> with the weights it was built with (the
    /// working weights w = v max(p(1 - p), 1e-5) of <see cref="ClassRows"/>, observation weights v included): the
    /// entries of the features it has are kept, each new feature's row (and column) is s_a s_b z_a'W z_b and its sum s_a z_a'w,
    /// the raw shifted products of <see cref="BuildHessian"/>. One pass over blocks of rows, the new features' weighted columns
    /// dotted with the whole working set four columns at a time, two new features per sweep (<see cref="PairDotKernels"/>: each
    /// working column read once for both): (new features) x q x n multiply-adds instead of a build's q² n / 2.
    /// </summary>
    internal ClassHessian GrowHessian(ClassHessian cached, int[] set)
    {
        int q = set.Length, old = cached.Set.Length;
        var from = new int[q];   // position in the cached set, -1 for a new feature
        var fresh = new List<int>();
        for (int a = 0, o = 0; a < q; a++)
        {
            if (o < old && cached.Set[o] == set[a]) from[a] = o++;
            else { from[a] = -1; fresh.Add(a); }
        }
        var gram = new double[ArraySizes.Square(q, "the Hessian")];
        var sums = new double[q];
        for (int a = 0; a < q; a++)
        {
            if (from[a] < 0) continue;
            sums[a] = cached.Sums[from[a]];
            for (int b = 0; b < q; b++)
                if (from[b] >= 0) gram[a * q + b] = cached.Gram[from[a] * old + from[b]];
        }
        var w = cached.WeightRef;
        int count = fresh.Count, segments = Segments((long)count * (q + 1));
        var dotParts = new double[segments * count * q];
        var sumParts = new double[segments * count];
        ForBlocks(segments, (long)_n * count * q, (g, b, scratch) =>
        {
            int i0 = b * RowBlock, len = Math.Min(RowBlock, _n - i0);
            var offsets = scratch.GradOffsets.AsSpan(0, q);
            BlockOffsets(set, i0, offsets);
            var v = scratch.Step.AsSpan(0, len);
            var v1 = scratch.Sum.AsSpan(0, len);
            int f = 0;
            for (; f + 2 <= count; f += 2)
            {
                // Two new features' weighted columns against the working set, each working column read once for both.
                WeightedColumn(set[fresh[f]], i0, w, v, ref sumParts[g * count + f]);
                WeightedColumn(set[fresh[f + 1]], i0, w, v1, ref sumParts[g * count + f + 1]);
                PairDotKernels.AddDots(_zData, offsets, v, v1, dotParts.AsSpan((g * count + f) * q, q), dotParts.AsSpan((g * count + f + 1) * q, q));
            }
            if (f < count)
            {
                WeightedColumn(set[fresh[f]], i0, w, v, ref sumParts[g * count + f]);
                ColumnKernels.AddDots(_zData, offsets, v, dotParts.AsSpan((g * count + f) * q, q));
            }
        });
        var dots = new double[count * q];
        AddParts(dotParts, segments, dots);
        for (int g = 0; g < segments; g++)
            for (int f = 0; f < count; f++) sums[fresh[f]] += sumParts[g * count + f];
        for (int f = 0; f < fresh.Count; f++)
        {
            int a = fresh[f];
            double sa = _scales[set[a]];
            sums[a] *= sa;
            for (int b = 0; b < q; b++)
            {
                // Between two new features both rows have the product: keep one (the earlier row's) so the matrix is symmetric.
                if (from[b] < 0 && b < a) continue;
                double g = sa * _scales[set[b]] * dots[f * q + b];
                gram[a * q + b] = g;
                gram[b * q + a] = g;
            }
        }
        return new ClassHessian(set, gram, sums, w, cached.WeightSum);
    }

    /// <summary>v = z_j w on rows [i0, i0 + v.Length), adding sum v to <paramref name="sum"/>.</summary>
    private void WeightedColumn(int j, int i0, double[] w, Span<double> v, ref double sum)
    {
        TensorPrimitives.Multiply(_zData.AsSpan(j * _n + i0, v.Length), w.AsSpan(i0, v.Length), v);
        sum += TensorPrimitives.Sum<double>(v);
    }

    /// <summary>s = Δb0_k + Z Δb_k (class k's proposed step in its linear predictor) into <paramref name="s"/>.</summary>
    private double[] StepVector(int k, double[] s)
    {
        int nz = StepColumns(k);
        Array.Fill(s, _d0[k]);
        var offsets = new long[nz];
        BlockOffsets(_stepColumns.AsSpan(0, nz), 0, offsets);
        ColumnKernels.AddScaled(_zData, offsets, _stepCoefficients.AsSpan(0, nz), s);
        return s;
    }

    /// <summary>The features class k's step moves into <see cref="_stepColumns"/>, their Δb_kj into
    /// <see cref="_stepCoefficients"/>; returns their count.</summary>
    private int StepColumns(int k)
    {
        var columns = _stepColumns ??= new int[_p];
        var coefficients = _stepCoefficients ??= new double[_p];
        int nz = 0;
        var d = _d[k];
        for (int j = 0; j < _p; j++)
        {
            if (d[j] == 0) continue;
            columns[nz] = j;
            coefficients[nz++] = d[j];
        }
        return nz;
    }

    /// <summary>
    /// Class k's whole step taken (eta_k += Δb0_k + Z Δb_k) with the probabilities refreshed, and class <paramref name="next"/>'s
    /// weights, residual and working-set gradient prepared (<see cref="_prepared"/>), in one pass over blocks of rows.
    /// Returns the mean negative log-likelihood after the step, as <see cref="Refresh"/>. The softmax is updated for class k
    /// alone (<see cref="ShiftClass(int, int, ReadOnlySpan{double}, ref double)"/>) unless <paramref name="recompute"/> or the step is too large for it.
    /// </summary>
    private double StepAndPrepare(int k, int next, int[] set, bool recompute, bool kkt = false)
    {
        // The KKT gradient instead of class next's preparation: every class's residual against the columns outside the working set.
        int[] outside = kkt ? [.. _outer.OutsideCandidates()] : [];
        int m = outside.Length, length = _classes * m;
        int q = kkt ? 0 : set.Length;
        int nz = StepColumns(k), segments = Segments(kkt ? Math.Max(length, 5) : q + 5);
        var stepColumns = _stepColumns!;
        var coefficients = _stepCoefficients!;
        var (reference, hessian) = Reference(next, set);
        double d0 = _d0[k];
        // |s_i| <= |Δb0_k| + sum_j |Δb_kj| max_i |z_ij|.
        if (_zMax is null)
        {
            _zMax = new double[_p];
            for (int j = 0; j < _p; j++) _zMax[j] = TensorPrimitives.MaxMagnitude<double>(Z(j));
        }
        double bound = Math.Abs(d0);
        for (int a = 0; a < nz; a++) bound += Math.Abs(coefficients[a]) * _zMax[stepColumns[a]];
        bool shift = !recompute && bound <= ShiftLimit;
        var eta = _eta[k];
        var dotParts = new double[segments * q];
        var gradientParts = kkt ? new double[segments * length] : [];
        var sums = new double[5 * segments];   // per run: loss, smallest observed probability, sum w, sum r, sum |w - w_ref|
        sums.AsSpan(segments, segments).Fill(1);
        Indicator(0);   // made before the threads read it
        var labels = Labels();
        ForBlocks(segments, (long)_n * (q + nz + 4 * _classes + length), (g, b, scratch) =>
        {
            int i0 = b * RowBlock, len = Math.Min(RowBlock, _n - i0);
            var e = eta.AsSpan(i0, len);
            var sb = scratch.Step.AsSpan(0, len);
            sb.Fill(d0);
            var stepOffsets = scratch.StepOffsets.AsSpan(0, nz);
            BlockOffsets(stepColumns.AsSpan(0, nz), i0, stepOffsets);
            ColumnKernels.AddScaled(_zData, stepOffsets, coefficients.AsSpan(0, nz), sb);
            if (kkt)
            {
                if (shift)
                {
                    var moved = SoftmaxKernels.ShiftClass(_prob, i0, k, sb, e, labels.AsSpan(i0, len), ObservationSpan(i0, len), -1, [], [], []);
                    sums[g] += moved.LossChange;
                    sums[segments + g] = Math.Min(sums[segments + g], moved.Worst);
                }
                else
                {
                    TensorPrimitives.Add(e, sb, e);
                    sums[g] += RefreshRows(i0, len, scratch.Max, scratch.Sum, ref sums[segments + g]);
                }
                OutsideDots(outside, i0, len, scratch, gradientParts.AsSpan(g * length, length));
                return;
            }
            if (shift)
            {
                // eta_k += s, the softmax for class k alone and class next's weights and residual, one pass (SoftmaxKernels).
                var moved = SoftmaxKernels.ShiftClass(_prob, i0, k, sb, e, labels.AsSpan(i0, len), ObservationSpan(i0, len), next,
                                                      _w[next].AsSpan(i0, len), _q[next].AsSpan(i0, len),
                                                      reference is null ? [] : reference.AsSpan(i0, len));
                sums[g] += moved.LossChange;
                sums[segments + g] = Math.Min(sums[segments + g], moved.Worst);
                sums[2 * segments + g] += moved.WeightSum;
                sums[3 * segments + g] += moved.ResidualSum;
                sums[4 * segments + g] += moved.Drift;
            }
            else
            {
                TensorPrimitives.Add(e, sb, e);
                sums[g] += RefreshRows(i0, len, scratch.Max, scratch.Sum, ref sums[segments + g]);
                ClassRows(next, i0, len, reference, ref sums[2 * segments + g], ref sums[3 * segments + g], ref sums[4 * segments + g]);
            }
            var gradOffsets = scratch.GradOffsets.AsSpan(0, q);
            BlockOffsets(set, i0, gradOffsets);
            ColumnKernels.AddDots(_zData, gradOffsets, _q[next].AsSpan(i0, len), dotParts.AsSpan(g * q, q));
        });
        double loss = SumParts(sums.AsSpan(0, segments), shift ? _loss * _n : 0), worst = Smallest(sums.AsSpan(segments, segments));
        _separated = worst > 1 - 1e-9;
        if (kkt)
        {
            SetOutsideGradient(outside, gradientParts, segments);
            _prepared = null;
            return _loss = loss / _n;
        }
        var dots = new double[q];
        AddParts(dotParts, segments, dots);
        double wsum = SumParts(sums.AsSpan(2 * segments, segments)), rsum = SumParts(sums.AsSpan(3 * segments, segments));
        double drift = SumParts(sums.AsSpan(4 * segments, segments));
        _prepared = new ClassPrep(next, set, dots, wsum, rsum, reference is null ? double.PositiveInfinity : drift, hessian);
        return _loss = loss / _n;
    }

    /// <summary>The exact gradient g_kj = z_j'V(y_k - p_k)/n of every class and feature outside the working set (V the observation
    /// weights, 1 without; 0 when excluded or in the working set, where no caller reads it: the strong rule, the KKT check
    /// and lambda_max look only outside), reading each block of rows of the columns once for all classes.</summary>
    private void FullGradient()
    {
        var columns = _outer.OutsideCandidates().ToArray();
        int m = columns.Length, length = _classes * m, segments = Segments(length);
        var dotParts = new double[segments * length];
        if (m > 0)
        {
            Indicator(0);   // made before the threads read it
            ForBlocks(segments, (long)_n * length, (g, b, scratch) =>
            {
                int i0 = b * RowBlock;
                OutsideDots(columns, i0, Math.Min(RowBlock, _n - i0), scratch, dotParts.AsSpan(g * length, length));
            });
        }
        SetOutsideGradient(columns, dotParts, segments);
    }

    /// <summary>Adds z_j'V(y_k - p_k) over rows [i0, i0 + len) for every class k and feature j of <paramref name="columns"/> to
    /// <paramref name="parts"/> (class-major: k m + a).</summary>
    private void OutsideDots(int[] columns, int i0, int len, BlockScratch scratch, Span<double> parts)
    {
        int m = columns.Length;
        if (m == 0) return;
        var offsets = scratch.GradOffsets.AsSpan(0, m);
        BlockOffsets(columns, i0, offsets);
        var r = scratch.Sum.AsSpan(0, len);
        for (int k = 0; k < _classes; k++)
        {
            TensorPrimitives.Subtract(Indicator(k).AsSpan(i0, len), _prob[k].AsSpan(i0, len), r);
            if (_obs is { } obs) TensorPrimitives.Multiply(r, obs.AsSpan(i0, len), r);   // v (y_k - p_k)
            ColumnKernels.AddDots(_zData, offsets, r, parts.Slice(k * m, m));
        }
    }

    /// <summary>The gradient outside the working set (<see cref="_grad"/>, 0 elsewhere) from the runs' dot products of
    /// <see cref="OutsideDots"/>, added in run order.</summary>
    private void SetOutsideGradient(int[] columns, double[] parts, int segments)
    {
        int m = columns.Length, length = _classes * m;
        var dots = new double[length];
        AddParts(parts, segments, dots);
        for (int k = 0; k < _classes; k++)
        {
            Array.Clear(_grad[k]);
            for (int a = 0; a < m; a++) _grad[k][columns[a]] = dots[k * m + a] / _n;
        }
        _outsideGradientFresh = true;
    }

    /// <summary>Whether <see cref="_grad"/> is the gradient at the current point (the last class pass of a Newton step that ends
    /// its round computed it: <see cref="Converge"/> then needs no pass of its own). Cleared by every Newton step.</summary>
    private bool _outsideGradientFresh;
}
