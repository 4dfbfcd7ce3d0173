using static RegService.Numerics.Fitting.SpecNames;

namespace RegService.Numerics.Fitting;

/// <summary>The multinomial family's rules (glmnet's lognet with family "multinomial").</summary>
public sealed partial record FitSpec
{
    /// <summary>Most classes a multinomial target may hold.</summary>
    public const int MaxClasses = 1000;

    /// <summary>
    /// Family multinomial: solved by proximal Newton (auto) only, with a generated path or lambdas, k-fold or holdout validation;
    /// classes are the target's distinct values (numbers, sorted), at least 2, each with at least 2 rows on every set of rows
    /// fitted (all rows, and the rows outside each validation fold), as glmnet refuses a class with 1 or 0 observations, and
    /// with weights some positive weight there (glmnet stops on a class of null probability 0). Observation weights and
    /// coefficient bounds (the same for every class, ungrouped and grouped) are taken as glmnet takes them (their own rules in
    /// CheckWeights and CheckLimits). The offset is glmnet's n x K matrix, <see cref="ClassOffsets"/> (CheckClassOffsets); a
    /// single <see cref="Offset"/> column is refused: added to every class's linear predictor it cancels in the softmax.
    /// multinomialType grouped and classOffsets are for this family only.
    /// </summary>
    private void CheckMultinomial(DataShape data, Action<string, string> add)
    {
        if (Family != Family.Multinomial)
        {
            if (MultinomialGrouped) add("multinomialType", $"applies to family multinomial only; family is {Of(Family)}");
            if (ClassOffsets is not null)
                add("classOffsets", $"is family multinomial's offset (one column per class); family {Of(Family)} has one linear predictor: give its offset column as offset");
            return;
        }
        if (Model != ModelKind.Linear) add("model", $"family multinomial is a linear model fitted by proximal Newton; model {Of(Model)} does not fit it");
        else if (Stochastic || Solver is SolverKind.ProximalGradient)
            add("solver", $"family multinomial is fitted by proximalNewton (or auto); solver {Of(Solver)} does not fit it");
        if (Penalty == Penalty.None && Validation != ValidationMethod.None)
            add("validation", "penalty none has no lambda to choose");
        if (Offset is not null)
            add("offset", "family multinomial takes its offset as classOffsets (glmnet's n x K offset matrix: one column per class, "
                + "{\"<class label>\": \"<column>\", ...}), not offset: one column added to every class's linear predictor cancels in the "
                + "softmax and changes nothing");
        CheckClassOffsetValues(data.Rows, add);
        if ((uint)TargetColumn >= (uint)data.Columns || data.ReadColumn(TargetColumn) is not { Length: > 0 } column) return;
        var y = column.Span;
        var labels = ClassLabels(y);
        if (labels.Length > MaxClasses)
        {
            add("targetColumn", $"{Target} takes {labels.Length} distinct values; family multinomial takes at most {MaxClasses} classes");
            return;
        }
        if (labels.Length < 2) return;   // a constant target: CheckColumns names it
        CheckClassOffsetLabels(labels, add);
        var classOf = ClassIndex(y, labels);
        if (Rare(classOf, labels.Length, null) is { } rare)
        {
            add("targetColumn", $"class {Show(labels[rare.Class])} of {Target} has {rare.Count} row{(rare.Count == 1 ? "" : "s")}; family multinomial needs at least 2 per class (as glmnet)");
            return;
        }
        // Weights the weights rule accepts: each class needs some positive weight on every set of rows fitted.
        var w = Weights is { Length: var m } ws && m == data.Rows && ws.All(v => double.IsFinite(v) && v >= 0) && ws.Any(v => v > 0) ? ws : null;
        if (w is not null && Weightless(classOf, labels.Length, w, null) is int none)
        {
            add("weights", $"every row of class {Show(labels[none])} of {Target} has weight 0, so the class cannot be fitted (glmnet stops on a class of probability 0); give one of its rows a positive weight");
            return;
        }
        if (ValidationFolds(data.Rows) is not { } folds) return;
        for (int k = 0; k < folds.Count; k++)
        {
            string which = folds.IsHoldout ? "the training rows (outside the held-out rows)" : $"the rows outside fold {folds.Labels[k]}";
            if (Rare(classOf, labels.Length, folds.TrainingRows(k)) is { } r)
            {
                add(Validation == ValidationMethod.KFold ? "kFold" : "holdout",
                    $"{which} hold {r.Count} row{(r.Count == 1 ? "" : "s")} of class {Show(labels[r.Class])}; a multinomial fit needs at least 2 per class "
                    + "(glmnet refuses the fold's fit): choose other folds or another seed");
                return;
            }
            if (w is not null && Weightless(classOf, labels.Length, w, folds.TrainingRows(k)) is int c)
            {
                add("weights", $"{which} give class {Show(labels[c])} weight 0, so that fold's fit cannot fit it: give one of its rows there a positive weight or choose other folds");
                return;
            }
        }
    }

    /// <summary>Each class offset column: one finite value per row (a fault names the entry, classOffsets[i], and the row).</summary>
    private void CheckClassOffsetValues(int rows, Action<string, string> add)
    {
        if (ClassOffsets is not { } offsets) return;
        if (offsets.Length == 0) add("classOffsets", "names no column; give one offset column per class, or omit classOffsets");
        for (int e = 0; e < offsets.Length; e++)
        {
            var (label, o) = (offsets[e].Label, offsets[e].Values);
            if (o is null || o.Length != rows)
            {
                add($"classOffsets[{e}]", $"class {Show(label)}'s offset has {o?.Length ?? 0} values but the data has {rows} rows; give one offset per row");
                continue;
            }
            for (int i = 0; i < o.Length; i++)
                if (!double.IsFinite(o[i]))
                {
                    add($"classOffsets[{e}]", $"row {i + 1} has offset {Show(o[i])} for class {Show(label)}; every offset must be a finite number");
                    break;
                }
        }
    }

    /// <summary>The class offsets name each class of the target once and nothing else (glmnet's offset has one column per class).</summary>
    private void CheckClassOffsetLabels(double[] labels, Action<string, string> add)
    {
        if (ClassOffsets is not { Length: > 0 } offsets) return;
        var named = new bool[labels.Length];
        for (int e = 0; e < offsets.Length; e++)
        {
            int c = Array.BinarySearch(labels, offsets[e].Label);
            if (c < 0)
                add($"classOffsets[{e}]", $"{Show(offsets[e].Label)} is not a class of {Target}; its classes are {string.Join(", ", labels.Select(Show))}");
            else if (named[c]) add($"classOffsets[{e}]", $"names class {Show(labels[c])} a second time; give each class one offset column");
            else named[c] = true;
        }
        var missing = labels.Where((_, c) => !named[c]).ToArray();
        if (missing.Length > 0)
            add("classOffsets", $"names no offset column for class{(missing.Length == 1 ? "" : "es")} {string.Join(", ", missing.Select(Show))} of {Target}; "
                + "glmnet's multinomial offset has one column per class: name one for every class (a column of zeros where a class has none)");
    }

    /// <summary>The class offsets as glmnet's n x K matrix, [class][row] in the order of <paramref name="labels"/> (the sorted
    /// classes; the rules guarantee each is named once); null without class offsets.</summary>
    public double[][]? ClassOffsetMatrix(double[] labels)
    {
        if (ClassOffsets is not { } offsets) return null;
        var matrix = new double[labels.Length][];
        foreach (var o in offsets) matrix[Array.BinarySearch(labels, o.Label)] = o.Values;
        return matrix;
    }

    /// <summary>The distinct values of a multinomial target, smallest first: the classes.</summary>
    public static double[] ClassLabels(ReadOnlySpan<double> y)
    {
        var set = new SortedSet<double>();
        foreach (double v in y) set.Add(v);
        return [.. set];
    }

    /// <summary>Each value's class: its position in <paramref name="labels"/>.</summary>
    public static int[] ClassIndex(ReadOnlySpan<double> y, double[] labels)
    {
        var index = new int[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int c = Array.BinarySearch(labels, y[i]);
            if (c < 0) throw new ArgumentException($"row {i} has {y[i]}, which is not one of the classes");
            index[i] = c;
        }
        return index;
    }

    /// <summary>The first class whose rows (of <paramref name="rows"/>; all when null) all have weight 0, or null.</summary>
    private static int? Weightless(int[] classOf, int classes, double[] weights, int[]? rows)
    {
        var mass = new double[classes];
        if (rows is null) for (int i = 0; i < classOf.Length; i++) mass[classOf[i]] += weights[i];
        else foreach (int i in rows) mass[classOf[i]] += weights[i];
        for (int c = 0; c < classes; c++) if (!(mass[c] > 0)) return c;
        return null;
    }

    private static (int Class, int Count)? Rare(int[] classOf, int classes, int[]? rows)
    {
        var counts = new int[classes];
        if (rows is null) foreach (int c in classOf) counts[c]++;
        else foreach (int i in rows) counts[classOf[i]]++;
        for (int c = 0; c < classes; c++) if (counts[c] < 2) return (c, counts[c]);
        return null;
    }
}
