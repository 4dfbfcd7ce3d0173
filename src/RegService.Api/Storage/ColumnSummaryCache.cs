using RegService.Api.Datasets;

namespace RegService.Api.Storage;

/// <summary>
/// Parsed column summaries by data set id, the most recently used first, up to <paramref name="maxColumns"/> summaries in
/// all. A data set never changes once stored, so the summaries one read parsed (50,000 on a wide data set: most of a
/// submission's own time) serve every later read of the same id; the store still reads the row itself each time, so a
/// deleted data set or another tenant's id is not found, and every replica's cache is right without being told.
/// </summary>
public sealed class ColumnSummaryCache(long maxColumns = ColumnSummaryCache.DefaultMaxColumns)
{
    public const long DefaultMaxColumns = 1_000_000;

    private readonly Lock _lock = new();
    private readonly LinkedList<(string Id, IReadOnlyList<ColumnStats> Columns)> _recent = new();
    private readonly Dictionary<string, LinkedListNode<(string Id, IReadOnlyList<ColumnStats> Columns)>> _byId = new(StringComparer.Ordinal);
    private long _columns;

    public IReadOnlyList<ColumnStats>? Get(string id)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var node)) return null;
            _recent.Remove(node);
            _recent.AddFirst(node);
            return node.Value.Columns;
        }
    }

    public void Add(string id, IReadOnlyList<ColumnStats> columns)
    {
        if (columns.Count > maxColumns) return;
        lock (_lock)
        {
            if (_byId.ContainsKey(id)) return;
            _byId[id] = _recent.AddFirst((id, columns));
            _columns += columns.Count;
            while (_columns > maxColumns && _recent.Last is { } oldest) Drop(oldest);
        }
    }

    public void Remove(string id)
    {
        lock (_lock)
            if (_byId.TryGetValue(id, out var node)) Drop(node);
    }

    private void Drop(LinkedListNode<(string Id, IReadOnlyList<ColumnStats> Columns)> node)
    {
        _recent.Remove(node);
        _byId.Remove(node.Value.Id);
        _columns -= node.Value.Columns.Count;
    }
}
