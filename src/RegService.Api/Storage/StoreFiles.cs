namespace RegService.Api.Storage;

/// <summary>File chores both stores share.</summary>
public static class StoreFiles
{
    /// <summary>Deletes a file if it is there; a failure is logged, not thrown (a leftover is removed as an orphan later).</summary>
    public static void TryDelete(string path, ILogger logger)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Could not delete {Path}", path);
        }
    }
}
