using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

public sealed class MatrixFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "regservice-tests-" + Guid.NewGuid().ToString("N"));

    public MatrixFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<ColumnTable> RandomTable(int rows, int columns, int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder(string.Join(",", Enumerable.Range(0, columns).Select(j => $"x{j}"))).Append('\n');
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                if (j > 0) sb.Append(',');
                double v = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-300, 300));
                sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
            }
            sb.Append('\n');
        }
        return await CsvTableReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(40_000, 3)] // several column chunks per column
    public async Task WriteColumnMajor_then_Read_is_bit_exact(int rows, int columns)
    {
        var t = await RandomTable(rows, columns, rows);
        string path = Path.Combine(_dir, "m.bin");
        using (var fs = File.Create(path)) t.WriteColumnMajor(fs);

        Assert.Equal((long)rows * columns * 8, new FileInfo(path).Length);
        var expected = t.ToMatrix();
        var m = MatrixFile.Read(path, rows, columns);
        Assert.Equal(rows, m.Rows);
        Assert.Equal(columns, m.Columns);
        Assert.Equal(expected.Data.Select(BitConverter.DoubleToInt64Bits), m.Data.Select(BitConverter.DoubleToInt64Bits));

        // The layout is float64 little-endian, column 0 first.
        byte[] raw = File.ReadAllBytes(path);
        var firstColumn = Csv.Column(t, 0);
        for (int i = 0; i < rows; i++)
            Assert.Equal(BitConverter.DoubleToInt64Bits(firstColumn[i]), BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(i * 8)));
    }

    [Fact]
    public async Task WriteColumnMajorAsync_matches_the_synchronous_form()
    {
        var t = await RandomTable(20_000, 2, 9);
        var a = new MemoryStream();
        var b = new MemoryStream();
        t.WriteColumnMajor(a);
        await t.WriteColumnMajorAsync(b);
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void Write_then_Read_round_trips_a_matrix()
    {
        var m = new DenseMatrix(5, 4);
        for (int i = 0; i < m.Data.Length; i++) m.Data[i] = Math.PI * i - 7;
        string path = Path.Combine(_dir, "w.bin");
        MatrixFile.Write(path, m);
        Assert.Equal(m.Data, MatrixFile.Read(path, 5, 4).Data);
    }

    [Fact]
    public void Read_rejects_a_file_of_the_wrong_length()
    {
        string path = Path.Combine(_dir, "short.bin");
        File.WriteAllBytes(path, new byte[8 * 11]);
        var e = Assert.Throws<InvalidDataException>(() => MatrixFile.Read(path, 3, 4));
        Assert.Contains("88 bytes", e.Message);
        Assert.Contains("96", e.Message);
    }

    [Fact]
    public void Read_of_a_large_file_is_exact()
    {
        // Large enough to take the pinned, huge-page-advised allocation path.
        var m = new DenseMatrix(300_000, 3);
        for (int i = 0; i < m.Data.Length; i++) m.Data[i] = i * 0.5;
        string path = Path.Combine(_dir, "big.bin");
        MatrixFile.Write(path, m);
        Assert.Equal(m.Data, MatrixFile.Read(path, 300_000, 3).Data);
    }
}
