using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Fitting;

/// <summary>The spec's own rules: faults by field path, defaults, the solver chosen, and the one closed-form / LOO-GCV gate.</summary>
public sealed class FitSpecTests
{
    private static FitSpec Spec(int p = 3, Penalty penalty = Penalty.Ridge) => new()
    {
        FeatureColumns = [.. Enumerable.Range(0, p)],
        FeatureNames = [.. Enumerable.Range(0, p).Select(j => $"x{j}")],
        TargetColumn = p,
        TargetName = "y",
        Penalty = penalty,
        Lambdas = [0.1, 0.01],
    };

    private static DataShape Shape(int rows, int p = 3, Func<int, double[]>? read = null) => new(rows, p + 1, read, "data set d1");

    private static DataShape Binary(int rows, int p = 3) => Shape(rows, p, _ => [.. Enumerable.Range(0, rows).Select(i => (double)(i % 2))]);

    private static Dictionary<string, string> Faults(FitSpec spec, DataShape data) =>
        spec.Check(data).GroupBy(f => f.Path).ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(f => f.Message)));

    [Fact]
    public void EveryFaultIsReportedAtOnceByItsFieldPath()
    {
        var spec = Spec() with
        {
            FeatureColumns = [0, 0, 9],
            FeatureNames = ["a", "a", "b"],
            Lambdas = [0.1, -1, double.NaN],
            Tolerance = 0,
            Validation = ValidationMethod.KFold,
            KFold = new KFoldSpec(Folds: 40),
            Training = new TrainingSpec { Epochs = 5 },
        };
        var faults = Faults(spec, Shape(20));
        Assert.Equal("'a' is named twice", faults["featureColumns[1]"]);
        Assert.Contains("column 9 is outside the 4 columns of data set d1", faults["featureColumns[2]"]);
        Assert.Equal("must be >= 0; got -1", faults["lambdas[1]"]);
        Assert.Equal("must be a finite number; got NaN", faults["lambdas[2]"]);
        Assert.Contains("must be a positive number", faults["tolerance"]);
        Assert.StartsWith("40 folds of 20 rows would leave a fold empty", faults["kFold.folds"]);
        Assert.Equal("applies to the stochastic solvers (solver sgd, adam or adamW, or model mlp); solver is auto", faults["training.epochs"]);
        Assert.Equal(7, faults.Count);

        var thrown = Assert.Throws<FitSpecException>(() => spec.ResolveOrThrow(Shape(20)));
        Assert.Equal(7, thrown.Faults.Count);
        Assert.Contains("lambdas[1]: must be >= 0; got -1", thrown.Message);
    }

    [Fact]
    public void TheTargetIsCheckedAgainstItsValues()
    {
        var binomial = Spec() with { Family = Family.Binomial };
        Assert.Equal("'y' takes values 0, 1, 2; binomial needs a target whose values are all 0 or 1",
            Faults(binomial, Shape(6, read: _ => [0, 1, 2, 1, 0, 2]))["targetColumn"]);
        Assert.Empty(binomial.Check(Binary(6)));
        Assert.Equal("'y' is constant (every value is 3); there is nothing to fit", Faults(Spec(), Shape(4, read: _ => [3, 3, 3, 3]))["targetColumn"]);
        Assert.Equal("data set d1 has 1 row; a fit needs at least 2", Faults(Spec(), Shape(1))["data"]);
    }

    public static TheoryData<FitSpec, SolverKind> Solvers => new()
    {
        { Spec(), SolverKind.ClosedForm },
        { Spec(penalty: Penalty.None) with { Lambdas = null }, SolverKind.ClosedForm },
        { Spec() with { PenaltyFactors = [1, 2, 0] }, SolverKind.CoordinateDescent },
        { Spec(penalty: Penalty.Lasso), SolverKind.CoordinateDescent },
        { Spec(penalty: Penalty.ElasticNet) with { Family = Family.Binomial }, SolverKind.ProximalNewton },
        { Spec() with { Model = ModelKind.Mlp, Lambdas = null }, SolverKind.AdamW },
        { Spec(penalty: Penalty.Lasso) with { Solver = SolverKind.ProximalGradient }, SolverKind.ProximalGradient },
    };

    [Theory]
    [MemberData(nameof(Solvers))]
    public void AutoResolvesToTheSolverThatFitsAndAResolvedSpecResolvesToItself(FitSpec spec, SolverKind expected)
    {
        var data = spec.Family == Family.Binomial ? Binary(50) : Shape(50);
        var resolved = spec.ResolveOrThrow(data);
        Assert.Equal(expected, resolved.Solver);
        var again = resolved.ResolveOrThrow(data);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(resolved), System.Text.Json.JsonSerializer.Serialize(again));
    }

    [Fact]
    public void DefaultsAreResolvedByTheEngine()
    {
        // A penalized fit given no lambda gets glmnet's path: minRatio 1e-4 when rows exceed the fitted features, else 1e-2,
        // counting the features an expansion makes (3 inputs to degree 3 without interactions: 9).
        var lasso = Spec(penalty: Penalty.Lasso) with { Lambdas = null };
        var path = lasso.ResolveOrThrow(Shape(50)).Path!;
        Assert.Equal((100, 1e-4), (path.Count, path.MinRatio!.Value));
        Assert.Equal(1e-2, (lasso with { Expansion = new ExpansionSpec(3) }).ResolveOrThrow(Shape(8)).Path!.MinRatio);
        Assert.Equal(1e-4, (lasso with { Expansion = new ExpansionSpec(3) }).ResolveOrThrow(Shape(10)).Path!.MinRatio);

        var net = (Spec(penalty: Penalty.ElasticNet)).ResolveOrThrow(Shape(50));
        Assert.Equal(0.5, net.L1Ratio);
        Assert.Equal(1.0, (Spec(penalty: Penalty.Lasso) with { L1Ratio = null }).ResolveOrThrow(Shape(50)).L1Ratio);
        Assert.Equal([0.0], (Spec(penalty: Penalty.None) with { Lambdas = null }).ResolveOrThrow(Shape(50)).Lambdas!);

        var folds = (Spec() with { Validation = ValidationMethod.KFold, KFold = new KFoldSpec(FoldIds: [.. Enumerable.Range(0, 12).Select(i => i % 3)]) })
            .ResolveOrThrow(Shape(12)).KFold!;
        Assert.Equal(3, folds.Folds);
        Assert.Equal(new HoldoutSpec(0.2, 0), (Spec() with { Validation = ValidationMethod.Holdout }).ResolveOrThrow(Shape(12)).Holdout);

        var mlp = (Spec() with { Model = ModelKind.Mlp, Lambdas = null, Training = new TrainingSpec { EarlyStopping = new EarlyStoppingSpec() } })
            .ResolveOrThrow(Shape(50));
        Assert.Equal([0.0], mlp.Lambdas!);
        var training = mlp.Training!;
        Assert.Equal((100, 32, 0.001, 0.0, 0), (training.Epochs!.Value, training.BatchSize!.Value, training.LearningRate!.Value, training.WeightDecay!.Value, training.Seed!.Value));
        Assert.Equal([TrainingSpec.DefaultHiddenUnits], training.HiddenUnits!);
        Assert.Equal(0.01, (Spec() with { Solver = SolverKind.Sgd, Lambdas = [0.1] }).ResolveOrThrow(Shape(50)).Training!.LearningRate);
        Assert.Null(Spec().ResolveOrThrow(Shape(50)).Training);
    }

    public static TheoryData<FitSpec, string?> Gates => new()
    {
        // The closed form: gaussian, ridge or none, no penalty factors. LOO and GCV: the closed form's ridge only.
        { Spec() with { Validation = ValidationMethod.LeaveOneOut }, null },
        { Spec() with { Validation = ValidationMethod.Gcv, Solver = SolverKind.ClosedForm }, null },
        { Spec(penalty: Penalty.None) with { Lambdas = [0], Validation = ValidationMethod.Gcv }, "gcv is for gaussian ridge without penaltyFactors only" },
        { Spec(penalty: Penalty.Lasso) with { Validation = ValidationMethod.LeaveOneOut }, "loo is for gaussian ridge without penaltyFactors only" },
        { Spec() with { PenaltyFactors = [1, 0, 1], Validation = ValidationMethod.LeaveOneOut }, "this request is gaussian ridge with penaltyFactors" },
        { Spec() with { Validation = ValidationMethod.Gcv, Solver = SolverKind.ProximalGradient }, "gcv is exact from the closed form; solver proximalGradient has no such shortcut" },
        { Spec() with { Solver = SolverKind.CoordinateDescent }, "gaussian ridge is solved exactly in closed form" },
        { Spec() with { PenaltyFactors = [1, 0, 1], Solver = SolverKind.ClosedForm }, "closedForm fits gaussian ridge or none without penaltyFactors" },
        { Spec(penalty: Penalty.Lasso) with { Solver = SolverKind.ProximalNewton }, "proximalNewton fits the binomial family" },
    };

    [Theory]
    [MemberData(nameof(Gates))]
    public void TheClosedFormAndTheLeaveOneOutGateAreDecidedInOnePlace(FitSpec spec, string? fault)
    {
        var faults = spec.Check(Shape(30));
        if (fault is null) Assert.Empty(faults);
        else Assert.Contains(faults, f => f.Path is "validation" or "solver" && f.Message.Contains(fault, StringComparison.Ordinal));
    }

    [Fact]
    public void TheResultNamesTheSolverAsTheRequestDoes()
    {
        var x = RegService.Numerics.Tests.Solvers.SyntheticData.Gaussian(60, 3, seed: 4);
        Assert.Equal("closedForm", FitEngine.Fit(x, Spec()).Solver);
        Assert.Equal("coordinateDescent", FitEngine.Fit(x, Spec(penalty: Penalty.Lasso)).Solver);
        Assert.Equal("closedForm", FitEngine.Fit(x, Spec() with { Solver = SolverKind.ClosedForm }).Solver);
    }
}
