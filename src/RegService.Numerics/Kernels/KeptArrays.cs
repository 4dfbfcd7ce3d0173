namespace RegService.Numerics.Kernels;

/// <summary>
/// Large double arrays of exact lengths kept between fits: the Gram source's k x k outputs and the training metrics' linear
/// predictor. A fresh large array costs a page fault per 4 KB on its first touch (on the 2-core benchmark VM about 20 µs each
/// under load: 1.6 MB, about 400 faults, is several milliseconds), which every fit paid for arrays the fit before had just
/// dropped. <see cref="Take"/> hands out a kept array of the length asked for (else a new one); <see cref="Give"/> keeps an
/// array the caller no longer uses. At most <see cref="MaxKeptValues"/> values are kept; arrays under <see cref="MinLength"/>
/// values are neither kept nor handed out (a fresh small array is cheap, and small fits pin no memory).
/// </summary>
internal static class KeptArrays
{
    /// <summary>16 K values (128 KB).</summary>
    public const int MinLength = 1 << 14;

    /// <summary>64 MB of doubles in all.</summary>
    public const long MaxKeptValues = 1L << 23;

    private static readonly List<double[]> Kept = [];
    private static long _keptValues;

    /// <summary>An array of exactly <paramref name="length"/> values: zeros with <paramref name="clear"/>, else contents undefined.</summary>
    public static double[] Take(int length, bool clear)
    {
        if (length < MinLength) return new double[length];
        lock (Kept)
        {
            for (int i = Kept.Count - 1; i >= 0; i--)
            {
                var array = Kept[i];
                if (array.Length != length) continue;
                Kept.RemoveAt(i);
                _keptValues -= length;
                if (clear) Array.Clear(array);
                return array;
            }
        }
        return clear ? new double[length] : GC.AllocateUninitializedArray<double>(length);
    }

    /// <summary>Keeps <paramref name="array"/> for a later <see cref="Take"/> of its length (the oldest kept arrays make room).</summary>
    public static void Give(double[] array)
    {
        if (array.Length < MinLength || array.Length > MaxKeptValues) return;
        lock (Kept)
        {
            while (_keptValues + array.Length > MaxKeptValues && Kept.Count > 0)
            {
                _keptValues -= Kept[0].Length;
                Kept.RemoveAt(0);
            }
            Kept.Add(array);
            _keptValues += array.Length;
        }
    }
}
