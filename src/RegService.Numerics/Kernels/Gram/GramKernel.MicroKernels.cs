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
}
