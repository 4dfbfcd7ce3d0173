using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RegService.Numerics.Kernels;

namespace RegService.Numerics.Training;

/// <summary>The constants of one optimizer step.</summary>
/// <param name="LearningRate">lr.</param>
/// <param name="WeightDecay">The optimizer's own decay (L2 in the gradient for sgd and adam, decoupled for adamW).</param>
/// <param name="Beta1">Adam's first-moment decay (0.9).</param>
/// <param name="Beta2">Adam's second-moment decay (0.999).</param>
/// <param name="Epsilon">Adam's epsilon (1e-8).</param>
/// <param name="Correction1">1 / (1 - Beta1^t), the bias correction of step t (1-based).</param>
/// <param name="Correction2">1 / (1 - Beta2^t).</param>
internal readonly record struct StepConstants(
    double LearningRate, double WeightDecay, double Beta1, double Beta2, double Epsilon, double Correction1, double Correction2)
{
    public static StepConstants At(long t, double learningRate, double weightDecay, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
        new(learningRate, weightDecay, beta1, beta2, epsilon, 1 / (1 - Math.Pow(beta1, t)), 1 / (1 - Math.Pow(beta2, t)));
}

/// <summary>
/// Parameter updates of sgd, adam and adamW over a contiguous range of parameters. Per parameter i: <c>l2[i]</c> is
/// lambda (1 - alpha) v (0 for biases), <c>l1[i]</c> is lambda alpha v (first-layer weights only), <c>decay[i]</c> is 1
/// for weights and 0 for biases (weight decay leaves biases alone). With g = grad + l2 w:
/// <code>
/// sgd:   w' = w - lr (g + wd decay w);                                         w' = S(w', lr l1)
/// adam:  g += wd decay w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
///        s = lr / (sqrt(v c2) + eps);  w' = w - s (m c1);                         w' = S(w', s l1)
/// adamW: as adam without wd in g, then w' -= lr wd decay w (decoupled);           w' = S(w', s l1)
/// </code>
/// S the soft-threshold <c>max(w - t, 0) + min(w + t, 0)</c>, the proximal step of the L1 part. The vector paths do the
/// same operations in the same order as the scalar twins (no contraction into FMAs), so they agree bitwise.
/// </summary>
internal static unsafe class OptimizerKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sgd(double* w, double* grad, double* l2, double* l1, double* decay, int count, in StepConstants k, KernelPath path = KernelPath.Auto)
    {
        path = KernelIsa.Resolve(path);
        int i = 0;
        double lr = k.LearningRate, wd = k.WeightDecay;
        if (path == KernelPath.Vector512)
        {
            var vlr = Vector512.Create(lr);
            var vwd = Vector512.Create(wd);
            for (; i + 8 <= count; i += 8)
            {
                var wi = Vector512.Load(w + i);
                var g = Vector512.Load(grad + i) + Vector512.Load(l2 + i) * wi;
                g += vwd * Vector512.Load(decay + i) * wi;
                var next = wi - vlr * g;
                var t = vlr * Vector512.Load(l1 + i);
                (Vector512.Max(next - t, Vector512<double>.Zero) + Vector512.Min(next + t, Vector512<double>.Zero)).Store(w + i);
            }
        }
        else if (path == KernelPath.Vector256)
        {
            var vlr = Vector256.Create(lr);
            var vwd = Vector256.Create(wd);
            for (; i + 4 <= count; i += 4)
            {
                var wi = Vector256.Load(w + i);
                var g = Vector256.Load(grad + i) + Vector256.Load(l2 + i) * wi;
                g += vwd * Vector256.Load(decay + i) * wi;
                var next = wi - vlr * g;
                var t = vlr * Vector256.Load(l1 + i);
                (Vector256.Max(next - t, Vector256<double>.Zero) + Vector256.Min(next + t, Vector256<double>.Zero)).Store(w + i);
            }
        }
        SgdScalar(w + i, grad + i, l2 + i, l1 + i, decay + i, count - i, k);
    }

    /// <summary>Scalar twin of <see cref="Sgd"/>.</summary>
    public static void SgdScalar(double* w, double* grad, double* l2, double* l1, double* decay, int count, in StepConstants k)
    {
        double lr = k.LearningRate, wd = k.WeightDecay;
        for (int i = 0; i < count; i++)
        {
            double wi = w[i];
            double g = grad[i] + l2[i] * wi;
            g += wd * decay[i] * wi;
            double next = wi - lr * g;
            double t = lr * l1[i];
            w[i] = Math.Max(next - t, 0) + Math.Min(next + t, 0);
        }
    }

    /// <summary>Adam (decoupled false) or AdamW (decoupled true) on the parameters [0, count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam(double* w, double* grad, double* m, double* v, double* l2, double* l1, double* decay, int count,
        in StepConstants k, bool decoupled, KernelPath path = KernelPath.Auto)
    {
        path = KernelIsa.Resolve(path);
        int i = 0;
        double coupled = decoupled ? 0 : k.WeightDecay, after = decoupled ? k.LearningRate * k.WeightDecay : 0;
        if (path == KernelPath.Vector512)
        {
            var vc = Vector512.Create(coupled);
            var va = Vector512.Create(after);
            var b1 = Vector512.Create(k.Beta1);
            var b2 = Vector512.Create(k.Beta2);
            var ob1 = Vector512.Create(1 - k.Beta1);
            var ob2 = Vector512.Create(1 - k.Beta2);
            var c1 = Vector512.Create(k.Correction1);
            var c2 = Vector512.Create(k.Correction2);
            var lr = Vector512.Create(k.LearningRate);
            var eps = Vector512.Create(k.Epsilon);
            for (; i + 8 <= count; i += 8)
            {
                var wi = Vector512.Load(w + i);
                var d = Vector512.Load(decay + i);
                var g = Vector512.Load(grad + i) + Vector512.Load(l2 + i) * wi;
                g += vc * d * wi;
                var mi = b1 * Vector512.Load(m + i) + ob1 * g;
                var vi = b2 * Vector512.Load(v + i) + ob2 * (g * g);
                mi.Store(m + i);
                vi.Store(v + i);
                var s = lr / (Vector512.Sqrt(vi * c2) + eps);
                var next = wi - s * (mi * c1);
                next -= va * d * wi;
                var t = s * Vector512.Load(l1 + i);
                (Vector512.Max(next - t, Vector512<double>.Zero) + Vector512.Min(next + t, Vector512<double>.Zero)).Store(w + i);
            }
        }
        else if (path == KernelPath.Vector256)
        {
            var vc = Vector256.Create(coupled);
            var va = Vector256.Create(after);
            var b1 = Vector256.Create(k.Beta1);
            var b2 = Vector256.Create(k.Beta2);
            var ob1 = Vector256.Create(1 - k.Beta1);
            var ob2 = Vector256.Create(1 - k.Beta2);
            var c1 = Vector256.Create(k.Correction1);
            var c2 = Vector256.Create(k.Correction2);
            var lr = Vector256.Create(k.LearningRate);
            var eps = Vector256.Create(k.Epsilon);
            for (; i + 4 <= count; i += 4)
            {
                var wi = Vector256.Load(w + i);
                var d = Vector256.Load(decay + i);
                var g = Vector256.Load(grad + i) + Vector256.Load(l2 + i) * wi;
                g += vc * d * wi;
                var mi = b1 * Vector256.Load(m + i) + ob1 * g;
                var vi = b2 * Vector256.Load(v + i) + ob2 * (g * g);
                mi.Store(m + i);
                vi.Store(v + i);
                var s = lr / (Vector256.Sqrt(vi * c2) + eps);
                var next = wi - s * (mi * c1);
                next -= va * d * wi;
                var t = s * Vector256.Load(l1 + i);
                (Vector256.Max(next - t, Vector256<double>.Zero) + Vector256.Min(next + t, Vector256<double>.Zero)).Store(w + i);
            }
        }
        AdamScalar(w + i, grad + i, m + i, v + i, l2 + i, l1 + i, decay + i, count - i, k, decoupled);
    }

    /// <summary>Scalar twin of <see cref="Adam"/>.</summary>
    public static void AdamScalar(double* w, double* grad, double* m, double* v, double* l2, double* l1, double* decay, int count,
        in StepConstants k, bool decoupled)
    {
        double coupled = decoupled ? 0 : k.WeightDecay, after = decoupled ? k.LearningRate * k.WeightDecay : 0;
        double ob1 = 1 - k.Beta1, ob2 = 1 - k.Beta2;
        for (int i = 0; i < count; i++)
        {
            double wi = w[i], d = decay[i];
            double g = grad[i] + l2[i] * wi;
            g += coupled * d * wi;
            double mi = k.Beta1 * m[i] + ob1 * g;
            double vi = k.Beta2 * v[i] + ob2 * (g * g);
            m[i] = mi;
            v[i] = vi;
            double s = k.LearningRate / (Math.Sqrt(vi * k.Correction2) + k.Epsilon);
            double next = wi - s * (mi * k.Correction1);
            next -= after * d * wi;
            double t = s * l1[i];
            w[i] = Math.Max(next - t, 0) + Math.Min(next + t, 0);
        }
    }
}
