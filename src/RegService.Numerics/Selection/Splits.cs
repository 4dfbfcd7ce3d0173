namespace RegService.Numerics.Selection;

/// <summary>Seeded row splits.</summary>
public static class Splits
{
    /// <summary>
    /// Splits rows 0..n-1 into a training and a validation set: round(fraction * n) rows, chosen by
    /// a seeded Fisher-Yates shuffle, are held out. Both sets are returned sorted, so reads stay in order.
    /// </summary>
    public static (int[] Train, int[] Validation) Holdout(int n, double fraction, int seed)
    {
        if (fraction is <= 0 or >= 1 || double.IsNaN(fraction))
            throw new ArgumentOutOfRangeException(nameof(fraction), "holdout fraction must be in (0, 1)");
        int held = HeldOutCount(n, fraction);
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var rng = new Random(seed);
        for (int i = n - 1; i > 0; i--)
        {
            int k = rng.Next(i + 1);
            (order[i], order[k]) = (order[k], order[i]);
        }
        var validation = order[..held];
        var train = order[held..];
        Array.Sort(validation);
        Array.Sort(train);
        return (train, validation);
    }

    /// <summary>How many of n rows a holdout fraction keeps out.</summary>
    public static int HeldOutCount(int n, double fraction) => (int)Math.Round(fraction * n, MidpointRounding.AwayFromZero);
}
