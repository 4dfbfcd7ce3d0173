using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

/// <summary>Refusals of common R and pandas exports say what to do about them.</summary>
public class InputHintsTests
{
    private static async Task<DataFormatException> CsvFails(string text) =>
        await Assert.ThrowsAsync<DataFormatException>(() => CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text))));

    private static async Task<DataFormatException> JsonFails(string json) =>
        await Assert.ThrowsAsync<DataFormatException>(() => JsonColumnsReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(json))));

    [Fact]
    public async Task R_write_csv_row_names_are_recognised()
    {
        // write.csv(df, file) with the default row.names = TRUE.
        var e = await CsvFails("\"\",\"x\",\"y\"\n\"1\",1.5,2\n\"2\",3,4\n");
        Assert.Equal(1, e.Line);
        Assert.Equal(0, e.ColumnIndex);
        Assert.StartsWith("line 1, column 1: the column name is empty; the first column looks like R's row names", e.Message);
        Assert.Contains("write.csv(df, file, row.names = FALSE)", e.Message);
        Assert.Contains("index=False", e.Message);
    }

    [Fact]
    public async Task An_empty_later_name_has_no_row_names_hint()
    {
        var e = await CsvFails("x,,y\n1,2,3\n");
        Assert.Equal("line 1, column 2: the column name is empty", e.Message);
    }

    [Theory]
    [InlineData("NA")]
    [InlineData("na")]
    [InlineData("N/A")]
    [InlineData("NaN")]
    [InlineData("nan")]
    [InlineData("NULL")]
    [InlineData("null")]
    [InlineData("None")]
    [InlineData("\"NA\"")]
    public async Task Missing_value_markers(string cell)
    {
        var e = await CsvFails($"x1,x2\n1,2\n3,{cell}\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("x2", e.Column);
        Assert.Equal(1, e.ColumnIndex);
        Assert.StartsWith($"line 3, column 'x2': '{cell.Trim('"')}' is a missing value; missing values are not accepted", e.Message);
        Assert.Contains("na.omit(df)", e.Message);
        Assert.Contains("df.dropna()", e.Message);
        Assert.Contains("impute", e.Message);
    }

    [Fact]
    public async Task Empty_cell_is_a_missing_value()
    {
        var e = await CsvFails("x1,x2\n1,2\n,4\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("x1", e.Column);
        Assert.Contains("missing values are not accepted", e.Message);
        Assert.Contains("na.omit(df)", e.Message);
    }

    [Theory]
    [InlineData("red")]
    [InlineData("Ford Pinto")]
    [InlineData("-abc")]
    public async Task Text_cell_is_a_categorical_value(string cell)
    {
        var e = await CsvFails($"x1,colour\n1,2\n3,{cell}\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("colour", e.Column);
        Assert.StartsWith($"line 3, column 'colour': '{cell}' is not a number; categorical columns must be encoded as numbers", e.Message);
        Assert.Contains("model.matrix", e.Message);
        Assert.Contains("pd.get_dummies", e.Message);
    }

    [Theory]
    [InlineData("1.2.3")]
    [InlineData("e5")]
    [InlineData("0x10")]
    [InlineData("Infinity")]
    public async Task Malformed_numbers_get_no_categorical_hint(string cell)
    {
        var e = await CsvFails($"a\n1\n{cell}\n");
        Assert.DoesNotContain("categorical", e.Message);
        Assert.DoesNotContain("missing", e.Message);
    }

    [Fact]
    public async Task Json_null_is_a_missing_value()
    {
        var e = await JsonFails("""{"columns": {"x1": [1, 2], "x2": [1, null]}}""");
        Assert.Equal("x2", e.Column);
        Assert.Equal(1, e.ColumnIndex);
        Assert.Contains("missing values are not accepted", e.Message);
        Assert.Contains("df.dropna()", e.Message);
    }

    [Theory]
    [InlineData("NA")]
    [InlineData("")]
    [InlineData("NaN")]
    public async Task Json_missing_value_strings(string value)
    {
        var e = await JsonFails("{\"columns\": {\"x1\": [1, 2], \"x2\": [1, \"" + value + "\"]}}");
        Assert.Equal("x2", e.Column);
        Assert.StartsWith($"column 'x2', index 1: the string \"{value}\" is a missing value", e.Message);
    }

    [Fact]
    public async Task Json_word_is_a_categorical_value()
    {
        var e = await JsonFails("""{"columns": {"x1": [1, 2], "colour": [1, "red"]}}""");
        Assert.Equal("colour", e.Column);
        Assert.StartsWith("column 'colour', index 1: the string \"red\" is not a number; categorical columns must be encoded", e.Message);
        Assert.Contains("pd.get_dummies", e.Message);
    }

    [Fact]
    public async Task Json_numeric_string_keeps_its_message()
    {
        var e = await JsonFails("""{"columns": {"x1": ["1.5"]}}""");
        Assert.DoesNotContain("categorical", e.Message);
        Assert.Contains("values must be JSON numbers, not strings", e.Message);
    }
}
