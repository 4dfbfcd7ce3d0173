using System.Runtime.CompilerServices;
using System.Text;

namespace RegService.Numerics.Data;

/// <summary>A parse error found inside a chunk; the exception is made once the chunk's first line number is known.</summary>
internal sealed class CsvChunkError(int localLine, Func<long, DataFormatException> create)
{
    /// <summary>0-based line index within the chunk.</summary>
    public int LocalLine { get; } = localLine;

    public DataFormatException Create(long line) => create(line);
}

/// <summary>The parsed values of one chunk of whole lines, column-major with stride <see cref="Capacity"/>.</summary>
internal sealed class CsvBlock
{
    public long Sequence;
    public double[] Data = [];
    public int Capacity;
    public int Rows;
    /// <summary>Physical lines in the chunk.</summary>
    public int Lines;
    /// <summary>Local index of the first blank line of a run of blank lines that ends the chunk, or -1.</summary>
    public int TrailingBlankLine = -1;
    public CsvChunkError? Error;
    public ColumnStats[] Stats = [];
    /// <summary>Where the values go in the table's columns: (column, destination, first row in this block).</summary>
    public readonly List<(int Column, ArraySegment<double> Destination, int Source)> Placements = [];

    public ReadOnlySpan<double> Column(int j) => Data.AsSpan(j * Capacity, Rows);
}

/// <summary>
/// Parses chunks of whole CSV data lines. A chunk always ends with '\n' (the reader appends one
/// to a last line without it), which is the sentinel that stops every scanning loop, so the
/// hot loop needs no bounds checks. One instance per worker thread.
/// </summary>
internal sealed unsafe class CsvChunkParser(string[] names)
{
    private readonly string[] _names = names;
    private byte[] _quoted = new byte[256];

    /// <summary>
    /// Parses <paramref name="buffer"/>[0..<paramref name="length"/>), which ends with '\n'.
    /// <paramref name="sentinelAdded"/> says that the final '\n' was not in the input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Parse(byte[] buffer, int length, bool sentinelAdded, CsvBlock block)
    {
        if (buffer.Length < length + DecimalParser.Padding) throw new ArgumentException("the chunk buffer needs padding after the data", nameof(buffer));
        int columns = _names.Length;
        int lines = buffer.AsSpan(0, length).Count((byte)'\n');
        // A complete row takes at least 2 bytes per column ("1," ... "1\n"), so a chunk of mostly
        // blank or short lines cannot make the block large; one more row is room for the
        // values written before an error is found in a row.
        int capacity = (int)Math.Min(lines, length / (2L * columns) + 1);
        long needed = (long)capacity * columns;
        if (block.Data.Length < needed)
        {
            if (needed > Array.MaxLength) throw new DataFormatException("a chunk of the CSV has too many values");
            block.Data = GC.AllocateUninitializedArray<double>((int)needed);
        }
        block.Capacity = capacity;
        block.Error = null;
        block.TrailingBlankLine = -1;

        int rows = 0, line = 0, firstBlank = -1;
        int last = columns - 1;
        nint stride = capacity;
        CsvChunkError? error = null;

        fixed (byte* b0 = buffer)
        fixed (double* d0 = block.Data)
        {
            byte* p = b0;
            byte* end = b0 + length;
            byte* sentinel = sentinelAdded ? end - 1 : null;
            while (p < end)
            {
                byte c = *p;
                if (c == (byte)'\n' || (c == (byte)'\r' && p[1] == (byte)'\n'))
                {
                    if (firstBlank < 0) firstBlank = line;
                    p += c == (byte)'\n' ? 1 : 2;
                    line++;
                    continue;
                }
                if (firstBlank >= 0)
                {
                    error = BlankLineError(firstBlank);
                    break;
                }

                double* dst = d0 + rows;
                int col = 0;
                while (true)
                {
                    byte* q = DecimalParser.Scan(p, out double v);
                    if (q != null)
                    {
                        if (col < last)
                        {
                            if (*q == (byte)',')
                            {
                                *dst = v;
                                dst += stride;
                                p = q + 1;
                                col++;
                                continue;
                            }
                        }
                        else if (*q == (byte)'\n')
                        {
                            *dst = v;
                            p = q + 1;
                            break;
                        }
                        else if (*q == (byte)'\r' && q[1] == (byte)'\n')
                        {
                            *dst = v;
                            p = q + 2;
                            break;
                        }
                    }

                    p = SlowField(p, col, line, sentinel, out v, out error);
                    if (error != null) break;
                    *dst = v;
                    if (col == last) break;
                    dst += stride;
                    col++;
                }
                if (error != null) break;
                rows++;
                line++;
            }
        }

        block.Rows = rows;
        block.Lines = lines;
        block.Error = error;
        if (error == null)
        {
            block.TrailingBlankLine = firstBlank;
            if (block.Stats.Length != columns) block.Stats = new ColumnStats[columns];
            for (int j = 0; j < columns; j++) block.Stats[j] = ColumnStats.Of(block.Column(j));
        }
    }

    /// <summary>
    /// Handles a field the fast path did not take: quoted, padded with spaces, malformed, or at
    /// the wrong place in the row. Returns the position after the field's terminator.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte* SlowField(byte* p, int col, int line, byte* sentinel, out double value, out CsvChunkError? error)
    {
        value = 0;
        error = null;
        int last = _names.Length - 1;
        ReadOnlySpan<byte> text;
        byte* q;

        if (*p == (byte)'"')
        {
            q = p + 1;
            int n = 0;
            while (true)
            {
                byte c = *q;
                if (c == (byte)'"')
                {
                    if (q[1] == (byte)'"')
                    {
                        Append(ref n, (byte)'"');
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                if (c == (byte)'\n')
                {
                    error = q == sentinel
                        ? FieldError(line, col, name => $"column '{name}': the quoted field is not closed (unterminated quote at the end of the input)")
                        : FieldError(line, col, name => $"column '{name}': the quoted field is not closed before the end of the line (line breaks inside quoted fields are not allowed in data rows)");
                    return q;
                }
                Append(ref n, c);
                q++;
            }
            while (*q == (byte)' ' || *q == (byte)'\t') q++;
            if (!(*q == (byte)',' || *q == (byte)'\n' || (*q == (byte)'\r' && q[1] == (byte)'\n')))
            {
                string after = Printable(new ReadOnlySpan<byte>(q, 1));
                error = FieldError(line, col, name => $"column '{name}': unexpected character '{after}' after the closing quote");
                return q;
            }
            text = _quoted.AsSpan(0, n);
        }
        else
        {
            q = p;
            while (*q != (byte)',' && *q != (byte)'\n') q++;
            byte* fieldEnd = q;
            if (*q == (byte)'\n' && q > p && q[-1] == (byte)'\r') fieldEnd = q - 1;
            text = new ReadOnlySpan<byte>(p, (int)(fieldEnd - p));
        }

        bool endOfLine = *q != (byte)',';
        if (col < last && endOfLine)
        {
            int fields = col + 1;
            error = new CsvChunkError(line, l => new DataFormatException(
                $"line {l} has {fields} field{(fields == 1 ? "" : "s")} but the header has {_names.Length}", l));
            return q;
        }
        if (col == last && !endOfLine)
        {
            int fields = col + 1 + CountRemainingFields(q);
            error = new CsvChunkError(line, l => new DataFormatException(
                $"line {l} has {fields} fields but the header has {_names.Length}", l));
            return q;
        }

        text = Trim(text);
        if (text.IsEmpty)
        {
            error = FieldError(line, col, name => $"column '{name}': the value is empty; {InputHints.MissingValues}");
            return q;
        }
        var result = DecimalParser.TryParse(text, out value);
        if (result != DecimalParser.Result.Ok)
        {
            string shown = Printable(text);
            if (result is DecimalParser.Result.NaN || InputHints.IsMissingMarker(text))
            {
                error = FieldError(line, col, name => $"column '{name}': '{shown}' is a missing value; {InputHints.MissingValues}");
                return q;
            }
            error = result switch
            {
                DecimalParser.Result.Infinity => FieldError(line, col, name => $"column '{name}': '{shown}' is not allowed (values must be finite numbers)"),
                DecimalParser.Result.OutOfRange => FieldError(line, col, name => $"column '{name}': '{shown}' is outside the range of a float64"),
                _ when InputHints.LooksLikeText(shown) =>
                    FieldError(line, col, name => $"column '{name}': '{shown}' is not a number; {InputHints.Categorical}"),
                _ => FieldError(line, col, name => $"column '{name}': '{shown}' is not a number"),
            };
            return q;
        }

        if (*q == (byte)',') return q + 1;
        return *q == (byte)'\r' ? q + 2 : q + 1;
    }

    private void Append(ref int n, byte c)
    {
        if (n == _quoted.Length) Array.Resize(ref _quoted, _quoted.Length * 2);
        _quoted[n++] = c;
    }

    /// <summary>Counts the fields after the ',' at <paramref name="q"/> up to the end of the line.</summary>
    private static int CountRemainingFields(byte* q)
    {
        int fields = 0;
        bool inQuotes = false;
        for (; *q != (byte)'\n'; q++)
        {
            if (*q == (byte)'"') inQuotes = !inQuotes;
            else if (*q == (byte)',' && !inQuotes) fields++;
        }
        return fields;
    }

    private CsvChunkError FieldError(int localLine, int col, Func<string, string> describe)
    {
        string name = _names[col];
        return new CsvChunkError(localLine, l => new DataFormatException($"line {l}, {describe(name)}", l, name, col));
    }

    private static CsvChunkError BlankLineError(int localLine) =>
        new(localLine, BlankLine);

    internal static DataFormatException BlankLine(long line) =>
        new($"line {line} is empty; blank lines are only allowed at the end of the file", line);

    internal static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        int a = 0, b = s.Length;
        while (a < b && (s[a] == (byte)' ' || s[a] == (byte)'\t')) a++;
        while (b > a && (s[b - 1] == (byte)' ' || s[b - 1] == (byte)'\t')) b--;
        return s[a..b];
    }

    /// <summary>Field text for an error message: decoded, control characters escaped, at most 40 characters.</summary>
    internal static string Printable(ReadOnlySpan<byte> s)
    {
        const int Max = 40;
        bool cut = s.Length > Max * 4;
        string text = Encoding.UTF8.GetString(cut ? s[..(Max * 4)] : s);
        var sb = new StringBuilder();
        foreach (char ch in text)
        {
            if (sb.Length >= Max)
            {
                cut = true;
                break;
            }
            if (ch == '\r') sb.Append("\\r");
            else if (ch == '\t') sb.Append("\\t");
            else if (char.IsControl(ch)) sb.Append($"\\u{(int)ch:X4}");
            else sb.Append(ch);
        }
        if (cut) sb.Append('…');
        return sb.ToString();
    }
}
