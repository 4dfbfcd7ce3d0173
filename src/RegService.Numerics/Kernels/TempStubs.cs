// TEMPORARY: replaced by the real kernels on merge.
using MathNet.Numerics.LinearAlgebra;
using RegService.Numerics.Data;
namespace RegService.Numerics.Kernels
{
    public static class GramKernel
    {
        public static void ShiftedGram(DenseMatrix x, ReadOnlySpan<int> cols, ReadOnlySpan<double> shift, int[]? rows,
            Span<double> gram, Span<double> sums, int maxThreads = 0, CancellationToken ct = default)
        {
            int k = cols.Length; gram.Clear(); sums.Clear();
            int m = rows?.Length ?? x.Rows;
            for (int i = 0; i < m; i++)
            {
                int r = rows is null ? i : rows[i];
                for (int a = 0; a < k; a++)
                {
                    double va = x[r, cols[a]] - shift[a]; sums[a] += va;
                    for (int b = 0; b < k; b++) gram[a * k + b] += va * (x[r, cols[b]] - shift[b]);
                }
            }
        }
    }
}
namespace RegService.Numerics.Solvers
{
    public static class SymmetricSolve
    {
        public static void RidgeSolve(ReadOnlySpan<double> a, ReadOnlySpan<double> b, double lambda, Span<double> x)
        {
            int k = b.Length; var arr = a.ToArray(); var m = Matrix<double>.Build.Dense(k, k, (i, j) => arr[i * k + j] + (i == j ? lambda : 0));
            var s = m.Cholesky().Solve(Vector<double>.Build.DenseOfArray(b.ToArray())); s.AsArray().CopyTo(x);
        }
    }
    public sealed class EigenRidgePath
    {
        private readonly double[] _a; private readonly int _k;
        public EigenRidgePath(double[] a, int k) { _a = a; _k = k; }
        public void Solve(ReadOnlySpan<double> b, double lambda, Span<double> x) => SymmetricSolve.RidgeSolve(_a, b, lambda, x);
    }
}
