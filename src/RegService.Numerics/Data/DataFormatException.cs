namespace RegService.Numerics.Data;

/// <summary>
/// An uploaded data set is malformed. The message is a complete sentence that names the
/// line (CSV) and the column where the problem is, e.g.
/// <c>line 17, column 'x3': 'abc' is not a number</c>. The API turns it into a 400 response.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string message, long? line = null, string? column = null, int? columnIndex = null, string? field = null)
        : base(message)
    {
        Line = line;
        Column = column;
        ColumnIndex = columnIndex;
        Field = field;
    }

    /// <summary>1-based physical line of the CSV (the header is line 1); null for JSON.</summary>
    public long? Line { get; }

    /// <summary>Name of the offending column, when known.</summary>
    public string? Column { get; }

    /// <summary>0-based index of the offending column, when known.</summary>
    public int? ColumnIndex { get; }

    /// <summary>The body's property at fault when it is not a column (the JSON form's <c>name</c>), else null.</summary>
    public string? Field { get; }
}
