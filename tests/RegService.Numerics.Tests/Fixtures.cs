using System.Text.Json;

namespace RegService.Numerics.Tests;

/// <summary>Finds tests/fixtures/&lt;name&gt; above the test binaries, and reads their JSON arrays.</summary>
internal static class Fixtures
{
    public static string Directory(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", name);
            if (System.IO.Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/fixtures/{name} not found above the test binaries");
    }

    /// <summary>A JSON array of numbers.</summary>
    public static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];
}
