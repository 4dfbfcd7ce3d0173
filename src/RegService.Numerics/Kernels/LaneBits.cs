using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Kernels;

/// <summary>
/// The set lanes of a comparison's mask as bits, for the element-wise loops that take their width from
/// <see cref="Vector{T}"/>: a loop then visits only the lanes a block's test picked (by trailing zero count) instead of
/// deciding every element of that block again one by one.
/// </summary>
internal static class LaneBits
{
    /// <summary>Bit k set where lane k of <paramref name="mask"/> is set (all ones); <see cref="Vector{T}"/>'s width is a JIT constant, so one arm remains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Of(Vector<long> mask) => Vector<long>.Count switch
    {
        8 => (uint)Vector512.ExtractMostSignificantBits(mask.AsVector512()),
        4 => Vector256.ExtractMostSignificantBits(mask.AsVector256()),
        2 => Vector128.ExtractMostSignificantBits(mask.AsVector128()),
        _ => Lanes(mask),
    };

    private static uint Lanes(Vector<long> mask)
    {
        uint bits = 0;
        for (int k = 0; k < Vector<long>.Count; k++)
            if (mask[k] != 0) bits |= 1u << k;
        return bits;
    }
}
