using System.Globalization;
using System.Text;
using RegService.Numerics.Data;

namespace RegService.Numerics.Tests.Data;

/// <summary>
/// The fast number parser must agree bit for bit with double.Parse. On x86 the digits are read
/// with SSE4.1; run these tests with DOTNET_EnableHWIntrinsic=0 to cover the portable path too.
/// </summary>
public class DecimalParserTests
{
    private static void AssertParsesLikeDouble(string text)
    {
        var result = DecimalParser.TryParse(Encoding.ASCII.GetBytes(text), out double value);
        Assert.True(result == DecimalParser.Result.Ok, $"'{text}' gave {result}");
        double expected = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(value),
            $"'{text}': parsed {value:R} but double.Parse gives {expected:R}");
    }

    private static IEnumerable<double> RandomDoubles(int seed, int count)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            switch (i % 4)
            {
                case 0: yield return rng.NextDouble() - 0.5; break;
                case 1: yield return (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30)); break;
                case 2: yield return BitConverter.Int64BitsToDouble(rng.NextInt64()) is var d && double.IsFinite(d) ? d : 1.0; break;
                default: yield return rng.Next(-1_000_000, 1_000_000) * Math.Pow(10, rng.Next(-12, 5)); break;
            }
        }
    }

    [Theory]
    [InlineData("G10")]  // like %.10g
    [InlineData("G17")]  // like %.17g: needs the fallback often
    [InlineData("R")]
    [InlineData("E6")]
    [InlineData("E16")]
    [InlineData("F8")]
    [InlineData("G5")]
    public void Random_values_are_bit_exact(string format)
    {
        foreach (double d in RandomDoubles(format.GetHashCode(StringComparison.Ordinal) & 0xFFFF, 20_000))
        {
            string s = d.ToString(format, CultureInfo.InvariantCulture);
            AssertParsesLikeDouble(s);
            AssertParsesLikeDouble(s.ToLowerInvariant());
        }
    }

    [Fact]
    public void C_style_g_format_is_bit_exact()
    {
        // The shape of R's and numpy's "%.10g": lower-case e, two-digit signed exponent.
        var rng = new Random(17);
        for (int i = 0; i < 50_000; i++)
        {
            double d = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-9, 12));
            string s = d.ToString("G10", CultureInfo.InvariantCulture).Replace("E-0", "e-0").Replace("E+", "e+").Replace("E-", "e-");
            AssertParsesLikeDouble(s);
        }
    }

    [Fact]
    public void Integers_and_sign_and_dot_forms_are_bit_exact()
    {
        var rng = new Random(23);
        for (int i = 0; i < 20_000; i++)
        {
            long n = rng.NextInt64(-10_000_000_000_000_000, 10_000_000_000_000_000) >> rng.Next(0, 60);
            AssertParsesLikeDouble(n.ToString(CultureInfo.InvariantCulture));
            AssertParsesLikeDouble("+" + Math.Abs(n).ToString(CultureInfo.InvariantCulture));
            string frac = rng.Next(0, 1_000_000_000).ToString(CultureInfo.InvariantCulture);
            AssertParsesLikeDouble("." + frac);
            AssertParsesLikeDouble("-." + frac);
            AssertParsesLikeDouble("+." + frac + "e" + rng.Next(-40, 40).ToString(CultureInfo.InvariantCulture));
            AssertParsesLikeDouble(frac + ".");
            AssertParsesLikeDouble("0.000" + frac + "E+" + rng.Next(0, 30).ToString(CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("+0.0")]
    [InlineData("0e500")]
    [InlineData("1e22")]
    [InlineData("1e23")]
    [InlineData("1e-22")]
    [InlineData("1e-23")]
    [InlineData("9007199254740992")]     // 2^53
    [InlineData("9007199254740993")]     // 2^53 + 1: not exact, must round like double.Parse
    [InlineData("9007199254740993e-5")]
    [InlineData("12345678901234567890")] // 20 digits
    [InlineData("1234567890123456789012345678901234567890")]
    [InlineData("0.1234567890123456789012345678901234567890")]
    [InlineData("1.0000000000000000000000000001")]
    [InlineData("00000000000000000000000000000001.5")]
    [InlineData("0.000000000000000000000000000000000000001")]
    [InlineData("1.7976931348623157e308")]
    [InlineData("4.9406564584124654e-324")]
    [InlineData("2.2250738585072011e-308")]
    [InlineData("1e-400")]
    [InlineData("123456789012345678")]
    [InlineData("0.30000000000000004")]
    [InlineData("2.5E+10")]
    [InlineData("1.234567891e-05")]
    [InlineData("-0.1234567891")]
    public void Edge_cases_are_bit_exact(string text) => AssertParsesLikeDouble(text);

    [Theory]
    [InlineData("", "Invalid")]
    [InlineData("-", "Invalid")]
    [InlineData(".", "Invalid")]
    [InlineData("e5", "Invalid")]
    [InlineData("1e", "Invalid")]
    [InlineData("1e+", "Invalid")]
    [InlineData("1.2.3", "Invalid")]
    [InlineData(" 1", "Invalid")]
    [InlineData("1 ", "Invalid")]
    [InlineData("0x1F", "Invalid")]
    [InlineData("1,5", "Invalid")]
    [InlineData("NaN", "NaN")]
    [InlineData("-nan", "NaN")]
    [InlineData("Infinity", "Infinity")]
    [InlineData("-INF", "Infinity")]
    [InlineData("1e309", "OutOfRange")]
    [InlineData("-1e400", "OutOfRange")]
    [InlineData("1e99999999999999", "OutOfRange")]
    public void Rejects_and_classifies(string text, string expected)
    {
        Assert.Equal(expected, DecimalParser.TryParse(Encoding.UTF8.GetBytes(text), out _).ToString());
    }
}
