using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

public class CsvTableReaderTests
{
    [Fact]
    public async Task Reads_values_names_and_summaries()
    {
        var t = await Csv.Read("x1,x2,y\n1,2.5,-3\n4,-0.5,6\n7,1e-05,9\n");

        Assert.Equal(["x1", "x2", "y"], t.Names);
        Assert.Equal(3, t.Rows);
        Assert.Equal([1.0, 4, 7], Csv.Column(t, 0));
        Assert.Equal([2.5, -0.5, 1e-05], Csv.Column(t, 1));
        Assert.Equal([-3.0, 6, 9], Csv.Column(t, 2));

        // Hand computation, 1/n convention.
        var s = t.Summaries;
        Assert.Equal("x1", s[0].Name);
        Assert.Equal(4.0, s[0].Mean, 15);
        Assert.Equal(Math.Sqrt(6.0), s[0].StdDev, 14);
        Assert.Equal(1.0, s[0].Min);
        Assert.Equal(7.0, s[0].Max);

        double mean2 = (2.5 - 0.5 + 1e-05) / 3;
        double var2 = (Math.Pow(2.5 - mean2, 2) + Math.Pow(-0.5 - mean2, 2) + Math.Pow(1e-05 - mean2, 2)) / 3;
        Assert.Equal(mean2, s[1].Mean, 15);
        Assert.Equal(Math.Sqrt(var2), s[1].StdDev, 14);
        Assert.Equal(-0.5, s[1].Min);
        Assert.Equal(2.5, s[1].Max);

        Assert.Equal(4.0, s[2].Mean, 15);
        Assert.Equal(Math.Sqrt(((-7.0) * -7 + 2 * 2 + 5 * 5) / 3), s[2].StdDev, 14);
        Assert.Equal(-3.0, s[2].Min);
        Assert.Equal(9.0, s[2].Max);
    }

    [Fact]
    public async Task ToMatrix_is_column_major()
    {
        var t = await Csv.Read("a,b\n1,2\n3,4\n5,6\n");
        var m = t.ToMatrix();
        Assert.Equal(3, m.Rows);
        Assert.Equal(2, m.Columns);
        Assert.Equal([1.0, 3, 5, 2, 4, 6], m.Data);
    }

    [Fact]
    public async Task Accepts_all_invariant_number_forms()
    {
        var t = await Csv.Read("v\n-1.5\n3\n1e-05\n2.5E+10\n+4\n.5\n-.25\n5.\n0\n-0\n 7 \n\t8\t\n1.234567891e-05\n-0.1234567891\n");
        Assert.Equal([-1.5, 3, 1e-05, 2.5e10, 4, 0.5, -0.25, 5, 0, -0.0, 7, 8, 1.234567891e-05, -0.1234567891], Csv.Column(t, 0));
        Assert.True(double.IsNegative(Csv.Column(t, 0)[9]));
    }

    [Fact]
    public async Task Quoted_header_names_and_quoted_cells()
    {
        var t = await Csv.Read("\"GNP.deflator\",\"GNP\",\"say \"\"hi\"\"\",plain\n\"1.5\",2,\" 3 \",4\n5,\"6e1\",7,\"8\"\n");
        Assert.Equal(["GNP.deflator", "GNP", "say \"hi\"", "plain"], t.Names);
        Assert.Equal([1.5, 5], Csv.Column(t, 0));
        Assert.Equal([2.0, 60], Csv.Column(t, 1));
        Assert.Equal([3.0, 7], Csv.Column(t, 2));
        Assert.Equal([4.0, 8], Csv.Column(t, 3));
    }

    [Fact]
    public async Task Unquoted_header_names_are_trimmed()
    {
        var t = await Csv.Read(" a , b\n1,2\n");
        Assert.Equal(["a", "b"], t.Names);
    }

    [Fact]
    public async Task Crlf_line_ends()
    {
        var t = await Csv.Read("a,\"b\"\r\n1,2\r\n3,\"4\"\r\n");
        Assert.Equal(["a", "b"], t.Names);
        Assert.Equal([1.0, 3], Csv.Column(t, 0));
        Assert.Equal([2.0, 4], Csv.Column(t, 1));
    }

    [Fact]
    public async Task Utf8_bom_is_skipped()
    {
        byte[] body = [0xEF, 0xBB, 0xBF, .. Csv.Bytes("a,b\n1,2\n")];
        var t = await CsvTableReader.ReadAsync(new MemoryStream(body));
        Assert.Equal(["a", "b"], t.Names);
        Assert.Equal(1, t.Rows);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,4")]
    [InlineData("a,b\r\n1,2\r\n3,4")]
    [InlineData("a,b\n1,2\n3,4\n\n\n")]
    [InlineData("a,b\n1,2\n3,4\r\n\r\n")]
    public async Task Last_line_without_newline_and_trailing_blank_lines(string text)
    {
        var t = await Csv.Read(text);
        Assert.Equal(2, t.Rows);
        Assert.Equal([2.0, 4], Csv.Column(t, 1));
    }

    [Fact]
    public async Task Single_column()
    {
        var t = await Csv.Read("y\n1\n2\n3");
        Assert.Equal([1.0, 2, 3], Csv.Column(t, 0));
    }

    [Fact]
    public async Task Non_numeric_cell()
    {
        var e = await Csv.Fails("x1,x2,x3\n1,2,3\n4,5,abc\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("x3", e.Column);
        Assert.Equal(2, e.ColumnIndex);
        Assert.StartsWith("line 3, column 'x3': 'abc' is not a number; categorical columns must be encoded as numbers", e.Message);
    }

    [Theory]
    [InlineData("1.2.3")]
    [InlineData("1e")]
    [InlineData("e5")]
    [InlineData("1,5")]
    [InlineData("--1")]
    [InlineData("0x10")]
    [InlineData("1 2")]
    [InlineData("1_000")]
    public async Task Malformed_numbers(string cell)
    {
        var e = await Csv.Fails($"a,b\n1,2\n3,\"{cell}\"\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("b", e.Column);
        Assert.Contains("is not a number", e.Message);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("nan")]
    [InlineData("-NaN")]
    public async Task NaN_cell(string cell)
    {
        var e = await Csv.Fails($"a,b\n1,2\n{cell},3\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("a", e.Column);
        Assert.Equal(0, e.ColumnIndex);
        Assert.StartsWith($"line 3, column 'a': '{cell}' is a missing value; missing values are not accepted", e.Message);
    }

    [Theory]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("inf")]
    [InlineData("-inf")]
    [InlineData("\u221E")]
    public async Task Infinity_cell(string cell)
    {
        var e = await Csv.Fails($"a,b\n1,2\n3,{cell}\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("b", e.Column);
        Assert.Contains("is not allowed", e.Message);
        Assert.StartsWith("line 3, column 'b': ", e.Message);
    }

    [Fact]
    public async Task Out_of_range_number()
    {
        var e = await Csv.Fails("a\n1\n1e400\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("line 3, column 'a': '1e400' is outside the range of a float64", e.Message);
    }

    [Theory]
    [InlineData("a,b,c\n1,2,3\n4,,6\n", "b")]
    [InlineData("a,b,c\n1,2,3\n,5,6\n", "a")]
    [InlineData("a,b,c\n1,2,3\n4,5,\n", "c")]
    [InlineData("a,b,c\n1,2,3\n4,5,\r\n", "c")]
    [InlineData("a,b,c\n1,2,3\n4,\"\",6\n", "b")]
    [InlineData("a,b,c\n1,2,3\n4,  ,6\n", "b")]
    public async Task Empty_cell(string text, string column)
    {
        var e = await Csv.Fails(text);
        Assert.Equal(3, e.Line);
        Assert.Equal(column, e.Column);
        Assert.StartsWith($"line 3, column '{column}': the value is empty; missing values are not accepted", e.Message);
    }

    [Fact]
    public async Task Too_few_fields()
    {
        var e = await Csv.Fails("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4\n");
        Assert.Equal(9, e.Line);
        Assert.Equal("line 9 has 4 fields but the header has 5", e.Message);
    }

    [Fact]
    public async Task Too_many_fields()
    {
        var e = await Csv.Fails("a,b\n1,2\n3,4,5,\"6,7\"\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("line 3 has 4 fields but the header has 2", e.Message);
    }

    [Fact]
    public async Task One_field_where_two_are_expected()
    {
        var e = await Csv.Fails("a,b\n1,2\n3\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("line 3 has 1 field but the header has 2", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\uFEFF")]
    [InlineData("\n\n")]
    [InlineData("  \r\n ")]
    public async Task Empty_body(string text)
    {
        var e = await Csv.Fails(text);
        Assert.Equal("the CSV body is empty", e.Message);
    }

    [Theory]
    [InlineData("a,b")]
    [InlineData("a,b\n")]
    [InlineData("a,b\r\n\r\n\n")]
    public async Task Header_without_data_rows(string text)
    {
        var e = await Csv.Fails(text);
        Assert.Equal(1, e.Line);
        Assert.Equal("the CSV has a header line but no data rows", e.Message);
    }

    [Fact]
    public async Task Duplicate_header_names()
    {
        var e = await Csv.Fails("x1,x2,\"x1\"\n1,2,3\n");
        Assert.Equal(1, e.Line);
        Assert.Equal("x1", e.Column);
        Assert.Equal(2, e.ColumnIndex);
        Assert.Equal("line 1: the column name 'x1' appears twice (columns 1 and 3)", e.Message);
    }

    [Theory]
    [InlineData("a,,c\n1,2,3\n", 1)]
    [InlineData("a,b,\n1,2,3\n", 2)]
    [InlineData(",b\n1,2\n", 0)]
    [InlineData("a,\"\"\n1,2\n", 1)]
    [InlineData("a,  \n1,2\n", 1)]
    public async Task Empty_header_name(string text, int index)
    {
        var e = await Csv.Fails(text);
        Assert.Equal(1, e.Line);
        Assert.Equal(index, e.ColumnIndex);
        Assert.StartsWith($"line 1, column {index + 1}: the column name is empty", e.Message);
        Assert.Equal(index == 0, e.Message.Contains("row names", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Empty_first_line_is_not_a_header()
    {
        var e = await Csv.Fails("\na,b\n1,2\n");
        Assert.Equal(1, e.Line);
        Assert.StartsWith("line 1 is empty", e.Message);
    }

    [Fact]
    public async Task Unterminated_quote_in_header()
    {
        var e = await Csv.Fails("a,\"b\n1,2\n");
        Assert.Equal(1, e.Line);
        Assert.Equal(1, e.ColumnIndex);
        Assert.Contains("not closed", e.Message);
    }

    [Fact]
    public async Task Unterminated_quote_at_end_of_input()
    {
        var e = await Csv.Fails("a,b\n1,2\n3,\"4");
        Assert.Equal(3, e.Line);
        Assert.Equal("b", e.Column);
        Assert.Equal("line 3, column 'b': the quoted field is not closed (unterminated quote at the end of the input)", e.Message);
    }

    [Fact]
    public async Task Quoted_line_break_in_data_row()
    {
        var e = await Csv.Fails("a,b\n1,2\n\"3\n\",4\n5,6\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("a", e.Column);
        Assert.Contains("line breaks inside quoted fields are not allowed", e.Message);
        Assert.StartsWith("line 3, column 'a': ", e.Message);
    }

    [Fact]
    public async Task Text_after_closing_quote()
    {
        var e = await Csv.Fails("a,b\n1,\"2\"x\n");
        Assert.Equal(2, e.Line);
        Assert.Equal("line 2, column 'b': unexpected character 'x' after the closing quote", e.Message);
    }

    [Fact]
    public async Task Blank_line_in_the_middle()
    {
        var e = await Csv.Fails("a,b\n1,2\n\n3,4\n");
        Assert.Equal(3, e.Line);
        Assert.Equal("line 3 is empty; blank lines are only allowed at the end of the file", e.Message);
    }

    [Fact]
    public async Task Long_cell_text_is_shortened_in_the_message()
    {
        string junk = new('z', 500);
        var e = await Csv.Fails($"a\n{junk}\n");
        Assert.DoesNotContain(new string('z', 41), e.Message);   // the cell is cut to 40 characters
        Assert.True(e.Message.Length < 400, e.Message);          // (the categorical hint follows it)
        Assert.Contains("…", e.Message);
    }

    [Fact]
    public async Task Very_long_header_grows_the_buffer()
    {
        var names = Enumerable.Range(0, 3000).Select(i => $"column_with_a_long_name_{i}").ToArray();
        string text = string.Join(",", names) + "\n" + string.Join(",", names.Select((_, i) => i.ToString())) + "\n";
        var t = await CsvTableReader.ReadAsync(new MemoryStream(Csv.Bytes(text)), 1024, 2, default);
        Assert.Equal(names, t.Names);
        Assert.Equal(1, t.Rows);
        Assert.Equal(2999.0, Csv.Column(t, 2999)[0]);
    }

    [Fact]
    public async Task Cancellation_is_honoured()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            CsvTableReader.ReadAsync(new MemoryStream(Csv.Bytes("a\n1\n")), cts.Token));
    }

    [Fact]
    public async Task Summaries_are_accurate_with_a_large_offset()
    {
        // Values 1e9 + {0.1, 0.2, ...}: a naive sum of squares loses everything.
        var rows = Enumerable.Range(0, 100_000).Select(i => 1e9 + (i % 10) * 0.1).ToArray();
        string text = "v\n" + string.Join("\n", rows.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "\n";
        var t = await CsvTableReader.ReadAsync(new MemoryStream(Csv.Bytes(text)), 4096, 2, default);
        double mean = rows.Average();
        double sd = Math.Sqrt(rows.Select(v => (v - mean) * (v - mean)).Sum() / rows.Length);
        Assert.Equal(mean, t.Summaries[0].Mean, 6);
        Assert.Equal(sd, t.Summaries[0].StdDev, 6);
        Assert.Equal(Math.Sqrt(0.0825), t.Summaries[0].StdDev, 5);
    }
}
