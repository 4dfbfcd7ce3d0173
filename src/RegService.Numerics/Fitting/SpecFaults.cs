using System.Globalization;

namespace RegService.Numerics.Fitting;

/// <summary>
/// A fault of a <see cref="FitSpec"/>: the field at fault as a camelCase path of the spec (<c>lambdas[2]</c>,
/// <c>training.hiddenUnits</c>, <c>kFold.folds</c>, <c>penaltyFactors[3]</c>; <c>data</c> for the data itself) and what
/// is wrong. Messages name values and other fields as the wire does (closedForm, kfold, elasticNet), so a caller can show
/// them after translating the path alone.
/// </summary>
public readonly record struct SpecFault(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>A spec that cannot be fitted: every fault at once, each also in the message as "path: message".</summary>
public sealed class FitSpecException(IReadOnlyList<SpecFault> faults) : ArgumentException(string.Join("; ", faults))
{
    public IReadOnlyList<SpecFault> Faults { get; } = faults;
}

/// <summary>
/// What a spec is checked against: the data's rows and columns, how messages name the data, and its columns' values
/// for the rules that need them (the target's: constant, and 0/1 for binomial). Without a column reader those two rules
/// are skipped.
/// </summary>
public sealed class DataShape(int rows, int columns, Func<int, double[]>? readColumn = null, string name = "the data")
{
    public int Rows { get; } = rows;
    public int Columns { get; } = columns;

    /// <summary>How messages name the data ("data set 0193...", "the data").</summary>
    public string Name { get; } = name;

    /// <summary>A column read in place (a matrix in memory), instead of <c>readColumn</c>'s copy.</summary>
    private Func<int, ReadOnlyMemory<double>>? _view;

    internal ReadOnlyMemory<double>? ReadColumn(int column) => _view is { } view ? view(column) : readColumn?.Invoke(column);

    /// <summary>The shape of a matrix in memory, its columns readable in place (a copy of the target cost a page fault per 4 KB).</summary>
    public static DataShape Of(DenseMatrix x) => new(x.Rows, x.Columns) { _view = c => x.Data.AsMemory(checked(c * x.Rows), x.Rows) };
}

/// <summary>The spec's enums as the wire spells them (camelCase, and loo/kfold for the validation methods).</summary>
public static class SpecNames
{
    public static string Of(SolverKind solver) => Camel(solver);
    public static string Of(Family family) => Camel(family);
    public static string Of(Penalty penalty) => Camel(penalty);
    public static string Of(SelectionRule rule) => Camel(rule);
    public static string Of(ModelKind model) => Camel(model);
    public static string Of(Selection.ValidationMeasure measure) => Camel(measure);

    public static string Of(ValidationMethod method) => method switch
    {
        ValidationMethod.KFold => "kfold",
        ValidationMethod.LeaveOneOut => "loo",
        _ => Camel(method),
    };

    public static string Camel<T>(T value) where T : struct, Enum
    {
        var s = value.ToString();
        return char.ToLowerInvariant(s[0]) + s[1..];
    }

    internal static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
