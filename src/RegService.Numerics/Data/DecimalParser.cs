using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RegService.Numerics.Data;

/// <summary>
/// Parses invariant-culture decimal numbers from UTF-8 text, correctly rounded.
/// Grammar: <c>[+|-](digits[.digits*] | .digits)[(e|E)[+|-]digits]</c>.
/// Fast path (Clinger): up to 19 significant digits are accumulated into a <see cref="ulong"/>;
/// when that mantissa is at most 2^53 and the decimal exponent is within [-22, 22] both the
/// mantissa and the power of ten are exact doubles, so one IEEE multiply or divide gives the
/// correctly rounded result. Everything else falls back to <see cref="double.Parse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider)"/>.
/// </summary>
internal static unsafe class DecimalParser
{
    internal enum Result
    {
        Ok,
        Invalid,
        NaN,
        Infinity,
        OutOfRange,
    }

    private const ulong MaxExactMantissa = 1UL << 53;

    private static ReadOnlySpan<double> PowersOfTen =>
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>
    /// Bytes that must be readable after the end of the text given to <see cref="Scan"/>
    /// (up to sixteen digits are tested at once).
    /// </summary>
    public const int Padding = 16;

    /// <summary>
    /// Scans the longest number at <paramref name="p"/>. The text must be followed by a byte
    /// that cannot continue a number and then by <see cref="Padding"/> readable bytes (the CSV
    /// chunks end with '\n' and their buffers have slack). Returns the position after the
    /// number, or null when no number starts at <paramref name="p"/> or the number is outside
    /// the float64 range (then <paramref name="value"/> is an infinity; otherwise 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Scan(byte* p, out double value)
    {
        byte* start = p;
        bool negative = Sign(ref p);

        // Digits are accumulated while the mantissa cannot overflow; past that the fast path
        // is impossible anyway (the mantissa would exceed 2^53), so it saturates and the number
        // goes to the fallback.
        ulong mantissa = 0;
        uint d;

        byte* digits = p;
        uint d0 = (uint)(*p - '0');
        if (d0 <= 9 && p[1] == (byte)'.')
        {
            // The most common shape, "d.ddd": one integer digit.
            mantissa = d0;
            p++;
        }
        else
        {
            p = Digits(p, ref mantissa);
        }
        long digitCount = p - digits;
        int exponent = 0;

        if (*p == (byte)'.')
        {
            p++;
            byte* fraction = p;
            p = Digits(p, ref mantissa);
            long fractionDigits = p - fraction;
            digitCount += fractionDigits;
            exponent = -(int)Math.Min(fractionDigits, 100_000_000);
        }

        if (digitCount == 0)
        {
            value = 0;
            return null;
        }

        if ((*p | 0x20) == 'e')
        {
            byte* e = p + 1;
            bool negativeExponent = Sign(ref e);
            if ((uint)(*e - '0') > 9)
            {
                value = 0;
                return null;
            }
            int explicitExponent = 0;
            while ((d = (uint)(*e - '0')) <= 9)
            {
                if (explicitExponent < 100_000_000) explicitExponent = explicitExponent * 10 + (int)d;
                e++;
            }
            exponent += negativeExponent ? -explicitExponent : explicitExponent;
            p = e;
        }

        if (mantissa <= MaxExactMantissa && (uint)(exponent + 22) <= 44)
        {
            // mantissa <= 2^53 fits a long exactly, and a signed conversion is one instruction;
            // the exponent is within [-22, 22], so the table reads need no bounds checks.
            double v = (long)mantissa;
            ref double powers = ref MemoryMarshal.GetReference(PowersOfTen);
            v = exponent < 0 ? v / Unsafe.Add(ref powers, -exponent) : v * Unsafe.Add(ref powers, exponent);
            value = negative ? -v : v;
            return p;
        }

        value = ParseFallback(start, p);
        return double.IsFinite(value) ? p : null;
    }

    /// <summary>Steps over a sign at <paramref name="p"/>: true after '-', false after '+' or without one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Sign(ref byte* p)
    {
        if (*p == (byte)'-')
        {
            p++;
            return true;
        }
        if (*p == (byte)'+') p++;
        return false;
    }

    /// <summary>Consumes a whole run of ASCII digits into <paramref name="mantissa"/>; returns the position after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* Digits(byte* p, ref ulong mantissa)
    {
        int n;
        if (Sse41.IsSupported)
        {
            do
            {
                n = DigitRun16(p, ref mantissa);
                p += n;
            }
            while (n == 16);
        }
        else
        {
            do
            {
                n = DigitRun(p, ref mantissa);
                p += n;
            }
            while (n == 8);
        }
        return p;
    }

    /// <summary>Row n: a byte shuffle that moves the first n bytes to the end of 16, zeros before them.</summary>
    private static ReadOnlySpan<byte> RightAlign =>
    [
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
        0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
        0x80, 0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        0x80, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
        0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    ];

    /// <summary>Largest mantissa that may take n more digits: any larger one would pass 2^54.</summary>
    private static ReadOnlySpan<ulong> SaturationLimits =>
    [
        ulong.MaxValue, (1UL << 54) / 10 + 1, (1UL << 54) / 100 + 1, (1UL << 54) / 1000 + 1,
        (1UL << 54) / 10000 + 1, (1UL << 54) / 100000 + 1, (1UL << 54) / 1000000 + 1, (1UL << 54) / 10000000 + 1,
        (1UL << 54) / 100000000 + 1, (1UL << 54) / 1000000000 + 1, (1UL << 54) / 10000000000 + 1, (1UL << 54) / 100000000000 + 1,
        (1UL << 54) / 1000000000000 + 1, (1UL << 54) / 10000000000000 + 1, (1UL << 54) / 100000000000000 + 1,
        (1UL << 54) / 1000000000000000 + 1, (1UL << 54) / 10000000000000000 + 1,
    ];

    private static ReadOnlySpan<ulong> IntegerPowersOfTen16 =>
    [
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000,
        100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000, 10000000000000000,
    ];

    /// <summary>
    /// Like <see cref="DigitRun"/> for up to sixteen digits with SSE4.1: the digits are found
    /// with one compare, right-aligned with one shuffle and combined by three multiply-adds.
    /// The mantissa saturates at <see cref="ulong.MaxValue"/> once it would pass 2^54.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DigitRun16(byte* p, ref ulong mantissa)
    {
        Vector128<byte> v = Sse2.Subtract(Sse2.LoadVector128(p), Vector128.Create((byte)'0'));
        Vector128<byte> isDigit = Sse2.CompareEqual(Sse2.Min(v, Vector128.Create((byte)9)), v);
        int n = BitOperations.TrailingZeroCount(~(uint)Sse2.MoveMask(isDigit)); // 0..16
        if (n == 0) return 0;
        Vector128<byte> control = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(RightAlign), (nuint)(n * 16));
        Vector128<byte> aligned = Ssse3.Shuffle(v, control);
        Vector128<short> pairs = Ssse3.MultiplyAddAdjacent(aligned, Vector128.Create(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, (sbyte)1));
        Vector128<int> quads = Sse2.MultiplyAddAdjacent(pairs, Vector128.Create(100, 1, 100, 1, 100, 1, 100, (short)1));
        Vector128<ushort> packed = Sse41.PackUnsignedSaturate(quads, quads);
        Vector128<int> octets = Sse2.MultiplyAddAdjacent(packed.AsInt16(), Vector128.Create(10000, 1, 10000, 1, 10000, 1, 10000, (short)1));
        ulong run = (ulong)(uint)octets.ToScalar() * 100_000_000 + (uint)octets.GetElement(1);
        mantissa = mantissa < Unsafe.Add(ref MemoryMarshal.GetReference(SaturationLimits), n)
            ? mantissa * Unsafe.Add(ref MemoryMarshal.GetReference(IntegerPowersOfTen16), n) + run
            : ulong.MaxValue;
        return n;
    }

    private static ReadOnlySpan<ulong> IntegerPowersOfTen => [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

    /// <summary>
    /// Consumes the run of up to eight ASCII digits at <paramref name="p"/> into
    /// <paramref name="mantissa"/> without a branch per digit and returns its length. Once the
    /// mantissa is too large to take eight more digits it saturates at <see cref="ulong.MaxValue"/>,
    /// which is above 2^53 and so sends the number to the fallback.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DigitRun(byte* p, ref ulong mantissa)
    {
        ulong w = BitConverter.IsLittleEndian ? Unsafe.ReadUnaligned<ulong>(p) : BinaryPrimitivesReverse(Unsafe.ReadUnaligned<ulong>(p));
        // A byte of t is non-zero where w's byte is not a digit (exact up to the first non-digit;
        // a carry out of a byte >= 0xFA can only disturb the bytes after it).
        ulong t = ((w & 0xF0F0F0F0F0F0F0F0UL) ^ 0x3030303030303030UL) |
                  (((w + 0x0606060606060606UL) & 0xF0F0F0F0F0F0F0F0UL) ^ 0x3030303030303030UL);
        int n = System.Numerics.BitOperations.TrailingZeroCount(t) >> 3; // 8 when t == 0
        if (n == 0) return 0;
        // Keep the n digit nibbles, moved to the top so that the missing leading digits are zeros.
        ulong x = (w & 0x0F0F0F0F0F0F0F0FUL) << ((8 - n) << 3);
        x = (x * 10) + (x >> 8);
        x = (((x & 0x000000FF000000FFUL) * (100 + (1000000UL << 32))) +
             (((x >> 16) & 0x000000FF000000FFUL) * (1 + (10000UL << 32)))) >> 32;
        mantissa = mantissa < 100_000_000_000UL
            ? mantissa * Unsafe.Add(ref MemoryMarshal.GetReference(IntegerPowersOfTen), n) + x
            : ulong.MaxValue;
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong BinaryPrimitivesReverse(ulong w) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(w);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double ParseFallback(byte* start, byte* end) =>
        double.Parse(new ReadOnlySpan<byte>(start, (int)(end - start)), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses the whole of <paramref name="text"/> (no surrounding spaces) as a finite number
    /// and classifies failures (NaN and infinity spellings, out of range, anything else).
    /// </summary>
    public static Result TryParse(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty) return Result.Invalid;

        int size = text.Length + 1 + Padding;
        Span<byte> copy = size <= 256 ? stackalloc byte[size] : new byte[size];
        text.CopyTo(copy);
        copy[text.Length..].Clear();
        fixed (byte* p = copy)
        {
            byte* end = Scan(p, out double v);
            if (end == p + text.Length)
            {
                value = v;
                return Result.Ok;
            }
            if (end == null && double.IsInfinity(v))
            {
                // The text up to the end of the number was a valid number; it must also be the
                // whole text to call it out of range rather than not a number.
                if (IsWholeNumber(text)) return Result.OutOfRange;
            }
        }
        return Classify(text);
    }

    private static bool IsWholeNumber(ReadOnlySpan<byte> text)
    {
        int i = 0;
        if (i < text.Length && (text[i] == '+' || text[i] == '-')) i++;
        int digits = 0;
        while (i < text.Length && (uint)(text[i] - '0') <= 9) { i++; digits++; }
        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && (uint)(text[i] - '0') <= 9) { i++; digits++; }
        }
        if (digits == 0) return false;
        if (i < text.Length && (text[i] | 0x20) == 'e')
        {
            i++;
            if (i < text.Length && (text[i] == '+' || text[i] == '-')) i++;
            int expDigits = 0;
            while (i < text.Length && (uint)(text[i] - '0') <= 9) { i++; expDigits++; }
            if (expDigits == 0) return false;
        }
        return i == text.Length;
    }

    private static Result Classify(ReadOnlySpan<byte> text)
    {
        if (text.Length > 0 && (text[0] == '+' || text[0] == '-')) text = text[1..];
        if (text.Length > 12) return Result.Invalid;
        Span<byte> lower = stackalloc byte[text.Length];
        for (int i = 0; i < text.Length; i++) lower[i] = (byte)(text[i] | 0x20);
        if (lower.SequenceEqual("nan"u8)) return Result.NaN;
        if (lower.SequenceEqual("inf"u8) || lower.SequenceEqual("infinity"u8)) return Result.Infinity;
        if (text.SequenceEqual("\u221E"u8)) return Result.Infinity;
        return Result.Invalid;
    }
}
