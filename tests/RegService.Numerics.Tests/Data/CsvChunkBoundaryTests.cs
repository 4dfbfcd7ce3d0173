using System.Globalization;
using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

/// <summary>
/// The reader cuts the body into buffers at newlines and parses them in parallel; these tests
/// make sure values and error line numbers do not depend on where reads and cuts fall.
/// </summary>
public class CsvChunkBoundaryTests
{
    private static (string Text, double[,] Values) MakeCsv(int rows, int columns, int seed, bool crlf = false, bool quoteSome = false)
    {
        var rng = new Random(seed);
        var values = new double[rows, columns];
        var sb = new StringBuilder();
        string nl = crlf ? "\r\n" : "\n";
        sb.Append(string.Join(",", Enumerable.Range(0, columns).Select(j => quoteSome && j % 3 == 0 ? $"\"c.{j}\"" : $"c{j}"))).Append(nl);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                double v = Math.Round((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-6, 7)), rng.Next(0, 12));
                string s = v.ToString((i + j) % 2 == 0 ? "G10" : "R", CultureInfo.InvariantCulture);
                values[i, j] = double.Parse(s, CultureInfo.InvariantCulture);
                if (j > 0) sb.Append(',');
                sb.Append(quoteSome && (i + j) % 7 == 0 ? $"\"{s}\"" : s);
            }
            sb.Append(nl);
        }
        return (sb.ToString(), values);
    }

    private static void AssertSame(double[,] expected, ColumnTable t)
    {
        int rows = expected.GetLength(0), columns = expected.GetLength(1);
        Assert.Equal(rows, t.Rows);
        Assert.Equal(columns, t.Names.Count);
        var m = t.ToMatrix();
        for (int j = 0; j < columns; j++)
            for (int i = 0; i < rows; i++)
                Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i, j]), BitConverter.DoubleToInt64Bits(m[i, j]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(13)]
    public async Task Trickling_reads_give_the_same_table(int readSize)
    {
        var (text, values) = MakeCsv(300, 5, 1, crlf: readSize == 7, quoteSome: true);
        var t = await CsvTableReader.ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(text), readSize));
        AssertSame(values, t);
    }

    [Fact]
    public async Task Odd_read_sizes_and_small_buffers_give_the_same_table()
    {
        var (text, values) = MakeCsv(2000, 9, 2, quoteSome: true);
        byte[] body = Encoding.UTF8.GetBytes(text);
        foreach (int buffer in new[] { 16, 64, 100, 777, 4096 })
        {
            foreach (int workers in new[] { 1, 2, 3 })
            {
                var t = await CsvTableReader.ReadAsync(new TrickleStream(body, 1, 3, 1000, 5, 7, 65536, 2), buffer, workers, default);
                AssertSame(values, t);
            }
        }
    }

    [Fact]
    public async Task Buffer_smaller_than_a_line_grows()
    {
        var (text, values) = MakeCsv(50, 40, 3);
        var t = await CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), 16, 2, default);
        AssertSame(values, t);
    }

    [Fact]
    public async Task Summaries_do_not_depend_on_chunking()
    {
        var (text, _) = MakeCsv(5000, 4, 4);
        byte[] body = Encoding.UTF8.GetBytes(text);
        var a = await CsvTableReader.ReadAsync(new MemoryStream(body), 1 << 20, 1, default);
        var b = await CsvTableReader.ReadAsync(new MemoryStream(body), 100, 3, default);
        for (int j = 0; j < 4; j++)
        {
            Assert.Equal(a.Summaries[j].Min, b.Summaries[j].Min);
            Assert.Equal(a.Summaries[j].Max, b.Summaries[j].Max);
            // Different block boundaries round differently, but only in the last bits.
            Assert.Equal(a.Summaries[j].Mean, b.Summaries[j].Mean, 1e-13 * a.Summaries[j].StdDev);
            Assert.Equal(a.Summaries[j].StdDev, b.Summaries[j].StdDev, 1e-13 * a.Summaries[j].StdDev);
        }
    }

    /// <summary>A body larger than the default 4 MiB buffer, so that it is parsed as several chunks.</summary>
    private static string LargeCsv(int rows, out int bytesPerRow)
    {
        var sb = new StringBuilder("a,b,c,d,e,f,g,h\n");
        var rng = new Random(5);
        int start = 0;
        for (int i = 0; i < rows; i++)
        {
            if (i == 1) bytesPerRow = sb.Length - start;
            start = sb.Length;
            for (int j = 0; j < 8; j++)
            {
                if (j > 0) sb.Append(',');
                sb.Append((rng.NextDouble() - 0.5).ToString("G10", CultureInfo.InvariantCulture));
            }
            sb.Append('\n');
        }
        bytesPerRow = sb.Length / (rows + 1);
        return sb.ToString();
    }

    [Fact]
    public async Task Large_body_is_read_completely()
    {
        string text = LargeCsv(120_000, out _);
        byte[] body = Encoding.UTF8.GetBytes(text);
        Assert.True(body.Length > 2 * CsvTableReader.DefaultBufferSize);
        var t = await CsvTableReader.ReadAsync(new MemoryStream(body));
        Assert.Equal(120_000, t.Rows);
        var lines = text.Split('\n');
        var m = t.ToMatrix();
        foreach (int i in new[] { 0, 1, 59_999, 60_000, 119_999 })
        {
            var fields = lines[i + 1].Split(',');
            for (int j = 0; j < 8; j++) Assert.Equal(double.Parse(fields[j], CultureInfo.InvariantCulture), m[i, j]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Error_in_a_later_chunk_reports_the_exact_line(int workers)
    {
        const int rows = 120_000;
        string text = LargeCsv(rows, out _);
        var lines = text.Split('\n');
        // Corrupt data row 100000 (physical line 100001) near the end of the body.
        int badRow = 100_000;
        var fields = lines[badRow].Split(',');
        fields[5] = "oops";
        lines[badRow] = string.Join(",", fields);
        byte[] body = Encoding.UTF8.GetBytes(string.Join("\n", lines));

        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(new MemoryStream(body), CsvTableReader.DefaultBufferSize, workers, default));
        Assert.Equal(badRow + 1, e.Line);
        Assert.Equal("f", e.Column);
        Assert.StartsWith($"line {badRow + 1}, column 'f': 'oops' is not a number", e.Message);

        // Same with small buffers and trickling reads: many chunks.
        e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(new TrickleStream(body, 999, 7, 65536), 8192, 3, default));
        Assert.Equal(badRow + 1, e.Line);
    }

    [Fact]
    public async Task The_first_error_in_the_file_wins_across_chunks()
    {
        var sb = new StringBuilder("a,b\n");
        for (int i = 0; i < 5000; i++) sb.Append(i).Append(',').Append(i).Append('\n');
        var lines = sb.ToString().Split('\n');
        lines[1200] = "1,x";       // physical line 1201
        lines[4000] = "1,2,3";     // physical line 4001, later
        byte[] body = Encoding.UTF8.GetBytes(string.Join("\n", lines));
        for (int buffer = 64; buffer <= 65536; buffer *= 4)
        {
            var e = await Assert.ThrowsAsync<DataFormatException>(() =>
                CsvTableReader.ReadAsync(new MemoryStream(body), buffer, 2, default));
            Assert.Equal(1201, e.Line);
        }
    }

    [Fact]
    public async Task Blank_lines_across_chunks()
    {
        var sb = new StringBuilder("a\n");
        for (int i = 0; i < 3000; i++) sb.Append(i).Append('\n');
        string good = sb.ToString();

        // Many trailing blank lines spread over several chunks are fine.
        string trailing = good + new string('\n', 500) + "\r\n\r\n";
        var t = await CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(trailing)), 64, 2, default);
        Assert.Equal(3000, t.Rows);

        // Blank lines followed by data in a much later chunk are an error at the first blank line.
        string middle = good + new string('\n', 500) + "7\n";
        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(middle)), 64, 2, default));
        Assert.Equal(3002, e.Line);
        Assert.StartsWith("line 3002 is empty", e.Message);
    }

    [Fact]
    public async Task Unterminated_quote_at_the_end_of_a_multi_chunk_body()
    {
        var sb = new StringBuilder("a,b\n");
        for (int i = 0; i < 3000; i++) sb.Append(i).Append(",\"").Append(i).Append("\"\n");
        sb.Append("1,\"2");
        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(sb.ToString()), 5, 11), 256, 2, default));
        Assert.Equal(3002, e.Line);
        Assert.Contains("unterminated quote", e.Message);
    }

    [Fact]
    public async Task Many_blank_lines_under_a_wide_header_stay_small()
    {
        // 3 MB of blank lines under 2000 columns: sizing blocks by line count alone would ask for
        // 3M x 2000 doubles.
        string header = string.Join(",", Enumerable.Range(0, 2000).Select(j => $"c{j}"));
        string row = string.Join(",", Enumerable.Range(0, 2000).Select(j => (j % 10).ToString(CultureInfo.InvariantCulture)));
        string trailing = header + "\n" + row + "\n" + new string('\n', 3_000_000);
        var t = await CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(trailing)));
        Assert.Equal(1, t.Rows);
        Assert.Equal(9.0, Csv.Column(t, 1999)[0]);

        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(trailing + row + "\n"))));
        Assert.Equal(3, e.Line);
    }
}
