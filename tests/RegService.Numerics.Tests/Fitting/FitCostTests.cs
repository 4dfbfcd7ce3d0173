using System.Globalization;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Tests.Solvers;
using Xunit.Abstractions;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>Memory measurements run alone in the process: other tests' allocations would count as the fit's.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}

/// <summary>
/// The peak memory of an action over a baseline: the resident set (sampled every millisecond, and the kernel's high-water
/// mark, reset before the action, where /proc allows) and the managed heap (sampled), both minus their values after a full
/// compacting collection. The resident set covers native allocations; the managed figure includes garbage not yet collected.
/// </summary>
internal static class MemoryProbe
{
    public sealed record Peak(long Resident, long Managed, long Allocated)
    {
        public long Max => Math.Max(Resident, Managed);
    }

    public static Peak Measure(Action action)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        long managed0 = GC.GetTotalMemory(false);
        long resident0 = Resident();
        bool highWaterReset = ResetHighWater();
        long allocated0 = GC.GetTotalAllocatedBytes(true);
        long maxManaged = managed0, maxResident = resident0;
        bool done = false;
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                maxManaged = Math.Max(maxManaged, GC.GetTotalMemory(false));
                maxResident = Math.Max(maxResident, Resident());
                Thread.Sleep(1);
            }
        }) { IsBackground = true, Priority = ThreadPriority.AboveNormal };
        sampler.Start();
        try
        {
            action();
        }
        finally
        {
            Volatile.Write(ref done, true);
            sampler.Join();
        }
        maxManaged = Math.Max(maxManaged, GC.GetTotalMemory(false));
        maxResident = Math.Max(maxResident, Resident());
        if (highWaterReset) maxResident = Math.Max(maxResident, HighWater());
        long allocated = GC.GetTotalAllocatedBytes(true) - allocated0;
        return new Peak(maxResident - resident0, maxManaged - managed0, allocated);
    }

    /// <summary>Resident bytes from /proc/self/statm (0 where there is none).</summary>
    private static long Resident()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    /// <summary>Resets VmHWM to the current resident set (Linux: "5" to /proc/self/clear_refs).</summary>
    private static bool ResetHighWater()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static long HighWater()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}

[Collection(MemoryMeasurementCollection.Name)]
public class FitCostTests(ITestOutputHelper output)
{
    private static FitSpec Spec(int p, Penalty penalty, double l1Ratio = 1, double[]? lambdas = null, int pathCount = 100) =>
        SyntheticData.Spec(p, penalty, l1Ratio, lambdas) with
        {
            Path = lambdas is null ? new LambdaPathSpec(pathCount) : null,
            Tolerance = 1e-7,
            MaxThreads = 2,
        };

    [Fact]
    public void AMultinomialEstimateGrowsWithTheClassesTheResolvedSpecCounts()
    {
        // 600 rows, 4 features and a target of 3 classes: resolving counts them from the data.
        var x = new DenseMatrix(600, 5);
        var random = new Random(4);
        for (int i = 0; i < 600; i++)
        {
            for (int j = 0; j < 4; j++) x[i, j] = random.NextDouble();
            x[i, 4] = i % 3;
        }
        var spec = Spec(4, Penalty.Lasso) with { Family = Family.Multinomial };
        var resolved = spec.ResolveOrThrow(DataShape.Of(x));
        Assert.Equal(3, resolved.Classes);
        Assert.Null(Spec(4, Penalty.Lasso).ResolveOrThrow(DataShape.Of(x)).Classes);

        // A thousand classes cost a hundred times ten: the estimate is not the ten it assumes without a count.
        var ten = FitCost.Estimate(resolved with { Classes = 10 }, 100_000, 101);
        var thousand = FitCost.Estimate(resolved with { Classes = 1000 }, 100_000, 101);
        Assert.InRange(thousand.Work / ten.Work, 99.0, 101.0);
        Assert.True(thousand.PeakBytes > 50 * ten.PeakBytes / 2, $"{thousand.PeakBytes} against {ten.PeakBytes}");
        Assert.Equal(FitCost.Estimate(resolved with { Classes = null }, 100_000, 101).Work, ten.Work);
    }

    [Fact]
    public void MultinomialClassOffsetsAreCountedInTheEstimate()
    {
        var spec = Spec(4, Penalty.Lasso) with { Family = Family.Multinomial, Classes = 5 };
        int n = 200_000;
        var plain = FitCost.Estimate(spec, n, 101);
        var offsets = Enumerable.Range(0, 5).Select(k => new ClassOffset(k, new double[n])).ToArray();
        var withOffsets = FitCost.Estimate(spec with { ClassOffsets = offsets }, n, 101);
        // Five classes of 200,000 rows: 8 MB more of the fit's own memory at the path's peak, and that times the margin.
        Assert.Equal(5L * n * sizeof(double), withOffsets.WorkingBytes - plain.WorkingBytes);
        Assert.Equal(FitCost.Margin * 5 * n * sizeof(double), withOffsets.PeakBytes - plain.PeakBytes, 1.0);
    }

    /// <summary>Fits <paramref name="spec"/> on <paramref name="x"/> and checks that its peak over the baseline (the matrix is
    /// already loaded) stays within the estimate less the loaded matrix.</summary>
    private FitResult AssertWithinEstimate(string name, DenseMatrix x, FitSpec spec)
    {
        var cost = FitCost.Estimate(spec, x.Rows, x.Columns);
        FitResult? result = null;
        var peak = MemoryProbe.Measure(() => result = FitEngine.Fit(x, spec));
        long bound = cost.PeakBytes - cost.LoadedBytes;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: resident +{Mb(peak.Resident)}, managed +{Mb(peak.Managed)}, allocated {Mb(peak.Allocated)}; estimate {Mb(bound)} (working {Mb(cost.WorkingBytes)}) {cost.Route}; {result!.Timings["total"]:F2} s"));
        output.WriteLine("  " + cost.Summary);
        Assert.True(peak.Max <= bound, $"{name}: measured {Mb(peak.Max)} over the baseline, estimated {Mb(bound)}: {cost.Summary}");
        return result;
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    [Fact]
    public void ClosedFormPathStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(4_000, 700, seed: 1);
        var result = AssertWithinEstimate("closed form n=4000 p=700, 100 lambdas", x, Spec(700, Penalty.Ridge));
        Assert.Equal("closedForm", result.Solver);
    }

    [Fact]
    public void ClosedFormWithTenFoldsStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(20_000, 300, seed: 11);
        var spec = Spec(300, Penalty.Ridge) with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(10, 3) };
        AssertWithinEstimate("closed form n=20000 p=300, 100 lambdas, 10 folds", x, spec);
    }

    [Fact]
    public void LeaveOneOutStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(3_000, 300, seed: 12);
        var spec = Spec(300, Penalty.Ridge) with { Validation = ValidationMethod.LeaveOneOut };
        AssertWithinEstimate("closed form n=3000 p=300, leave-one-out", x, spec);
    }

    [Fact]
    public void CovarianceLassoWithTenFoldsStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(20_000, 300, seed: 2);
        var spec = Spec(300, Penalty.Lasso) with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(10, 3) };
        AssertWithinEstimate("covariance cd n=20000 p=300, 10 folds", x, spec);
    }

    [Fact]
    public void CovarianceLassoWithHoldoutStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(10_000, 1000, seed: 13);
        var spec = Spec(1000, Penalty.Lasso, pathCount: 30) with { Validation = ValidationMethod.Holdout, Holdout = new HoldoutSpec(0.2, 1) };
        AssertWithinEstimate("covariance cd n=10000 p=1000, holdout", x, spec);
    }

    [Fact]
    public void NaiveLassoPathStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(500, 3000, seed: 3);
        AssertWithinEstimate("naive cd n=500 p=3000", x, Spec(3000, Penalty.Lasso));
    }

    [Fact]
    public void NaiveLassoWithFiveFoldsStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(1_500, 3000, seed: 14);
        var spec = Spec(3000, Penalty.Lasso, pathCount: 5) with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5, 3) };
        AssertWithinEstimate("naive cd n=1500 p=3000, 5 lambdas, 5 folds", x, spec);
    }

    [Fact]
    public void BinomialElasticNetPathStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(20_000, 100, seed: 4, binary: true);
        var spec = Spec(100, Penalty.ElasticNet, l1Ratio: 0.5) with { Family = Family.Binomial };
        AssertWithinEstimate("binomial enet n=20000 p=100", x, spec);
    }

    [Fact]
    public void BinomialWithFiveFoldsStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(20_000, 200, seed: 15, binary: true);
        var spec = Spec(200, Penalty.Lasso, pathCount: 10) with
        {
            Family = Family.Binomial, Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5, 3),
        };
        AssertWithinEstimate("binomial lasso n=20000 p=200, 10 lambdas, 5 folds", x, spec);
    }

    [Fact]
    public void BinomialNaivePathStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(400, 4000, seed: 16, binary: true);
        var spec = Spec(4000, Penalty.Lasso, pathCount: 20) with { Family = Family.Binomial };
        AssertWithinEstimate("binomial lasso n=400 p=4000 (naive)", x, spec);
    }

    [Fact]
    public void ProximalGradientPathStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(10_000, 200, seed: 5);
        var spec = Spec(200, Penalty.Lasso, pathCount: 3) with
        {
            Solver = SolverKind.ProximalGradient, Validation = ValidationMethod.KFold, KFold = new KFoldSpec(3, 1),
        };
        AssertWithinEstimate("proximal gradient n=10000 p=200, 3 lambdas, 3 folds", x, spec);
    }

    [Fact]
    public void AdamMlpStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(20_000, 200, seed: 6);
        var spec = Spec(200, Penalty.Ridge, lambdas: [1e-4]) with
        {
            Model = ModelKind.Mlp,
            Solver = SolverKind.Adam,
            Training = new TrainingSpec { Epochs = 2, BatchSize = 64, HiddenUnits = [64] },
        };
        AssertWithinEstimate("adam mlp n=20000 p=200 h=64", x, spec);
    }

    [Fact]
    public void DegreeThreeExpansionStaysWithinItsEstimate()
    {
        var x = SyntheticData.Gaussian(10_000, 12, seed: 7);
        var spec = Spec(12, Penalty.Lasso, pathCount: 30) with { Expansion = new ExpansionSpec(3, Interactions: true) };
        AssertWithinEstimate("expansion degree 3 of 12 inputs (454 features), n=10000, lasso", x, spec);
    }

    /// <summary>The route a finished fit took, from what the result says: the solver, whether a Gram pass ran, the model.</summary>
    private static string ObservedRoute(FitResult result) => result.Solver switch
    {
        "closedForm" => "closedForm primal gram",
        "coordinateDescent" => result.Timings.ContainsKey("gram") ? "covariance cd" : "naive cd",
        "proximalNewton" => "proximal newton",
        "proximalGradient" => "proximal gradient",
        _ => result.Network is null ? "stochastic" : "mlp",
    };

    public static TheoryData<string, int, int, FitSpec> Routes() => new()
    {
        { "ridge path", 200, 20, Spec(20, Penalty.Ridge) },
        { "ridge one lambda", 200, 20, Spec(20, Penalty.Ridge, lambdas: [0.1]) },
        { "least squares", 200, 20, Spec(20, Penalty.None, lambdas: [0]) with { Path = null } },
        { "ridge with penalty factors", 200, 20, Spec(20, Penalty.Ridge) with { PenaltyFactors = [.. Enumerable.Repeat(1.0, 20)] } },
        { "ridge with penalty factors, coordinate descent asked", 200, 20,
            Spec(20, Penalty.Ridge) with { PenaltyFactors = [.. Enumerable.Repeat(2.0, 20)], Solver = SolverKind.CoordinateDescent } },
        { "lasso n > p", 200, 20, Spec(20, Penalty.Lasso) },
        { "lasso with 5 folds", 200, 20, Spec(20, Penalty.Lasso) with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(5) } },
        { "lasso p > n", 50, 80, Spec(80, Penalty.Lasso) },
        { "lasso p > 2000", 2_100, 2_001, Spec(2_001, Penalty.Lasso, pathCount: 2) },
        { "elastic net", 200, 20, Spec(20, Penalty.ElasticNet, l1Ratio: 0.5) },
        { "binomial lasso", 200, 20, Spec(20, Penalty.Lasso) with { Family = Family.Binomial } },
        { "binomial p > n", 50, 80, Spec(80, Penalty.Lasso) with { Family = Family.Binomial } },
        { "proximal gradient", 200, 20, Spec(20, Penalty.Lasso, pathCount: 3) with { Solver = SolverKind.ProximalGradient } },
        { "proximal gradient ridge", 200, 20, Spec(20, Penalty.Ridge, pathCount: 3) with { Solver = SolverKind.ProximalGradient } },
        { "sgd", 200, 20, Spec(20, Penalty.Ridge, lambdas: [0.01]) with { Solver = SolverKind.Sgd, Training = new TrainingSpec { Epochs = 2 } } },
        { "mlp", 200, 20, Spec(20, Penalty.Ridge, lambdas: [0.01]) with { Model = ModelKind.Mlp, Training = new TrainingSpec { Epochs = 2, HiddenUnits = [8] } } },
        { "expanded lasso", 200, 4, Spec(4, Penalty.Lasso) with { Expansion = new ExpansionSpec(2, Interactions: true) } },
        { "expanded ridge", 200, 4, Spec(4, Penalty.Ridge) with { Expansion = new ExpansionSpec(3) } },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void RouteIsTheEnginesRoute(string name, int n, int p, FitSpec spec)
    {
        var x = SyntheticData.Gaussian(n, p, seed: n + p, binary: spec.Family == Family.Binomial);
        var cost = FitCost.Estimate(spec, n, x.Columns);
        var result = FitEngine.Fit(x, spec);
        string observed = ObservedRoute(result);
        Assert.True(cost.Route.StartsWith(observed, StringComparison.Ordinal), $"{name}: estimated {cost.Route}, the engine took {observed}");
        if (observed == "proximal newton")
            Assert.Equal(p > n ? "proximal newton naive" : "proximal newton gram", cost.Route);
    }

    [Fact]
    public void ClosedFormWithMoreFeaturesThanRowsIsTheDualKernel()
    {
        // The closed form builds the n x n kernel K = Z Z' when features outnumber rows: 8,000 columns of 3 rows
        // cost a few MB, not the 8,001² Gram's half a gigabyte and its eigendecomposition.
        var spec = Spec(8_000, Penalty.Ridge, lambdas: [1.0]);
        var cost = FitCost.Estimate(spec, 3, 8_001);
        Assert.Equal("closedForm dual kernel", cost.Route);
        Assert.True(cost.PeakBytes - cost.LoadedBytes < 64L << 20, cost.Summary);
        var wide = FitCost.Estimate(Spec(100_000, Penalty.Ridge, lambdas: [1.0]), 3, 100_001);
        Assert.True(wide.PeakBytes < 200L << 20, wide.Summary);
        // With rows to spare it is the primal Gram again.
        Assert.Equal("closedForm primal gram", FitCost.Estimate(spec, 9_000, 8_001).Route);
    }

    [Fact]
    public void EstimatesGrowAsTheirShapes()
    {
        long Gram(int p) => FitCost.Estimate(Spec(p, Penalty.Ridge), 100_000, p + 1).WorkingBytes;
        double ratio = (double)Gram(2_000) / Gram(1_000);
        Assert.InRange(ratio, 3.5, 4.2);   // p² parts dominate

        var lasso = Spec(1_000, Penalty.Lasso);
        var plain = FitCost.Estimate(lasso, 50_000, 1_001);
        var folds = FitCost.Estimate(lasso with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(10) }, 50_000, 1_001);
        Assert.True(folds.WorkingBytes > plain.WorkingBytes + 10L * 1001 * 1001 * 8, "ten fold Grams are held");
        Assert.True(folds.Work > plain.Work);   // the fold Grams come from the same pass; only their paths add work

        // Naive coordinate descent is linear in rows and features; more lambdas add path memory and work.
        var naive = FitCost.Estimate(Spec(20_000, Penalty.Lasso, pathCount: 10), 1_000, 20_001);
        var naiveWide = FitCost.Estimate(Spec(40_000, Penalty.Lasso, pathCount: 10), 1_000, 40_001);
        Assert.Equal("naive cd", naive.Route);
        Assert.InRange((double)naiveWide.WorkingBytes / naive.WorkingBytes, 1.8, 2.2);
        Assert.InRange(naiveWide.Work / naive.Work, 1.3, 2.2);   // the KKT sweeps grow with p, the passes over the active set do not
        var longer = FitCost.Estimate(Spec(20_000, Penalty.Lasso, pathCount: 100), 1_000, 20_001);
        Assert.True(longer.WorkingBytes > naive.WorkingBytes && longer.Work > 5 * naive.Work);

        // The loaded matrix is every column of the data set, whatever the features.
        var few = FitCost.Estimate(Spec(10, Penalty.Lasso), 100_000, 1_000);
        Assert.Equal(100_000L * 1_000 * 8, few.LoadedBytes);
        Assert.True(few.PeakBytes >= few.LoadedBytes + FitCost.Overhead);

        // The MLP's work grows with its hidden units.
        FitCost Mlp(int h) => FitCost.Estimate(Spec(100, Penalty.Ridge, lambdas: [0.01]) with
        {
            Model = ModelKind.Mlp, Training = new TrainingSpec { HiddenUnits = [h] },
        }, 10_000, 101);
        Assert.InRange(Mlp(256).Work / Mlp(64).Work, 3.5, 4.5);

        // An expansion counts its expanded features and their matrix.
        var expanded = FitCost.Estimate(Spec(20, Penalty.Ridge) with { Expansion = new ExpansionSpec(3, Interactions: true) }, 10_000, 21);
        Assert.Equal(1_770, expanded.Features);
        Assert.Contains(expanded.Breakdown, b => b.What.StartsWith("expanded matrix", StringComparison.Ordinal) && b.Bytes == 10_000L * 1_772 * 8);
    }

    [Fact]
    public void SummaryNamesThePeakTheLargestPartsAndTheWork()
    {
        var cost = FitCost.Estimate(Spec(2_000, Penalty.Ridge), 100_000, 2_001);
        output.WriteLine(cost.Summary);
        Assert.StartsWith("about ", cost.Summary);
        Assert.Contains(FitCost.FormatBytes(cost.PeakBytes), cost.Summary);
        Assert.Contains("eigendecomposition workspace", cost.Summary);
        Assert.Contains("flops", cost.Summary);
        Assert.Equal(cost.Summary, cost.ToString());
        Assert.Equal("512 MB", FitCost.FormatBytes(512L << 20));
        Assert.Equal("2.7 GB", FitCost.FormatBytes((long)(2.7 * (1L << 30))));
    }

    [Fact]
    public void DefaultMemoryLimitIsAQuarterOfTheAvailableMemory()
    {
        long limit = FitCost.DefaultMemoryLimit();
        Assert.True(limit > 0);
        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4, limit);
    }
}
