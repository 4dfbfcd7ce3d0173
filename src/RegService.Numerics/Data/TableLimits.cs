namespace RegService.Numerics.Data;

/// <summary>
/// Bounds the readers hold a table to, given by the caller (the API takes them from its
/// configuration). A name (a column's, or a data set's) must be 1 to <see cref="MaxNameLength"/>
/// characters (UTF-16 code units) of valid Unicode without control characters; a table has at
/// most <see cref="MaxColumns"/> columns. A header that breaks a bound is refused as soon as the
/// bound is passed, before rows are read or column buffers allocated, and a name is never
/// buffered beyond <see cref="MaxNameBytes"/> bytes.
/// </summary>
public sealed record TableLimits
{
    /// <summary>100,000 columns, names of at most 256 characters.</summary>
    public static TableLimits Default { get; } = new();

    public TableLimits(int maxColumns = 100_000, int maxNameLength = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxColumns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNameLength, 1);
        MaxColumns = maxColumns;
        MaxNameLength = maxNameLength;
    }

    /// <summary>Most columns a table may have.</summary>
    public int MaxColumns { get; }

    /// <summary>Most characters (UTF-16 code units) in a name.</summary>
    public int MaxNameLength { get; }

    /// <summary>
    /// Most bytes of one CSV header field as written (quotes, "" escapes and padding included):
    /// 4 per character. A valid name takes at most 3 bytes per UTF-16 code unit, so only a name
    /// that is too long anyway is stopped here, without holding the rest of it.
    /// </summary>
    public int MaxNameBytes => (int)Math.Min(4L * MaxNameLength + 16, Array.MaxLength / 4);

    /// <summary>
    /// Why <paramref name="name"/> is not an acceptable name (a phrase such as "is 300 characters
    /// long; at most 256 are accepted"), or null when it is. Emptiness is the caller's to judge.
    /// </summary>
    public string? Problem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length > MaxNameLength)
            return $"is {name.Length} characters long; at most {MaxNameLength} are accepted";
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                return $"is not valid Unicode: a lone surrogate U+{(int)c:X4} at character {i + 1}";
            if (char.IsControl(c))
                return $"contains the control character U+{(int)c:X4} at character {i + 1}; control characters (tabs and line breaks included) are not allowed in names";
        }
        return null;
    }
}
