using System.Runtime.CompilerServices;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    // ---------------------------------------------------------------------------------------------
    // Tile loops. The packed block holds `panels` panels; panel p is m rows x 8 doubles at packed + p*m*8.
    // acc[b * kp + a] accumulates G[a, b]; a tile (A panels, B panel) updates acc[8*pb + j, 8*pa + i].
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Upper-triangle tiles of groups of 3 A panels (24 columns) x 1 B panel (8 columns), on the tier
    /// <typeparamref name="T"/> (<see cref="Tiles512"/>, <see cref="Tiles256"/>, <see cref="Tiles128"/>,
    /// <see cref="TilesScalar"/>; the first two prefetch the next block). Diagonal tiles use only the A
    /// panels that are needed, and tiles of the last B panel only as much of it as holds its <paramref name="lastWidth"/>
    /// real columns (the rest is padding). B panels before <paramref name="firstPanel"/> are skipped (a Gram matrix grown by
    /// columns); every tile that runs is the one the full loop runs. The prefetcher's lines are spread evenly over the tiers'
    /// prefetch units.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Tiles<T>(double* packed, int m, int panels, int firstPanel, int lastWidth, double* acc, int kp,
                                        ref Prefetcher prefetcher, CancellationToken ct) where T : struct, ITiles
    {
        nint ps = (nint)m * PanelWidth;
        int units = 0;
        for (int pa0 = 0; pa0 < panels; pa0 += 3)
            units += T.Units(PanelWidth) * (panels - Math.Max(pa0, firstPanel) - 1) + T.Units(lastWidth);
        int linesPerUnit = units == 0 ? 0 : (int)((prefetcher.Lines + units - 1) / units);
        byte* idle = (byte*)packed;
        for (int pa0 = 0; pa0 < panels; pa0 += 3)
        {
            if (ct.IsCancellationRequested)
                return false;
            int na = Math.Min(3, panels - pa0);
            double* a = packed + pa0 * ps;
            int pb = Math.Max(pa0, firstPanel);
            if (T.FusesDiagonal && pb == pa0 && pa0 + 1 < panels - 1)
            {
                // The group's two diagonal tiles (1 and 2 A panels) in one pass, when the second is a full panel.
                T.DiagonalPair(a, ps, m, acc + (nint)PanelWidth * pa0 * kp + PanelWidth * pa0, kp, ref prefetcher, linesPerUnit, idle);
                pb = pa0 + 2;
            }
            for (; pb < panels; pb++)
            {
                double* b = packed + pb * ps;
                double* c = acc + (nint)PanelWidth * pb * kp + PanelWidth * pa0;
                T.Tile(Math.Min(na, pb - pa0 + 1), pb == panels - 1 ? lastWidth : PanelWidth, a, ps, b, m, c, kp, ref prefetcher, linesPerUnit, idle);
            }
        }
        return true;
    }

    /// <summary>One tile of <see cref="Tiles{T}"/> on one instruction-set tier.</summary>
    private unsafe interface ITiles
    {
        /// <summary>Prefetch units (each given the same line budget) of a tile against <paramref name="width"/> B columns.</summary>
        static abstract int Units(int width);

        /// <summary>
        /// acc tile at <paramref name="c"/> += A panels [0, <paramref name="na"/>) (at <paramref name="a"/>, stride
        /// <paramref name="ps"/>) times the first <paramref name="width"/> columns of the B panel <paramref name="b"/>,
        /// prefetching <see cref="Units"/> runs of <paramref name="linesPerUnit"/> lines.
        /// </summary>
        static abstract void Tile(int na, int width, double* a, nint ps, double* b, int m, double* c, int kp, ref Prefetcher prefetcher,
                                  int linesPerUnit, byte* idle);

        /// <summary>Whether the tier runs a group's two diagonal tiles as one (<see cref="DiagonalPair"/>).</summary>
        static virtual bool FusesDiagonal => false;

        /// <summary>
        /// The diagonal tiles of the group at A panel <paramref name="a"/>: 1 x 8 against itself and 2 x 8 against the next panel (the
        /// accumulator tiles at <paramref name="c"/> and <paramref name="c"/> + 8 <paramref name="kp"/>), prefetching two units' lines.
        /// </summary>
        static virtual void DiagonalPair(double* a, nint ps, int m, double* c, int kp, ref Prefetcher prefetcher, int linesPerUnit, byte* idle) =>
            throw new NotSupportedException();
    }

    /// <summary>Vector512: one <see cref="Kernel512(int, int, double*, nint, double*, int, double*, nint, byte*, nint, byte*, nint)"/>
    /// call a tile, na x width (up to 3 x 8: 24 zmm accumulators), prefetching two runs.</summary>
    private readonly unsafe struct Tiles512 : ITiles
    {
        public static int Units(int width) => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Tile(int na, int width, double* a, nint ps, double* b, int m, double* c, int kp, ref Prefetcher prefetcher,
                                int linesPerUnit, byte* idle)
        {
            int budget = linesPerUnit;
            prefetcher.Take(ref budget, m, idle, out byte* pf1, out nint step1);
            prefetcher.Take(ref budget, m, idle, out byte* pf2, out nint step2);
            Kernel512(na, width, a, ps, b, m, c, kp, pf1, step1, pf2, step2);
        }

        public static bool FusesDiagonal => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void DiagonalPair(double* a, nint ps, int m, double* c, int kp, ref Prefetcher prefetcher, int linesPerUnit, byte* idle)
        {
            int budget = 2 * linesPerUnit;
            prefetcher.Take(ref budget, m, idle, out byte* pf1, out nint step1);
            prefetcher.Take(ref budget, m, idle, out byte* pf2, out nint step2);
            DiagonalPair512(a, ps, m, c, kp, pf1, step1, pf2, step2);
        }
    }

    /// <summary>
    /// Vector256: 3 A panels as two runs of 12 columns (3 ymm: <see cref="Kernel256x3"/>, 12 accumulators a call, each call
    /// prefetching one run) against each half B panel (4 columns; the second half skipped when it is padding). Against a full
    /// B panel the runs are the outer loop and the halves the inner one, so a run's A lines (1.5 panels) are read twice in a
    /// row and the second call finds them in L1 (the other order read every A line from L2 once per half; the accumulators
    /// get the same chains of multiply-adds either way, so the same bits). On a diagonal
    /// group that needs fewer, 1 A panel x 4 columns at a time (<see cref="Kernel256"/>), except that a diagonal tile against a
    /// full B panel leaves out the rows below the diagonal: one panel against itself is one 12-accumulator call
    /// (<see cref="Diagonal256"/>, 12 multiply-adds a row instead of 16), two panels take their first 12 columns against B
    /// columns 0..3 in one <see cref="Kernel256x3"/> call (instead of two calls of 8 accumulators). A half that holds one real column
    /// (the last panel's when k is 1 more than a multiple of 4) takes the 3 A panels against that column alone
    /// (<see cref="Kernel256x6x1"/>: 6 accumulators instead of 4 x 6 of which 3 x 6 were padding; each value is the same
    /// chain of multiply-adds over the rows, so the same bits).
    /// </summary>
    private readonly unsafe struct Tiles256 : ITiles
    {
        public static int Units(int width) => 2 * ((width + 3) / 4);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Tile(int na, int width, double* a, nint ps, double* b, int m, double* c, int kp, ref Prefetcher prefetcher,
                                int linesPerUnit, byte* idle)
        {
            if (na == 3 && width == PanelWidth)
            {
                // Columns 0..11: panel pa0 and the first half of pa0 + 1; 12..23: its second half and pa0 + 2.
                for (int run = 0; run < 2; run++)
                {
                    double* a0 = run == 0 ? a : a + ps + 4;
                    double* a1 = run == 0 ? a + 4 : a + 2 * ps;
                    double* a2 = run == 0 ? a + ps : a + 2 * ps + 4;
                    for (int half = 0; half < PanelWidth; half += 4)
                    {
                        int budget = linesPerUnit;
                        prefetcher.Take(ref budget, m, idle, out byte* pf, out nint step);
                        Kernel256x3(a0, a1, a2, b + half, m, c + half * (nint)kp + 12 * run, kp, pf, step);
                    }
                }
                return;
            }
            if (na < 3 && width == PanelWidth)
            {
                // A diagonal tile (its last A panel is the B panel) skips the A rows below the diagonal, which the mirror
                // never reads: against B columns 0..3 the B panel's own rows 4..7.
                int budget = linesPerUnit;
                prefetcher.Take(ref budget, m, idle, out byte* pf, out nint step);
                budget = linesPerUnit;
                prefetcher.Take(ref budget, m, idle, out byte* pf2, out nint step2);
                if (na == 1)
                {
                    Diagonal256(a, m, c, kp, pf, step, pf2, step2);
                    return;
                }
                Kernel256x3(a, a + 4, a + ps, b, m, c, kp, pf, step);
                for (int i = 0; i < 2; i++)
                    Kernel256(a + i * ps, b + 4, m, c + 4 * (nint)kp + PanelWidth * i, kp, i == 0 ? pf2 : idle, i == 0 ? step2 : 0);
                return;
            }
            for (int half = 0; half < width; half += 4)
            {
                double* bh = b + half;
                double* ch = c + half * (nint)kp;
                int budget = linesPerUnit;
                prefetcher.Take(ref budget, m, idle, out byte* pf, out nint step);
                if (na == 3 && width - half == 1)
                {
                    budget = linesPerUnit;
                    prefetcher.Take(ref budget, m, idle, out byte* pf2, out nint step2);
                    Kernel256x6x1(a, ps, bh, m, ch, pf, step, pf2, step2);
                }
                else if (na == 3)
                {
                    // Columns 0..11: panel pa0 and the first half of pa0 + 1; 12..23: its second half and pa0 + 2.
                    Kernel256x3(a, a + 4, a + ps, bh, m, ch, kp, pf, step);
                    budget = linesPerUnit;
                    prefetcher.Take(ref budget, m, idle, out pf, out step);
                    Kernel256x3(a + ps + 4, a + 2 * ps, a + 2 * ps + 4, bh, m, ch + 12, kp, pf, step);
                }
                else
                {
                    for (int i = 0; i < na; i++)
                        Kernel256(a + i * ps, bh, m, ch + PanelWidth * i, kp, i == 0 ? pf : idle, i == 0 ? step : 0);
                }
            }
        }
    }

    /// <summary>Vector128: per A panel, 2 B columns at a time (<see cref="Kernel128"/>); no prefetching.</summary>
    private readonly unsafe struct Tiles128 : ITiles
    {
        public static int Units(int width) => 0;

        public static void Tile(int na, int width, double* a, nint ps, double* b, int m, double* c, int kp, ref Prefetcher prefetcher,
                                int linesPerUnit, byte* idle)
        {
            for (int i = 0; i < na; i++)
                for (int j = 0; j < width; j += 2)
                    Kernel128(a + i * ps, b + j, m, c + PanelWidth * i + j * (nint)kp, kp);
        }
    }

    /// <summary>Plain scalar code: per A panel, an 8 x 8 block summed on the stack and added to the accumulator.</summary>
    private readonly unsafe struct TilesScalar : ITiles
    {
        public static int Units(int width) => 0;

        public static void Tile(int na, int width, double* a, nint ps, double* b, int m, double* c, int kp, ref Prefetcher prefetcher,
                                int linesPerUnit, byte* idle)
        {
            double* t = stackalloc double[PanelWidth * PanelWidth];
            for (int p = 0; p < na; p++)
            {
                double* ap = a + p * ps, bp = b;
                new Span<double>(t, PanelWidth * PanelWidth).Clear();
                for (int r = 0; r < m; r++, ap += PanelWidth, bp += PanelWidth)
                {
                    for (int j = 0; j < width; j++)
                    {
                        double bj = bp[j];
                        for (int i = 0; i < PanelWidth; i++)
                            t[j * PanelWidth + i] += ap[i] * bj;
                    }
                }
                double* cp = c + PanelWidth * p;
                for (int j = 0; j < width; j++)
                    for (int i = 0; i < PanelWidth; i++)
                        cp[j * (nint)kp + i] += t[j * PanelWidth + i];
            }
        }
    }
}
