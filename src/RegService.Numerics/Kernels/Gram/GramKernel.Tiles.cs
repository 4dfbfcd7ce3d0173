using System.Runtime.CompilerServices;

namespace RegService.Numerics.Kernels;

public static partial class GramKernel
{
    // ---------------------------------------------------------------------------------------------
    // Tile loops. The packed block holds `panels` panels; panel p is m rows x 8 doubles at packed + p*m*8.
    // acc[b * kp + a] accumulates G[a, b]; a tile (A panels, B panel) updates acc[8*pb + j, 8*pa + i].
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Upper-triangle tiles of 3 A panels (24 columns) x 1 B panel (8 columns); diagonal tiles use only the A panels that
    /// are needed, and tiles of the last B panel only its <paramref name="lastWidth"/> real columns (the rest is padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Tiles512(double* packed, int m, int panels, int lastWidth, double* acc, int kp, ref Prefetcher prefetcher, CancellationToken ct)
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
                Kernel512(Math.Min(na, pb - pa0 + 1), pb == panels - 1 ? lastWidth : PanelWidth, a, ps, b, m, c, kp, pf1, step1, pf2, step2);
            }
        }
        return true;
    }

    /// <summary>
    /// Upper-triangle tiles of 3 A panels (24 columns, as two runs of 12 columns: 3 ymm) x half a B panel (4 columns), 12
    /// accumulators a call; a diagonal group that needs fewer than 3 A panels takes 1 A panel x 4 columns at a time.
    /// Each call prefetches one run of the next block. The last B panel's second half is skipped when it is all padding
    /// (<paramref name="lastWidth"/> ≤ 4).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Tiles256(double* packed, int m, int panels, int lastWidth, double* acc, int kp, ref Prefetcher prefetcher, CancellationToken ct)
    {
        nint ps = (nint)m * PanelWidth;
        int calls = 0;
        for (int pa0 = 0; pa0 < panels; pa0 += 3)
            calls += 4 * (panels - pa0 - 1) + 2 * ((lastWidth + 3) / 4);
        int linesPerCall = (int)((prefetcher.Lines + calls - 1) / calls);
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
                // The last panel's second half is padding when it has at most 4 real columns.
                int width = pb == panels - 1 ? lastWidth : PanelWidth;
                for (int half = 0; half < width; half += 4)
                {
                    double* bh = b + half;
                    double* ch = c + half * (nint)kp;
                    int budget = linesPerCall;
                    prefetcher.Take(ref budget, m, idle, out byte* pf, out nint step);
                    int needed = Math.Min(na, pb - pa0 + 1);
                    if (needed == 3)
                    {
                        // Columns 0..11: panel pa0 and the first half of pa0 + 1; 12..23: its second half and pa0 + 2.
                        Kernel256x3(a, a + 4, a + ps, bh, m, ch, kp, pf, step);
                        budget = linesPerCall;
                        prefetcher.Take(ref budget, m, idle, out pf, out step);
                        Kernel256x3(a + ps + 4, a + 2 * ps, a + 2 * ps + 4, bh, m, ch + 12, kp, pf, step);
                    }
                    else
                    {
                        for (int i = 0; i < needed; i++)
                            Kernel256(a + i * ps, bh, m, ch + PanelWidth * i, kp, i == 0 ? pf : idle, i == 0 ? step : 0);
                    }
                }
            }
        }
        return true;
    }

    /// <summary>Upper-triangle tiles of 1 A panel x a quarter of a B panel (2 columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Tiles128(double* packed, int m, int panels, double* acc, int kp, CancellationToken ct)
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
                for (int j = 0; j < PanelWidth; j += 2)
                    Kernel128(a, b + j, m, c + j * (nint)kp, kp);
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
}
