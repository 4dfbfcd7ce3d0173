using System.Runtime.InteropServices;

namespace RegService.Numerics.Data;

/// <summary>
/// Allocation of large arrays (float64, or any unmanaged element) that are about to be filled. Such arrays are allocated
/// uninitialized and pinned and, on Linux, their interior is advised for transparent huge
/// pages before it is first touched: filling fresh memory in 4 KiB pages costs one page fault
/// per page, which on virtual machines was measured at about 1 s per 320 MB, against about
/// 0.1 s with 2 MiB pages. Anywhere else (or if the call fails) this is a plain allocation.
/// </summary>
internal static class LargeArrays
{
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE
    private const long HugePage = 2 << 20;
    private const long MinAdvisedBytes = 4 << 20;

    private static volatile bool s_adviceUnavailable = !OperatingSystem.IsLinux();

    public static double[] Allocate(int length) => Allocate<double>(length);

    public static unsafe T[] Allocate<T>(int length) where T : unmanaged
    {
        if ((long)length * sizeof(T) < MinAdvisedBytes) return GC.AllocateUninitializedArray<T>(length);
        T[] array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        Advise(array);
        return array;
    }

    private static unsafe void Advise<T>(T[] pinnedArray) where T : unmanaged
    {
        if (s_adviceUnavailable) return;
        fixed (T* p = pinnedArray)
        {
            long start = ((long)p + HugePage - 1) & ~(HugePage - 1);
            long end = (long)(p + pinnedArray.Length) & ~(HugePage - 1);
            if (end <= start) return;
            try
            {
                _ = madvise((nint)start, (nuint)(end - start), MadviseHugePage);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_adviceUnavailable = true;
            }
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int madvise(nint address, nuint length, int advice);
}
