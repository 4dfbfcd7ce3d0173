namespace RegService.Numerics.Selection;

/// <summary>
/// A partition of rows into validation folds. Fold k's model is fitted on every row outside fold k
/// and scored on fold k. A holdout is one fold (the held-out rows).
/// </summary>
public sealed class Folds
{
    private Folds(int[] foldOfRow, int count, int[] labels, bool holdout)
    {
        FoldOfRow = foldOfRow;
        Count = count;
        Labels = labels;
        IsHoldout = holdout;
        var rows = new List<int>[holdout ? 1 : count];
        for (int k = 0; k < rows.Length; k++) rows[k] = [];
        for (int i = 0; i < foldOfRow.Length; i++)
            if (foldOfRow[i] >= 0) rows[foldOfRow[i]].Add(i);
        Rows = [.. rows.Select(r => r.ToArray())];
    }

    /// <summary>Fold index (0-based) of every row; -1 for rows that are never held out (holdout's training rows).</summary>
    public int[] FoldOfRow { get; }

    /// <summary>Number of folds scored.</summary>
    public int Count { get; }

    /// <summary>The label of each fold (fold ids as given, or 1..K).</summary>
    public int[] Labels { get; }
    public bool IsHoldout { get; }

    /// <summary>Rows of each fold, ascending.</summary>
    public int[][] Rows { get; }

    /// <summary>Rows outside fold <paramref name="k"/>, ascending.</summary>
    public int[] TrainingRows(int k)
    {
        var train = new int[FoldOfRow.Length - Rows[k].Length];
        int t = 0;
        for (int i = 0; i < FoldOfRow.Length; i++)
            if (FoldOfRow[i] != k) train[t++] = i;
        return train;
    }

    /// <summary>The fold label of every row (k-fold only).</summary>
    public int[] RowLabels() => [.. FoldOfRow.Select(k => k < 0 ? 0 : Labels[k])];

    /// <summary>A seeded holdout: round(fraction * n) rows form the one validation fold.</summary>
    public static Folds Holdout(int n, double fraction, int seed)
    {
        var (_, validation) = Splits.Holdout(n, fraction, seed);
        var fold = new int[n];
        Array.Fill(fold, -1);
        foreach (int i in validation) fold[i] = 0;
        return new Folds(fold, 1, [1], holdout: true);
    }

    /// <summary>
    /// K seeded random folds of near-equal size (fold labels 1..K). With <paramref name="strata"/> (class
    /// labels), each class is spread evenly over the folds: its rows are shuffled and dealt in turn,
    /// continuing the deal from one class to the next.
    /// </summary>
    public static Folds Random(int n, int k, int seed, double[]? strata = null)
    {
        if (k < 2 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"folds must be in [2, {n}]");
        var rng = new Random(seed);
        var fold = new int[n];
        IEnumerable<int[]> groups = strata is null
            ? [Enumerable.Range(0, n).ToArray()]
            : Enumerable.Range(0, n).GroupBy(i => strata[i]).OrderBy(g => g.Key).Select(g => g.ToArray());
        int deal = 0;
        foreach (var group in groups)
        {
            for (int i = group.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (group[i], group[j]) = (group[j], group[i]);
            }
            foreach (int row in group) fold[row] = deal++ % k;
        }
        return new Folds(fold, k, [.. Enumerable.Range(1, k)], holdout: false);
    }

    /// <summary>Explicit fold ids, one per row (any integer labels; each distinct label is a fold, in ascending order).</summary>
    public static Folds FromIds(int[] ids)
    {
        var labels = ids.Distinct().Order().ToArray();
        if (labels.Length < 2) throw new ArgumentException("fold ids must name at least 2 folds");
        var index = new Dictionary<int, int>(labels.Length);
        for (int k = 0; k < labels.Length; k++) index[labels[k]] = k;
        return new Folds([.. ids.Select(id => index[id])], labels.Length, labels, holdout: false);
    }
}
