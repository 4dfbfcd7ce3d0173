using System.Text.Json;

namespace RegService.Numerics.Data;

/// <summary>
/// Reads a data set posted as JSON:
/// <c>{"name": "optional name", "columns": {"x1": [1, 2.5], "y": [3, 4]}}</c>.
/// Every column must have the same number of values, all of them JSON numbers that are finite
/// as float64; at least one column and one row are required; column names must be non-empty
/// and distinct; other top-level properties are rejected. A null or a string such as "NA" is
/// refused as a missing value, and a word as a categorical value, each with advice (<see cref="InputHints"/>). Column names and the name are held to
/// <see cref="TableLimits"/> (length, valid Unicode without lone surrogates, no control
/// characters), and a column beyond <see cref="TableLimits.MaxColumns"/> is refused as soon as its
/// name is read. The body is read with <see cref="Utf8JsonReader"/> over a refilled buffer, never
/// as a whole document, and no token is buffered beyond what the longest name needs.
/// </summary>
public static class JsonColumnsReader
{
    internal const int DefaultBufferSize = 64 * 1024;

    /// <summary>Parses the JSON in <paramref name="input"/>; returns the optional name and the table.</summary>
    public static Task<(string? Name, ColumnTable Table)> ReadAsync(Stream input, CancellationToken ct = default) =>
        ReadAsync(input, TableLimits.Default, DefaultBufferSize, ct);

    /// <summary>Parses the JSON in <paramref name="input"/> within <paramref name="limits"/>; returns the optional name and the table.</summary>
    public static Task<(string? Name, ColumnTable Table)> ReadAsync(Stream input, TableLimits limits, CancellationToken ct = default) =>
        ReadAsync(input, limits, DefaultBufferSize, ct);

    internal static Task<(string? Name, ColumnTable Table)> ReadAsync(Stream input, int bufferSize, CancellationToken ct) =>
        ReadAsync(input, TableLimits.Default, bufferSize, ct);

    internal static async Task<(string? Name, ColumnTable Table)> ReadAsync(Stream input, TableLimits limits, int bufferSize, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(limits);
        // The longest token worth buffering: a name of MaxNameLength characters written as \uXXXX escapes.
        long tokenLimit = Math.Max(DefaultBufferSize, 6L * limits.MaxNameLength + 16);
        byte[] buffer = new byte[Math.Max(bufferSize, 4)];
        int len = 0;
        bool final = false;
        bool first = true;
        var readerState = new JsonReaderState(new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            MaxDepth = 16,
        });
        var parse = new Parse(limits);

        while (true)
        {
            if (!final)
            {
                int want = buffer.Length - len;
                int n = await input.ReadAtLeastAsync(buffer.AsMemory(len), want, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                final = n < want;
                len += n;
            }

            int offset = 0;
            if (first)
            {
                if (len < 3 && !final) continue;
                if (len >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF) offset = 3;
                if (final && buffer.AsSpan(offset, len - offset).TrimStart(" \t\r\n"u8).IsEmpty)
                    throw new DataFormatException("the JSON body is empty");
                first = false;
            }

            int consumed = offset + Process(buffer.AsSpan(offset, len - offset), final, ref readerState, parse);
            if (final)
            {
                if (!parse.Done) throw new DataFormatException("the JSON body ended before the root object was closed");
                break;
            }
            int left = len - consumed;
            if (left == buffer.Length)
            {
                // One token is larger than the whole buffer.
                if (buffer.Length >= tokenLimit || buffer.Length >= Array.MaxLength / 2) throw parse.TokenTooLong(buffer.Length);
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            else
            {
                buffer.AsSpan(consumed, left).CopyTo(buffer);
            }
            len = left;
        }
        return (parse.Name, parse.Build());
    }

    private static int Process(ReadOnlySpan<byte> data, bool final, ref JsonReaderState state, Parse parse)
    {
        var reader = new Utf8JsonReader(data, final, state);
        try
        {
            while (reader.Read()) parse.Handle(ref reader);
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"the body is not valid JSON: {e.Message}");
        }
        state = reader.CurrentState;
        return (int)reader.BytesConsumed;
    }

    /// <summary>The token-by-token state of one JSON body.</summary>
    private sealed class Parse(TableLimits limits)
    {
        private enum At
        {
            Start,
            Root,
            NameValue,
            ColumnsValue,
            Columns,
            ColumnValue,
            Values,
            Done,
        }

        private At _at = At.Start;
        private bool _seenName, _seenColumns;
        private readonly List<string> _names = [];
        private readonly HashSet<string> _nameSet = new(StringComparer.Ordinal);
        private readonly List<ChunkedColumn> _columns = [];
        private readonly List<ColumnStats> _stats = [];
        private readonly ChunkAllocator _allocator = new();
        private ChunkedColumn? _current;
        private int _expectedRows = -1;

        public string? Name { get; private set; }

        public bool Done => _at == At.Done;

        public void Handle(ref Utf8JsonReader r)
        {
            switch (_at)
            {
                case At.Start:
                    if (r.TokenType != JsonTokenType.StartObject)
                        throw new DataFormatException("the JSON body must be an object like {\"name\": \"...\", \"columns\": {\"x1\": [1, 2], \"y\": [3, 4]}}");
                    _at = At.Root;
                    break;

                case At.Root:
                    if (r.TokenType == JsonTokenType.EndObject)
                    {
                        _at = At.Done;
                    }
                    else if (r.ValueTextEquals("name"u8))
                    {
                        if (_seenName) throw new DataFormatException("the property 'name' appears twice");
                        _seenName = true;
                        _at = At.NameValue;
                    }
                    else if (r.ValueTextEquals("columns"u8))
                    {
                        if (_seenColumns) throw new DataFormatException("the property 'columns' appears twice");
                        _seenColumns = true;
                        _at = At.ColumnsValue;
                    }
                    else
                    {
                        string shown = CsvChunkParser.Printable(r.ValueSpan);
                        throw new DataFormatException($"unknown property '{shown}'; the object may only have 'name' and 'columns'");
                    }
                    break;

                case At.NameValue:
                    Name = r.TokenType switch
                    {
                        JsonTokenType.String => ReadString(ref r, "'name'", null, "name"),
                        JsonTokenType.Null => null,
                        _ => throw new DataFormatException("'name' must be a string", null, null, null, "name"),
                    };
                    if (Name is not null && limits.Problem(Name) is { } nameProblem)
                        throw new DataFormatException($"'name' {nameProblem}", null, null, null, "name");
                    _at = At.Root;
                    break;

                case At.ColumnsValue:
                    if (r.TokenType != JsonTokenType.StartObject)
                        throw new DataFormatException("'columns' must be an object mapping each column name to an array of numbers");
                    _at = At.Columns;
                    break;

                case At.Columns:
                    if (r.TokenType == JsonTokenType.EndObject)
                    {
                        _at = At.Root;
                        break;
                    }
                    int index = _names.Count;
                    if (index >= limits.MaxColumns)
                        throw new DataFormatException(
                            $"'columns' has more than {limits.MaxColumns} columns; at most {limits.MaxColumns} are accepted", null, null, index);
                    string name = ReadString(ref r, $"the name of column {index + 1}", index, null);
                    if (name.Length == 0)
                        throw new DataFormatException($"column {index + 1} has an empty name", null, name, index);
                    if (limits.Problem(name) is { } problem)
                        throw new DataFormatException($"the name of column {index + 1} {problem}", null, null, index);
                    if (!_nameSet.Add(name))
                        throw new DataFormatException($"the column name '{name}' appears twice", null, name, index);
                    _names.Add(name);
                    _at = At.ColumnValue;
                    break;

                case At.ColumnValue:
                    if (r.TokenType != JsonTokenType.StartArray)
                        throw ColumnError($"column '{_names[^1]}' must be an array of numbers");
                    _current = new ChunkedColumn(_allocator);
                    _at = At.Values;
                    break;

                case At.Values:
                    var column = _current!;
                    if (r.TokenType == JsonTokenType.Number)
                    {
                        var result = DecimalParser.TryParse(r.ValueSpan, out double v);
                        if (result != DecimalParser.Result.Ok)
                            throw ColumnError($"column '{_names[^1]}', index {column.Count}: {CsvChunkParser.Printable(r.ValueSpan)} is outside the range of a float64");
                        column.Add(v);
                    }
                    else if (r.TokenType == JsonTokenType.EndArray)
                    {
                        EndColumn(column);
                    }
                    else
                    {
                        throw ColumnError($"column '{_names[^1]}', index {column.Count}: {Describe(ref r)}");
                    }
                    break;

                case At.Done:
                    throw new DataFormatException("unexpected content after the root object");
            }
        }

        private void EndColumn(ChunkedColumn column)
        {
            string name = _names[^1];
            if (_expectedRows < 0)
            {
                _expectedRows = column.Count;
            }
            else if (column.Count != _expectedRows)
            {
                throw ColumnError($"column '{name}' has {column.Count} value{(column.Count == 1 ? "" : "s")} but column '{_names[0]}' has {_expectedRows}");
            }
            _columns.Add(column);
            _stats.Add(column.ComputeStats());
            _current = null;
            _at = At.Columns;
        }

        /// <summary>A string token's value; one that is not valid Unicode (a lone surrogate escape, bad UTF-8) is refused.</summary>
        private static string ReadString(ref Utf8JsonReader r, string what, int? index, string? field)
        {
            try
            {
                return r.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                string reason = e.Message.Contains("UTF-16", StringComparison.Ordinal)
                    ? "a \\u escape is a lone surrogate"
                    : "the bytes are not valid UTF-8";
                throw new DataFormatException($"{what} is not valid Unicode ({reason})", null, null, index, field);
            }
        }

        /// <summary>The error for a token longer than any acceptable one, named by where it stands.</summary>
        public DataFormatException TokenTooLong(int bytes) => _at switch
        {
            At.Columns => new DataFormatException(
                $"the name of column {_names.Count + 1} is longer than {limits.MaxNameLength} characters (more than {bytes} bytes); " +
                $"at most {limits.MaxNameLength} are accepted", null, null, _names.Count),
            At.NameValue => new DataFormatException(
                $"'name' is longer than {limits.MaxNameLength} characters (more than {bytes} bytes); at most {limits.MaxNameLength} are accepted",
                null, null, null, "name"),
            _ => new DataFormatException($"a JSON token is longer than {bytes} bytes, more than any name or number needs"),
        };

        private DataFormatException ColumnError(string message) =>
            new(message, null, _names[^1], _names.Count - 1);

        private static string Describe(ref Utf8JsonReader r)
        {
            switch (r.TokenType)
            {
                case JsonTokenType.Null:
                    return $"null is a missing value; {InputHints.MissingValues}";
                case JsonTokenType.True:
                case JsonTokenType.False:
                    return $"{(r.TokenType == JsonTokenType.True ? "true" : "false")} is not a number";
                case JsonTokenType.String:
                    string s = r.GetString() ?? "";
                    string t = s.Trim().TrimStart('+', '-');
                    string shown = s.Length > 40 ? s[..40] + "…" : s;
                    if (InputHints.IsMissingMarker(s)) return $"the string \"{shown}\" is a missing value; {InputHints.MissingValues}";
                    if (t.Equals("Infinity", StringComparison.OrdinalIgnoreCase) || t.Equals("inf", StringComparison.OrdinalIgnoreCase))
                        return $"'{s}' is not allowed (values must be finite JSON numbers)";
                    if (InputHints.LooksLikeText(s)) return $"the string \"{shown}\" is not a number; {InputHints.Categorical}";
                    return $"the string \"{shown}\" is not a number (values must be JSON numbers, not strings)";
                case JsonTokenType.StartArray:
                    return "a nested array is not a number";
                case JsonTokenType.StartObject:
                    return "an object is not a number";
                default:
                    return $"unexpected {r.TokenType}";
            }
        }

        public ColumnTable Build()
        {
            if (!_seenColumns) throw new DataFormatException("the JSON object has no 'columns' property");
            if (_columns.Count == 0) throw new DataFormatException("'columns' has no columns; at least one is required");
            if (_expectedRows == 0) throw new DataFormatException("the columns have no values; at least one row is required");
            return new ColumnTable([.. _names], [.. _columns], [.. _stats]);
        }
    }
}
