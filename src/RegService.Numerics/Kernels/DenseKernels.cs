using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The dense-layer products of the stochastic solvers and the MLP, over row-major buffers:
/// <code>
/// C(m, n) = init(m, n) + sum_t A(m, t) B(t, n),   m &lt; rows, n &lt; cols, t &lt; depth
/// A(m, t) = a[m * aRow + t * aCol],  B(t, n) = b[t * ldb + n],  C(m, n) = c[m * ldc + n]
/// </code>
/// with init the bias b[n], the old C (accumulate) or 0, and optionally ReLU on the result. A forward pass is
/// <c>A = activations (aRow = width, aCol = 1)</c> times the weights stored inputs x outputs; a weight gradient is
/// <c>A = activations transposed (aRow = 1, aCol = width)</c> times the deltas.
/// </summary>
/// <remarks>
/// <para>
/// Every element of C is one chain of fused multiply-adds over t in order, starting from its initial value, in each
/// instruction-set path (Vector512 register tiles of 4 rows x 32 columns, then tiles of 4 rows x one vector of columns,
/// generic over the width (<see cref="ISimd{TV}"/>): 4 x 8 with Vector512, 4 x 4 with Vector256; scalar
/// <see cref="Math.FusedMultiplyAdd"/>), so the result does not depend on the path, the tiling or on how the rows or
/// columns are split between threads: it is bitwise the same. The Vector128 tier runs the scalar chains: its
/// multiply-add is fused only where the hardware has FMA, and an unfused one would give other bits.
/// </para>
/// <para>
/// Two shapes with one output column take their own loops: a forward product with contiguous rows of A
/// (<see cref="DotRows"/>, vectorized over t: its additions are in another order than the chain) and a transposed
/// product with contiguous columns of A (vectorized over m, each element still one chain over t).
/// </para>
/// </remarks>
internal static unsafe class DenseKernels
{
    /// <summary>C = init + A B as described on the class (see there for the layout of each operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(double* a, nint aRow, nint aCol, double* b, nint ldb, double* c, nint ldc,
        int rows, int cols, int depth, double* bias, bool accumulate, bool relu, KernelPath path = KernelPath.Auto)
    {
        if (rows <= 0 || cols <= 0) return;
        path = KernelIsa.Resolve(path);
        if (path == KernelPath.Vector128) path = KernelPath.Scalar;   // no 128-bit register tiles: the scalar chains
        if (cols == 1 && aCol == 1 && path != KernelPath.Scalar)
        {
            DotRows(a, aRow, b, ldb, c, ldc, rows, depth, bias, accumulate, relu, path);
            return;
        }
        if (cols == 1 && aRow == 1 && path != KernelPath.Scalar)
        {
            ColumnChains(a, aCol, b, ldb, c, ldc, rows, depth, bias, accumulate, relu, path);
            return;
        }
        if (path == KernelPath.Scalar)
        {
            MultiplyScalar(a, aRow, aCol, b, ldb, c, ldc, rows, cols, depth, bias, accumulate, relu);
            return;
        }
        // Blocks of depth keep the panel of B that a column block streams (depth x 32 values) in the L1 cache; C is
        // stored and reloaded between blocks, which leaves every element's chain of FMAs exactly as it is.
        int blocks = Math.Max(1, (depth + DepthBlock - 1) / DepthBlock);
        int blockDepth = Math.Max(1, (depth + blocks - 1) / blocks);   // equal blocks: no short last block
        for (int t0 = 0; t0 < depth || t0 == 0; t0 += blockDepth)
        {
            int kc = Math.Min(blockDepth, depth - t0);
            bool first = t0 == 0, last = t0 + kc >= depth;
            MultiplyBlock(a + t0 * aCol, aRow, aCol, b + t0 * ldb, ldb, c, ldc, rows, cols, kc,
                first ? bias : null, accumulate || !first, relu && last, path);
        }
    }

    /// <summary>Largest depth per block of <see cref="Multiply"/> (the depth is cut into equal blocks of at most this): a 32-column panel of B is 64 x 256 bytes = 16 KB (measured best among 32 to 128 on the Zen 5 box).</summary>
    internal const int DepthBlock = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyBlock(double* a, nint aRow, nint aCol, double* b, nint ldb, double* c, nint ldc,
        int rows, int cols, int depth, double* bias, bool accumulate, bool relu, KernelPath path)
    {
        int n = 0;
        if (path == KernelPath.Vector512)
        {
            for (; n + 32 <= cols; n += 32)
            {
                int m = 0;
                for (; m + 4 <= rows; m += 4) Tile4x32(a + m * aRow, aRow, aCol, b + n, ldb, c + m * ldc + n, ldc, depth, bias == null ? null : bias + n, accumulate, relu);
                for (; m < rows; m++) Tile1x32(a + m * aRow, aCol, b + n, ldb, c + m * ldc + n, depth, bias == null ? null : bias + n, accumulate, relu);
            }
            n = Tiles<Simd512, Vector512<double>>(a, aRow, aCol, b, ldb, c, ldc, rows, cols, depth, bias, accumulate, relu, n);
        }
        n = Tiles<Simd256, Vector256<double>>(a, aRow, aCol, b, ldb, c, ldc, rows, cols, depth, bias, accumulate, relu, n);
        for (; n < cols; n++)
            for (int m = 0; m < rows; m++)
                c[m * ldc + n] = Chain(a + m * aRow, aCol, b + n, ldb, depth, Initial(c[m * ldc + n], bias, n, accumulate), relu);
    }

    /// <summary>Scalar twin of <see cref="Multiply"/>: every element one chain of <see cref="Math.FusedMultiplyAdd"/> over t.</summary>
    public static void MultiplyScalar(double* a, nint aRow, nint aCol, double* b, nint ldb, double* c, nint ldc,
        int rows, int cols, int depth, double* bias, bool accumulate, bool relu)
    {
        for (int m = 0; m < rows; m++)
            for (int n = 0; n < cols; n++)
                c[m * ldc + n] = Chain(a + m * aRow, aCol, b + n, ldb, depth, Initial(c[m * ldc + n], bias, n, accumulate), relu);
    }

    /// <summary>
    /// One output column from contiguous rows of A: <c>C(m, 0) = init + A_m . B(:, 0)</c>, the dot product vectorized
    /// over t with four accumulators (so its additions are in another order than one chain); B's column has stride ldb.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotRows(double* a, nint aRow, double* b, nint ldb, double* c, nint ldc, int rows, int depth,
        double* bias, bool accumulate, bool relu, KernelPath path)
    {
        for (int m = 0; m < rows; m++)
        {
            double dot;
            if (ldb == 1)
                dot = Dot(a + m * aRow, b, depth, path);
            else
            {
                dot = 0;   // a strided column of B (not used by the trainer): one chain
                for (int t = 0; t < depth; t++) dot = Math.FusedMultiplyAdd(a[m * aRow + t], b[t * ldb], dot);
            }
            double v = Initial(c[m * ldc], bias, 0, accumulate) + dot;
            c[m * ldc] = relu ? Math.Max(v, 0) : v;
        }
    }

    /// <summary>The dot product of <see cref="DotRows"/>: four vector accumulators, summed (0 + 1) + (2 + 3), then the tail (kept rather than TensorPrimitives.Dot: stored MLP results depend on this order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Dot(double* x, double* y, int length, KernelPath path)
    {
        int t = 0;
        double s = 0;
        if (path == KernelPath.Vector512)
        {
            Vector512<double> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; t + 32 <= length; t += 32)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + t), Vector512.Load(y + t), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + t + 8), Vector512.Load(y + t + 8), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + t + 16), Vector512.Load(y + t + 16), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + t + 24), Vector512.Load(y + t + 24), s3);
            }
            for (; t + 8 <= length; t += 8) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + t), Vector512.Load(y + t), s0);
            s = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (path == KernelPath.Vector256)
        {
            Vector256<double> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; t + 16 <= length; t += 16)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + t), Vector256.Load(y + t), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + t + 4), Vector256.Load(y + t + 4), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + t + 8), Vector256.Load(y + t + 8), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + t + 12), Vector256.Load(y + t + 12), s3);
            }
            for (; t + 4 <= length; t += 4) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + t), Vector256.Load(y + t), s0);
            s = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; t < length; t++) s = Math.FusedMultiplyAdd(x[t], y[t], s);
        return s;
    }

    /// <summary>
    /// One output column from contiguous columns of A (a transposed product): <c>C(m, 0) = init + sum_t A(m, t) B(t, 0)</c>
    /// with A(m, t) = a[m + t aCol], vectorized over m; every element is one chain over t, as in <see cref="Multiply"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnChains(double* a, nint aCol, double* b, nint ldb, double* c, nint ldc, int rows, int depth,
        double* bias, bool accumulate, bool relu, KernelPath path)
    {
        const int Block = 256;
        double* acc = stackalloc double[Block];
        for (int m0 = 0; m0 < rows; m0 += Block)
        {
            int count = Math.Min(Block, rows - m0);
            for (int m = 0; m < count; m++) acc[m] = Initial(c[(m0 + m) * ldc], bias, 0, accumulate);
            for (int t = 0; t < depth; t++)
            {
                double bt = b[t * ldb];
                double* at = a + t * aCol + m0;
                int m = 0;
                if (path == KernelPath.Vector512)
                {
                    var vb = Vector512.Create(bt);
                    for (; m + 8 <= count; m += 8) Vector512.FusedMultiplyAdd(Vector512.Load(at + m), vb, Vector512.Load(acc + m)).Store(acc + m);
                }
                if (path is KernelPath.Vector512 or KernelPath.Vector256)
                {
                    var vb = Vector256.Create(bt);
                    for (; m + 4 <= count; m += 4) Vector256.FusedMultiplyAdd(Vector256.Load(at + m), vb, Vector256.Load(acc + m)).Store(acc + m);
                }
                for (; m < count; m++) acc[m] = Math.FusedMultiplyAdd(at[m], bt, acc[m]);
            }
            for (int m = 0; m < count; m++) c[(m0 + m) * ldc] = relu ? Math.Max(acc[m], 0) : acc[m];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Initial(double old, double* bias, int n, bool accumulate) => accumulate ? old : bias == null ? 0 : bias[n];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Chain(double* a, nint aCol, double* b, nint ldb, int depth, double s, bool relu)
    {
        for (int t = 0; t < depth; t++) s = Math.FusedMultiplyAdd(a[t * aCol], b[t * ldb], s);
        return relu ? Math.Max(s, 0) : s;
    }

    /// <summary>A vector of C's initial values at <paramref name="c"/>: the old C, the bias or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Init<S, TV>(double* c, double* bias, bool accumulate) where S : ISimd<TV> where TV : struct =>
        accumulate ? S.Load(ref *c, 0) : bias == null ? S.Zero : S.Load(ref *bias, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<S, TV>(TV v, double* c, bool relu) where S : ISimd<TV> where TV : struct =>
        S.Store(relu ? S.Max(v, S.Zero) : v, ref *c, 0);

    /// <summary>4 rows x 32 columns: 16 accumulators; per t four loads of B, four broadcasts of A, 16 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x32(double* a, nint aRow, nint aCol, double* b, nint ldb, double* c, nint ldc, int depth, double* bias, bool accumulate, bool relu)
    {
        double* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        var r00 = Init<Simd512, Vector512<double>>(c0, bias, accumulate); var r01 = Init<Simd512, Vector512<double>>(c0 + 8, bias == null ? null : bias + 8, accumulate);
        var r02 = Init<Simd512, Vector512<double>>(c0 + 16, bias == null ? null : bias + 16, accumulate); var r03 = Init<Simd512, Vector512<double>>(c0 + 24, bias == null ? null : bias + 24, accumulate);
        var r10 = Init<Simd512, Vector512<double>>(c1, bias, accumulate); var r11 = Init<Simd512, Vector512<double>>(c1 + 8, bias == null ? null : bias + 8, accumulate);
        var r12 = Init<Simd512, Vector512<double>>(c1 + 16, bias == null ? null : bias + 16, accumulate); var r13 = Init<Simd512, Vector512<double>>(c1 + 24, bias == null ? null : bias + 24, accumulate);
        var r20 = Init<Simd512, Vector512<double>>(c2, bias, accumulate); var r21 = Init<Simd512, Vector512<double>>(c2 + 8, bias == null ? null : bias + 8, accumulate);
        var r22 = Init<Simd512, Vector512<double>>(c2 + 16, bias == null ? null : bias + 16, accumulate); var r23 = Init<Simd512, Vector512<double>>(c2 + 24, bias == null ? null : bias + 24, accumulate);
        var r30 = Init<Simd512, Vector512<double>>(c3, bias, accumulate); var r31 = Init<Simd512, Vector512<double>>(c3 + 8, bias == null ? null : bias + 8, accumulate);
        var r32 = Init<Simd512, Vector512<double>>(c3 + 16, bias == null ? null : bias + 16, accumulate); var r33 = Init<Simd512, Vector512<double>>(c3 + 24, bias == null ? null : bias + 24, accumulate);
        double* a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
        for (int t = 0; t < depth; t++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 8); var b2 = Vector512.Load(b + 16); var b3 = Vector512.Load(b + 24);
            var x = Vector512.Create(*a0);
            r00 = Vector512.FusedMultiplyAdd(x, b0, r00); r01 = Vector512.FusedMultiplyAdd(x, b1, r01);
            r02 = Vector512.FusedMultiplyAdd(x, b2, r02); r03 = Vector512.FusedMultiplyAdd(x, b3, r03);
            x = Vector512.Create(*a1);
            r10 = Vector512.FusedMultiplyAdd(x, b0, r10); r11 = Vector512.FusedMultiplyAdd(x, b1, r11);
            r12 = Vector512.FusedMultiplyAdd(x, b2, r12); r13 = Vector512.FusedMultiplyAdd(x, b3, r13);
            x = Vector512.Create(*a2);
            r20 = Vector512.FusedMultiplyAdd(x, b0, r20); r21 = Vector512.FusedMultiplyAdd(x, b1, r21);
            r22 = Vector512.FusedMultiplyAdd(x, b2, r22); r23 = Vector512.FusedMultiplyAdd(x, b3, r23);
            x = Vector512.Create(*a3);
            r30 = Vector512.FusedMultiplyAdd(x, b0, r30); r31 = Vector512.FusedMultiplyAdd(x, b1, r31);
            r32 = Vector512.FusedMultiplyAdd(x, b2, r32); r33 = Vector512.FusedMultiplyAdd(x, b3, r33);
            a0 += aCol; a1 += aCol; a2 += aCol; a3 += aCol;
            b += ldb;
        }
        Store<Simd512, Vector512<double>>(r00, c0, relu); Store<Simd512, Vector512<double>>(r01, c0 + 8, relu); Store<Simd512, Vector512<double>>(r02, c0 + 16, relu); Store<Simd512, Vector512<double>>(r03, c0 + 24, relu);
        Store<Simd512, Vector512<double>>(r10, c1, relu); Store<Simd512, Vector512<double>>(r11, c1 + 8, relu); Store<Simd512, Vector512<double>>(r12, c1 + 16, relu); Store<Simd512, Vector512<double>>(r13, c1 + 24, relu);
        Store<Simd512, Vector512<double>>(r20, c2, relu); Store<Simd512, Vector512<double>>(r21, c2 + 8, relu); Store<Simd512, Vector512<double>>(r22, c2 + 16, relu); Store<Simd512, Vector512<double>>(r23, c2 + 24, relu);
        Store<Simd512, Vector512<double>>(r30, c3, relu); Store<Simd512, Vector512<double>>(r31, c3 + 8, relu); Store<Simd512, Vector512<double>>(r32, c3 + 16, relu); Store<Simd512, Vector512<double>>(r33, c3 + 24, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x32(double* a, nint aCol, double* b, nint ldb, double* c, int depth, double* bias, bool accumulate, bool relu)
    {
        var r0 = Init<Simd512, Vector512<double>>(c, bias, accumulate); var r1 = Init<Simd512, Vector512<double>>(c + 8, bias == null ? null : bias + 8, accumulate);
        var r2 = Init<Simd512, Vector512<double>>(c + 16, bias == null ? null : bias + 16, accumulate); var r3 = Init<Simd512, Vector512<double>>(c + 24, bias == null ? null : bias + 24, accumulate);
        for (int t = 0; t < depth; t++)
        {
            var x = Vector512.Create(*a);
            r0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), r0); r1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 8), r1);
            r2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), r2); r3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 24), r3);
            a += aCol;
            b += ldb;
        }
        Store<Simd512, Vector512<double>>(r0, c, relu); Store<Simd512, Vector512<double>>(r1, c + 8, relu); Store<Simd512, Vector512<double>>(r2, c + 16, relu); Store<Simd512, Vector512<double>>(r3, c + 24, relu);
    }

    /// <summary>
    /// From column <paramref name="n"/> on, the blocks of one vector of columns (8 with Vector512, 4 with Vector256) in tiles
    /// of 4 rows (<see cref="Tile4"/>) and single rows (<see cref="Tile1"/>); returns the first column left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Tiles<S, TV>(double* a, nint aRow, nint aCol, double* b, nint ldb, double* c, nint ldc,
        int rows, int cols, int depth, double* bias, bool accumulate, bool relu, int n) where S : ISimd<TV> where TV : struct
    {
        for (; n + S.Count <= cols; n += S.Count)
        {
            int m = 0;
            for (; m + 4 <= rows; m += 4) Tile4<S, TV>(a + m * aRow, aRow, aCol, b + n, ldb, c + m * ldc + n, ldc, depth, bias == null ? null : bias + n, accumulate, relu);
            for (; m < rows; m++) Tile1<S, TV>(a + m * aRow, aCol, b + n, ldb, c + m * ldc + n, depth, bias == null ? null : bias + n, accumulate, relu);
        }
        return n;
    }

    /// <summary>4 rows x one vector of columns: 4 accumulators; per t one load of B, four broadcasts of A, 4 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4<S, TV>(double* a, nint aRow, nint aCol, double* b, nint ldb, double* c, nint ldc, int depth, double* bias, bool accumulate, bool relu)
        where S : ISimd<TV> where TV : struct
    {
        double* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        TV r0 = Init<S, TV>(c0, bias, accumulate), r1 = Init<S, TV>(c1, bias, accumulate);
        TV r2 = Init<S, TV>(c2, bias, accumulate), r3 = Init<S, TV>(c3, bias, accumulate);
        double* a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
        for (int t = 0; t < depth; t++)
        {
            var bt = S.Load(ref *b, 0);
            r0 = S.MultiplyAdd(S.Splat(*a0), bt, r0);
            r1 = S.MultiplyAdd(S.Splat(*a1), bt, r1);
            r2 = S.MultiplyAdd(S.Splat(*a2), bt, r2);
            r3 = S.MultiplyAdd(S.Splat(*a3), bt, r3);
            a0 += aCol; a1 += aCol; a2 += aCol; a3 += aCol;
            b += ldb;
        }
        Store<S, TV>(r0, c0, relu); Store<S, TV>(r1, c1, relu); Store<S, TV>(r2, c2, relu); Store<S, TV>(r3, c3, relu);
    }

    /// <summary>1 row x one vector of columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1<S, TV>(double* a, nint aCol, double* b, nint ldb, double* c, int depth, double* bias, bool accumulate, bool relu)
        where S : ISimd<TV> where TV : struct
    {
        var r = Init<S, TV>(c, bias, accumulate);
        for (int t = 0; t < depth; t++)
        {
            r = S.MultiplyAdd(S.Splat(*a), S.Load(ref *b, 0), r);
            a += aCol;
            b += ldb;
        }
        Store<S, TV>(r, c, relu);
    }

    /// <summary>dest[n] = sum over rows m of src[m * ld + n] (bias gradients): per element one chain of additions over m in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumRows(double* src, nint ld, int rows, int cols, double* dest, KernelPath path = KernelPath.Auto)
    {
        path = KernelIsa.Resolve(path);
        for (int n = 0; n < cols; n++) dest[n] = 0;
        for (int m = 0; m < rows; m++)
        {
            double* row = src + m * ld;
            int n = 0;
            if (path == KernelPath.Vector512)
                for (; n + 8 <= cols; n += 8) (Vector512.Load(dest + n) + Vector512.Load(row + n)).Store(dest + n);
            if (path is KernelPath.Vector512 or KernelPath.Vector256)
                for (; n + 4 <= cols; n += 4) (Vector256.Load(dest + n) + Vector256.Load(row + n)).Store(dest + n);
            for (; n < cols; n++) dest[n] += row[n];
        }
    }

    /// <summary>
    /// The ReLU derivative with inverted dropout: <c>d[i] = a[i] &gt; 0 ? d[i] * scale : 0</c> (a the activation after dropout,
    /// positive exactly where the unit was active and kept).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaskPositive(double* d, double* a, long count, double scale, KernelPath path = KernelPath.Auto)
    {
        path = KernelIsa.Resolve(path);
        long i = 0;
        if (path == KernelPath.Vector512)
        {
            var vs = Vector512.Create(scale);
            for (; i + 8 <= count; i += 8)
            {
                var positive = Vector512.GreaterThan(Vector512.Load(a + i), Vector512<double>.Zero);
                Vector512.ConditionalSelect(positive, Vector512.Load(d + i) * vs, Vector512<double>.Zero).Store(d + i);
            }
        }
        if (path is KernelPath.Vector512 or KernelPath.Vector256)
        {
            var vs = Vector256.Create(scale);
            for (; i + 4 <= count; i += 4)
            {
                var positive = Vector256.GreaterThan(Vector256.Load(a + i), Vector256<double>.Zero);
                Vector256.ConditionalSelect(positive, Vector256.Load(d + i) * vs, Vector256<double>.Zero).Store(d + i);
            }
        }
        for (; i < count; i++) d[i] = a[i] > 0 ? d[i] * scale : 0;
    }

    /// <summary><see cref="MaskPositive(double*, double*, long, double, KernelPath)"/> over a rows x cols block of strided rows.</summary>
    public static void MaskPositive(double* d, nint ldd, double* a, nint lda, int rows, int cols, double scale, KernelPath path = KernelPath.Auto)
    {
        for (int i = 0; i < rows; i++) MaskPositive(d + i * ldd, a + i * lda, cols, scale, path);
    }
}
