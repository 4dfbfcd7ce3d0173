using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RegService.Numerics.Data;

/// <summary>
/// Stored matrices: raw float64 little-endian, column-major, no header (as written by
/// <see cref="ColumnTable.WriteColumnMajor"/>); the shape is kept elsewhere.
/// </summary>
public static class MatrixFile
{
    private const int MaxDoublesPerRead = 1 << 27; // 1 GiB

    /// <summary>
    /// Reads a <paramref name="rows"/> x <paramref name="columns"/> matrix straight into the
    /// matrix's array. Throws <see cref="InvalidDataException"/> when the file length is not
    /// <c>rows * columns * 8</c> bytes.
    /// </summary>
    public static DenseMatrix Read(string path, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        long count = (long)rows * columns;
        if (count > Array.MaxLength) throw new ArgumentException($"a {rows} x {columns} matrix is too large for one array");
        long expected = count * sizeof(double);

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        long length = RandomAccess.GetLength(handle);
        if (length != expected)
            throw new InvalidDataException($"'{path}' has {length} bytes but a {rows} x {columns} float64 matrix needs {expected}");

        double[] data = LargeArrays.Allocate((int)count);
        for (int start = 0; start < data.Length; start += MaxDoublesPerRead)
            ReadExactly(handle, data.AsSpan(start, Math.Min(MaxDoublesPerRead, data.Length - start)), (long)start * sizeof(double),
                at => $"'{path}' ended early at byte {at} of {expected}");
        return new DenseMatrix(rows, columns, data);
    }

    /// <summary>
    /// Reads one column of a stored <paramref name="rows"/>-row matrix (8 bytes per row, one
    /// contiguous read of the column-major layout) without loading the others.
    /// </summary>
    public static double[] ReadColumn(string path, int rows, int column)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        var values = new double[rows];
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        ReadExactly(handle, values, (long)column * rows * sizeof(double), _ => $"'{path}' ended before column {column} did");
        return values;
    }

    /// <summary>
    /// Fills <paramref name="values"/> from the stored little-endian float64 at byte <paramref name="offset"/>; a file that ends
    /// first is an <see cref="InvalidDataException"/> with <paramref name="endedAt"/>'s message (given the byte it ended at).
    /// </summary>
    private static void ReadExactly(SafeFileHandle handle, Span<double> values, long offset, Func<long, string> endedAt)
    {
        var bytes = MemoryMarshal.AsBytes(values);
        while (!bytes.IsEmpty)
        {
            int n = RandomAccess.Read(handle, bytes, offset);
            if (n == 0) throw new InvalidDataException(endedAt(offset));
            bytes = bytes[n..];
            offset += n;
        }
        if (!BitConverter.IsLittleEndian)
        {
            var bits = MemoryMarshal.Cast<double, long>(values);
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    /// <summary>Writes <paramref name="matrix"/> in the stored format (float64 little-endian, column-major).</summary>
    public static void Write(string path, DenseMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(matrix);
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, (long)matrix.Data.Length * sizeof(double));
        long fileOffset = 0;
        double[]? swapped = BitConverter.IsLittleEndian ? null : new double[Math.Min(MaxDoublesPerRead, matrix.Data.Length)];
        for (int start = 0; start < matrix.Data.Length; start += MaxDoublesPerRead)
        {
            ReadOnlySpan<double> values = matrix.Data.AsSpan(start, Math.Min(MaxDoublesPerRead, matrix.Data.Length - start));
            if (swapped != null)
            {
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<double, long>(values), MemoryMarshal.Cast<double, long>(swapped.AsSpan(0, values.Length)));
                values = swapped.AsSpan(0, values.Length);
            }
            var bytes = MemoryMarshal.AsBytes(values);
            RandomAccess.Write(handle, bytes, fileOffset);
            fileOffset += bytes.Length;
        }
    }
}
