using System.Runtime.CompilerServices;

namespace RegService.Numerics.Training;

/// <summary>
/// The random numbers of a training run, all derived from the spec's seed. Sequential draws (the initial weights, the
/// early-stopping split, the shuffle of each epoch) come from a SplitMix64 stream; the noise of a gathered row and the
/// dropout mask of a row are counter-based (a hash of the seed, the epoch or step, the row's position and the feature or
/// unit), so they do not depend on which thread draws them or in which order: the same seed gives bit-identical results
/// whatever the thread count.
/// </summary>
internal static class TrainingRandom
{
    /// <summary>Streams: one per use, so that the draws of one use do not shift those of another.</summary>
    public const ulong InitStream = 1, SplitStream = 2, ShuffleStream = 3, NoiseStream = 4, DropoutStream = 5;

    private const ulong Golden = 0x9E3779B97F4A7C15;

    /// <summary>The SplitMix64 finalizer (Stafford's Mix13): a bijection of 64-bit words that scrambles every bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A key for counter-based draws: a hash of the seed, a stream and two counters.</summary>
    public static ulong Key(int seed, ulong stream, long a, long b = 0) =>
        Mix(Mix(Mix((ulong)(uint)seed * Golden + stream) + (ulong)a * Golden) + (ulong)b);

    /// <summary>The i-th uniform word under a key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Word(ulong key, long i) => Mix(key + (ulong)(i + 1) * Golden);

    /// <summary>A uniform double in (0, 1) from the top 53 bits of a word (never 0, so its log is finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Open01(ulong word) => ((word >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>
    /// Adds <paramref name="sigma"/> times standard normal noise to <paramref name="count"/> values: value j gets the
    /// Box-Muller normal of the uniform pair (2 floor(j/2), 2 floor(j/2) + 1) under <paramref name="key"/> (cosine for even j,
    /// sine for odd j).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AddNoise(double* values, int count, double sigma, ulong key)
    {
        for (int j = 0; j < count; j += 2)
        {
            double u1 = Open01(Word(key, j)), u2 = Open01(Word(key, j + 1));
            double r = sigma * Math.Sqrt(-2 * Math.Log(u1));
            var (sin, cos) = Math.SinCos(2 * Math.PI * u2);
            values[j] += r * cos;
            if (j + 1 < count) values[j + 1] += r * sin;
        }
    }

    /// <summary>
    /// Inverted dropout of <paramref name="count"/> activations, units first..first + count - 1 of a row: unit u is dropped
    /// (set to 0) when the top 53 bits of word u under <paramref name="key"/> fall below rate * 2^53, and otherwise scaled
    /// by 1 / (1 - rate).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Dropout(double* values, int count, double rate, ulong key, int first = 0)
    {
        ulong threshold = (ulong)(rate * (1UL << 53));
        double keep = 1 / (1 - rate);
        for (int j = 0; j < count; j++)
            values[j] = (Word(key, first + j) >> 11) < threshold ? 0 : values[j] * keep;
    }
}

/// <summary>A sequential SplitMix64 stream (Steele, Lea and Flood 2014).</summary>
internal struct SplitMix
{
    private ulong _state;

    public SplitMix(ulong seed) => _state = seed;

    public ulong Next() => TrainingRandom.Mix(_state += 0x9E3779B97F4A7C15);

    /// <summary>An integer in [0, bound): the high 32 bits of a word times the bound (Lemire), bias below bound / 2^32.</summary>
    public int Below(int bound) => (int)(((Next() >> 32) * (ulong)(uint)bound) >> 32);

    /// <summary>A standard normal (Box-Muller, cosine branch).</summary>
    public double Normal()
    {
        double u1 = TrainingRandom.Open01(Next()), u2 = TrainingRandom.Open01(Next());
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle of <paramref name="values"/>.</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int k = Below(i + 1);
            (values[i], values[k]) = (values[k], values[i]);
        }
    }
}
