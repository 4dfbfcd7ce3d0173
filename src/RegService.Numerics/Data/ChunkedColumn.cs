using System.Runtime.CompilerServices;

namespace RegService.Numerics.Data;

/// <summary>
/// Hands out column chunks carved from large slabs (2 MiB growing to 32 MiB), so the values
/// of a table live in a few big arrays that <see cref="LargeArrays"/> can back with huge pages.
/// Not thread-safe: one allocator per table being built, used by one thread at a time.
/// </summary>
internal sealed class ChunkAllocator
{
    private const int FirstSlab = 1 << 18; // doubles (2 MiB)
    private const int MaxSlab = 1 << 22;   // doubles (32 MiB)

    private double[] _slab = [];
    private int _used;
    private int _nextSlab = FirstSlab;

    public ArraySegment<double> Take(int length)
    {
        if (_slab.Length - _used < length)
        {
            int size = Math.Max(_nextSlab, length);
            _slab = LargeArrays.Allocate(size);
            _used = 0;
            _nextSlab = Math.Min(_nextSlab * 2, MaxSlab);
        }
        var chunk = new ArraySegment<double>(_slab, _used, length);
        _used += length;
        return chunk;
    }
}

/// <summary>
/// One column's values in chunks, so a column grows without the doubling copies of a list:
/// chunks of 1024, 1024, 2048, 4096, 8192 and then <see cref="ChunkRows"/> values.
/// </summary>
internal sealed class ChunkedColumn(ChunkAllocator allocator)
{
    /// <summary>The size of every chunk after the first few (16384 doubles = 128 KiB).</summary>
    public const int ChunkRows = 1 << 14;

    private const int FirstChunkRows = 1 << 10;

    private readonly ChunkAllocator _allocator = allocator;
    private readonly List<ArraySegment<double>> _chunks = [];
    private double[] _current = [];
    private int _position; // next free index in _current
    private int _end;      // end of the current chunk in _current

    public int Count { get; private set; }

    public int ChunkCount => _chunks.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(double value)
    {
        if (_position == _end) NewChunk();
        _current[_position++] = value;
        Count++;
    }

    public void AddRange(ReadOnlySpan<double> values)
    {
        while (!values.IsEmpty)
        {
            if (_position == _end) NewChunk();
            int n = Math.Min(values.Length, _end - _position);
            values[..n].CopyTo(_current.AsSpan(_position, n));
            _position += n;
            Count += n;
            values = values[n..];
        }
    }

    /// <summary>
    /// Reserves the next <paramref name="count"/> values of the column without writing them,
    /// adding where they go to <paramref name="placements"/>; the caller fills them before the
    /// column is read.
    /// </summary>
    public void Reserve(int count, int column, List<(int Column, ArraySegment<double> Destination, int Source)> placements)
    {
        int source = 0;
        while (count > 0)
        {
            if (_position == _end) NewChunk();
            int n = Math.Min(count, _end - _position);
            placements.Add((column, new ArraySegment<double>(_current, _position, n), source));
            _position += n;
            Count += n;
            source += n;
            count -= n;
        }
    }

    private void NewChunk()
    {
        if (Count > int.MaxValue - ChunkRows)
            throw new DataFormatException($"the data set has more than {int.MaxValue - ChunkRows} rows, which is not supported");
        int size = Math.Clamp(Count, FirstChunkRows, ChunkRows);
        var chunk = _allocator.Take(size);
        _chunks.Add(chunk);
        _current = chunk.Array!;
        _position = chunk.Offset;
        _end = chunk.Offset + chunk.Count;
    }

    /// <summary>The used part of chunk <paramref name="k"/>.</summary>
    public ArraySegment<double> Chunk(int k)
    {
        var c = _chunks[k];
        return k == _chunks.Count - 1 ? c[..(_position - c.Offset)] : c;
    }

    public ColumnStats ComputeStats()
    {
        ColumnStats s = ColumnStats.Empty;
        for (int k = 0; k < _chunks.Count; k++) s.Merge(ColumnStats.Of(Chunk(k)));
        return s;
    }

    public void CopyTo(Span<double> destination)
    {
        for (int k = 0; k < _chunks.Count; k++)
        {
            ReadOnlySpan<double> c = Chunk(k);
            c.CopyTo(destination);
            destination = destination[c.Length..];
        }
    }
}
