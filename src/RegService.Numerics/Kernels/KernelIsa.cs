using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Kernels;

/// <summary>
/// An instruction-set tier of the kernels, widest first. <see cref="Auto"/> asks for the tier
/// <see cref="KernelIsa.Current"/> names; any other value asks for at most that tier.
/// </summary>
internal enum KernelPath
{
    Auto,
    Vector512,
    Vector256,
    Vector128,
    Scalar,
}

/// <summary>
/// The one place where the engine chooses its instruction set: Vector512 → Vector256 → Vector128 → scalar.
/// Every kernel with vector tiers asks <see cref="Current"/> (or <see cref="Resolve"/> for an explicit request).
/// </summary>
/// <remarks>
/// <para>
/// A tier is chosen when the runtime accelerates its vectors and the kernels' instructions are there:
/// Vector512 needs AVX-512F (its packers use AVX-512F shuffles); Vector256 needs fused multiply-add as well as AVX2
/// (its kernels are FMA chains); Vector128 needs only accelerated 128-bit vectors (its kernels use
/// <c>MultiplyAddEstimate</c>, fused where the hardware has FMA). Environment switches of the runtime
/// (<c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableAVX2=0</c>, <c>DOTNET_EnableHWIntrinsic=0</c>) select the lower tiers
/// for a whole process.
/// </para>
/// <para>
/// Tests run every tier the machine has in one process with <see cref="Force"/>, which lowers the tier for the
/// calling flow of execution only (an <see cref="AsyncLocal{T}"/>, so the worker threads a kernel starts inherit it
/// and tests running beside it do not). Until a test forces a tier, reading <see cref="Current"/> costs one static read.
/// </para>
/// </remarks>
internal static class KernelIsa
{
    private static readonly AsyncLocal<KernelPath> s_forced = new();
    private static volatile bool s_anyForced;

    /// <summary>The widest tier this process can run.</summary>
    public static KernelPath Best { get; } = Detect();

    /// <summary>The tier kernels run now: <see cref="Best"/>, or a narrower one forced by a test.</summary>
    public static KernelPath Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!s_anyForced) return Best;
            var forced = s_forced.Value;
            return forced == KernelPath.Auto ? Best : Max(forced, Best);
        }
    }

    /// <summary>The tiers this process can run, widest first (Scalar always last).</summary>
    public static IReadOnlyList<KernelPath> Available { get; } =
        [.. new[] { KernelPath.Vector512, KernelPath.Vector256, KernelPath.Vector128, KernelPath.Scalar }.Where(p => p >= Best)];

    /// <summary>The tier to run for a request: <see cref="Current"/> for <see cref="KernelPath.Auto"/>, otherwise the request
    /// lowered to what the hardware has.</summary>
    public static KernelPath Resolve(KernelPath requested) => requested == KernelPath.Auto ? Current : Max(requested, Best);

    /// <summary>Doubles per vector of a resolved tier: 8, 4 or 2, and 1 for the scalar tier.</summary>
    public static int Lanes(KernelPath path) => path switch
    {
        KernelPath.Vector512 => Vector512<double>.Count,
        KernelPath.Vector256 => Vector256<double>.Count,
        KernelPath.Vector128 => Vector128<double>.Count,
        _ => 1,
    };

    /// <summary>The tier's name as reports print it (Vector512, Vector256, Vector128, scalar).</summary>
    public static string Name(KernelPath path) => Resolve(path) is var p && p == KernelPath.Scalar ? "scalar" : p.ToString();

    /// <summary>Lowers <see cref="Current"/> to <paramref name="path"/> for the calling flow until disposed (tests).</summary>
    public static IDisposable Force(KernelPath path)
    {
        s_anyForced = true;
        var previous = s_forced.Value;
        s_forced.Value = path;
        return new Restore(previous);
    }

    private sealed class Restore(KernelPath previous) : IDisposable
    {
        public void Dispose() => s_forced.Value = previous;
    }

    // Larger enum values are narrower tiers.
    private static KernelPath Max(KernelPath a, KernelPath b) => (KernelPath)Math.Max((int)a, (int)b);

    private static KernelPath Detect()
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) return KernelPath.Vector512;
        if (Vector256.IsHardwareAccelerated && Fma.IsSupported) return KernelPath.Vector256;
        if (Vector128.IsHardwareAccelerated) return KernelPath.Vector128;
        return KernelPath.Scalar;
    }
}
