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

    /// <summary>The names (without .json) of tests/fixtures/&lt;name&gt;'s files matching <paramref name="pattern"/>, in order, that
    /// <paramref name="keep"/> keeps (by file name): the cases of a fixture theory.</summary>
    public static TheoryData<string> Cases(string name, string pattern = "*.json", Func<string, bool>? keep = null)
    {
        var data = new TheoryData<string>();
        foreach (var file in System.IO.Directory.GetFiles(Directory(name), pattern).Order())
            if (keep is null || keep(Path.GetFileName(file))) data.Add(Path.GetFileNameWithoutExtension(file));
        return data;
    }

    /// <summary>A JSON array of numbers.</summary>
    public static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];
}
