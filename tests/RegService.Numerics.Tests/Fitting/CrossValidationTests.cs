using RegService.Numerics.Fitting;
using RegService.Numerics.Selection;
using RegService.Numerics.Tests.Solvers;

namespace RegService.Numerics.Tests.Fitting;

public class CrossValidationTests
{
    [Fact]
    public void GramFoldsMatchFittingEachFoldOnItsGatheredRows()
    {
        const int n = 240, p = 12;
        var x = SyntheticData.Gaussian(n, p, seed: 29);
        var ids = Enumerable.Range(0, n).Select(i => (i * 7) % 5 + 1).ToArray();
        var spec = SyntheticData.Spec(p, Penalty.Lasso) with
        {
            Validation = ValidationMethod.KFold,
            KFold = new KFoldSpec(FoldIds: ids),
            ColumnShift = Enumerable.Range(0, p + 1).Select(j => j * 0.1).ToArray(),
            Rule = SelectionRule.OneStandardError,
            // The two forms' iterates differ (the covariance form's active passes are extrapolated): compared near the solution.
            Tolerance = 1e-16,
        };
        var folds = Folds.FromIds(ids);
        var gram = PathFitter.Fit(x, spec, new GramSource(x, spec, folds, closedForm: false, 2, default), folds, null, default);
        var naive = PathFitter.Fit(x, spec, new NaiveSource(x, spec, folds), folds, null, default);
        Assert.Equal(gram.Path.Length, naive.Path.Length);
        for (int l = 0; l < gram.Path.Length; l++)
        {
            Assert.Equal(naive.Curve!.Mean[l], gram.Curve!.Mean[l], 1e-8 * naive.Curve.Mean[l]);
            Assert.Equal(naive.Curve.StandardError[l], gram.Curve.StandardError[l], 1e-6 * naive.Curve.StandardError[l] + 1e-12);
        }
        Assert.Equal(naive.LambdaMin!.Value, gram.LambdaMin!.Value, 1e-12 * gram.LambdaMin.Value);
        Assert.Equal(naive.Lambda1se!.Value, gram.Lambda1se!.Value, 1e-12 * gram.Lambda1se.Value);
        Assert.Equal(gram.Lambda1se, gram.Lambda);
        Assert.True(gram.Lambda1se >= gram.LambdaMin);
        Assert.Equal(ids, gram.FoldIds);

        // cv.glmnet's definitions, recomputed here from independent fold fits.
        int l0 = gram.Path.Length / 2;
        var foldMeans = new double[5];
        var sizes = new int[5];
        for (int k = 0; k < 5; k++)
        {
            var train = Enumerable.Range(0, n).Where(i => ids[i] != k + 1).ToArray();
            var test = Enumerable.Range(0, n).Where(i => ids[i] == k + 1).ToArray();
            var sub = new Numerics.Data.DenseMatrix(train.Length, p + 1);
            for (int j = 0; j <= p; j++) for (int i = 0; i < train.Length; i++) sub[i, j] = x[train[i], j];
            var fit = CoordinateDescentTests.Run(sub, spec with { Lambdas = [gram.Path[l0].Lambda], Path = null, Validation = ValidationMethod.None }, naive: false);
            var point = fit.Points[0];
            foldMeans[k] = test.Average(i =>
            {
                double e = x[i, p] - point.Intercept - Enumerable.Range(0, p).Sum(j => x[i, j] * point.Coefficients[j]);
                return e * e;
            });
            sizes[k] = test.Length;
        }
        double cvm = Enumerable.Range(0, 5).Sum(k => sizes[k] * foldMeans[k]) / n;
        double cvsd = Math.Sqrt(Enumerable.Range(0, 5).Sum(k => sizes[k] * Math.Pow(foldMeans[k] - cvm, 2)) / n / 4);
        Assert.Equal(cvm, gram.Curve!.Mean[l0], 1e-7 * cvm);
        Assert.Equal(cvsd, gram.Curve.StandardError[l0], 1e-5 * cvsd);
    }

    /// <summary>
    /// K-fold fold Grams come from rows regrouped by fold in chunks; with chunks far smaller than the data (so a fold's
    /// rows span many chunks, and chunks hold parts of many folds) they still equal each fold's Gram computed directly.
    /// </summary>
    [Fact]
    public void KFoldGramsMatchDirectFoldGramsWhateverTheChunkSize()
    {
        const int n = 1003, p = 12;
        var x = SyntheticData.Gaussian(n, p, seed: 31);
        var spec = SyntheticData.Spec(p, Penalty.Lasso) with
        {
            Validation = ValidationMethod.KFold,
            ColumnShift = Enumerable.Range(0, p + 1).Select(j => j * 0.1 - 0.3).ToArray(),
        };
        int[] cols = [.. spec.FeatureColumns, spec.TargetColumn];
        double[] shift = [.. cols.Select(c => spec.ColumnShift![c])];
        int k = cols.Length;
        // Random folds, and uneven explicit ones where a fold is a single row.
        var uneven = Enumerable.Range(0, n).Select(i => i == 500 ? 9 : i % 7 == 0 ? 1 : i < 300 ? 2 : 3).ToArray();
        foreach (var folds in new[] { Folds.Random(n, 10, seed: 3), Folds.FromIds(uneven) })
        {
            foreach (int chunkRows in new[] { 0, 1, 7, 64, 333, n - 1 })
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    var source = new GramSource(x, spec, folds, closedForm: false, threads, default, chunkRows);
                    for (int f = 0; f < folds.Rows.Length; f++)
                    {
                        var expected = new double[k * k];
                        var expectedSums = new double[k];
                        Numerics.Kernels.GramKernel.ShiftedGramScalar(x, cols, shift, folds.Rows[f], expected, expectedSums);
                        var gram = source.FoldGrams[f];
                        var sums = source.FoldSums[f];
                        for (int a = 0; a < k; a++)
                        {
                            string label = $"chunk={chunkRows} threads={threads} fold={f}";
                            double scaleSum = Math.Sqrt(folds.Rows[f].Length * expected[a * k + a]);
                            Assert.True(Math.Abs(sums[a] - expectedSums[a]) <= 1e-12 * scaleSum, $"{label}: sums[{a}] = {sums[a]}, direct {expectedSums[a]}");
                            for (int b = 0; b < k; b++)
                            {
                                double scale = Math.Sqrt(expected[a * k + a] * expected[b * k + b]);
                                Assert.True(Math.Abs(gram[a * k + b] - expected[a * k + b]) <= 1e-12 * scale,
                                    $"{label}: gram[{a},{b}] = {gram[a * k + b]}, direct {expected[a * k + b]}");
                            }
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void RandomFoldsAreBalancedSeededAndStratified()
    {
        var strata = Enumerable.Range(0, 103).Select(i => i % 4 == 0 ? 1.0 : 0.0).ToArray();
        var a = Folds.Random(103, 10, seed: 5, strata);
        var b = Folds.Random(103, 10, seed: 5, strata);
        Assert.Equal(a.FoldOfRow, b.FoldOfRow);
        Assert.NotEqual(a.FoldOfRow, Folds.Random(103, 10, seed: 6, strata).FoldOfRow);
        Assert.All(a.Rows, r => Assert.InRange(r.Length, 10, 11));
        Assert.All(a.Rows, r => Assert.InRange(r.Count(i => strata[i] == 1), 2, 3));
        Assert.Equal(Enumerable.Range(1, 10), a.Labels);
    }

    [Fact]
    public void SelectionRulesFollowCvGlmnet()
    {
        double[] lambdas = [5, 4, 3, 2, 1];
        double[] mean = [10, 6, 5, 5, 7];
        double[] se = [1, 1, 1.2, 0.5, 1];
        var (min, oneSe) = SelectionRules.Select(lambdas, mean, se);
        Assert.Equal(2, min);     // tie at 5: the larger lambda
        Assert.Equal(1, oneSe);   // 6 <= 5 + 1.2
    }

    /// <summary>
    /// A binomial 10-fold fit: the fraction moves with every lambda of every fold (the folds' paths report into one
    /// share), never goes back, and each fold report names its fold and lambda; an early-stopped path completes its share.
    /// </summary>
    [Fact]
    public void BinomialCrossValidationProgressMovesDuringTheFolds()
    {
        const int n = 300, p = 8;
        var x = SyntheticData.Gaussian(n, p, seed: 31, binary: true);
        var spec = SyntheticData.Spec(p, Penalty.Lasso) with
        {
            Family = Family.Binomial,
            Validation = ValidationMethod.KFold,
            KFold = new KFoldSpec(Folds: 10, Seed: 3),
            Tolerance = 1e-7,
            MaxThreads = 2,
        };
        var reports = new List<FitProgress>();
        var progress = new LockedProgress(reports);
        var fit = FitEngine.Fit(x, spec, progress);
        var fractions = reports.Select(r => r.Fraction).ToList();
        for (int i = 1; i < fractions.Count; i++) Assert.True(fractions[i] >= fractions[i - 1], $"report {i}: {fractions[i - 1]} then {fractions[i]}");

        // The all-rows path's share ends at 0.3 whether or not it stopped early.
        Assert.Contains(reports, r => r.Stage.StartsWith("path") && Math.Abs(r.Fraction - 0.3) < 1e-12);
        var folds = reports.Where(r => r.Folds == 10).ToList();
        int lambdas = fit.Path.Length;
        // One report per lambda of each fold's path, and one as each fold ends.
        Assert.Equal(10 * (lambdas + 1), folds.Count);
        Assert.True(folds.Select(r => r.Fraction).Distinct().Count() > 10 * lambdas / 2);
        Assert.All(folds.Where(r => r.LambdaIndex is not null), r =>
        {
            Assert.InRange(r.Fold!.Value, 1, 10);
            Assert.Equal(lambdas, r.LambdaCount);
            Assert.InRange(r.DevianceRatio!.Value, -1e-12, 1);
        });
        Assert.Equal(10, folds[^1].FoldsDone);
        Assert.Equal(0.9, folds[^1].Fraction, 12);
    }

    private sealed class LockedProgress(List<FitProgress> reports) : IProgress<FitProgress>
    {
        public void Report(FitProgress value)
        {
            lock (reports) reports.Add(value);
        }
    }
}
