using RegService.Numerics.Kernels;
using RegService.Numerics.Training;

namespace RegService.Numerics.Tests.Training;

/// <summary>
/// The dense-layer products and the optimizer updates against their scalar twins, on every instruction-set path, over all
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

    /// <summary>sgd, adam and adamW: vector paths equal the scalar twins bitwise, over lengths around the vector widths.</summary>
    [Fact]
    public void OptimizerUpdatesMatchScalarTwinsBitwise()
    {
        var rng = new Random(5);
        for (int n = 0; n <= 35; n++)
        {
            var w = Random(rng, n);
            var g = Random(rng, n);
            var m = Random(rng, n).Select(v => v * 0.1).ToArray();
            var v2 = Random(rng, n).Select(v => v * v * 0.01).ToArray();
            var l2 = Random(rng, n).Select(Math.Abs).ToArray();
            var l1 = Random(rng, n).Select(v => Math.Abs(v) * 0.01).ToArray();
            var decay = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? 0.0 : 1.0).ToArray();
            var k = StepConstants.At(7, 0.01, 0.05);
            foreach (var path in Paths)
            {
                foreach (var solver in new[] { "sgd", "adam", "adamW" })
                {
                    double[] w1 = (double[])w.Clone(), m1 = (double[])m.Clone(), v1 = (double[])v2.Clone();
                    double[] w0 = (double[])w.Clone(), m0 = (double[])m.Clone(), v0 = (double[])v2.Clone();
                    fixed (double* pw1 = w1, pm1 = m1, pv1 = v1, pw0 = w0, pm0 = m0, pv0 = v0, pg = g, pl2 = l2, pl1 = l1, pd = decay)
                    {
                        if (solver == "sgd")
                        {
                            OptimizerKernels.Sgd(pw1, pg, pl2, pl1, pd, n, k, path);
                            OptimizerKernels.SgdScalar(pw0, pg, pl2, pl1, pd, n, k);
                        }
                        else
                        {
                            OptimizerKernels.Adam(pw1, pg, pm1, pv1, pl2, pl1, pd, n, k, solver == "adamW", path);
                            OptimizerKernels.AdamScalar(pw0, pg, pm0, pv0, pl2, pl1, pd, n, k, solver == "adamW");
                        }
                    }
                    Assert.True(w0.AsSpan().SequenceEqual(w1) && m0.AsSpan().SequenceEqual(m1) && v0.AsSpan().SequenceEqual(v1), $"{solver} {path} n {n}");
                }
            }
        }
    }

    /// <summary>The scalar update formulas themselves, on one coordinate worked by hand.</summary>
    [Fact]
    public void AdamAndAdamWFollowTheirDefinitions()
    {
        double w = 0.5, g = 0.2, l2 = 0.1, wd = 0.3, lr = 0.01;
        var k = StepConstants.At(1, lr, wd);
        double zero = 0, one = 1;
        // adam, first step: m = 0.1 g', v = 0.001 g'^2, bias-corrected to g' and g'^2: w - lr g' / (|g'| + eps).
        double gAdam = g + l2 * w + wd * w;
        double expectedAdam = w - lr / (Math.Sqrt(0.001 * gAdam * gAdam / 0.001) + 1e-8) * (0.1 * gAdam / 0.1);
        double w1 = w, m1 = 0, v1 = 0;
        OptimizerKernels.AdamScalar(&w1, &g, &m1, &v1, &l2, &zero, &one, 1, k, decoupled: false);
        Assert.Equal(expectedAdam, w1, 1e-15);
        // adamW: no decay in the gradient, then w -= lr wd w.
        double gW = g + l2 * w;
        double expectedW = w - lr / (Math.Sqrt(0.001 * gW * gW / 0.001) + 1e-8) * (0.1 * gW / 0.1) - lr * wd * w;
        double w2 = w, m2 = 0, v2 = 0;
        OptimizerKernels.AdamScalar(&w2, &g, &m2, &v2, &l2, &zero, &one, 1, k, decoupled: true);
        Assert.Equal(expectedW, w2, 1e-15);
        // sgd with the L1 threshold: w - lr (g + l2 w + wd w), soft-thresholded by lr l1.
        double l1 = 2, w3 = w;
        OptimizerKernels.SgdScalar(&w3, &g, &l2, &l1, &one, 1, k);
        double step = w - lr * (g + l2 * w + wd * w);
        Assert.Equal(step - lr * l1, w3, 1e-15);
    }
}
