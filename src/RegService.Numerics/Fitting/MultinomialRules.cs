using RegService.Numerics.Data;
using RegService.Numerics.Selection;
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
    /// CheckWeights and CheckLimits); an offset is not: glmnet's multinomial offset is an n x K matrix, one column per class,
    /// and one column added to every class's linear predictor cancels in the softmax. multinomialType grouped is for this
    /// family only.
    /// </summary>
    private void CheckMultinomial(DataShape data, Action<string, string> add)
    {
        if (Family != Family.Multinomial)
        {
            if (MultinomialGrouped) add("multinomialType", $"applies to family multinomial only; family is {Of(Family)}");
            return;
        }
        if (Model != ModelKind.Linear) add("model", $"family multinomial is a linear model fitted by proximal Newton; model {Of(Model)} does not fit it");
        else if (Stochastic || Solver is SolverKind.ProximalGradient)
            add("solver", $"family multinomial is fitted by proximalNewton (or auto); solver {Of(Solver)} does not fit it");
        if (Penalty == Penalty.None && Validation != ValidationMethod.None)
            add("validation", "penalty none has no lambda to choose");
        if (Offset is not null)
            add("offset", "family multinomial takes no offset column: one column added to every class's linear predictor cancels in the "
                + "softmax and changes nothing; glmnet's multinomial offset is an n x K matrix (one column per class), which RegService does "
                + "not take yet; fit without offset");
        if ((uint)TargetColumn >= (uint)data.Columns || data.ReadColumn(TargetColumn) is not { Length: > 0 } y) return;
        var labels = ClassLabels(y);
        if (labels.Length > MaxClasses)
        {
            add("targetColumn", $"{Target} takes {labels.Length} distinct values; family multinomial takes at most {MaxClasses} classes");
            return;
        }
        if (labels.Length < 2) return;   // a constant target: CheckColumns names it
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
