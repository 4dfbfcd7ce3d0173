using static RegService.Numerics.Fitting.SpecNames;

namespace RegService.Numerics.Fitting;

/// <summary>The spec's rules for the inputs given per row or per feature besides the data: observation weights, the offset
/// and coefficient bounds (FitSpec.Rules.cs runs them all).</summary>
public sealed partial record FitSpec
{
    /// <summary>
    /// Observation weights: one per row, finite, non-negative, not all zero (the first row at fault is named, 1-based).
    /// They are fitted by the gaussian Gram route (coordinate descent in covariance form and closed-form ridge, both from
    /// the weighted Gram X'WX) and by proximal Newton (binomial, poisson, multinomial: the working weights times the observation weights),
    /// with k-fold or holdout validation weighted as cv.glmnet; the other solvers and models, and leave-one-out and GCV,
    /// do not take them yet, and say so.
    /// </summary>
    private void CheckWeights(int rows, int fitted, Action<string, string> add)
    {
        if (Weights is not { } w) return;
        if (w.Length != rows)
        {
            add("weights", $"has {w.Length} values but the data has {rows} rows; give one weight per row");
            return;
        }
        for (int i = 0; i < w.Length; i++)
            if (!(double.IsFinite(w[i]) && w[i] >= 0))
            {
                add("weights", $"row {i + 1} has weight {Show(w[i])}; every weight must be a finite number >= 0");
                return;
            }
        if (w.All(v => v == 0))
        {
            add("weights", "every weight is 0, so no row would be fitted; give at least one row a positive weight");
            return;
        }
        const string Yet = "weights are fitted by the gaussian family's closed form and coordinate descent (from the weighted Gram X'WX) and by proximalNewton (binomial, poisson, multinomial)";
        if (Model != ModelKind.Linear) add("weights", $"{Yet}; model {Of(Model)} does not take weights yet");
        else if (Stochastic || Solver == SolverKind.ProximalGradient) add("weights", $"{Yet}; solver {Of(ChosenSolver)} does not take weights yet");
        else if (Family == Family.Gaussian && (fitted >= rows || fitted > FitEngine.MaxCovarianceFeatures))
            // Proximal Newton (binomial, poisson, multinomial) multiplies its working weights by the observation weights: no such limit.
            add("weights", $"{Yet}, which needs more rows than features and at most {FitEngine.MaxCovarianceFeatures} features; this data has {rows} rows and {fitted} features");
        if (Validation is ValidationMethod.LeaveOneOut or ValidationMethod.Gcv)
            add("weights", $"validation {Of(Validation)} does not take weights yet; use kfold or holdout (weighted as cv.glmnet)");
        else if (ValidationFolds(rows) is { } folds)
            for (int k = 0; k < folds.Count; k++)
            {
                // A fold of zero weight scores nothing (its loss is 0/0); one whose complement has zero weight trains on nothing.
                string which = folds.IsHoldout ? "the held-out rows" : $"fold {folds.Labels[k]}";
                if (folds.Rows[k].All(i => w[i] == 0))
                    add("weights", $"every row of {which} has weight 0, so it cannot be scored; give it a row of positive weight or choose other folds");
                else if (folds.TrainingRows(k).All(i => w[i] == 0))
                    add("weights", $"every row outside {which} has weight 0, so its training fit has no data; give those rows positive weight or choose other folds");
                else continue;
                return;
            }
    }

    /// <summary>
    /// An offset: one finite value per row, added to the linear predictor; the proximal-Newton families (binomial, poisson)
    /// take it in eta, the gaussian family's closed form and coordinate descent fit y - offset (glmnet's elnet). The
    /// stochastic solvers, proximal gradient and the other models do not take one.
    /// </summary>
    private void CheckOffset(int rows, Action<string, string> add)
    {
        if (Offset is not { } o) return;
        if (o.Length != rows)
        {
            add("offset", $"has {o.Length} values but the data has {rows} rows; give one offset per row");
            return;
        }
        for (int i = 0; i < o.Length; i++)
            if (!double.IsFinite(o[i]))
            {
                add("offset", $"row {i + 1} has offset {Show(o[i])}; every offset must be a finite number");
                return;
            }
        if (Model != ModelKind.Linear || Stochastic || ChosenSolver == SolverKind.ProximalGradient)
            add("offset", $"an offset is fitted by proximalNewton (binomial, poisson) and by the gaussian closedForm and coordinateDescent (on y - offset); {(Model != ModelKind.Linear ? $"model {Of(Model)}" : $"solver {Of(ChosenSolver)}")} does not take one");
    }

    /// <summary>
    /// Coefficient bounds (glmnet's lower.limits and upper.limits): one per fitted feature (<paramref name="names"/>; null when
    /// the expansion is at fault), not NaN, lower ≤ 0 ≤ upper as glmnet demands (it refuses a positive lower or a negative
    /// upper limit; infinite means unbounded), the feature named in each fault. Fitted by coordinate descent (gaussian),
    /// proximal Newton (binomial, poisson; multinomial, every class alike) and proximal gradient; the closed form, the stochastic solvers, the MLP
    /// and Bayesian ridge do not take them (the duality-gap stopping rule does: its gap is the box-constrained problem's).
    /// </summary>
    private void CheckLimits(string[]? names, Action<string, string> add)
    {
        if (LowerLimits is null && UpperLimits is null) return;
        void Each(string field, double[] limits, bool lower)
        {
            if (names is null) return;
            if (limits.Length != names.Length)
            {
                add(field, $"has {limits.Length} limits for {names.Length} {(Expansion is { PolynomialDegree: > 1 } ? "expanded " : "")}features; give one per feature");
                return;
            }
            for (int j = 0; j < limits.Length; j++)
            {
                double b = limits[j];
                if (lower && UpperLimits is { } upper && upper.Length == limits.Length && b > upper[j])
                    add($"{field}[{j}]", $"the lower limit of '{names[j]}' ({Show(b)}) is above its upper limit ({Show(upper[j])})");
                if (double.IsNaN(b)) add($"{field}[{j}]", $"the limit of '{names[j]}' is NaN; give a number (or none for unbounded)");
                else if (lower && b > 0)
                    add($"{field}[{j}]", $"the lower limit of '{names[j]}' is {Show(b)}; lower limits must be <= 0 (as glmnet's lower.limits: 0 keeps the coefficient non-negative)");
                else if (!lower && b < 0)
                    add($"{field}[{j}]", $"the upper limit of '{names[j]}' is {Show(b)}; upper limits must be >= 0 (as glmnet's upper.limits: 0 keeps the coefficient non-positive)");
            }
        }
        if (LowerLimits is { } lo) Each("lowerLimits", lo, lower: true);
        if (UpperLimits is { } hi) Each("upperLimits", hi, lower: false);
        if (!Bounded) return;
        const string Takes = "coefficient bounds are fitted by coordinateDescent (gaussian), proximalNewton (binomial, poisson, multinomial) and proximalGradient";
        string field0 = LowerLimits is not null && LowerLimits.Any(double.IsFinite) ? "lowerLimits" : "upperLimits";
        if (Model != ModelKind.Linear) add(field0, $"{Takes}; model {Of(Model)} does not take them");
        else if (Stochastic) add(field0, $"{Takes}; solver {Of(ChosenSolver)} does not take them");
    }
}
