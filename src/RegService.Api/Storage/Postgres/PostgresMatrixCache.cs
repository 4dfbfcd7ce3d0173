using System.Globalization;
using Microsoft.Extensions.Options;
using RegService.Api.Infrastructure;

namespace RegService.Api.Storage.Postgres;

/// <summary>
/// This replica's local copies of data set matrices, one <c>&lt;id&gt;.f64</c> file per data set
/// under <c>&lt;DataDirectory&gt;/cache</c> in the stored layout (float64 little-endian,
/// column-major). Data sets are immutable, so a cached file never goes stale. The files take at most
/// Storage:CacheBytes: adding one evicts the least recently used (by last write time, which a hit
/// refreshes) until it fits. Several processes on one host may share the directory: files are
/// written under a name unique to the writer and renamed into place without overwriting, and a file
/// evicted under a reader is fetched again.
/// </summary>
public sealed class PostgresMatrixCache
{
    private readonly long _capacity;
    private readonly ILogger<PostgresMatrixCache> _logger;
    private readonly object _evictGate = new();

    public PostgresMatrixCache(IOptions<StorageOptions> options, ILogger<PostgresMatrixCache> logger)
    {
        _logger = logger;
        _capacity = Math.Max(0, options.Value.CacheBytes);
        Directory = Path.Combine(Path.GetFullPath(options.Value.DataDirectory), "cache");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public long Capacity => _capacity;

    public string PathOf(string id) => Path.Combine(Directory, id + ".f64");

    /// <summary>A file name no other writer (thread or process) uses, in the cache directory.</summary>
    public string TemporaryPath(string id) =>
        Path.Combine(Directory, $"{id}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}.tmp");

    /// <summary>The cached file of a data set, refreshed as recently used; null on a miss.</summary>
    public string? TryGet(string id)
    {
        var path = PathOf(id);
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            return path;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (IOException) when (!File.Exists(path))
        {
            return null;
        }
    }

    /// <summary>
    /// Moves a complete temporary file into the cache (evicting older files to make room). False, the
    /// file left in place for the caller to use and delete, when it is larger than the whole cache.
    /// </summary>
    public bool Admit(string id, string temporary)
    {
        long size = new FileInfo(temporary).Length;
        if (size > _capacity) return false;
        MakeRoom(size);
        try
        {
            File.Move(temporary, PathOf(id), overwrite: false);
        }
        catch (IOException) when (File.Exists(PathOf(id)))
        {
            // Another thread or process cached it first: same immutable bytes.
            TryDelete(temporary);
        }
        return true;
    }

    /// <summary>Drops a data set's cached file (its data set was deleted).</summary>
    public void Remove(string id) => TryDelete(PathOf(id));

    /// <summary>Cached files of data sets that no longer exist, and temporary files older than a day.</summary>
    public int RemoveUnknown(IReadOnlySet<string> known)
    {
        int removed = 0;
        foreach (var file in new DirectoryInfo(Directory).EnumerateFiles())
        {
            var name = file.Name;
            bool stale = name.EndsWith(".f64", StringComparison.Ordinal)
                ? !known.Contains(name[..^4])
                : name.EndsWith(".tmp", StringComparison.Ordinal) && file.LastWriteTimeUtc < DateTime.UtcNow.AddDays(-1);
            if (stale && TryDelete(file.FullName)) removed++;
        }
        return removed;
    }

    /// <summary>Evicts least recently used files until <paramref name="incoming"/> more bytes fit.</summary>
    private void MakeRoom(long incoming)
    {
        lock (_evictGate)
        {
            var files = new DirectoryInfo(Directory).EnumerateFiles("*.f64").ToList();
            long total = files.Sum(f => f.Length);
            foreach (var file in files.OrderBy(f => f.LastWriteTimeUtc))
            {
                if (total + incoming <= _capacity) break;
                if (TryDelete(file.FullName))
                {
                    total -= file.Length;
                    _logger.LogDebug("Evicted {File} from the data set cache", file.Name);
                }
            }
        }
    }

    private bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (IOException ex)
        {
            _logger.LogWarning(ex, "Could not delete {Path}", path);
            return false;
        }
        catch (UnauthorizedAccessException ex)
        {
            _logger.LogWarning(ex, "Could not delete {Path}", path);
            return false;
        }
    }
}
