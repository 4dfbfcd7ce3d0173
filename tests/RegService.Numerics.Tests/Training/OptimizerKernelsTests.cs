using System.Runtime.Intrinsics;
using RegService.Numerics.Training;
using Tier = RegService.Numerics.Training.OptimizerKernels.Tier;

namespace RegService.Numerics.Tests.Training;

/// <summary>The optimizer updates: every vector tier against the scalar twin, and the twin against the formulas.</summary>
public unsafe class OptimizerKernelsTests
{
    private static readonly Tier[] Tiers = [Tier.Vector512, Tier.Vector256, Tier.Vector128, Tier.Scalar];

    private static double[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1)];

    /// <summary>
    /// sgd, adam and adamW on every tier equal the scalar twin bitwise, at every length from 0 to twice the widest vector
    /// plus one, from an aligned start and from one a double further on.
    /// </summary>
    [Fact]
    public void EveryTierMatchesTheScalarTwinBitwise()
    {
        var rng = new Random(5);
        var k = StepConstants.At(7, 0.01, 0.05);
        for (int offset = 0; offset <= 1; offset++)
            for (int n = 0; n <= 2 * Vector512<double>.Count + 1; n++)
            {
                int length = n + offset;
                var w = Random(rng, length);
                var g = Random(rng, length);
                var m = Random(rng, length).Select(v => v * 0.1).ToArray();
                var v2 = Random(rng, length).Select(v => v * v * 0.01).ToArray();
                var l2 = Random(rng, length).Select(Math.Abs).ToArray();
                var l1 = Random(rng, length).Select(v => Math.Abs(v) * 0.01).ToArray();
                var decay = Enumerable.Range(0, length).Select(i => i % 3 == 0 ? 0.0 : 1.0).ToArray();
                foreach (var solver in new[] { "sgd", "adam", "adamW" })
                {
                    (double[] W, double[] M, double[] V) Run(Tier? tier)
                    {
                        double[] wt = (double[])w.Clone(), mt = (double[])m.Clone(), vt = (double[])v2.Clone();
                        fixed (double* pw = wt, pm = mt, pv = vt, pg = g, pl2 = l2, pl1 = l1, pd = decay)
                        {
                            var block = new ParameterBlock(pw + offset, pg + offset, pm + offset, pv + offset, pl2 + offset, pl1 + offset, pd + offset, n);
                            if (solver == "sgd") Apply(new SgdStep(k), block, tier);
                            else Apply(new AdamStep(k, decoupled: solver == "adamW"), block, tier);
                        }
                        return (wt, mt, vt);
                    }
                    var twin = Run(null);
                    if (n > 0) Assert.NotEqual(w, twin.W);
                    foreach (var tier in Tiers)
                    {
                        var actual = Run(tier);
                        Assert.True(twin.W.AsSpan().SequenceEqual(actual.W) && twin.M.AsSpan().SequenceEqual(actual.M) && twin.V.AsSpan().SequenceEqual(actual.V),
                            $"{solver} {tier} n {n} offset {offset}");
                    }
                }
            }
    }

    /// <summary>The tier the kernels choose on this machine follows the widest accelerated vector.</summary>
    [Fact]
    public void AutomaticTierMatchesTheScalarTwin()
    {
        var rng = new Random(6);
        const int n = 37;
        var w = Random(rng, n);
        var g = Random(rng, n);
        var zeros = new double[n];
        var ones = Enumerable.Repeat(1.0, n).ToArray();
        double[] auto = (double[])w.Clone(), twin = (double[])w.Clone();
        var k = StepConstants.At(3, 0.1, 0.2);
        fixed (double* pa = auto, pt = twin, pg = g, pz = zeros, po = ones)
        {
            OptimizerKernels.Update(new SgdStep(k), new ParameterBlock(pa, pg, null, null, pz, pz, po, n));
            Apply(new SgdStep(k), new ParameterBlock(pt, pg, null, null, pz, pz, po, n), null);
        }
        Assert.Equal(twin, auto);
        Assert.NotEqual(w, auto);
    }

    /// <summary>The scalar twin of a step: every parameter through the operator's scalar body (null tier).</summary>
    private static void Apply<TOp>(TOp op, ParameterBlock block, Tier? tier) where TOp : struct, IOptimizerStep
    {
        if (tier is { } t) OptimizerKernels.Update(op, block, t);
        else
            for (int i = 0; i < block.Count; i++) op.Scalar(block, i);
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
        new AdamStep(k, decoupled: false).Scalar(new ParameterBlock(&w1, &g, &m1, &v1, &l2, &zero, &one, 1), 0);
        Assert.Equal(expectedAdam, w1, 1e-15);
        // adamW: no decay in the gradient, then w -= lr wd w.
        double gW = g + l2 * w;
        double expectedW = w - lr / (Math.Sqrt(0.001 * gW * gW / 0.001) + 1e-8) * (0.1 * gW / 0.1) - lr * wd * w;
        double w2 = w, m2 = 0, v2 = 0;
        new AdamStep(k, decoupled: true).Scalar(new ParameterBlock(&w2, &g, &m2, &v2, &l2, &zero, &one, 1), 0);
        Assert.Equal(expectedW, w2, 1e-15);
        // sgd with the L1 threshold: w - lr (g + l2 w + wd w), soft-thresholded by lr l1.
        double l1 = 2, w3 = w;
        new SgdStep(k).Scalar(new ParameterBlock(&w3, &g, null, null, &l2, &l1, &one, 1), 0);
        double step = w - lr * (g + l2 * w + wd * w);
        Assert.Equal(step - lr * l1, w3, 1e-15);
    }
}
