using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
/// One optimizer's update, written once over any vector width (<c>TLane</c> lanes at a time) and once for one parameter
/// in plain doubles (the scalar twin, which also does the tail). Both do the same operations in the same order (no
/// contraction into FMAs), so they agree bitwise.
/// </summary>
internal unsafe interface IOptimizerStep
{
    /// <summary>
    /// The whole lanes of <paramref name="p"/> from its start; returns where the tail starts. (The loop is the operator's
    /// so that its constants are broadcast once, before it: the JIT does not hoist them.)
    /// </summary>
    nint Vector<TLane>(in ParameterBlock p) where TLane : struct, ILane<TLane>;

    /// <summary>Parameter i of <paramref name="p"/>.</summary>
    void Scalar(in ParameterBlock p, nint i);
}

/// <summary>sgd: with g = grad + l2 w, <c>w' = w - lr (g + wd decay w)</c>, then <c>w' = S(w', lr l1)</c>.</summary>
internal readonly unsafe struct SgdStep(in StepConstants k) : IOptimizerStep
{
    private readonly double _lr = k.LearningRate, _wd = k.WeightDecay;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Vector<T>(in ParameterBlock p) where T : struct, ILane<T>
    {
        T lr = T.Create(_lr), wd = T.Create(_wd);
        nint i = 0;
        for (; i + T.Count <= p.Count; i += T.Count)
        {
            T w = T.Load(p.W + i);
            T g = T.Load(p.Grad + i) + T.Load(p.L2 + i) * w;
            g += wd * T.Load(p.Decay + i) * w;
            T.SoftThreshold(w - lr * g, lr * T.Load(p.L1 + i)).Store(p.W + i);
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
    public nint Vector<T>(in ParameterBlock p) where T : struct, ILane<T>
    {
        T coupled = T.Create(_coupled), after = T.Create(_after), lr = T.Create(_lr), c1 = T.Create(_c1), c2 = T.Create(_c2);
        T b1 = T.Create(StepConstants.Beta1), b2 = T.Create(StepConstants.Beta2), eps = T.Create(StepConstants.Epsilon);
        T ob1 = T.Create(1 - StepConstants.Beta1), ob2 = T.Create(1 - StepConstants.Beta2);
        nint i = 0;
        for (; i + T.Count <= p.Count; i += T.Count)
        {
            T w = T.Load(p.W + i), d = T.Load(p.Decay + i);
            T g = T.Load(p.Grad + i) + T.Load(p.L2 + i) * w;
            g += coupled * d * w;
            T m = b1 * T.Load(p.M + i) + ob1 * g;
            T v = b2 * T.Load(p.V + i) + ob2 * (g * g);
            m.Store(p.M + i);
            v.Store(p.V + i);
            T s = lr / (T.Sqrt(v * c2) + eps);
            T next = w - s * (m * c1);
            next -= after * d * w;
            T.SoftThreshold(next, s * T.Load(p.L1 + i)).Store(p.W + i);
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
    internal enum Tier { Vector512, Vector256, Vector128, Scalar }

    /// <summary>The engine's one instruction-set choice (<see cref="KernelIsa"/>), as these kernels' tier.</summary>
    private static Tier Resolve() => KernelIsa.Current switch
    {
        KernelPath.Vector512 => Tier.Vector512,
        KernelPath.Vector256 => Tier.Vector256,
        KernelPath.Vector128 => Tier.Vector128,
        _ => Tier.Scalar,
    };

    /// <summary>Updates every parameter of <paramref name="p"/> by <paramref name="op"/>.</summary>
    public static void Update<TOp>(in TOp op, in ParameterBlock p) where TOp : struct, IOptimizerStep => Update(op, p, Resolve());

    /// <summary><see cref="Update{TOp}(in TOp, in ParameterBlock)"/> on the given tier (tests run every tier).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Update<TOp>(in TOp op, in ParameterBlock p, Tier tier) where TOp : struct, IOptimizerStep
    {
        // Local copies: the JIT keeps their fields in registers (through the references it would reload them after every
        // store, not knowing that the stores cannot reach them).
        TOp o = op;
        ParameterBlock block = p;
        nint i = tier switch
        {
            Tier.Vector512 => o.Vector<Lane512>(block),
            Tier.Vector256 => o.Vector<Lane256>(block),
            Tier.Vector128 => o.Vector<Lane128>(block),
            _ => 0,
        };
        for (; i < block.Count; i++) o.Scalar(block, i);
    }
}

/// <summary>
/// The arithmetic an optimizer step needs, on one vector width: a thin wrapper the JIT sees through, so that an update is
/// written once for Vector512, Vector256 and Vector128.
/// </summary>
internal unsafe interface ILane<TSelf> where TSelf : struct, ILane<TSelf>
{
    static abstract int Count { get; }
    static abstract TSelf Create(double value);
    static abstract TSelf Load(double* source);
    void Store(double* destination);
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    static abstract TSelf Sqrt(TSelf a);

    /// <summary>max(x - t, 0) + min(x + t, 0), lane by lane.</summary>
    static abstract TSelf SoftThreshold(TSelf x, TSelf t);
}

internal readonly unsafe struct Lane512(Vector512<double> v) : ILane<Lane512>
{
    private readonly Vector512<double> _v = v;
    public static int Count => Vector512<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 Create(double value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 Load(double* source) => new(Vector512.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(double* destination) => _v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 operator +(Lane512 a, Lane512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 operator -(Lane512 a, Lane512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 operator *(Lane512 a, Lane512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 operator /(Lane512 a, Lane512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane512 Sqrt(Lane512 a) => new(Vector512.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512 SoftThreshold(Lane512 x, Lane512 t) =>
        new(Vector512.Max(x._v - t._v, Vector512<double>.Zero) + Vector512.Min(x._v + t._v, Vector512<double>.Zero));
}

internal readonly unsafe struct Lane256(Vector256<double> v) : ILane<Lane256>
{
    private readonly Vector256<double> _v = v;
    public static int Count => Vector256<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 Create(double value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 Load(double* source) => new(Vector256.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(double* destination) => _v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 operator +(Lane256 a, Lane256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 operator -(Lane256 a, Lane256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 operator *(Lane256 a, Lane256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 operator /(Lane256 a, Lane256 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane256 Sqrt(Lane256 a) => new(Vector256.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256 SoftThreshold(Lane256 x, Lane256 t) =>
        new(Vector256.Max(x._v - t._v, Vector256<double>.Zero) + Vector256.Min(x._v + t._v, Vector256<double>.Zero));
}

internal readonly unsafe struct Lane128(Vector128<double> v) : ILane<Lane128>
{
    private readonly Vector128<double> _v = v;
    public static int Count => Vector128<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 Create(double value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 Load(double* source) => new(Vector128.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(double* destination) => _v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 operator +(Lane128 a, Lane128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 operator -(Lane128 a, Lane128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 operator *(Lane128 a, Lane128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 operator /(Lane128 a, Lane128 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lane128 Sqrt(Lane128 a) => new(Vector128.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128 SoftThreshold(Lane128 x, Lane128 t) =>
        new(Vector128.Max(x._v - t._v, Vector128<double>.Zero) + Vector128.Min(x._v + t._v, Vector128<double>.Zero));
}
