using System.Globalization;
using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

public class JsonColumnsReaderTests
{
    private static Task<(string? Name, ColumnTable Table)> Read(string json, int bufferSize = JsonColumnsReader.DefaultBufferSize) =>
        JsonColumnsReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(json)), bufferSize, default);

    private static async Task<DataFormatException> Fails(string json)
    {
        var e = await Assert.ThrowsAsync<DataFormatException>(() => Read(json));
        Assert.Null(e.Line);
        return e;
    }

    [Fact]
    public async Task Reads_name_columns_and_summaries()
    {
        var (name, t) = await Read("""{"name": "diabetes", "columns": {"x1": [1, 2.5, -3e-2], "y": [4, 5, 6]}}""");
        Assert.Equal("diabetes", name);
        Assert.Equal(["x1", "y"], t.Names);
        Assert.Equal(3, t.Rows);
        Assert.Equal([1.0, 2.5, -0.03], Csv.Column(t, 0));
        Assert.Equal([4.0, 5, 6], Csv.Column(t, 1));
        Assert.Equal(5.0, t.Summaries[1].Mean, 15);
        Assert.Equal(Math.Sqrt(2.0 / 3), t.Summaries[1].StdDev, 15);
        Assert.Equal(4.0, t.Summaries[1].Min);
        Assert.Equal(6.0, t.Summaries[1].Max);
        Assert.Equal([1.0, 2.5, -0.03, 4, 5, 6], t.ToMatrix().Data);
    }

    [Fact]
    public async Task Name_is_optional_and_may_come_after_columns()
    {
        var (name, t) = await Read("""{"columns": {"a": [1]}}""");
        Assert.Null(name);
        Assert.Equal(1, t.Rows);
        (name, _) = await Read("""{"columns": {"a": [1]}, "name": null}""");
        Assert.Null(name);
        (name, _) = await Read("\uFEFF{\"columns\": {\"a\": [1]}, \"name\": \"x\\u00e9\"}");
        Assert.Equal("x\u00e9", name);
    }

    [Fact]
    public async Task Streams_through_a_small_buffer_and_trickling_reads()
    {
        var rng = new Random(3);
        var columns = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 3000).Select(_ => (rng.NextDouble() - 0.5) * 1e3).ToArray()).ToArray();
        var sb = new StringBuilder("{\"name\": \"" + new string('n', 250) + "\", \"columns\": {");
        for (int j = 0; j < columns.Length; j++)
        {
            if (j > 0) sb.Append(", ");
            sb.Append($"\"column_{j}\": [");
            sb.Append(string.Join(", ", columns[j].Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            sb.Append(']');
        }
        sb.Append("}}");
        byte[] body = Encoding.UTF8.GetBytes(sb.ToString());

        foreach (var stream in new Stream[] { new MemoryStream(body), new TrickleStream(body, 1, 7, 13) })
        {
            // A 16-byte buffer must grow for the 250-character name.
            var (name, t) = await JsonColumnsReader.ReadAsync(stream, 16, default);
            Assert.Equal(new string('n', 250), name);
            Assert.Equal(3000, t.Rows);
            for (int j = 0; j < columns.Length; j++) Assert.Equal(columns[j], Csv.Column(t, j));
        }
    }

    [Fact]
    public async Task Columns_of_different_lengths()
    {
        var e = await Fails("""{"columns": {"x1": [1, 2, 3], "x2": [1, 2, 3], "y": [1, 2]}}""");
        Assert.Equal("y", e.Column);
        Assert.Equal(2, e.ColumnIndex);
        Assert.Equal("column 'y' has 2 values but column 'x1' has 3", e.Message);
    }

    [Fact]
    public async Task Null_value()
    {
        var e = await Fails("""{"columns": {"x1": [1, 2], "x2": [1, null]}}""");
        Assert.Equal("x2", e.Column);
        Assert.Equal(1, e.ColumnIndex);
        Assert.StartsWith("column 'x2', index 1: null is a missing value; missing values are not accepted", e.Message);
    }

    [Fact]
    public async Task String_value()
    {
        var e = await Fails("""{"columns": {"x1": ["1.5"]}}""");
        Assert.Equal("x1", e.Column);
        Assert.Equal("column 'x1', index 0: the string \"1.5\" is not a number (values must be JSON numbers, not strings)", e.Message);
    }

    [Theory]
    [InlineData("\"NaN\"", "the string \"NaN\" is a missing value")]
    [InlineData("\"Infinity\"", "'Infinity' is not allowed")]
    [InlineData("\"-Infinity\"", "'-Infinity' is not allowed")]
    [InlineData("true", "true is not a number")]
    [InlineData("[1]", "a nested array is not a number")]
    [InlineData("{}", "an object is not a number")]
    [InlineData("1e400", "1e400 is outside the range of a float64")]
    public async Task Other_non_numbers(string value, string expected)
    {
        var e = await Fails("{\"columns\": {\"a\": [1], \"x2\": [" + value + "]}}");
        Assert.Equal("x2", e.Column);
        Assert.StartsWith($"column 'x2', index 0: {expected}", e.Message);
    }

    [Fact]
    public async Task Unknown_top_level_property()
    {
        var e = await Fails("""{"name": "a", "rows": 3, "columns": {"a": [1]}}""");
        Assert.Equal("unknown property 'rows'; the object may only have 'name' and 'columns'", e.Message);
    }

    [Fact]
    public async Task Duplicate_column_names()
    {
        var e = await Fails("""{"columns": {"a": [1], "b": [2], "a": [3]}}""");
        Assert.Equal("a", e.Column);
        Assert.Equal(2, e.ColumnIndex);
        Assert.Equal("the column name 'a' appears twice", e.Message);
    }

    [Fact]
    public async Task Empty_column_name()
    {
        var e = await Fails("""{"columns": {"": [1]}}""");
        Assert.Equal("column 1 has an empty name", e.Message);
    }

    [Fact]
    public async Task No_columns()
    {
        Assert.Equal("'columns' has no columns; at least one is required", (await Fails("""{"columns": {}}""")).Message);
        Assert.Equal("the JSON object has no 'columns' property", (await Fails("""{"name": "x"}""")).Message);
    }

    [Fact]
    public async Task No_rows()
    {
        var e = await Fails("""{"columns": {"a": [], "b": []}}""");
        Assert.Equal("the columns have no values; at least one row is required", e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "the JSON body must be an object")]
    [InlineData("""{"columns": [1, 2]}""", "'columns' must be an object")]
    [InlineData("""{"columns": {"a": 1}}""", "column 'a' must be an array of numbers")]
    [InlineData("""{"name": 3, "columns": {"a": [1]}}""", "'name' must be a string")]
    [InlineData("""{"name": "a", "name": "b", "columns": {"a": [1]}}""", "the property 'name' appears twice")]
    [InlineData("""{"columns": {"a": [1]}} {}""", "the body is not valid JSON")]
    [InlineData("""{"columns": {"a": [1,]}}""", "the body is not valid JSON")]
    [InlineData("""{"columns": {"a": [1, 2]""", "the body is not valid JSON")]
    [InlineData("""{"columns": {"a": [NaN]}}""", "the body is not valid JSON")]
    public async Task Malformed_bodies(string json, string expected)
    {
        var e = await Fails(json);
        Assert.StartsWith(expected, e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n ")]
    public async Task Empty_body(string json)
    {
        var e = await Fails(json);
        Assert.Equal("the JSON body is empty", e.Message);
    }
}
