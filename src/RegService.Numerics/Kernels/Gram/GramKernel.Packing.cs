using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    // ---------------------------------------------------------------------------------------------
    // Packing: rows [start, start + m) of the (selected) rows into panels of 8 columns, shift subtracted,
    // padding columns zero; the shifted values are also added to the per-thread column sums. The plain and the
    // weighted Gram differ in one step, the row scale (IRowScale): the packers are generic over it.
    // ---------------------------------------------------------------------------------------------

    /// <summary>How a shifted value <c>d = x − shift</c> of a row with <c>q = sqrt(w)</c> is packed and summed.</summary>
    private unsafe interface IRowScale
    {
        /// <summary>q of packed row i (sqrtWeights by position from the block start; not read when unweighted).</summary>
        static abstract double Weight(double* sqrtWeights, nint i);
        static abstract Vector512<double> Weight512(double* sqrtWeights, nint i);
        static abstract Vector256<double> Weight256(double* sqrtWeights, nint i);
        /// <summary>The packed value: d, or q d.</summary>
        static abstract double Pack(double d, double q);
        static abstract Vector512<double> Pack(Vector512<double> d, Vector512<double> q);
        static abstract Vector256<double> Pack(Vector256<double> d, Vector256<double> q);
        /// <summary>The column sum after adding packed value v: sum + v, or sum + v q (= Σ w (x − shift)).</summary>
        static abstract double Sum(double sum, double v, double q);
        static abstract Vector512<double> Sum(Vector512<double> sum, Vector512<double> v, Vector512<double> q);
        static abstract Vector256<double> Sum(Vector256<double> sum, Vector256<double> v, Vector256<double> q);
    }

    /// <summary>The plain Gram: rows packed as they are.</summary>
    private readonly unsafe struct Unscaled : IRowScale
    {
        public static double Weight(double* sqrtWeights, nint i) => 1.0;
        public static Vector512<double> Weight512(double* sqrtWeights, nint i) => Vector512<double>.One;
        public static Vector256<double> Weight256(double* sqrtWeights, nint i) => Vector256<double>.One;
        public static Vector256<double> Pack(Vector256<double> d, Vector256<double> q) => d;
        public static Vector256<double> Sum(Vector256<double> sum, Vector256<double> v, Vector256<double> q) => sum + v;
        public static double Pack(double d, double q) => d;
        public static Vector512<double> Pack(Vector512<double> d, Vector512<double> q) => d;
        public static double Sum(double sum, double v, double q) => sum + v;
        public static Vector512<double> Sum(Vector512<double> sum, Vector512<double> v, Vector512<double> q) => sum + v;
    }

    /// <summary>The weighted Gram: each row scaled by sqrt(w), so the product of two packed columns carries w.</summary>
    private readonly unsafe struct SqrtWeighted : IRowScale
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Weight(double* sqrtWeights, nint i) => sqrtWeights[i];
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Weight512(double* sqrtWeights, nint i) => Vector512.Load(sqrtWeights + i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Weight256(double* sqrtWeights, nint i) => Vector256.Load(sqrtWeights + i);
        public static Vector256<double> Pack(Vector256<double> d, Vector256<double> q) => d * q;
        public static Vector256<double> Sum(Vector256<double> sum, Vector256<double> v, Vector256<double> q) => Vector256.FusedMultiplyAdd(v, q, sum);
        public static double Pack(double d, double q) => d * q;
        public static Vector512<double> Pack(Vector512<double> d, Vector512<double> q) => d * q;
        public static double Sum(double sum, double v, double q) => sum + v * q;
        public static Vector512<double> Sum(Vector512<double> sum, Vector512<double> v, Vector512<double> q) => Vector512.FusedMultiplyAdd(v, q, sum);
    }

    private static unsafe class Pack
    {
        /// <summary>
        /// All-rows packing with AVX-512: eight column segments of eight rows are loaded, shifted (and scaled) and
        /// transposed in registers (unpack + 128-bit lane shuffles) into eight packed rows. The sums are accumulated
        /// per column before the transpose.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void FullRows512<T>(double* data, long* colOffset, double* shift, double* zero, double* sqrtWeights,
                                          int start, int m, int panels, double* packed, double* sums) where T : IRowScale
        {
            double* sw = sqrtWeights == null ? null : sqrtWeights + start;
            double** s = stackalloc double*[PanelWidth];
            for (int p = 0; p < panels; p++)
            {
                long* off = colOffset + p * PanelWidth;
                double* sh = shift + p * PanelWidth;
                for (int c = 0; c < PanelWidth; c++) s[c] = off[c] >= 0 ? data + off[c] + start : zero;
                double* s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
                Vector512<double> h0 = Vector512.Create(sh[0]), h1 = Vector512.Create(sh[1]), h2 = Vector512.Create(sh[2]), h3 = Vector512.Create(sh[3]);
                Vector512<double> h4 = Vector512.Create(sh[4]), h5 = Vector512.Create(sh[5]), h6 = Vector512.Create(sh[6]), h7 = Vector512.Create(sh[7]);
                Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                double* dst = packed + (nint)p * m * PanelWidth;
                int r = 0;
                for (; r <= m - 8; r += 8)
                {
                    Vector512<double> q = T.Weight512(sw, r);
                    Vector512<double> v0 = T.Pack(Vector512.Load(s0 + r) - h0, q);
                    Vector512<double> v1 = T.Pack(Vector512.Load(s1 + r) - h1, q);
                    Vector512<double> v2 = T.Pack(Vector512.Load(s2 + r) - h2, q);
                    Vector512<double> v3 = T.Pack(Vector512.Load(s3 + r) - h3, q);
                    Vector512<double> v4 = T.Pack(Vector512.Load(s4 + r) - h4, q);
                    Vector512<double> v5 = T.Pack(Vector512.Load(s5 + r) - h5, q);
                    Vector512<double> v6 = T.Pack(Vector512.Load(s6 + r) - h6, q);
                    Vector512<double> v7 = T.Pack(Vector512.Load(s7 + r) - h7, q);
                    if (typeof(T) != typeof(Unscaled))
                    {
                        a0 = T.Sum(a0, v0, q); a1 = T.Sum(a1, v1, q); a2 = T.Sum(a2, v2, q); a3 = T.Sum(a3, v3, q);
                        a4 = T.Sum(a4, v4, q); a5 = T.Sum(a5, v5, q); a6 = T.Sum(a6, v6, q); a7 = T.Sum(a7, v7, q);
                    }

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
                    // Unweighted: the sums from the packed rows, in the order earlier versions added them (stored results
                    // are reproduced bit for bit), tail rows included.
                    if (typeof(T) == typeof(Unscaled)) a0 += ((w0 + w1) + (w2 + w3)) + ((w4 + w5) + (w6 + w7));
                }
                double* sp = sums + p * PanelWidth;
                if (typeof(T) == typeof(Unscaled))
                {
                    for (; r < m; r++)
                    {
                        double* d = dst + r * PanelWidth;
                        for (int c = 0; c < PanelWidth; c++) d[c] = s[c][r] - sh[c];
                        a0 += Vector512.LoadAligned(d);
                    }
                    Vector512.StoreAligned(Vector512.LoadAligned(sp) + a0, sp);
                    continue;
                }
                sp[0] += Vector512.Sum(a0); sp[1] += Vector512.Sum(a1); sp[2] += Vector512.Sum(a2); sp[3] += Vector512.Sum(a3);
                sp[4] += Vector512.Sum(a4); sp[5] += Vector512.Sum(a5); sp[6] += Vector512.Sum(a6); sp[7] += Vector512.Sum(a7);
                PackRows<T>(s, sh, sw, r, m, dst, sp);
            }
        }

        /// <summary>
        /// All-rows packing with AVX2: per panel, four rows of its eight columns are loaded, shifted (and scaled) and
        /// transposed in registers as two 4 x 4 blocks (unpack + 128-bit lane permutes) into four packed rows. The sums
        /// are accumulated per column before the transpose.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void FullRows256<T>(double* data, long* colOffset, double* shift, double* zero, double* sqrtWeights,
                                          int start, int m, int panels, double* packed, double* sums) where T : IRowScale
        {
            double* sw = sqrtWeights == null ? null : sqrtWeights + start;
            double** s = stackalloc double*[PanelWidth];
            for (int p = 0; p < panels; p++)
            {
                long* off = colOffset + p * PanelWidth;
                double* sh = shift + p * PanelWidth;
                for (int c = 0; c < PanelWidth; c++) s[c] = off[c] >= 0 ? data + off[c] + start : zero;
                double* s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
                Vector256<double> h0 = Vector256.Create(sh[0]), h1 = Vector256.Create(sh[1]), h2 = Vector256.Create(sh[2]), h3 = Vector256.Create(sh[3]);
                Vector256<double> h4 = Vector256.Create(sh[4]), h5 = Vector256.Create(sh[5]), h6 = Vector256.Create(sh[6]), h7 = Vector256.Create(sh[7]);
                Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                double* dst = packed + (nint)p * m * PanelWidth;
                int r = 0;
                for (; r <= m - 4; r += 4)
                {
                    Vector256<double> q = T.Weight256(sw, r);
                    Vector256<double> v0 = T.Pack(Vector256.Load(s0 + r) - h0, q);
                    Vector256<double> v1 = T.Pack(Vector256.Load(s1 + r) - h1, q);
                    Vector256<double> v2 = T.Pack(Vector256.Load(s2 + r) - h2, q);
                    Vector256<double> v3 = T.Pack(Vector256.Load(s3 + r) - h3, q);
                    Vector256<double> v4 = T.Pack(Vector256.Load(s4 + r) - h4, q);
                    Vector256<double> v5 = T.Pack(Vector256.Load(s5 + r) - h5, q);
                    Vector256<double> v6 = T.Pack(Vector256.Load(s6 + r) - h6, q);
                    Vector256<double> v7 = T.Pack(Vector256.Load(s7 + r) - h7, q);
                    a0 = T.Sum(a0, v0, q); a1 = T.Sum(a1, v1, q); a2 = T.Sum(a2, v2, q); a3 = T.Sum(a3, v3, q);
                    a4 = T.Sum(a4, v4, q); a5 = T.Sum(a5, v5, q); a6 = T.Sum(a6, v6, q); a7 = T.Sum(a7, v7, q);

                    // t0 = [v0_0 v1_0 | v0_2 v1_2], t1 = [v0_1 v1_1 | v0_3 v1_3], ...; 0x20 joins the low 128-bit lanes, 0x31 the high.
                    Vector256<double> t0 = Avx.UnpackLow(v0, v1), t1 = Avx.UnpackHigh(v0, v1);
                    Vector256<double> t2 = Avx.UnpackLow(v2, v3), t3 = Avx.UnpackHigh(v2, v3);
                    Vector256<double> t4 = Avx.UnpackLow(v4, v5), t5 = Avx.UnpackHigh(v4, v5);
                    Vector256<double> t6 = Avx.UnpackLow(v6, v7), t7 = Avx.UnpackHigh(v6, v7);
                    double* d = dst + r * PanelWidth;
                    Vector256.Store(Avx.Permute2x128(t0, t2, 0x20), d);
                    Vector256.Store(Avx.Permute2x128(t4, t6, 0x20), d + 4);
                    Vector256.Store(Avx.Permute2x128(t1, t3, 0x20), d + 8);
                    Vector256.Store(Avx.Permute2x128(t5, t7, 0x20), d + 12);
                    Vector256.Store(Avx.Permute2x128(t0, t2, 0x31), d + 16);
                    Vector256.Store(Avx.Permute2x128(t4, t6, 0x31), d + 20);
                    Vector256.Store(Avx.Permute2x128(t1, t3, 0x31), d + 24);
                    Vector256.Store(Avx.Permute2x128(t5, t7, 0x31), d + 28);
                }
                double* sp = sums + p * PanelWidth;
                sp[0] += Vector256.Sum(a0); sp[1] += Vector256.Sum(a1); sp[2] += Vector256.Sum(a2); sp[3] += Vector256.Sum(a3);
                sp[4] += Vector256.Sum(a4); sp[5] += Vector256.Sum(a5); sp[6] += Vector256.Sum(a6); sp[7] += Vector256.Sum(a7);
                PackRows<T>(s, sh, sw, r, m, dst, sp);
            }
        }

        /// <summary>Rows [from, m) of a panel one at a time (the tail of the vector packers).</summary>
        private static void PackRows<T>(double** s, double* sh, double* sw, int from, int m, double* dst, double* sp) where T : IRowScale
        {
            for (int r = from; r < m; r++)
            {
                double q = T.Weight(sw, r);
                double* d = dst + r * PanelWidth;
                for (int c = 0; c < PanelWidth; c++)
                {
                    d[c] = T.Pack(s[c][r] - sh[c], q);
                    sp[c] = T.Sum(sp[c], d[c], q);
                }
            }
        }

        /// <summary>
        /// Portable packing, element by element: row <c>rows[start + i]</c> (or <c>start + i</c> when
        /// <paramref name="rows"/> is null) becomes packed row i.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Gather<T>(double* data, long* colOffset, double* shift, int k, int* rows, double* sqrtWeights,
                                     int start, int m, int panels, double* packed, double* sums) where T : IRowScale
        {
            double* sw = sqrtWeights == null ? null : sqrtWeights + start;
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
                        double q = T.Weight(sw, i);
                        double* d = dst + i * PanelWidth;
                        double v0 = T.Pack(s0[r] - h0, q), v1 = T.Pack(s1[r] - h1, q), v2 = T.Pack(s2[r] - h2, q), v3 = T.Pack(s3[r] - h3, q);
                        double v4 = T.Pack(s4[r] - h4, q), v5 = T.Pack(s5[r] - h5, q), v6 = T.Pack(s6[r] - h6, q), v7 = T.Pack(s7[r] - h7, q);
                        d[0] = v0; d[1] = v1; d[2] = v2; d[3] = v3; d[4] = v4; d[5] = v5; d[6] = v6; d[7] = v7;
                        a0 = T.Sum(a0, v0, q); a1 = T.Sum(a1, v1, q); a2 = T.Sum(a2, v2, q); a3 = T.Sum(a3, v3, q);
                        a4 = T.Sum(a4, v4, q); a5 = T.Sum(a5, v5, q); a6 = T.Sum(a6, v6, q); a7 = T.Sum(a7, v7, q);
                    }
                    double* sp = sums + c0;
                    sp[0] += a0; sp[1] += a1; sp[2] += a2; sp[3] += a3; sp[4] += a4; sp[5] += a5; sp[6] += a6; sp[7] += a7;
                    continue;
                }
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
                        double q = T.Weight(sw, i);
                        double v = T.Pack(s[r] - h, q);
                        d[i * PanelWidth] = v;
                        acc = T.Sum(acc, v, q);
                    }
                    sums[c0 + c] += acc;
                }
            }
        }
    }
}
