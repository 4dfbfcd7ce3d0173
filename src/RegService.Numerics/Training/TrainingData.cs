using System.Runtime.InteropServices;

namespace RegService.Numerics.Training;

/// <summary>
/// The rows a stochastic fit reads, standardized: the training rows first, then the early-stopping validation rows
/// ("slots" 0..Rows-1). Feature j is z_j = (x_j - Means[j]) / Scales[j], with the training rows' statistics (glmnet's:
/// the mean with an intercept, else 0; the 1/n standard deviation when standardizing, else 1; zero-variance features
/// get scale 1, are flagged <see cref="Constant"/> and read as 0, so the model cannot use them).
/// </summary>
/// <remarks>
/// The standardized rows are transposed once into a row-major copy (in parallel), so a mini-batch gathers whole rows
/// and an evaluation pass reads consecutive rows in place. When that copy would exceed <see cref="RowMajorBudgetBytes"/>,
/// rows are gathered from the column-major matrix on each use instead (and standardized then).
/// </remarks>
internal sealed unsafe class TrainingData : IDisposable
{
    /// <summary>Largest row-major copy made (bytes); larger data is gathered from the columns on each use.</summary>
    public const long RowMajorBudgetBytes = 2L << 30;

    /// <summary>Rows a gather prefetches ahead of the row it copies.</summary>
    private const int Ahead = 8;

    private readonly DenseMatrix _x;
    private readonly int[] _columns;
    private readonly double[]? _rowMajor;
    private readonly double* _rows;
    private readonly int[] _everySlot = [];
    private GCHandle _pin;

    public TrainingData(DenseMatrix x, int[] featureColumns, int targetColumn, int[] trainRows, int[] validationRows,
        bool fitIntercept, bool standardize, int threads, long rowMajorBudget = RowMajorBudgetBytes)
    {
        _x = x;
        _columns = featureColumns;
        TrainRows = trainRows;
        ValidationRows = validationRows;
        int p = featureColumns.Length, m = trainRows.Length, n = Rows;
        Source = [.. trainRows, .. validationRows];
        Means = new double[p];
        Scales = new double[p];
        Constant = new bool[p];
        var rawMean = new double[p];
        var rawVariance = new double[p];
        Parallel.For(0, p, new ParallelOptions { MaxDegreeOfParallelism = (long)m * p > 1_000_000 ? threads : 1 }, j =>
        {
            var col = x.Column(featureColumns[j]);
            double s = 0;
            for (int i = 0; i < m; i++) s += col[trainRows[i]];
            double mean = s / m, ss = 0;
            for (int i = 0; i < m; i++)
            {
                double d = col[trainRows[i]] - mean;
                ss += d * d;
            }
            rawMean[j] = mean;
            rawVariance[j] = ss / m;
        });
        for (int j = 0; j < p; j++)
        {
            var scale = Standardization.Of(rawMean[j], rawVariance[j], fitIntercept, standardize);
            Means[j] = scale.Center;
            Constant[j] = scale.Excluded;
            Scales[j] = scale.Scale;
        }
        var y = x.Column(targetColumn);
        Target = new double[n];
        for (int i = 0; i < n; i++) Target[i] = y[Source[i]];

        if ((long)n * p * sizeof(double) <= rowMajorBudget)
        {
            _rowMajor = LargeArrays.Allocate(ArraySizes.Product(n, p, "the row-major copy of the data"));
            _pin = GCHandle.Alloc(_rowMajor, GCHandleType.Pinned);
            _rows = (double*)_pin.AddrOfPinnedObject();
            Transpose(threads);
        }
        else
            _everySlot = [.. Enumerable.Range(0, n)];
    }

    /// <summary>Rows of the matrix trained on (ascending).</summary>
    public int[] TrainRows { get; }

    /// <summary>Rows of the matrix held out for early stopping (ascending; empty without it).</summary>
    public int[] ValidationRows { get; }

    /// <summary>Matrix row of each slot: the training rows, then the validation rows.</summary>
    public int[] Source { get; }

    public int Rows => TrainRows.Length + ValidationRows.Length;
    public int Features => _columns.Length;
    public double[] Means { get; }
    public double[] Scales { get; }
    public bool[] Constant { get; }

    /// <summary>The target of each slot.</summary>
    public double[] Target { get; }

    /// <summary>Whether slots are read in place from the row-major copy (else they are gathered).</summary>
    public bool InPlace => _rows != null;

    /// <summary>Slot <paramref name="slot"/>'s standardized row in the row-major copy (only when <see cref="InPlace"/>).</summary>
    public double* Row(int slot) => _rows + (nint)slot * Features;

    /// <summary>Copies the standardized rows of <paramref name="slots"/> into <paramref name="dest"/> (row i at dest + i p).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Gather(ReadOnlySpan<int> slots, double* dest)
    {
        int p = Features, count = slots.Length;
        if (_rows != null)
        {
            long bytes = (long)p * sizeof(double);
            for (int i = 0; i < count; i++)
            {
                // The rows are scattered over a copy far larger than the caches: ask for row i + Ahead while copying row i.
                if (i + Ahead < count && System.Runtime.Intrinsics.X86.Sse.IsSupported)
                {
                    byte* next = (byte*)(_rows + (nint)slots[i + Ahead] * p);
                    for (long b = 0; b < bytes; b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + b);
                }
                Buffer.MemoryCopy(_rows + (nint)slots[i] * p, dest + (nint)i * p, bytes, bytes);
            }
            return;
        }
        FromColumns(slots, dest);
    }

    /// <summary>Copies consecutive slots [first, first + count) into <paramref name="dest"/> (when not <see cref="InPlace"/>).</summary>
    public void GatherRange(int first, int count, double* dest) => FromColumns(_everySlot.AsSpan(first, count), dest);

    /// <summary><see cref="Gather"/> from the column-major matrix, standardizing as it goes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void FromColumns(ReadOnlySpan<int> slots, double* dest)
    {
        int p = Features, count = slots.Length;
        fixed (double* data = _x.Data)
        {
            for (int j = 0; j < p; j++)
            {
                double* col = data + (nint)_columns[j] * _x.Rows;
                double mean = Means[j], scale = Scales[j];
                if (Constant[j])
                    for (int i = 0; i < count; i++) dest[(nint)i * p + j] = 0;
                else
                    for (int i = 0; i < count; i++) dest[(nint)i * p + j] = (col[Source[slots[i]]] - mean) / scale;
            }
        }
    }

    /// <summary>The row-major copy, in tiles of 64 rows x 64 features (one thread per block of rows).</summary>
    private void Transpose(int threads)
    {
        const int Tile = 64;
        int n = Rows, p = Features;
        int blocks = (n + Tile - 1) / Tile;
        double* rows = _rows;
        var data = _x.Data;
        var source = Source;
        var columns = _columns;
        var means = Means;
        var scales = Scales;
        var constant = Constant;
        int xRows = _x.Rows;
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = (long)n * p > 1_000_000 ? threads : 1 }, b =>
        {
            int i0 = b * Tile, i1 = Math.Min(n, i0 + Tile);
            fixed (double* x = data)
            {
                for (int j0 = 0; j0 < p; j0 += Tile)
                {
                    int j1 = Math.Min(p, j0 + Tile);
                    for (int j = j0; j < j1; j++)
                    {
                        double* col = x + (nint)columns[j] * xRows;
                        double mean = means[j], scale = scales[j];
                        if (constant[j])
                            for (int i = i0; i < i1; i++) rows[(nint)i * p + j] = 0;
                        else
                            for (int i = i0; i < i1; i++) rows[(nint)i * p + j] = (col[source[i]] - mean) / scale;
                    }
                }
            }
        });
    }

    public void Dispose()
    {
        if (_pin.IsAllocated) _pin.Free();
    }
}
