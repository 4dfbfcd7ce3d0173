namespace RegService.Numerics.Solvers;

public sealed partial class NaiveCd
{
    /// <summary>
    /// The 16-bit fixed-point copy of the standardized columns that the KKT check screens against (<see cref="SingleDots"/>),
    /// with each column's step and error weight (<see cref="ShadowWeight"/>) and its gradient at b = 0, built one column at a
    /// time by whoever reads the data: the path's setup builds it in its one read of every column, with the column's mean and
    /// variance (a second read of 40 MB cost a 500 x 10k fit about a tenth of its time), or the solver itself.
    /// </summary>
    public sealed class Shadow
    {
        private Shadow(int rows, int columns, short[] data)
        {
            Rows = rows;
            Count = columns;
            Data = data;
            Steps = new double[columns];
            Weights = new double[columns];
            Gradients = new double[columns];
        }

        /// <summary>Rows per column.</summary>
        public int Rows { get; }

        /// <summary>Columns held: every one built until <see cref="Keep"/>, then those kept.</summary>
        public int Count { get; private set; }

        /// <summary>Column j is <c>Data[j n .. (j + 1) n)</c>: ẑ_j = Steps[j] q_j.</summary>
        internal short[] Data { get; }

        internal double[] Steps { get; }

        /// <summary>w_j of the screen's error bound (<see cref="ShadowWeight"/>).</summary>
        internal double[] Weights { get; }

        /// <summary>z_j'y_c / n, the gradient at b = 0.</summary>
        internal double[] Gradients { get; }

        /// <summary>Shadows up to this size are kept for the next fit (<see cref="Return"/>).</summary>
        internal const long MaxSpareBytes = 32L << 20;

        // One spare shadow, kept between fits: the page faults and zeroing of a fresh 10 MB array (and the collection its
        // allocation triggers) cost as much as a tenth of a 500 x 10k path. Taken whole by one fit at a time.
        private static short[]? s_spare;

        /// <summary>A shadow for <paramref name="columns"/> columns of <paramref name="rows"/>: the spare if it is long enough,
        /// else a new array (huge pages advised: 4 KiB page faults on a fresh copy of hundreds of MB cost more than building it).</summary>
        public static Shadow Rent(int rows, int columns)
        {
            long length = (long)rows * columns;
            var spare = Interlocked.Exchange(ref s_spare, null);
            return new Shadow(rows, columns, spare is not null && spare.Length >= length ? spare : LargeArrays.Allocate<short>((int)length));
        }

        /// <summary>Makes <paramref name="data"/> the spare when it is at most <see cref="MaxSpareBytes"/>; its owner must not use it afterwards.</summary>
        internal static void Return(short[] data)
        {
            if ((long)data.Length * sizeof(short) <= MaxSpareBytes) Volatile.Write(ref s_spare, data);
        }

        /// <summary>
        /// Column <paramref name="j"/> from its raw values: z = (x - center) / scale quantized (<see cref="SingleDots.Quantize"/>),
        /// its error weight, with z_j'z_j/n = spread / scale², and its gradient at b = 0, x'y_c / (n scale) (y_c sums to 0 with an
        /// intercept, and the center is 0 without). Columns may be built from several threads at once.
        /// </summary>
        public void Build(int j, ReadOnlySpan<double> x, double center, double scale, double spread, double[] centeredTarget)
        {
            int n = Rows;
            var column = SingleDots.Quantize(x, center, 1 / scale, Data.AsSpan(j * n, n));
            Steps[j] = column.Step;
            double diagonal = spread / (scale * scale);
            Weights[j] = ShadowWeight(column, Math.Sqrt(n * diagonal), ShadowErrorFactor(n));
            Gradients[j] = System.Numerics.Tensors.TensorPrimitives.Dot<double>(x, centeredTarget) / (n * scale);
        }

        /// <summary>Keeps the columns <paramref name="kept"/> (ascending; those built) in that order, dropping the rest.</summary>
        public void Keep(IReadOnlyList<int> kept)
        {
            int n = Rows;
            for (int u = 0; u < kept.Count; u++)
            {
                int j = kept[u];
                if (j < u || j >= Count) throw new ArgumentException("kept columns must be ascending and held", nameof(kept));
                if (j == u) continue;
                Data.AsSpan(j * n, n).CopyTo(Data.AsSpan(u * n, n));
                Steps[u] = Steps[j];
                Weights[u] = Weights[j];
                Gradients[u] = Gradients[j];
            }
            Count = kept.Count;
        }
    }
}
