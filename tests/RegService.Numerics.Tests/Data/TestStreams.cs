using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

/// <summary>A read-only, forward-only stream whose subclasses say what one synchronous read gives.</summary>
internal abstract class ReadOnlyTestStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));
}

/// <summary>A read-only stream that returns at most a given number of bytes per read, cycling through a list of sizes.</summary>
internal sealed class TrickleStream(byte[] data, params int[] sizes) : ReadOnlyTestStream
{
    private int _position;
    private int _call;

    public override int Read(Span<byte> buffer)
    {
        int size = sizes[_call++ % sizes.Length];
        int n = Math.Min(Math.Min(size, buffer.Length), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }
}

internal static class Csv
{
    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static Task<ColumnTable> Read(string text) => CsvTableReader.ReadAsync(new MemoryStream(Bytes(text)));

    public static async Task<DataFormatException> Fails(string text)
    {
        return await Assert.ThrowsAsync<DataFormatException>(() => Read(text));
    }

    public static double[] Column(ColumnTable t, int j)
    {
        var values = new double[t.Rows];
        t.CopyColumnTo(j, values);
        return values;
    }
}
