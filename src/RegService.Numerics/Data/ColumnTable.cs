using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace RegService.Numerics.Data;

/// <summary>
/// A parsed data set: named float64 columns of equal length. Each column is held in chunks
/// of 128 KiB (after a few smaller first ones) carved from large shared slabs, so a column grows
/// without copying and no contiguous copy of the whole table exists until
/// <see cref="ToMatrix"/> is called. The per-column summaries are computed once, when the
/// table is built.
/// </summary>
public sealed class ColumnTable
{
    private readonly ChunkedColumn[] _columns;

    internal ColumnTable(string[] names, ChunkedColumn[] columns, ColumnStats[] stats)
    {
        if (names.Length == 0) throw new ArgumentException("a table needs at least one column", nameof(names));
        if (names.Length != columns.Length || names.Length != stats.Length)
            throw new ArgumentException("names, columns and stats must have the same length");
        int rows = columns[0].Count;
        foreach (var c in columns)
        {
            if (c.Count != rows) throw new ArgumentException("all columns must have the same length", nameof(columns));
        }
        _columns = columns;
        Rows = rows;
        var summaries = new ColumnSummary[names.Length];
        for (int j = 0; j < names.Length; j++) summaries[j] = stats[j].ToSummary(names[j]);
        Names = Array.AsReadOnly(names);
        Summaries = Array.AsReadOnly(summaries);
    }

    /// <summary>Column names, in file order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Number of data rows.</summary>
    public int Rows { get; }

    /// <summary>Mean, standard deviation (1/n), min and max of each column, in column order.</summary>
    public IReadOnlyList<ColumnSummary> Summaries { get; }

    /// <summary>Copies column <paramref name="column"/> into <paramref name="destination"/> (length at least <see cref="Rows"/>).</summary>
    public void CopyColumnTo(int column, Span<double> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, _columns.Length);
        if (destination.Length < Rows) throw new ArgumentException($"destination has {destination.Length} elements but the table has {Rows} rows", nameof(destination));
        _columns[column].CopyTo(destination);
    }

    /// <summary>
    /// Writes the values as float64 little-endian, column-major (all of column 0, then column 1,
    /// ...): exactly <c>Rows * Names.Count * 8</c> bytes.
    /// </summary>
    public void WriteColumnMajor(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[]? swap = BitConverter.IsLittleEndian ? null : new byte[ChunkedColumn.ChunkRows * sizeof(double)];
        foreach (var column in _columns)
        {
            for (int k = 0; k < column.ChunkCount; k++)
                destination.Write(AsLittleEndianBytes(column.Chunk(k), swap));
        }
    }

    /// <summary>Asynchronous form of <see cref="WriteColumnMajor"/>, for streams that forbid synchronous writes.</summary>
    public async Task WriteColumnMajorAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[]? swap = BitConverter.IsLittleEndian ? null : new byte[ChunkedColumn.ChunkRows * sizeof(double)];
        foreach (var column in _columns)
        {
            for (int k = 0; k < column.ChunkCount; k++)
            {
                var chunk = column.Chunk(k);
                if (swap is null)
                {
                    await destination.WriteAsync(new DoubleBytesMemoryManager(chunk).Memory, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    int n = AsLittleEndianBytes(column.Chunk(k), swap).Length;
                    await destination.WriteAsync(swap.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private static ReadOnlySpan<byte> AsLittleEndianBytes(ReadOnlySpan<double> values, byte[]? swap)
    {
        if (swap is null) return MemoryMarshal.AsBytes(values);
        var src = MemoryMarshal.Cast<double, long>(values);
        var dst = MemoryMarshal.Cast<byte, long>(swap.AsSpan(0, values.Length * sizeof(double)));
        BinaryPrimitives.ReverseEndianness(src, dst);
        return swap.AsSpan(0, values.Length * sizeof(double));
    }

    /// <summary>
    /// Copies the table into one contiguous column-major <see cref="DenseMatrix"/>. This holds
    /// the values twice while both objects are alive.
    /// </summary>
    public DenseMatrix ToMatrix()
    {
        long total = (long)Rows * _columns.Length;
        if (total > Array.MaxLength) throw new InvalidOperationException($"a {Rows} x {_columns.Length} table is too large for one array");
        double[] data = LargeArrays.Allocate((int)total);
        for (int j = 0; j < _columns.Length; j++) _columns[j].CopyTo(data.AsSpan(j * Rows, Rows));
        return new DenseMatrix(Rows, _columns.Length, data);
    }

    /// <summary>A chunk of doubles viewed as bytes, without copying.</summary>
    private sealed class DoubleBytesMemoryManager(ArraySegment<double> chunk) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(chunk.AsSpan());

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(chunk.Array, GCHandleType.Pinned);
            unsafe
            {
                byte* p = (byte*)handle.AddrOfPinnedObject() + (long)chunk.Offset * sizeof(double) + elementIndex;
                return new System.Buffers.MemoryHandle(p, handle, this);
            }
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
