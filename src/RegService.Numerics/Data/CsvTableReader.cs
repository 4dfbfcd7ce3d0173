using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Threading.Channels;

namespace RegService.Numerics.Data;

/// <summary>
/// Reads a CSV data set from a stream into a <see cref="ColumnTable"/>.
/// <para>
/// Format (RFC 4180): a header line naming the columns is required, then one data row per
/// line; fields are separated by ','; any field may be quoted with '"' (a quote inside is
/// written ""); lines end with LF or CRLF; a UTF-8 byte order mark is skipped; the last line
/// may lack a newline, and blank lines at the very end are ignored. Every cell must be a
/// finite number in invariant culture (<c>-1.5</c>, <c>3</c>, <c>1e-05</c>, <c>2.5E+10</c>,
/// <c>+4</c>, <c>.5</c>); spaces and tabs around a number (or a header name) are trimmed.
/// A quoted field may not contain a line break in a data row, nor in the header.
/// </para>
/// <para>
/// The body is read in bounded buffers that are cut at the last newline and parsed in parallel
/// with the reading (one parser per core); the parsed blocks are appended in order into
/// chunked columns, so the values exist once and the raw text never exists whole.
/// Any problem raises <see cref="DataFormatException"/> naming the exact line and column.
/// </para>
/// </summary>
public static class CsvTableReader
{
    internal const int DefaultBufferSize = 4 << 20;

    /// <summary>Slack after each buffer's usable part: room for a final '\n' and for the number parser's reads past the data.</summary>
    private const int Padding = DecimalParser.Padding + 8;

    /// <summary>Parses the CSV in <paramref name="input"/>; see the type's remarks for the format.</summary>
    public static Task<ColumnTable> ReadAsync(Stream input, CancellationToken ct = default) =>
        ReadAsync(input, DefaultBufferSize, 0, ct);

    /// <param name="input">The CSV body.</param>
    /// <param name="bufferSize">Size of each read buffer (grown when one line does not fit).</param>
    /// <param name="workers">Parser tasks; 0 means one per processor (at most 8).</param>
    /// <param name="ct">Cancels the read.</param>
    internal static async Task<ColumnTable> ReadAsync(Stream input, int bufferSize, int workers, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        bufferSize = Math.Max(bufferSize, 16);
        if (workers <= 0) workers = Math.Clamp(Environment.ProcessorCount, 1, 8);

        byte[] buf = new byte[bufferSize + Padding];
        int len = await FillAsync(input, buf, 0, ct).ConfigureAwait(false);
        bool eof = len < Capacity(buf);

        // Header line.
        int start = len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF ? 3 : 0;
        if (len - start == 0) throw new DataFormatException("the CSV body is empty");
        int newline;
        while ((newline = buf.AsSpan(start, len - start).IndexOf((byte)'\n')) < 0 && !eof)
        {
            buf = Grow(buf, len);
            int n = await FillAsync(input, buf, len, ct).ConfigureAwait(false);
            eof = len + n < Capacity(buf);
            len += n;
        }
        int headerEnd = newline < 0 ? len : start + newline;
        int dataStart = newline < 0 ? len : headerEnd + 1;
        var header = buf.AsSpan(start, headerEnd - start);
        if (!header.IsEmpty && header[^1] == (byte)'\r') header = header[..^1];
        if (CsvChunkParser.Trim(header).IsEmpty)
        {
            if (eof && buf.AsSpan(start, len - start).TrimStart(" \t\r\n"u8).IsEmpty)
                throw new DataFormatException("the CSV body is empty");
            throw new DataFormatException("line 1 is empty; the first line must be the header naming the columns", 1);
        }
        string[] names = ParseHeader(header);

        buf.AsSpan(dataStart, len - dataStart).CopyTo(buf);
        len -= dataStart;
        if (Capacity(buf) > bufferSize && len <= bufferSize)
        {
            // The header needed a larger buffer; go back to the normal size.
            byte[] normal = new byte[bufferSize + Padding];
            buf.AsSpan(0, len).CopyTo(normal);
            buf = normal;
        }

        var pipeline = new CsvPipeline(names, workers, bufferSize, ct);
        try
        {
            while (true)
            {
                if (!eof && len < Capacity(buf))
                {
                    int n = await FillAsync(input, buf, len, pipeline.Token).ConfigureAwait(false);
                    eof = len + n < Capacity(buf);
                    len += n;
                }
                if (len == 0) break;

                int cut;
                if (eof)
                {
                    cut = len;
                }
                else
                {
                    int nl = buf.AsSpan(0, len).LastIndexOf((byte)'\n');
                    if (nl < 0)
                    {
                        buf = Grow(buf, len); // one line longer than the buffer
                        continue;
                    }
                    cut = nl + 1;
                }

                byte[] next = pipeline.RentBuffer(len - cut);
                buf.AsSpan(cut, len - cut).CopyTo(next);
                bool sentinel = false;
                int chunkLength = cut;
                if (buf[cut - 1] != (byte)'\n')
                {
                    buf[cut] = (byte)'\n';
                    chunkLength++;
                    sentinel = true;
                }
                await pipeline.SubmitAsync(buf, chunkLength, sentinel).ConfigureAwait(false);
                buf = next;
                len -= cut;
                if (eof) break;
            }
        }
        catch (OperationCanceledException) when (pipeline.HasFailed)
        {
            // A parse error stopped the pipeline; CompleteAsync rethrows it.
        }
        catch
        {
            await pipeline.AbortAsync().ConfigureAwait(false);
            throw;
        }
        return await pipeline.CompleteAsync().ConfigureAwait(false);
    }

    private static int Capacity(byte[] buf) => buf.Length - Padding;

    /// <summary>Reads until the usable part of <paramref name="buf"/> is full or the input ends.</summary>
    private static async ValueTask<int> FillAsync(Stream input, byte[] buf, int offset, CancellationToken ct) =>
        await input.ReadAtLeastAsync(buf.AsMemory(offset, Capacity(buf) - offset), Capacity(buf) - offset, throwOnEndOfStream: false, ct).ConfigureAwait(false);

    private static byte[] Grow(byte[] buf, int used)
    {
        if (Capacity(buf) >= Array.MaxLength / 2 - Padding) throw new DataFormatException("a line of the CSV is too long");
        byte[] bigger = new byte[Capacity(buf) * 2 + Padding];
        buf.AsSpan(0, used).CopyTo(bigger);
        return bigger;
    }

    internal static string[] ParseHeader(ReadOnlySpan<byte> line)
    {
        var names = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var sb = new List<byte>();
        int i = 0;
        while (true)
        {
            int index = names.Count;
            sb.Clear();
            while (i < line.Length && (line[i] == (byte)' ' || line[i] == (byte)'\t')) i++;
            if (i < line.Length && line[i] == (byte)'"')
            {
                i++;
                bool closed = false;
                while (i < line.Length)
                {
                    if (line[i] == (byte)'"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == (byte)'"')
                        {
                            sb.Add((byte)'"');
                            i += 2;
                            continue;
                        }
                        i++;
                        closed = true;
                        break;
                    }
                    sb.Add(line[i++]);
                }
                if (!closed)
                    throw new DataFormatException(
                        $"line 1, column {index + 1}: the quoted column name is not closed before the end of the line (line breaks inside quoted names are not allowed)",
                        1, null, index);
                while (i < line.Length && (line[i] == (byte)' ' || line[i] == (byte)'\t')) i++;
                if (i < line.Length && line[i] != (byte)',')
                    throw new DataFormatException(
                        $"line 1, column {index + 1}: unexpected character '{CsvChunkParser.Printable(line.Slice(i, 1))}' after the closing quote of a column name",
                        1, null, index);
            }
            else
            {
                int end = line[i..].IndexOf((byte)',');
                end = end < 0 ? line.Length : i + end;
                sb.AddRange(CsvChunkParser.Trim(line[i..end]));
                i = end;
            }

            string name = Encoding.UTF8.GetString(sb.ToArray());
            if (name.Length == 0)
                throw new DataFormatException($"line 1, column {index + 1}: the column name is empty", 1, null, index);
            if (seen.TryGetValue(name, out int first))
                throw new DataFormatException(
                    $"line 1: the column name '{name}' appears twice (columns {first + 1} and {index + 1})", 1, name, index);
            seen.Add(name, index);
            names.Add(name);

            if (i >= line.Length) break;
            i++; // ','
            if (i == line.Length)
                throw new DataFormatException($"line 1, column {index + 2}: the column name is empty", 1, null, index + 1);
        }
        return [.. names];
    }

    /// <summary>
    /// Hands chunks to parser tasks and appends their blocks in chunk order. Line numbers, blank
    /// lines and errors are resolved at append time, so they are exact whatever order the
    /// chunks finish in. At most a fixed number of chunks is in flight, which bounds memory.
    /// </summary>
    private sealed class CsvPipeline
    {
        private readonly string[] _names;
        private readonly int _bufferSize;
        private readonly Channel<Job> _jobs = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleWriter = true });
        private readonly SemaphoreSlim _slots;
        private readonly CancellationTokenSource _cts;
        private readonly CancellationToken _callerToken;
        private readonly Task[] _workers;
        private readonly ConcurrentBag<byte[]> _buffers = [];
        private readonly ConcurrentBag<CsvBlock> _blocks = [];

        private readonly object _commitLock = new();
        private readonly Dictionary<long, CsvBlock> _pending = [];
        private readonly ChunkedColumn[] _columns;
        private readonly ColumnStats[] _stats;
        private long _nextToCommit;
        private long _lineOffset = 1; // the header
        private long _pendingBlankLine = -1;
        private long _submitted;
        private int _rows;
        private ExceptionDispatchInfo? _failure;

        private readonly record struct Job(long Sequence, byte[] Buffer, int Length, bool Sentinel);

        public CsvPipeline(string[] names, int workers, int bufferSize, CancellationToken ct)
        {
            _names = names;
            _bufferSize = bufferSize;
            _callerToken = ct;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _slots = new SemaphoreSlim(workers * 2);
            _columns = new ChunkedColumn[names.Length];
            var allocator = new ChunkAllocator();
            _stats = new ColumnStats[names.Length];
            for (int j = 0; j < names.Length; j++)
            {
                _columns[j] = new ChunkedColumn(allocator);
                _stats[j] = ColumnStats.Empty;
            }
            _workers = new Task[workers];
            for (int w = 0; w < workers; w++) _workers[w] = Task.Run(WorkerAsync);
        }

        public CancellationToken Token => _cts.Token;

        public bool HasFailed => Volatile.Read(ref _failure) != null;

        public byte[] RentBuffer(int minimum)
        {
            if (minimum <= _bufferSize && _buffers.TryTake(out var b)) return b;
            return new byte[Math.Max(minimum, _bufferSize) + Padding];
        }

        public async ValueTask SubmitAsync(byte[] buffer, int length, bool sentinel)
        {
            await _slots.WaitAsync(_cts.Token).ConfigureAwait(false);
            _jobs.Writer.TryWrite(new Job(_submitted++, buffer, length, sentinel));
        }

        private async Task WorkerAsync()
        {
            var parser = new CsvChunkParser(_names);
            var ready = new List<CsvBlock>();
            try
            {
                await foreach (var job in _jobs.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                {
                    if (!_blocks.TryTake(out var block)) block = new CsvBlock();
                    block.Sequence = job.Sequence;
                    parser.Parse(job.Buffer, job.Length, job.Sentinel, block);
                    if (job.Buffer.Length == _bufferSize + Padding) _buffers.Add(job.Buffer);
                    Commit(block, ready);
                }
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                Fail(ExceptionDispatchInfo.Capture(e));
            }
        }

        /// <summary>
        /// Appends every block that is next in order. Under the lock only the bookkeeping is
        /// done (errors, line numbers, statistics, and the places in the columns that each
        /// block's values go to); the values are copied after the lock is released, so that
        /// the copying, and the first touch of fresh column memory, runs on both workers.
        /// </summary>
        private void Commit(CsvBlock block, List<CsvBlock> ready)
        {
            ExceptionDispatchInfo? failure = null;
            ready.Clear();
            lock (_commitLock)
            {
                if (_failure != null) return;
                _pending.Add(block.Sequence, block);
                while (_pending.Remove(_nextToCommit, out var b))
                {
                    try
                    {
                        Append(b);
                    }
                    catch (Exception e)
                    {
                        failure = ExceptionDispatchInfo.Capture(e);
                        break;
                    }
                    ready.Add(b);
                    _nextToCommit++;
                }
            }
            foreach (var b in ready)
            {
                foreach (var (column, destination, source) in b.Placements)
                    b.Column(column).Slice(source, destination.Count).CopyTo(destination);
                b.Placements.Clear();
                _blocks.Add(b);
            }
            if (failure != null) Fail(failure);
            else if (ready.Count > 0) _slots.Release(ready.Count);
        }

        /// <summary>Appends the next block in order; called under the commit lock.</summary>
        private void Append(CsvBlock b)
        {
            bool hasContent = b.Rows > 0 || b.Error != null;
            if (_pendingBlankLine >= 0 && hasContent) throw CsvChunkParser.BlankLine(_pendingBlankLine);
            if (b.Error != null) throw b.Error.Create(_lineOffset + b.Error.LocalLine + 1);
            if ((long)_rows + b.Rows > int.MaxValue - ChunkedColumn.ChunkRows)
                throw new DataFormatException($"the CSV has more than {int.MaxValue - ChunkedColumn.ChunkRows} rows, which is not supported");
            b.Placements.Clear();
            for (int j = 0; j < _columns.Length; j++)
            {
                _columns[j].Reserve(b.Rows, j, b.Placements);
                _stats[j].Merge(b.Stats[j]);
            }
            _rows += b.Rows;
            if (b.TrailingBlankLine >= 0 && _pendingBlankLine < 0) _pendingBlankLine = _lineOffset + b.TrailingBlankLine + 1;
            _lineOffset += b.Lines;
        }

        private void Fail(ExceptionDispatchInfo failure)
        {
            if (Interlocked.CompareExchange(ref _failure, failure, null) == null)
            {
                _jobs.Writer.TryComplete();
                _cts.Cancel();
            }
        }

        public async Task AbortAsync()
        {
            _jobs.Writer.TryComplete();
            _cts.Cancel();
            try
            {
                await Task.WhenAll(_workers).ConfigureAwait(false);
            }
            catch
            {
                // The caller is already throwing.
            }
            _cts.Dispose();
        }

        public async Task<ColumnTable> CompleteAsync()
        {
            _jobs.Writer.TryComplete();
            try
            {
                await Task.WhenAll(_workers).ConfigureAwait(false);
            }
            finally
            {
                _cts.Dispose();
            }
            _failure?.Throw();
            _callerToken.ThrowIfCancellationRequested();
            if (_nextToCommit != _submitted) throw new InvalidOperationException("CSV pipeline ended with chunks not appended");
            if (_rows == 0) throw new DataFormatException("the CSV has a header line but no data rows", 1);
            return new ColumnTable(_names, _columns, _stats);
        }
    }
}
