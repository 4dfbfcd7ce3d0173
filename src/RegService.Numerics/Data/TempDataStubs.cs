// TEMPORARY: replaced by the real readers on merge.
namespace RegService.Numerics.Data
{
    public sealed class DataFormatException(string message, long? line = null, string? column = null, int? columnIndex = null) : Exception(message)
    {
        public long? Line { get; } = line; public string? Column { get; } = column; public int? ColumnIndex { get; } = columnIndex;
    }
    public sealed record ColumnSummary(string Name, double Mean, double StdDev, double Min, double Max);
    public sealed class ColumnTable
    {
        private readonly double[][] _cols;
        public ColumnTable(string[] names, double[][] cols) { Names = names; _cols = cols; Rows = cols.Length == 0 ? 0 : cols[0].Length;
            Summaries = names.Select((n, j) => { var c = cols[j]; double m = c.Average(); return new ColumnSummary(n, m, Math.Sqrt(c.Select(v => (v - m) * (v - m)).Sum() / c.Length), c.Min(), c.Max()); }).ToList(); }
        public IReadOnlyList<string> Names { get; } public int Rows { get; } public IReadOnlyList<ColumnSummary> Summaries { get; }
        public void WriteColumnMajor(Stream d) { foreach (var c in _cols) d.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.AsSpan())); }
        public DenseMatrix ToMatrix() => new(Rows, Names.Count, _cols.SelectMany(c => c).ToArray());
    }
    public static class CsvTableReader
    {
        public static async Task<ColumnTable> ReadAsync(Stream input, CancellationToken ct = default)
        {
            using var r = new StreamReader(input); var header = (await r.ReadLineAsync(ct))?.Split(',').Select(h => h.Trim('"')).ToArray() ?? throw new DataFormatException("empty body", 1);
            var cols = header.Select(_ => new List<double>()).ToArray(); string? line; long ln = 1;
            while ((line = await r.ReadLineAsync(ct)) != null) { ln++; if (line.Length == 0) continue; var f = line.Split(',');
                if (f.Length != header.Length) throw new DataFormatException($"line {ln} has {f.Length} fields but the header has {header.Length}", ln);
                for (int j = 0; j < f.Length; j++) { if (!double.TryParse(f[j].Trim('"'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v)) throw new DataFormatException($"line {ln}, column '{header[j]}': '{f[j]}' is not a number", ln, header[j], j); cols[j].Add(v); } }
            if (cols[0].Count == 0) throw new DataFormatException("the header has no rows", 1);
            return new ColumnTable(header, cols.Select(c => c.ToArray()).ToArray());
        }
    }
    public static class JsonColumnsReader
    {
        public static async Task<(string? Name, ColumnTable Table)> ReadAsync(Stream input, CancellationToken ct = default)
        {
            var doc = await System.Text.Json.JsonDocument.ParseAsync(input, cancellationToken: ct);
            var cols = doc.RootElement.GetProperty("columns").EnumerateObject().ToArray();
            return (doc.RootElement.TryGetProperty("name", out var n) ? n.GetString() : null, new ColumnTable(cols.Select(c => c.Name).ToArray(), cols.Select(c => c.Value.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray()));
        }
    }
    public static class MatrixFile
    {
        public static DenseMatrix Read(string path, int rows, int columns)
        { var m = new DenseMatrix(rows, columns); using var f = File.OpenRead(path); f.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(m.Data.AsSpan())); return m; }
    }
}
namespace RegService.Numerics
{
    public sealed class NumericalBreakdownException(string message) : Exception(message);
}
