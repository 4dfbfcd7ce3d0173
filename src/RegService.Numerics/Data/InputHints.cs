namespace RegService.Numerics.Data;

/// <summary>
/// The advice the readers add to a refusal when the input looks like a common export from R or
/// pandas: row names written as a first column, missing values, text (categorical) columns.
/// Only consulted once a cell or name has already been refused, so the fast paths never see it.
/// </summary>
internal static class InputHints
{
    /// <summary>Said after an empty first header name: R's <c>write.csv</c> and pandas' <c>to_csv</c> write row names there by default.</summary>
    public const string RowNames =
        "the first column looks like R's row names (write.csv writes them by default): write the file with " +
        "write.csv(df, file, row.names = FALSE), or drop the first column (pandas: df.to_csv(file, index=False))";

    /// <summary>Said after an empty cell, NA, NaN, NULL or JSON null.</summary>
    public const string MissingValues =
        "missing values are not accepted: drop the rows that have them (R: na.omit(df); pandas: df.dropna()) " +
        "or impute them before upload";

    /// <summary>Said after a text cell in a column of numbers.</summary>
    public const string Categorical =
        "categorical columns must be encoded as numbers before upload " +
        "(e.g. one-hot: model.matrix(~ ., df) in R, pd.get_dummies(df) in pandas)";

    /// <summary>NA, N/A, NaN, NULL or None in any case, with an optional sign on NaN (how R, pandas and databases write a missing value).</summary>
    public static bool IsMissingMarker(ReadOnlySpan<byte> text)
    {
        if (text.Length > 4) return false;
        Span<byte> lower = stackalloc byte[text.Length];
        for (int i = 0; i < text.Length; i++) lower[i] = (byte)(text[i] | 0x20);
        if (text.Length > 0 && (text[0] == (byte)'+' || text[0] == (byte)'-')) return lower[1..].SequenceEqual("nan"u8);
        return lower.SequenceEqual("na"u8) || lower.SequenceEqual("n/a"u8) || lower.SequenceEqual("nan"u8)
            || lower.SequenceEqual("null"u8) || lower.SequenceEqual("none"u8);
    }

    /// <summary>The same test on a string (the JSON form's string values); a blank string counts too.</summary>
    public static bool IsMissingMarker(string text)
    {
        string t = text.Trim();
        return t.Length == 0 || (t.Length <= 4 && IsMissingMarker(System.Text.Encoding.UTF8.GetBytes(t)));
    }

    /// <summary>
    /// A cell that reads as a word rather than a mistyped number: it starts with a letter (after an
    /// optional sign) and is not an exponent-like "e5". Malformed numbers such as 1.2.3 or 0x10 get no hint.
    /// </summary>
    public static bool LooksLikeText(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        if (text.Length > 0 && (text[0] == '+' || text[0] == '-')) text = text[1..];
        if (text.IsEmpty || !char.IsLetter(text[0])) return false;
        if ((text[0] == 'e' || text[0] == 'E') && text.Length > 1 && (char.IsAsciiDigit(text[1]) || text[1] is '+' or '-')) return false;
        return true;
    }
}
