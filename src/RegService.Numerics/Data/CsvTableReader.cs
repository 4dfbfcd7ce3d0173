using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text.Unicode;
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
/// Refusals of common exports carry advice (<see cref="InputHints"/>): an empty first header
/// name (R's row names), an empty cell or NA/NaN/NULL (missing values), a word (a categorical column).
/// Header names must be valid UTF-8 and within <see cref="TableLimits"/> (length, no control
/// characters, at most <see cref="TableLimits.MaxColumns"/> of them); the header is checked as it
/// is read, so an overlong name or field count is refused before rows are read.
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

    /// <summary>Parses the CSV in <paramref name="input"/> within <see cref="TableLimits.Default"/>; see the type's remarks for the format.</summary>
    public static Task<ColumnTable> ReadAsync(Stream input, CancellationToken ct = default) =>
        ReadAsync(input, TableLimits.Default, DefaultBufferSize, 0, ct);

    /// <summary>Parses the CSV in <paramref name="input"/> within <paramref name="limits"/>; see the type's remarks for the format.</summary>
    public static Task<ColumnTable> ReadAsync(Stream input, TableLimits limits, CancellationToken ct = default) =>
        ReadAsync(input, limits, DefaultBufferSize, 0, ct);

    internal static Task<ColumnTable> ReadAsync(Stream input, int bufferSize, int workers, CancellationToken ct) =>
        ReadAsync(input, TableLimits.Default, bufferSize, workers, ct);

    /// <param name="input">The CSV body.</param>
    /// <param name="limits">Most columns and longest name; the header is refused as soon as it passes one.</param>
    /// <param name="bufferSize">Size of each read buffer (grown when one line does not fit).</param>
    /// <param name="workers">Parser tasks; 0 means one per processor (at most 8).</param>
    /// <param name="ct">Cancels the read.</param>
    internal static async Task<ColumnTable> ReadAsync(Stream input, TableLimits limits, int bufferSize, int workers, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(limits);
        bufferSize = Math.Max(bufferSize, 16);
        if (workers <= 0) workers = Math.Clamp(Environment.ProcessorCount, 1, 8);

        byte[] buf = new byte[bufferSize + Padding];
        int len = await FillAsync(input, buf, 0, ct).ConfigureAwait(false);
        bool eof = len < Capacity(buf);

        // Header line: scanned as it arrives, so a name or a field count beyond the limits is
        // refused before the rest of the line is buffered.
        int start = len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF ? 3 : 0;
        if (len - start == 0) throw new DataFormatException("the CSV body is empty");
        var scan = new HeaderScan(limits);
        int scanned = start, newline = -1;
        while (true)
        {
            int nl = scan.Advance(buf.AsSpan(scanned, len - scanned));
            if (nl >= 0)
            {
                newline = scanned + nl;
                break;
            }
            scanned = len;
            if (eof) break;
            buf = Grow(buf, len);
            int n = await FillAsync(input, buf, len, ct).ConfigureAwait(false);
            eof = len + n < Capacity(buf);
            len += n;
        }
        int headerEnd = newline < 0 ? len : newline;
        int dataStart = newline < 0 ? len : headerEnd + 1;
        var header = buf.AsSpan(start, headerEnd - start);
        if (!header.IsEmpty && header[^1] == (byte)'\r') header = header[..^1];
        if (CsvChunkParser.Trim(header).IsEmpty)
        {
            if (eof && buf.AsSpan(start, len - start).TrimStart(" \t\r\n"u8).IsEmpty)
                throw new DataFormatException("the CSV body is empty");
            throw new DataFormatException("line 1 is empty; the first line must be the header naming the columns", 1);
        }
        string[] names = ParseHeader(header, limits);

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

    /// <summary>
    /// Counts the header's fields and the bytes of the current one as the line arrives, and
    /// throws once there are more fields than <see cref="TableLimits.MaxColumns"/> or a field is
    /// longer than <see cref="TableLimits.MaxNameBytes"/>. Quotes toggle (a "" escape toggles
    /// twice); a comma inside quotes does not separate.
    /// </summary>
    private sealed class HeaderScan(TableLimits limits)
    {
        private int _field;
        private int _fieldBytes;
        private bool _inQuotes;

        /// <summary>Scans <paramref name="data"/>; returns the index of the '\n' that ends the header, or -1.</summary>
        public int Advance(ReadOnlySpan<byte> data)
        {
            for (int i = 0; i < data.Length; i++)
            {
                byte c = data[i];
                if (c == (byte)'\n') return i;
                if (c == (byte)'"')
                {
                    _inQuotes = !_inQuotes;
                }
                else if (c == (byte)',' && !_inQuotes)
                {
                    _field++;
                    _fieldBytes = 0;
                    if (_field >= limits.MaxColumns) throw TooManyColumns(limits);
                    continue;
                }
                if (++_fieldBytes > limits.MaxNameBytes)
                    throw new DataFormatException(
                        $"line 1, column {_field + 1}: the column name is longer than {limits.MaxNameLength} characters " +
                        $"(more than {limits.MaxNameBytes} bytes); at most {limits.MaxNameLength} are accepted",
                        1, null, _field);
            }
            return -1;
        }
    }

    private static DataFormatException TooManyColumns(TableLimits limits) =>
        new($"line 1: the header has more than {limits.MaxColumns} columns; at most {limits.MaxColumns} are accepted",
            1, null, limits.MaxColumns);

    internal static string[] ParseHeader(ReadOnlySpan<byte> line, TableLimits limits)
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

            if (index >= limits.MaxColumns) throw TooManyColumns(limits);
            string name = DecodeName(CollectionsMarshal.AsSpan(sb), index);
            if (name.Length == 0)
                throw new DataFormatException(
                    $"line 1, column {index + 1}: the column name is empty{(index == 0 ? "; " + InputHints.RowNames : "")}", 1, null, index);
            if (name.Length > limits.MaxNameLength)
                throw new DataFormatException(
                    $"line 1, column {index + 1}: the column name is {name.Length} characters long; at most {limits.MaxNameLength} are accepted",
                    1, null, index);
            if (limits.Problem(name) is { } problem)
                throw new DataFormatException($"line 1, column {index + 1}: the column name {problem}", 1, null, index);
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

    /// <summary>The name's UTF-8 bytes as a string; invalid UTF-8 is refused, naming the first bad byte.</summary>
    private static string DecodeName(ReadOnlySpan<byte> bytes, int index)
    {
        char[] chars = new char[bytes.Length];
        var status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
            throw new DataFormatException(
                $"line 1, column {index + 1}: the column name is not valid UTF-8 (byte 0x{bytes[read]:X2} at byte {read + 1} of the name); " +
                "the header must be encoded in UTF-8",
                1, null, index);
        return new string(chars, 0, written);
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
