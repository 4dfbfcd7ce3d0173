using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    // ---------------------------------------------------------------------------------------------
    // Micro-kernels. For r in [0, m): acc[:, j] += A[r, 0..8n) * B[r, j] for j in 0..8 (A in n zmm
    // vectors from n panels, B broadcast), then the accumulators are added to c (column j at c + j*ldc).
    // ---------------------------------------------------------------------------------------------

    /// <summary>A count fixed at compile time: the micro-kernels are generic over their tile shape, and the JIT compiles one
    /// body per shape with the unused accumulators and steps removed.</summary>
    private interface ICount { static abstract int Value { get; } }
    private readonly struct N1 : ICount { public static int Value => 1; }
    private readonly struct N2 : ICount { public static int Value => 2; }
    private readonly struct N3 : ICount { public static int Value => 3; }
    private readonly struct N4 : ICount { public static int Value => 4; }
    private readonly struct N5 : ICount { public static int Value => 5; }
    private readonly struct N6 : ICount { public static int Value => 6; }
    private readonly struct N7 : ICount { public static int Value => 7; }
    private readonly struct N8 : ICount { public static int Value => 8; }

    /// <summary>
    /// Runs <see cref="Kernel512{TA, TB}"/> for <paramref name="na"/> A panels (1-3) and <paramref name="nb"/> B columns
    /// (1-8; fewer than 8 only for the last panel, whose other columns are padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel512(int na, int nb, double* a, nint aStride, double* b, int m, double* c, nint ldc,
                                         byte* pf1, nint step1, byte* pf2, nint step2)
    {
        switch (nb)
        {
            case 8: Kernel512<N8>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 7: Kernel512<N7>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 6: Kernel512<N6>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 5: Kernel512<N5>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 4: Kernel512<N4>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 3: Kernel512<N3>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 2: Kernel512<N2>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            default: Kernel512<N1>(na, a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel512<TB>(int na, double* a, nint aStride, double* b, int m, double* c, nint ldc,
                                             byte* pf1, nint step1, byte* pf2, nint step2) where TB : struct, ICount
    {
        switch (na)
        {
            case 3: Kernel512<N3, TB>(a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            case 2: Kernel512<N2, TB>(a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
            default: Kernel512<N1, TB>(a, aStride, b, m, c, ldc, pf1, step1, pf2, step2); break;
        }
    }

    /// <summary>
    /// TA x TB micro-kernel: TA A panels (TA zmm vectors a row, TA ≤ 3) times TB columns of the B panel (broadcasts
    /// straight from memory, TB ≤ 8): up to 24 zmm accumulators. Accumulator (i, j) is added to c + j*ldc + 8i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel512<TA, TB>(double* a, nint aStride, double* b, int m, double* c, nint ldc,
                                                 byte* pf1, nint step1, byte* pf2, nint step2)
        where TA : struct, ICount where TB : struct, ICount
    {
        Vector512<double> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c05 = default, c06 = default, c07 = default;
        Vector512<double> c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default, c16 = default, c17 = default;
        Vector512<double> c20 = default, c21 = default, c22 = default, c23 = default, c24 = default, c25 = default, c26 = default, c27 = default;
        double* a1 = a + aStride, a2 = a + 2 * aStride;
        nint end = (nint)m * PanelWidth;
        for (nint o = 0; o < end; o += PanelWidth)
        {
            Vector512<double> x0 = Vector512.LoadAligned(a + o);
            Vector512<double> x1 = TA.Value > 1 ? Vector512.LoadAligned(a1 + o) : default;
            Vector512<double> x2 = TA.Value > 2 ? Vector512.LoadAligned(a2 + o) : default;
            double* bo = b + o;
            Column<TA>(x0, x1, x2, bo[0], ref c00, ref c10, ref c20);
            if (TB.Value > 1) Column<TA>(x0, x1, x2, bo[1], ref c01, ref c11, ref c21);
            if (TB.Value > 2) Column<TA>(x0, x1, x2, bo[2], ref c02, ref c12, ref c22);
            if (TB.Value > 3) Column<TA>(x0, x1, x2, bo[3], ref c03, ref c13, ref c23);
            if (TB.Value > 4) Column<TA>(x0, x1, x2, bo[4], ref c04, ref c14, ref c24);
            if (TB.Value > 5) Column<TA>(x0, x1, x2, bo[5], ref c05, ref c15, ref c25);
            if (TB.Value > 6) Column<TA>(x0, x1, x2, bo[6], ref c06, ref c16, ref c26);
            if (TB.Value > 7) Column<TA>(x0, x1, x2, bo[7], ref c07, ref c17, ref c27);
            Sse.Prefetch1(pf1);
            Sse.Prefetch1(pf2);
            pf1 += step1;
            pf2 += step2;
        }
        AddTo<TA>(c, c00, c10, c20);
        if (TB.Value > 1) AddTo<TA>(c + ldc, c01, c11, c21);
        if (TB.Value > 2) AddTo<TA>(c + 2 * ldc, c02, c12, c22);
        if (TB.Value > 3) AddTo<TA>(c + 3 * ldc, c03, c13, c23);
        if (TB.Value > 4) AddTo<TA>(c + 4 * ldc, c04, c14, c24);
        if (TB.Value > 5) AddTo<TA>(c + 5 * ldc, c05, c15, c25);
        if (TB.Value > 6) AddTo<TA>(c + 6 * ldc, c06, c16, c26);
        if (TB.Value > 7) AddTo<TA>(c + 7 * ldc, c07, c17, c27);
    }

    /// <summary>
    /// The two diagonal tiles of a group of A panels fused into one pass over the rows: panel P against itself (1 x 8,
    /// accumulators d) and panels P, P + 1 against P + 1 (2 x 8, accumulators e and f), 24 zmm accumulators as in the body's
    /// 3 x 8 tiles, where the two tiles alone have 8 and 16 (the 1 x 8 tile is eight chains of dependent FMAs: latency-bound).
    /// Each accumulator adds the same products in the same order as in the separate tiles, so the result is the same bits.
    /// <paramref name="a"/> is panel P (P + 1 at <paramref name="a"/> + <paramref name="aStride"/>), <paramref name="c"/> its
    /// diagonal tile in the accumulator (the second tile is at <paramref name="c"/> + 8 <paramref name="ldc"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void DiagonalPair512(double* a, nint aStride, int m, double* c, nint ldc, byte* pf1, nint step1, byte* pf2, nint step2)
    {
        Vector512<double> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default;
        Vector512<double> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        Vector512<double> f0 = default, f1 = default, f2 = default, f3 = default, f4 = default, f5 = default, f6 = default, f7 = default;
        Vector512<double> unused = default;
        double* a1 = a + aStride;
        nint end = (nint)m * PanelWidth;
        for (nint o = 0; o < end; o += PanelWidth)
        {
            Vector512<double> x0 = Vector512.LoadAligned(a + o);
            Vector512<double> x1 = Vector512.LoadAligned(a1 + o);
            double* p = a + o, q = a1 + o;
            Column<N1>(x0, default, default, p[0], ref d0, ref unused, ref unused);
            Column<N1>(x0, default, default, p[1], ref d1, ref unused, ref unused);
            Column<N1>(x0, default, default, p[2], ref d2, ref unused, ref unused);
            Column<N1>(x0, default, default, p[3], ref d3, ref unused, ref unused);
            Column<N1>(x0, default, default, p[4], ref d4, ref unused, ref unused);
            Column<N1>(x0, default, default, p[5], ref d5, ref unused, ref unused);
            Column<N1>(x0, default, default, p[6], ref d6, ref unused, ref unused);
            Column<N1>(x0, default, default, p[7], ref d7, ref unused, ref unused);
            Column<N2>(x0, x1, default, q[0], ref e0, ref f0, ref unused);
            Column<N2>(x0, x1, default, q[1], ref e1, ref f1, ref unused);
            Column<N2>(x0, x1, default, q[2], ref e2, ref f2, ref unused);
            Column<N2>(x0, x1, default, q[3], ref e3, ref f3, ref unused);
            Column<N2>(x0, x1, default, q[4], ref e4, ref f4, ref unused);
            Column<N2>(x0, x1, default, q[5], ref e5, ref f5, ref unused);
            Column<N2>(x0, x1, default, q[6], ref e6, ref f6, ref unused);
            Column<N2>(x0, x1, default, q[7], ref e7, ref f7, ref unused);
            Sse.Prefetch1(pf1);
            Sse.Prefetch1(pf2);
            pf1 += step1;
            pf2 += step2;
        }
        AddTo<N1>(c, d0, default, default);
        AddTo<N1>(c + ldc, d1, default, default);
        AddTo<N1>(c + 2 * ldc, d2, default, default);
        AddTo<N1>(c + 3 * ldc, d3, default, default);
        AddTo<N1>(c + 4 * ldc, d4, default, default);
        AddTo<N1>(c + 5 * ldc, d5, default, default);
        AddTo<N1>(c + 6 * ldc, d6, default, default);
        AddTo<N1>(c + 7 * ldc, d7, default, default);
        double* c1 = c + 8 * ldc;
        AddTo<N2>(c1, e0, f0, default);
        AddTo<N2>(c1 + ldc, e1, f1, default);
        AddTo<N2>(c1 + 2 * ldc, e2, f2, default);
        AddTo<N2>(c1 + 3 * ldc, e3, f3, default);
        AddTo<N2>(c1 + 4 * ldc, e4, f4, default);
        AddTo<N2>(c1 + 5 * ldc, e5, f5, default);
        AddTo<N2>(c1 + 6 * ldc, e6, f6, default);
        AddTo<N2>(c1 + 7 * ldc, e7, f7, default);
    }

    /// <summary>One B column of a row: the first TA accumulators += the A vectors times the broadcast <paramref name="bj"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column<TA>(Vector512<double> x0, Vector512<double> x1, Vector512<double> x2, double bj,
                                   ref Vector512<double> c0, ref Vector512<double> c1, ref Vector512<double> c2) where TA : struct, ICount
    {
        Vector512<double> y = Vector512.Create(bj);
        c0 = Vector512.FusedMultiplyAdd(x0, y, c0);
        if (TA.Value > 1) c1 = Vector512.FusedMultiplyAdd(x1, y, c1);
        if (TA.Value > 2) c2 = Vector512.FusedMultiplyAdd(x2, y, c2);
    }

    /// <summary>Adds the first TA of the vectors to c, c + 8, c + 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo<TA>(double* c, Vector512<double> v0, Vector512<double> v1, Vector512<double> v2) where TA : struct, ICount
    {
        Vector512.StoreAligned(Vector512.LoadAligned(c) + v0, c);
        if (TA.Value > 1) Vector512.StoreAligned(Vector512.LoadAligned(c + 8) + v1, c + 8);
        if (TA.Value > 2) Vector512.StoreAligned(Vector512.LoadAligned(c + 16) + v2, c + 16);
    }

    /// <summary>
    /// Vector256 micro-kernel: 12 A columns (3 ymm, each from its own 4-column group <paramref name="a0"/>,
    /// <paramref name="a1"/>, <paramref name="a2"/>) x 4 B columns: 12 accumulators, enough independent FMA chains to
    /// cover the latency of two FMA ports. The 12 columns are contiguous in the accumulator (c + 0..11).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel256x3(double* a0, double* a1, double* a2, double* b, int m, double* c, nint ldc, byte* pf, nint step)
    {
        Vector256<double> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<double> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<double> c20 = default, c21 = default, c22 = default, c23 = default;
        // The accumulator tile's lines (12 doubles in each of 4 columns: 2 lines a column), asked for now so that the adds
        // after the row loop find them in L1; the accumulator of k = 200 (346 KB) shares L2 with the packed block and is
        // often in L3. One thread, 200,000 x 200: the fastest of 8 calls 0.202 s against 0.205 s (six pairs).
        for (nint j = 0; j < 4; j++)
        {
            Sse.Prefetch0(c + j * ldc);
            Sse.Prefetch0(c + j * ldc + 11);
        }
        for (int r = 0; r < m; r++)
        {
            Vector256<double> x0 = Vector256.Load(a0), x1 = Vector256.Load(a1), x2 = Vector256.Load(a2);
            Vector256<double> y = Vector256.Create(b[0]);
            c00 = Vector256.FusedMultiplyAdd(x0, y, c00); c10 = Vector256.FusedMultiplyAdd(x1, y, c10); c20 = Vector256.FusedMultiplyAdd(x2, y, c20);
            y = Vector256.Create(b[1]);
            c01 = Vector256.FusedMultiplyAdd(x0, y, c01); c11 = Vector256.FusedMultiplyAdd(x1, y, c11); c21 = Vector256.FusedMultiplyAdd(x2, y, c21);
            y = Vector256.Create(b[2]);
            c02 = Vector256.FusedMultiplyAdd(x0, y, c02); c12 = Vector256.FusedMultiplyAdd(x1, y, c12); c22 = Vector256.FusedMultiplyAdd(x2, y, c22);
            y = Vector256.Create(b[3]);
            c03 = Vector256.FusedMultiplyAdd(x0, y, c03); c13 = Vector256.FusedMultiplyAdd(x1, y, c13); c23 = Vector256.FusedMultiplyAdd(x2, y, c23);
            a0 += PanelWidth;
            a1 += PanelWidth;
            a2 += PanelWidth;
            b += PanelWidth;
            Sse.Prefetch1(pf);
            pf += step;
        }
        AddTo(c, c00, c10, c20); AddTo(c + ldc, c01, c11, c21); AddTo(c + 2 * ldc, c02, c12, c22); AddTo(c + 3 * ldc, c03, c13, c23);
    }

    /// <summary>
    /// Vector256 micro-kernel against one B column: 24 A columns (3 panels at <paramref name="a"/>, stride
    /// <paramref name="ps"/>: 6 ymm) x the column <paramref name="b"/>[0]: 6 accumulators, added to c + 0..23; prefetching
    /// one line per row from each of <paramref name="pf1"/> and <paramref name="pf2"/> (the runs of the two calls it replaces).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel256x6x1(double* a, nint ps, double* b, int m, double* c, byte* pf1, nint step1, byte* pf2, nint step2)
    {
        Vector256<double> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        double* a1 = a + ps, a2 = a + 2 * ps;
        for (int r = 0; r < m; r++)
        {
            Vector256<double> y = Vector256.Create(b[0]);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Load(a), y, c0); c1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + 4), y, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Load(a1), y, c2); c3 = Vector256.FusedMultiplyAdd(Vector256.Load(a1 + 4), y, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Load(a2), y, c4); c5 = Vector256.FusedMultiplyAdd(Vector256.Load(a2 + 4), y, c5);
            a += PanelWidth;
            a1 += PanelWidth;
            a2 += PanelWidth;
            b += PanelWidth;
            Sse.Prefetch1(pf1);
            pf1 += step1;
            Sse.Prefetch1(pf2);
            pf2 += step2;
        }
        AddTo(c, c0, c1, c2);
        AddTo(c + 12, c3, c4, c5);
    }

    /// <summary>
    /// Vector256 diagonal tile of one panel (<paramref name="a"/>, 8 columns) against itself, upper triangle only: columns 0..3
    /// take the panel's rows 0..3 (4 accumulators), columns 4..7 all 8 rows (8 accumulators); 12 multiply-adds a row where the
    /// full 8 x 8 tile has 16 (the rows 4..7 of columns 0..3 are below the diagonal, never read). Each accumulator is the chain
    /// <see cref="Kernel256"/> computes for it, so the same bits. Prefetches one line a row from each of two runs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Diagonal256(double* a, int m, double* c, nint ldc, byte* pf1, nint step1, byte* pf2, nint step2)
    {
        Vector256<double> d0 = default, d1 = default, d2 = default, d3 = default;
        Vector256<double> e00 = default, e01 = default, e02 = default, e03 = default;
        Vector256<double> e10 = default, e11 = default, e12 = default, e13 = default;
        for (int r = 0; r < m; r++)
        {
            Vector256<double> x0 = Vector256.Load(a), x1 = Vector256.Load(a + 4);
            d0 = Vector256.FusedMultiplyAdd(x0, Vector256.Create(a[0]), d0);
            d1 = Vector256.FusedMultiplyAdd(x0, Vector256.Create(a[1]), d1);
            d2 = Vector256.FusedMultiplyAdd(x0, Vector256.Create(a[2]), d2);
            d3 = Vector256.FusedMultiplyAdd(x0, Vector256.Create(a[3]), d3);
            Vector256<double> y = Vector256.Create(a[4]);
            e00 = Vector256.FusedMultiplyAdd(x0, y, e00); e10 = Vector256.FusedMultiplyAdd(x1, y, e10);
            y = Vector256.Create(a[5]);
            e01 = Vector256.FusedMultiplyAdd(x0, y, e01); e11 = Vector256.FusedMultiplyAdd(x1, y, e11);
            y = Vector256.Create(a[6]);
            e02 = Vector256.FusedMultiplyAdd(x0, y, e02); e12 = Vector256.FusedMultiplyAdd(x1, y, e12);
            y = Vector256.Create(a[7]);
            e03 = Vector256.FusedMultiplyAdd(x0, y, e03); e13 = Vector256.FusedMultiplyAdd(x1, y, e13);
            a += PanelWidth;
            Sse.Prefetch1(pf1);
            pf1 += step1;
            Sse.Prefetch1(pf2);
            pf2 += step2;
        }
        Vector256.Store(Vector256.Load(c) + d0, c);
        Vector256.Store(Vector256.Load(c + ldc) + d1, c + ldc);
        Vector256.Store(Vector256.Load(c + 2 * ldc) + d2, c + 2 * ldc);
        Vector256.Store(Vector256.Load(c + 3 * ldc) + d3, c + 3 * ldc);
        AddTo(c + 4 * ldc, e00, e10); AddTo(c + 5 * ldc, e01, e11); AddTo(c + 6 * ldc, e02, e12); AddTo(c + 7 * ldc, e03, e13);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector256<double> v0, Vector256<double> v1, Vector256<double> v2)
    {
        Vector256.Store(Vector256.Load(c) + v0, c);
        Vector256.Store(Vector256.Load(c + 4) + v1, c + 4);
        Vector256.Store(Vector256.Load(c + 8) + v2, c + 8);
    }

    /// <summary>Vector256 micro-kernel: one A panel (2 ymm) x 4 B columns (8 accumulators), prefetching one line per row from <paramref name="pf"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel256(double* a, double* b, int m, double* c, nint ldc, byte* pf, nint step)
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
            Sse.Prefetch1(pf);
            pf += step;
        }
        AddTo(c, c00, c10); AddTo(c + ldc, c01, c11); AddTo(c + 2 * ldc, c02, c12); AddTo(c + 3 * ldc, c03, c13);
    }

    /// <summary>Vector128 micro-kernel: one A panel (4 xmm) x 2 B columns (8 accumulators; multiply-adds fused where the hardware has FMA).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel128(double* a, double* b, int m, double* c, nint ldc)
    {
        Vector128<double> c00 = default, c10 = default, c20 = default, c30 = default;
        Vector128<double> c01 = default, c11 = default, c21 = default, c31 = default;
        for (int r = 0; r < m; r++)
        {
            Vector128<double> x0 = Vector128.Load(a), x1 = Vector128.Load(a + 2), x2 = Vector128.Load(a + 4), x3 = Vector128.Load(a + 6);
            Vector128<double> y = Vector128.Create(b[0]);
            c00 = Vector128.MultiplyAddEstimate(x0, y, c00); c10 = Vector128.MultiplyAddEstimate(x1, y, c10);
            c20 = Vector128.MultiplyAddEstimate(x2, y, c20); c30 = Vector128.MultiplyAddEstimate(x3, y, c30);
            y = Vector128.Create(b[1]);
            c01 = Vector128.MultiplyAddEstimate(x0, y, c01); c11 = Vector128.MultiplyAddEstimate(x1, y, c11);
            c21 = Vector128.MultiplyAddEstimate(x2, y, c21); c31 = Vector128.MultiplyAddEstimate(x3, y, c31);
            a += PanelWidth;
            b += PanelWidth;
        }
        AddTo(c, c00, c10, c20, c30);
        AddTo(c + ldc, c01, c11, c21, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector128<double> v0, Vector128<double> v1, Vector128<double> v2, Vector128<double> v3)
    {
        Vector128.Store(Vector128.Load(c) + v0, c);
        Vector128.Store(Vector128.Load(c + 2) + v1, c + 2);
        Vector128.Store(Vector128.Load(c + 4) + v2, c + 4);
        Vector128.Store(Vector128.Load(c + 6) + v3, c + 6);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(double* c, Vector256<double> v0, Vector256<double> v1)
    {
        Vector256.Store(Vector256.Load(c) + v0, c);
        Vector256.Store(Vector256.Load(c + 4) + v1, c + 4);
    }
}
