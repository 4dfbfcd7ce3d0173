using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

/// <summary>A stream of a prefix followed by one byte repeated without end; counts what was read.</summary>
internal sealed class EndlessStream(byte[] prefix, byte fill) : ReadOnlyTestStream
{
    public long BytesRead { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++)
        {
            long at = BytesRead + i;
            buffer[i] = at < prefix.Length ? prefix[at] : fill;
        }
        BytesRead += buffer.Length;
        return buffer.Length;
    }
}

public class TableLimitsTests
{
    private static Task<DataFormatException> CsvFails(byte[] body, TableLimits? limits = null) =>
        Assert.ThrowsAsync<DataFormatException>(() => CsvTableReader.ReadAsync(new MemoryStream(body), limits ?? TableLimits.Default));

    private static Task<DataFormatException> JsonFails(string json, TableLimits? limits = null) =>
        Assert.ThrowsAsync<DataFormatException>(() =>
            JsonColumnsReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(json)), limits ?? TableLimits.Default));

    [Fact]
    public void Defaults_are_100000_columns_and_256_characters()
    {
        Assert.Equal(100_000, TableLimits.Default.MaxColumns);
        Assert.Equal(256, TableLimits.Default.MaxNameLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TableLimits(maxColumns: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TableLimits(maxNameLength: 0));
    }

    [Fact]
    public async Task Csv_header_byte_that_is_not_utf8_is_refused_naming_column_and_byte()
    {
        byte[] body = [.. "a,x"u8, 0xFF, .. ",y\n1,2,3\n"u8];
        var e = await CsvFails(body);
        Assert.Equal(1, e.Line);
        Assert.Equal(1, e.ColumnIndex);
        Assert.Null(e.Column);
        Assert.Equal("line 1, column 2: the column name is not valid UTF-8 (byte 0xFF at byte 2 of the name); the header must be encoded in UTF-8", e.Message);
    }

    [Fact]
    public async Task Csv_truncated_utf8_sequence_in_a_quoted_name_is_refused()
    {
        byte[] body = [.. "\"ab"u8, 0xE6, 0x97, .. "\",y\n1,2\n"u8];
        var e = await CsvFails(body);
        Assert.Equal(0, e.ColumnIndex);
        Assert.Contains("byte 0xE6 at byte 3 of the name", e.Message);
    }

    [Fact]
    public async Task Csv_multibyte_names_at_the_limit_are_accepted()
    {
        string longest = new('é', 256);
        var t = await Csv.Read($"größe,日本,\"{longest}\"\n1,2,3\n");
        Assert.Equal(["größe", "日本", longest], t.Names);
    }

    [Fact]
    public async Task Csv_name_longer_than_the_limit_is_refused_with_length_and_limit()
    {
        var e = await CsvFails(Csv.Bytes($"a,{new string('n', 257)}\n1,2\n"));
        Assert.Equal(1, e.Line);
        Assert.Equal(1, e.ColumnIndex);
        Assert.Equal("line 1, column 2: the column name is 257 characters long; at most 256 are accepted", e.Message);

        var small = await CsvFails(Csv.Bytes("abc,defghi\n1,2\n"), new TableLimits(maxNameLength: 5));
        Assert.Equal(1, small.ColumnIndex);
        Assert.Contains("6 characters long; at most 5", small.Message);
    }

    [Fact]
    public async Task Csv_name_of_one_and_a_half_megabytes_is_refused()
    {
        var e = await CsvFails(Csv.Bytes($"x,{new string('n', 1_500_000)}\n1,2\n"));
        Assert.Equal(1, e.Line);
        Assert.Equal(1, e.ColumnIndex);
        Assert.Equal("line 1, column 2: the column name is longer than 256 characters (more than 1040 bytes); at most 256 are accepted", e.Message);
    }

    [Fact]
    public async Task Csv_endless_name_stops_the_read_after_one_buffer()
    {
        var stream = new EndlessStream("a,\"b"u8.ToArray(), (byte)'n');
        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(stream, TableLimits.Default, 1024, 2, default));
        Assert.Equal(1, e.ColumnIndex);
        Assert.Contains("longer than 256 characters", e.Message);
        Assert.True(stream.BytesRead <= 4096, $"{stream.BytesRead} bytes read");
    }

    [Fact]
    public async Task Csv_header_with_more_columns_than_allowed_is_refused_before_the_rows()
    {
        // 100,001 names, then rows that would fail if they were read.
        var header = string.Join(",", Enumerable.Range(1, 100_001).Select(i => $"c{i}"));
        var e = await CsvFails(Csv.Bytes(header + "\nnot,numbers\n\"unclosed\n"));
        Assert.Equal(1, e.Line);
        Assert.Equal(100_000, e.ColumnIndex);
        Assert.Equal("line 1: the header has more than 100000 columns; at most 100000 are accepted", e.Message);

        var small = await CsvFails(Csv.Bytes("a,b,c,d\nx,y\n"), new TableLimits(maxColumns: 3));
        Assert.Equal(3, small.ColumnIndex);
        Assert.Contains("more than 3 columns", small.Message);
    }

    [Fact]
    public async Task Csv_header_exactly_at_the_column_limit_is_accepted()
    {
        var t = await CsvTableReader.ReadAsync(new MemoryStream(Csv.Bytes("a,b,c\n1,2,3\n")), new TableLimits(maxColumns: 3));
        Assert.Equal(3, t.Names.Count);
    }

    [Fact]
    public async Task Csv_endless_header_of_columns_stops_the_read_at_the_limit()
    {
        var stream = new EndlessStream("a"u8.ToArray(), (byte)',');
        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(stream, new TableLimits(maxColumns: 1000), 256, 2, default));
        Assert.Equal(1000, e.ColumnIndex);
        Assert.True(stream.BytesRead <= 4096, $"{stream.BytesRead} bytes read");
    }

    [Theory]
    [InlineData("\"a\0b\",c\n1,2\n", 0, "U+0000 at character 2")]
    [InlineData("a,b\tc\n1,2\n", 1, "U+0009 at character 2")]
    [InlineData("a,\"b\rc\"\n1,2\n", 1, "U+000D at character 2")]
    [InlineData("\u0001,b\n1,2\n", 0, "U+0001 at character 1")]
    [InlineData("a,b\u007F\n1,2\n", 1, "U+007F at character 2")]
    public async Task Csv_names_with_control_characters_are_refused(string text, int index, string where)
    {
        var e = await CsvFails(Csv.Bytes(text));
        Assert.Equal(1, e.Line);
        Assert.Equal(index, e.ColumnIndex);
        Assert.StartsWith($"line 1, column {index + 1}: the column name contains the control character {where}", e.Message);
    }

    [Fact]
    public async Task Csv_quoted_line_break_in_a_name_is_refused()
    {
        var e = await CsvFails(Csv.Bytes("a,\"b\nc\"\n1,2\n"));
        Assert.Equal(1, e.ColumnIndex);
        Assert.Contains("line breaks inside quoted names are not allowed", e.Message);
    }

    [Fact]
    public async Task Json_key_with_a_lone_surrogate_is_refused()
    {
        var e = await JsonFails("""{"columns": {"a": [1], "b\ud800": [2]}}""");
        Assert.Equal(1, e.ColumnIndex);
        Assert.Null(e.Line);
        Assert.Equal("the name of column 2 is not valid Unicode (a \\u escape is a lone surrogate)", e.Message);

        var low = await JsonFails("""{"columns": {"\udc00x": [2]}}""");
        Assert.Equal(0, low.ColumnIndex);
    }

    [Fact]
    public async Task Json_name_with_a_lone_surrogate_is_refused_naming_the_field()
    {
        var e = await JsonFails("""{"name": "set\ud800", "columns": {"a": [1]}}""");
        Assert.Equal("name", e.Field);
        Assert.Contains("'name' is not valid Unicode", e.Message);
    }

    [Fact]
    public async Task Json_key_that_is_not_utf8_is_refused()
    {
        byte[] body = [.. "{\"columns\": {\"a"u8, 0xFF, .. "\": [1]}}"u8];
        var e = await Assert.ThrowsAsync<DataFormatException>(() => JsonColumnsReader.ReadAsync(new MemoryStream(body)));
        Assert.Contains("not valid", e.Message);
    }

    [Fact]
    public async Task Json_keys_and_name_longer_than_the_limit_are_refused()
    {
        var e = await JsonFails("{\"columns\": {\"a\": [1], \"" + new string('k', 257) + "\": [2]}}");
        Assert.Equal(1, e.ColumnIndex);
        Assert.Equal("the name of column 2 is 257 characters long; at most 256 are accepted", e.Message);

        var name = await JsonFails("{\"name\": \"" + new string('k', 11) + "\", \"columns\": {\"a\": [1]}}", new TableLimits(maxNameLength: 10));
        Assert.Equal("name", name.Field);
        Assert.Equal("'name' is 11 characters long; at most 10 are accepted", name.Message);
    }

    [Fact]
    public async Task Json_endless_key_stops_the_read()
    {
        var stream = new EndlessStream("""{"columns": {"a": [1], "b"""u8.ToArray(), (byte)'k');
        var e = await Assert.ThrowsAsync<DataFormatException>(() => JsonColumnsReader.ReadAsync(stream, TableLimits.Default));
        Assert.Equal(1, e.ColumnIndex);
        Assert.Contains("the name of column 2 is longer than 256 characters", e.Message);
        Assert.True(stream.BytesRead <= 4 * JsonColumnsReader.DefaultBufferSize, $"{stream.BytesRead} bytes read");
    }

    [Fact]
    public async Task Json_more_columns_than_allowed_are_refused_as_soon_as_the_limit_is_passed()
    {
        // The third key passes the limit; the invalid JSON after it is never reached.
        var e = await JsonFails("""{"columns": {"a": [1], "b": [2], "c": garbage""", new TableLimits(maxColumns: 2));
        Assert.Equal(2, e.ColumnIndex);
        Assert.Equal("'columns' has more than 2 columns; at most 2 are accepted", e.Message);

        var (_, t) = await JsonColumnsReader.ReadAsync(new MemoryStream("""{"columns": {"a": [1], "b": [2]}}"""u8.ToArray()), new TableLimits(maxColumns: 2));
        Assert.Equal(2, t.Names.Count);
    }

    [Theory]
    [InlineData("""{"columns": {"a\u0000": [1]}}""", 0)]
    [InlineData("""{"columns": {"x": [1], "a\nb": [1]}}""", 1)]
    public async Task Json_keys_with_control_characters_are_refused(string json, int index)
    {
        var e = await JsonFails(json);
        Assert.Equal(index, e.ColumnIndex);
        Assert.Contains("contains the control character", e.Message);
    }
}
