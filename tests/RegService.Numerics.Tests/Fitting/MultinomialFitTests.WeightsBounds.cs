using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>
/// Family multinomial with observation weights and coefficient bounds: reference paths from R glmnet 4.1-6 at thresh 1e-18
/// (tests/fixtures/multinom_wb, made by tests/fixtures/make_multinom_wb.R on data made there, a weight column with zeros),
/// weighted, lower.limits = 0 and mixed limits per feature, ungrouped and grouped; KKT of the bounded, weighted problem at every
/// lambda; cv.glmnet with weights and fold ids; known answers (integer weights are repeated rows, limits that never bind
/// change nothing); the box-constrained group shrinkage; the rules.
/// </summary>
public sealed partial class MultinomialFitTests
{
    private static readonly string WeightsBoundsDirectory = Fixtures.Directory("multinom_wb");

    public static TheoryData<string> WeightsBoundsCases =>
        Fixtures.Cases("multinom_wb", "*mn*.json", file => !file.StartsWith("cv_", StringComparison.Ordinal));

    /// <summary>Weighted and bounded paths: every class's intercept and coefficients within 1e-6 relative of glmnet's, dev.ratio to 1e-6.</summary>
    [Theory]
    [MemberData(nameof(WeightsBoundsCases))]
    public void WeightedAndBoundedPathMatchesGlmnet(string name) => AssertMatchesGlmnet(name, WeightsBoundsDirectory);

    [Theory]
    [MemberData(nameof(WeightsBoundsCases))]
    public void KktHoldsWithWeightsAndBounds(string name)
    {
        var (_, x, spec) = Load(name, WeightsBoundsDirectory);
        var result = AssertKkt(name, x, spec);
        if (spec.Bounded) Assert.Contains(result.Path, point => point.Classes!.Coefficients.Any(c => c.Contains(0.0)));
    }

    /// <summary>cv.glmnet with weights and fold ids (fold losses weighted within a fold and across folds by their weight).</summary>
    [Theory]
    [InlineData("cv_w_mn3_lasso_ungrouped")]
    [InlineData("cv_wb_mn5_enet05_grouped_lower0")]
    public void WeightedCrossValidationMatchesCvGlmnet(string name) => AssertCvMatchesGlmnet(name, WeightsBoundsDirectory);

    /// <summary>Integer weights are repeated rows: weight 0, 1, 2 or 3 per row fits the path of the data with each row that many
    /// times (weighted standardization, lambda_max, null model, deviance ratio and metrics alike).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IntegerWeightsAreRepeatedRows(bool grouped)
    {
        var (_, x, spec) = Load("mn3_lasso_ungrouped");
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var weights = Enumerable.Range(0, n).Select(i => (double)((i * 7) % 4)).ToArray();
        var repeated = Enumerable.Range(0, n).SelectMany(i => Enumerable.Repeat(i, (int)weights[i])).ToArray();
        var copy = new DenseMatrix(repeated.Length, x.Columns);
        for (int j = 0; j < x.Columns; j++)
            for (int i = 0; i < repeated.Length; i++) copy.Column(j)[i] = x.Column(j)[repeated[i]];
        var common = spec with { MultinomialGrouped = grouped, Lambdas = null, Path = new LambdaPathSpec { Count = 20 }, Tolerance = 1e-16 };
        var weighted = FitEngine.Fit(x, common with { Weights = weights });
        var plain = FitEngine.Fit(copy, common);
        Assert.Equal(plain.Path.Length, weighted.Path.Length);
        for (int l = 0; l < plain.Path.Length; l++)
        {
            Assert.Equal(plain.Path[l].Lambda, weighted.Path[l].Lambda, plain.Path[l].Lambda * 1e-12);
            Assert.Equal(plain.Path[l].DevianceRatio, weighted.Path[l].DevianceRatio, 1e-9);
            var a = plain.Path[l].Classes!;
            var b = weighted.Path[l].Classes!;
            for (int k = 0; k < a.Classes; k++)
            {
                Assert.Equal(a.Intercepts[k], b.Intercepts[k], 1e-7);
                for (int j = 0; j < p; j++) Assert.Equal(a.Coefficients[k][j], b.Coefficients[k][j], 1e-7);
            }
        }
        var mp = Assert.IsType<MulticlassMetrics>(plain.TrainMetrics);
        var mw = Assert.IsType<MulticlassMetrics>(weighted.TrainMetrics);
        Assert.Equal(mp.LogLoss, mw.LogLoss, 1e-7);
        Assert.Equal(mp.Accuracy, mw.Accuracy, 1e-12);
        Assert.Equal(mp.DevianceRatio, mw.DevianceRatio, 1e-7);
        for (int k = 0; k < mp.ClassAuc.Length; k++) Assert.Equal(mp.ClassAuc[k], mw.ClassAuc[k], 1e-7);
    }

    /// <summary>Weighted metrics are those of repeated rows, per-class AUC included (ties, a class absent).</summary>
    [Fact]
    public void WeightedMetricsAreThoseOfRepeatedRows()
    {
        int[] classOf = [0, 1, 2, 1, 0, 2, 1, 0];
        double[][] prob = [[0.5, 0.3, 0.2, 0], [0.2, 0.5, 0.3, 0], [0.3, 0.3, 0.4, 0], [0.5, 0.3, 0.2, 0], [0.1, 0.1, 0.8, 0], [0.3, 0.3, 0.4, 0],
                           [0.6, 0.2, 0.2, 0], [0.2, 0.2, 0.6, 0]];
        double[] weights = [1, 3, 0, 2, 1, 2, 1, 4];
        var rows = Enumerable.Range(0, classOf.Length).SelectMany(i => Enumerable.Repeat(i, (int)weights[i])).ToArray();
        var plain = MulticlassMetrics.FromProbabilities([.. rows.Select(i => classOf[i])], [.. rows.Select(i => prob[i])], 4);
        var weighted = MulticlassMetrics.FromProbabilities(classOf, prob, 4, [.. weights.Select(w => w / 7)]);
        Assert.Equal(plain.LogLoss, weighted.LogLoss, 1e-12);
        Assert.Equal(plain.Accuracy, weighted.Accuracy, 1e-12);
        Assert.Equal(plain.DevianceRatio, weighted.DevianceRatio, 1e-12);
        for (int k = 0; k < 3; k++) Assert.Equal(plain.ClassAuc[k], weighted.ClassAuc[k], 1e-12);
        Assert.True(double.IsNaN(weighted.ClassAuc[3]));   // a class absent from the rows
        Assert.Equal(classOf.Length, weighted.Rows);
    }

    /// <summary>Finite limits that never bind (±1e6) and infinite ones give the unbounded path, ungrouped and grouped.</summary>
    [Theory]
    [InlineData("mn3_enet05_ungrouped")]
    [InlineData("mn5_enet05_grouped")]
    public void LimitsThatNeverBindChangeNothing(string name)
    {
        var (_, x, spec) = Load(name);
        int p = spec.FeatureColumns.Length;
        var free = FitEngine.Fit(x, spec);
        foreach (double limit in new[] { 1e6, double.PositiveInfinity })
        {
            var wide = FitEngine.Fit(x, spec with { LowerLimits = [.. Enumerable.Repeat(-limit, p)], UpperLimits = [.. Enumerable.Repeat(limit, p)] });
            for (int l = 0; l < free.Path.Length; l++)
                for (int k = 0; k < free.Path[l].Classes!.Classes; k++)
                    Assert.Equal(free.Path[l].Classes!.Coefficients[k], wide.Path[l].Classes!.Coefficients[k]);
        }
    }

    /// <summary>
    /// The box-constrained group shrinkage against its optimality conditions (beta_k = clamp(u_k s, lower, upper),
    /// s = tau/(a tau + c), tau = ||beta||; beta = 0 exactly when the part of u the box allows has norm ≤ c) and against the
    /// objective at random feasible points and at the unboxed minimizer clamped.
    /// </summary>
    [Fact]
    public void GroupBoxIsTheConstrainedMinimizer()
    {
        var random = new Random(5);
        double[][] boxes = [[0, double.PositiveInfinity], [double.NegativeInfinity, 0], [-0.3, 0.5], [0, 0.2], [-1e-3, 1e-3]];
        int zeros = 0, clamped = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            int K = 2 + trial % 5;
            var u = Enumerable.Range(0, K).Select(_ => random.NextDouble() * 4 - 2).ToArray();
            double a = 0.2 + random.NextDouble() * 2, c = trial % 7 == 0 ? 0 : random.NextDouble() * 1.5;
            var box = boxes[trial % boxes.Length];
            double lo = box[0], hi = box[1];
            var beta = new double[K];
            GroupBox.Shrink(u, a, c, lo, hi, beta);
            double F(double[] b) => a / 2 * b.Sum(v => v * v) - b.Zip(u, (x, y) => x * y).Sum() + c * Math.Sqrt(b.Sum(v => v * v));
            Assert.All(beta, b => Assert.InRange(b, lo, hi));
            double best = F(beta);
            for (int t = 0; t < 200; t++)
            {
                var other = beta.Select(b => Math.Clamp(b + (random.NextDouble() - 0.5) * 0.2, lo, hi)).ToArray();
                Assert.True(best <= F(other) + 1e-12, $"trial {trial}: F(beta) {best} > {F(other)}");
            }
            double norm = Math.Sqrt(beta.Sum(v => v * v));
            if (norm == 0)
            {
                zeros++;
                double allowed = Math.Sqrt(u.Sum(v => v < 0 ? (lo < 0 ? v * v : 0) : (hi > 0 ? v * v : 0)));
                Assert.True(allowed <= c + 1e-12, $"trial {trial}: zero although the box allows a gradient of norm {allowed} > {c}");
                continue;
            }
            double s = c == 0 ? 1 / a : norm / (a * norm + c);
            for (int k = 0; k < K; k++)
            {
                Assert.Equal(Math.Clamp(u[k] * s, lo, hi), beta[k], 1e-9);
                if (beta[k] == lo || beta[k] == hi) clamped++;
            }
        }
        Assert.True(zeros > 10 && clamped > 50, $"the trials should cover zero groups ({zeros}) and clamped components ({clamped})");
    }

    [Fact]
    public void WeightAndBoundRulesNameTheFieldAtFault()
    {
        var (_, x, spec) = Load("w_mn3_lasso_ungrouped", WeightsBoundsDirectory);
        var shape = DataShape.Of(x);
        int n = x.Rows, p = spec.FeatureColumns.Length;
        Assert.Empty(spec.Check(shape));
        Assert.Empty((spec with { LowerLimits = [.. Enumerable.Repeat(0.0, p)], MultinomialGrouped = true }).Check(shape));
        var offset = (spec with { Offset = new double[n] }).Check(shape);
        Assert.Contains(offset, f => f.Path == "offset" && f.Message.Contains("n x K") && f.Message.Contains("softmax"));
        var negative = spec.Weights!.ToArray();
        negative[4] = -1;
        Assert.Contains((spec with { Weights = negative }).Check(shape), f => f.Path == "weights" && f.Message.Contains("row 5"));
        Assert.Contains((spec with { LowerLimits = [.. Enumerable.Repeat(0.5, p)] }).Check(shape), f => f.Path == "lowerLimits[0]");
        // Every row of class 5 weighs nothing.
        var y = x.Column(spec.TargetColumn).ToArray();
        var none = spec.Weights!.Select((w, i) => y[i] == 5 ? 0.0 : w).ToArray();
        Assert.Contains((spec with { Weights = none }).Check(shape), f => f.Path == "weights" && f.Message.Contains("class 5"));
        // Class 7 weighs something only in fold 1: the fit outside fold 1 has none of it.
        var ids = Enumerable.Range(0, n).Select(i => 1 + i % 3).ToArray();
        var foldOnly = spec.Weights!.Select((w, i) => y[i] == 7 && ids[i] != 1 ? 0.0 : y[i] == 7 ? 1.0 : w).ToArray();
        var folded = spec with { Weights = foldOnly, Validation = ValidationMethod.KFold, KFold = new KFoldSpec { FoldIds = ids } };
        Assert.Contains(folded.Check(shape), f => f.Path == "weights" && f.Message.Contains("class 7") && f.Message.Contains("fold 1"));
    }

    /// <summary>A class's Gram matrix grown with the working set (GrowHessian: the new features' rows and sums from the
    /// standardized columns) equals one built afresh from the raw columns (BuildHessian) on the same working weights, here
    /// observation weights (zeros among them) times Newton weights: new features before, between and after the old ones, grown twice.</summary>
    [Fact]
    public void GrownHessianEqualsAFreshBuildOnTheSameWeights()
    {
        var (_, x, spec) = Load("wb_mn5_enet05_ungrouped_mixed", WeightsBoundsDirectory);
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)], Tolerance = 1e-10 };
        var solver = new MultinomialPathSolver(x, spec.FeatureColumns, spec.TargetColumn, null, labels, spec.FeatureNames, settings,
                                               grouped: false, spec.Weights);
        var v = ObservationWeights.Fitted(spec.Weights, null, n)!;
        Assert.Contains(0.0, v);
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            double prob = (i * 37 % 100 + 0.5) / 101;
            w[i] = v[i] * Math.Max(prob * (1 - prob), 1e-5);
        }
        double wsum = w.Sum();
        int[] small = [1, 4, 7], middle = [0, 1, 2, 4, 7, 8], all = [.. Enumerable.Range(0, p)];
        var grown = solver.GrowHessian(solver.BuildHessian(small, w, wsum, null), middle);
        AssertSameHessian(solver.BuildHessian(middle, w, wsum, null), grown);
        AssertSameHessian(solver.BuildHessian(all, w, wsum, null), solver.GrowHessian(grown, all));

        static void AssertSameHessian(MultinomialPathSolver.ClassHessian fresh, MultinomialPathSolver.ClassHessian grown)
        {
            Assert.Equal(fresh.Set, grown.Set);
            Assert.Equal(fresh.WeightRef, grown.WeightRef);
            Assert.Equal(fresh.WeightSum, grown.WeightSum);
            double scale = fresh.Gram.Max(Math.Abs);
            Assert.Equal(fresh.Gram.Length, grown.Gram.Length);
            for (int e = 0; e < fresh.Gram.Length; e++) Assert.Equal(fresh.Gram[e], grown.Gram[e], 1e-12 * scale);
            double sums = fresh.Sums.Max(Math.Abs);
            for (int a = 0; a < fresh.Sums.Length; a++) Assert.Equal(fresh.Sums[a], grown.Sums[a], 1e-12 * sums);
        }
    }

    /// <summary>The one-class softmax update of the fused class step (ShiftClass) changes the weighted loss by what a full
    /// refresh of the probabilities finds: sum_i v_i log D_i - sum_{y_i = k} v_i s_i, observation weights with zeros.</summary>
    [Fact]
    public void OneClassSoftmaxUpdateChangesTheWeightedLossAsAFullRefresh()
    {
        var (_, x, spec) = Load("wb_mn5_enet05_ungrouped_mixed", WeightsBoundsDirectory);
        int n = x.Rows, p = spec.FeatureColumns.Length;
        Assert.True(n <= 1024, "one block of rows");
        var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)], Tolerance = 1e-10 };
        var solver = new MultinomialPathSolver(x, spec.FeatureColumns, spec.TargetColumn, null, labels, spec.FeatureNames, settings,
                                               grouped: false, spec.Weights);
        solver.Start(CancellationToken.None);
        for (int k = 0; k < labels.Length; k++)
        {
            double before = solver.Refresh();
            var s = Enumerable.Range(0, n).Select(i => 0.8 * Math.Sin(0.37 * i + k)).ToArray();
            var eta = solver.LinearPredictor(k);
            for (int i = 0; i < n; i++) eta[i] += s[i];
            double worst = 1;
            double change = solver.ShiftClass(k, 0, s, ref worst);
            double after = solver.Refresh();
            Assert.Equal(after, before + change / n, 1e-12 * Math.Abs(after));
        }
    }

    /// <summary>Rows of weight 0 are left out of the separation test: every other row predicted with certainty separates the
    /// classes although the rows of weight 0 are predicted wrong.</summary>
    [Fact]
    public void RowsOfWeightZeroDoNotKeepThePathFromEndingOnSeparation()
    {
        var (_, x, spec) = Load("wb_mn5_enet05_ungrouped_mixed", WeightsBoundsDirectory);
        int n = x.Rows, p = spec.FeatureColumns.Length;
        var labels = FitSpec.ClassLabels(x.Column(spec.TargetColumn));
        var y = FitSpec.ClassIndex(x.Column(spec.TargetColumn), labels);
        var settings = new PathSettings { Alpha = 0.5, PenaltyFactors = [.. Enumerable.Repeat(1.0, p)], Tolerance = 1e-10 };
        var solver = new MultinomialPathSolver(x, spec.FeatureColumns, spec.TargetColumn, null, labels, spec.FeatureNames, settings,
                                               grouped: false, spec.Weights);
        solver.Start(CancellationToken.None);
        Assert.Contains(0.0, spec.Weights!);
        for (int k = 0; k < labels.Length; k++)
        {
            var eta = solver.LinearPredictor(k);
            for (int i = 0; i < n; i++) eta[i] = y[i] == k ? (spec.Weights![i] > 0 ? 40 : -40) : 0;
        }
        solver.Refresh();
        Assert.True(solver.Separated);
        int row = Array.FindIndex(spec.Weights!, w => w > 0);
        solver.LinearPredictor(y[row] == 0 ? 1 : 0)[row] = 40;   // a row of positive weight no longer predicted with certainty
        solver.Refresh();
        Assert.False(solver.Separated);
    }
}
