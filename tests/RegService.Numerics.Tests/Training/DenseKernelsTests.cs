using RegService.Numerics.Kernels;
using RegService.Numerics.Training;

namespace RegService.Numerics.Tests.Training;

/// <summary>
/// The dense-layer products against their scalar twins, on every instruction-set path, over all
/// remainder lengths of the register tiles (rows mod 4, columns mod 32, 8 and 4) and depths around the depth blocks.
/// </summary>
public unsafe class DenseKernelsTests
{
    private static readonly KernelPath[] Paths = [KernelPath.Vector512, KernelPath.Vector256, KernelPath.Scalar];
    private static readonly int[] Depths = [0, 1, 3, 8, 63, 64, 65, 130];

    private static double[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1)];

    /// <summary>Forward layout (A rows contiguous) and transposed layout (A columns contiguous): every element is one FMA chain, bitwise the same on every path.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiplyMatchesScalarTwinBitwise(bool transposedA)
    {
        var rng = new Random(transposedA ? 2 : 1);
        foreach (int depth in Depths)
            for (int rows = 1; rows <= 9; rows++)
                for (int cols = 2; cols <= 41; cols++)
                {
                    // A is rows x depth, stored either row-major (forward) or depth-major (a weight gradient).
                    var a = Random(rng, rows * depth + 1);
                    nint aRow = transposedA ? 1 : depth, aCol = transposedA ? rows : 1;
                    int ldb = cols + 3, ldc = cols + 5;
                    var b = Random(rng, depth * ldb + 1);
                    var bias = Random(rng, cols);
                    var old = Random(rng, rows * ldc);
                    foreach (var (useBias, accumulate, relu) in new[] { (true, false, true), (false, true, false), (false, false, false) })
                    {
                        var expected = (double[])old.Clone();
                        fixed (double* pa = a, pb = b, pc = expected, pbias = bias)
                            DenseKernels.MultiplyScalar(pa, aRow, aCol, pb, ldb, pc, ldc, rows, cols, depth, useBias ? pbias : null, accumulate, relu);
                        foreach (var path in Paths)
                        {
                            var actual = (double[])old.Clone();
                            fixed (double* pa = a, pb = b, pc = actual, pbias = bias)
                                DenseKernels.Multiply(pa, aRow, aCol, pb, ldb, pc, ldc, rows, cols, depth, useBias ? pbias : null, accumulate, relu, path);
                            Assert.True(expected.AsSpan().SequenceEqual(actual),
                                $"{path} rows {rows} cols {cols} depth {depth} bias {useBias} accumulate {accumulate} relu {relu}");
                        }
                    }
                }
    }

    /// <summary>One output column: the dot-product form (another order of additions) agrees to rounding, the transposed form bitwise.</summary>
    [Fact]
    public void SingleColumnProductsMatchScalarTwin()
    {
        var rng = new Random(3);
        foreach (int depth in Depths.Concat([5, 17, 31, 32, 33, 200]))
            foreach (int rows in new[] { 1, 2, 3, 5, 8, 9, 17, 255, 256, 257, 300 })
            {
                var a = Random(rng, rows * depth + 1);
                var b = Random(rng, depth + 1);
                var bias = Random(rng, 1);
                foreach (bool transposed in new[] { false, true })
                {
                    nint aRow = transposed ? 1 : depth, aCol = transposed ? rows : 1;
                    var expected = new double[rows];
                    fixed (double* pa = a, pb = b, pc = expected, pbias = bias)
                        DenseKernels.MultiplyScalar(pa, aRow, aCol, pb, 1, pc, 1, rows, 1, depth, pbias, false, false);
                    foreach (var path in Paths)
                    {
                        var actual = new double[rows];
                        fixed (double* pa = a, pb = b, pc = actual, pbias = bias)
                            DenseKernels.Multiply(pa, aRow, aCol, pb, 1, pc, 1, rows, 1, depth, pbias, false, false, path);
                        for (int m = 0; m < rows; m++)
                        {
                            if (transposed && aCol != 1) Assert.Equal(expected[m], actual[m]);   // (aCol 1 is the dot-product form)
                            else Assert.True(Math.Abs(expected[m] - actual[m]) <= 1e-14 * (depth + 1), $"{path} rows {rows} depth {depth}");
                        }
                    }
                }
            }
    }

    [Fact]
    public void SumRowsAndMaskMatchScalarLoops()
    {
        var rng = new Random(4);
        for (int cols = 0; cols <= 40; cols++)
            foreach (int rows in new[] { 0, 1, 5, 64 })
            {
                var src = Random(rng, rows * (cols + 2) + 1);
                var expected = new double[cols];
                for (int m = 0; m < rows; m++)
                    for (int n = 0; n < cols; n++) expected[n] += src[m * (cols + 2) + n];
                var a = Random(rng, cols + 1);
                var d = Random(rng, cols + 1);
                var masked = d.Select((v, i) => a[i] > 0 ? v * 1.25 : 0).ToArray();
                foreach (var path in Paths)
                {
                    var actual = new double[cols + 1];
                    fixed (double* ps = src, pd = actual) DenseKernels.SumRows(ps, cols + 2, rows, cols, pd, path);
                    Assert.True(expected.AsSpan().SequenceEqual(actual.AsSpan(0, cols)), $"sum {path} cols {cols} rows {rows}");
                    var m = (double[])d.Clone();
                    fixed (double* pm = m, pa = a) DenseKernels.MaskPositive(pm, pa, cols + 1, 1.25, path);
                    Assert.Equal(masked, m);
                }
            }
    }
}
