using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using RegService.Numerics.Kernels;

namespace RegService.Numerics.Training;

/// <summary>The constants of optimizer step t (1-based): Adam's beta1 0.9, beta2 0.999 and epsilon 1e-8 are fixed.</summary>
/// <param name="LearningRate">lr.</param>
/// <param name="WeightDecay">The optimizer's own decay (L2 in the gradient for sgd and adam, decoupled for adamW).</param>
/// <param name="Correction1">1 / (1 - Beta1^t), the bias correction of the first moment.</param>
/// <param name="Correction2">1 / (1 - Beta2^t).</param>
internal readonly record struct StepConstants(double LearningRate, double WeightDecay, double Correction1, double Correction2)
{
    public const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    public static StepConstants At(long t, double learningRate, double weightDecay) =>
        new(learningRate, weightDecay, 1 / (1 - Math.Pow(Beta1, t)), 1 / (1 - Math.Pow(Beta2, t)));
}

/// <summary>
/// A contiguous run of <see cref="Count"/> parameters and what an update reads beside them (element i of every array
/// belongs to parameter i): the weights, their gradient, Adam's moments, the penalty coefficients <c>L2</c> (lambda (1 -
/// alpha) v; 0 for biases) and <c>L1</c> (lambda alpha v; first-layer weights only), and <c>Decay</c> (1 for weights, 0
/// for biases: weight decay leaves biases alone).
/// </summary>
internal readonly unsafe struct ParameterBlock(double* w, double* grad, double* m, double* v, double* l2, double* l1, double* decay, int count)
{
    public readonly double* W = w, Grad = grad, M = m, V = v, L2 = l2, L1 = l1, Decay = decay;
    public readonly int Count = count;
}

/// <summary>
/// One optimizer's update, written once over any vector width (<see cref="ISimd{TV}"/>, <c>S.Count</c> lanes at a time) and once for one parameter
/// in plain doubles (the scalar twin, which also does the tail). Both do the same operations in the same order (no
/// contraction into FMAs), so they agree bitwise.
/// </summary>
internal unsafe interface IOptimizerStep
{
    /// <summary>
    /// The whole lanes of <paramref name="p"/> from its start; returns where the tail starts. (The loop is the operator's
    /// so that its constants are broadcast once, before it: the JIT does not hoist them.)
    /// </summary>
    nint Vector<S, TV>(in ParameterBlock p) where S : ISimd<TV> where TV : struct;

    /// <summary>Parameter i of <paramref name="p"/>.</summary>
    void Scalar(in ParameterBlock p, nint i);
}

/// <summary>sgd: with g = grad + l2 w, <c>w' = w - lr (g + wd decay w)</c>, then <c>w' = S(w', lr l1)</c>.</summary>
internal readonly unsafe struct SgdStep(in StepConstants k) : IOptimizerStep
{
    private readonly double _lr = k.LearningRate, _wd = k.WeightDecay;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Vector<S, TV>(in ParameterBlock p) where S : ISimd<TV> where TV : struct
    {
        TV lr = S.Splat(_lr), wd = S.Splat(_wd);
        nint i = 0;
        for (; i + S.Count <= p.Count; i += S.Count)
        {
            TV w = Lanes.Load<S, TV>(p.W, i);
            TV g = S.Add(Lanes.Load<S, TV>(p.Grad, i), S.Multiply(Lanes.Load<S, TV>(p.L2, i), w));
            g = S.Add(g, S.Multiply(S.Multiply(wd, Lanes.Load<S, TV>(p.Decay, i)), w));
            Lanes.Store<S, TV>(Lanes.SoftThreshold<S, TV>(S.Subtract(w, S.Multiply(lr, g)), S.Multiply(lr, Lanes.Load<S, TV>(p.L1, i))), p.W, i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Scalar(in ParameterBlock p, nint i)
    {
        double w = p.W[i];
        double g = p.Grad[i] + p.L2[i] * w;
        g += _wd * p.Decay[i] * w;
        p.W[i] = SoftThreshold(w - _lr * g, _lr * p.L1[i]);
    }

    internal static double SoftThreshold(double x, double t) => Math.Max(x - t, 0) + Math.Min(x + t, 0);
}

/// <summary>
/// adam (decoupled false) and adamW (decoupled true), with g = grad + l2 w:
/// <code>
/// adam:  g += wd decay w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
///        s = lr / (sqrt(v c2) + eps);  w' = w - s (m c1);                 w' = S(w', s l1)
/// adamW: as adam without wd in g, then w' -= lr wd decay w (decoupled);   w' = S(w', s l1)
/// </code>
/// c1, c2 the bias corrections of the step.
/// </summary>
internal readonly unsafe struct AdamStep(in StepConstants k, bool decoupled) : IOptimizerStep
{
    private readonly double _lr = k.LearningRate, _c1 = k.Correction1, _c2 = k.Correction2;
    private readonly double _coupled = decoupled ? 0 : k.WeightDecay, _after = decoupled ? k.LearningRate * k.WeightDecay : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Vector<S, TV>(in ParameterBlock p) where S : ISimd<TV> where TV : struct
    {
        TV coupled = S.Splat(_coupled), after = S.Splat(_after), lr = S.Splat(_lr), c1 = S.Splat(_c1), c2 = S.Splat(_c2);
        TV b1 = S.Splat(StepConstants.Beta1), b2 = S.Splat(StepConstants.Beta2), eps = S.Splat(StepConstants.Epsilon);
        TV ob1 = S.Splat(1 - StepConstants.Beta1), ob2 = S.Splat(1 - StepConstants.Beta2);
        nint i = 0;
        for (; i + S.Count <= p.Count; i += S.Count)
        {
            TV w = Lanes.Load<S, TV>(p.W, i), d = Lanes.Load<S, TV>(p.Decay, i);
            TV g = S.Add(Lanes.Load<S, TV>(p.Grad, i), S.Multiply(Lanes.Load<S, TV>(p.L2, i), w));
            g = S.Add(g, S.Multiply(S.Multiply(coupled, d), w));
            TV m = S.Add(S.Multiply(b1, Lanes.Load<S, TV>(p.M, i)), S.Multiply(ob1, g));
            TV v = S.Add(S.Multiply(b2, Lanes.Load<S, TV>(p.V, i)), S.Multiply(ob2, S.Multiply(g, g)));
            Lanes.Store<S, TV>(m, p.M, i);
            Lanes.Store<S, TV>(v, p.V, i);
            TV s = S.Divide(lr, S.Add(S.Sqrt(S.Multiply(v, c2)), eps));
            TV next = S.Subtract(w, S.Multiply(s, S.Multiply(m, c1)));
            next = S.Subtract(next, S.Multiply(S.Multiply(after, d), w));
            Lanes.Store<S, TV>(Lanes.SoftThreshold<S, TV>(next, S.Multiply(s, Lanes.Load<S, TV>(p.L1, i))), p.W, i);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Scalar(in ParameterBlock p, nint i)
    {
        double w = p.W[i], d = p.Decay[i];
        double g = p.Grad[i] + p.L2[i] * w;
        g += _coupled * d * w;
        double m = StepConstants.Beta1 * p.M[i] + (1 - StepConstants.Beta1) * g;
        double v = StepConstants.Beta2 * p.V[i] + (1 - StepConstants.Beta2) * (g * g);
        p.M[i] = m;
        p.V[i] = v;
        double s = _lr / (Math.Sqrt(v * _c2) + StepConstants.Epsilon);
        double next = w - s * (m * _c1);
        next -= _after * d * w;
        p.W[i] = SgdStep.SoftThreshold(next, s * p.L1[i]);
    }
}

/// <summary>
/// The parameter updates of sgd, adam and adamW (<see cref="SgdStep"/>, <see cref="AdamStep"/>) over a
/// <see cref="ParameterBlock"/>: one routine generic over the operator struct, in Vector512, Vector256 or Vector128
/// lanes, the rest (and the scalar tier) through the operator's scalar twin. The L1 part is the proximal soft-threshold
/// <c>S(w, t) = max(w - t, 0) + min(w + t, 0)</c> after the step.
/// </summary>
/// <remarks>
/// Every tier does the same operations per parameter in the same order as the scalar twin, so all agree bitwise (the
/// tests check every tier against the twin).
/// </remarks>
internal static unsafe class OptimizerKernels
{
    /// <summary>Updates every parameter of <paramref name="p"/> by <paramref name="op"/>, on the tier <see cref="KernelIsa"/> runs.</summary>
    public static void Update<TOp>(in TOp op, in ParameterBlock p) where TOp : struct, IOptimizerStep => Update(op, p, KernelIsa.Current);

    /// <summary><see cref="Update{TOp}(in TOp, in ParameterBlock)"/> on the given tier (tests run every tier).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Update<TOp>(in TOp op, in ParameterBlock p, KernelPath tier) where TOp : struct, IOptimizerStep
    {
        // Local copies: the JIT keeps their fields in registers (through the references it would reload them after every
        // store, not knowing that the stores cannot reach them).
        TOp o = op;
        ParameterBlock block = p;
        nint i = tier switch
        {
            KernelPath.Vector512 => o.Vector<Simd512, Vector512<double>>(block),
            KernelPath.Vector256 => o.Vector<Simd256, Vector256<double>>(block),
            KernelPath.Vector128 => o.Vector<Simd128, Vector128<double>>(block),
            _ => 0,
        };
        for (; i < block.Count; i++) o.Scalar(block, i);
    }
}

/// <summary>The loads, stores and soft-threshold of the optimizer steps on one vector width.</summary>
internal static unsafe class Lanes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<S, TV>(double* source, nint i) where S : ISimd<TV> where TV : struct => S.Load(ref *source, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<S, TV>(TV value, double* destination, nint i) where S : ISimd<TV> where TV : struct =>
        S.Store(value, ref *destination, (nuint)i);

    /// <summary>max(x - t, 0) + min(x + t, 0), lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SoftThreshold<S, TV>(TV x, TV t) where S : ISimd<TV> where TV : struct =>
        S.Add(S.Max(S.Subtract(x, t), S.Zero), S.Min(S.Add(x, t), S.Zero));
}
