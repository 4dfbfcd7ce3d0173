using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RegService.Api.Storage;

namespace RegService.Api.Auth;

/// <summary>How revocations reach every process that caches key lookups.</summary>
public interface IKeyRevocations
{
    /// <summary>True while this process is sure to hear of every revocation (else the cache is bypassed).</summary>
    bool Live { get; }

    /// <summary>Raised when a key was revoked anywhere, or revocations may have been missed.</summary>
    event Action? Revoked;

    /// <summary>Tells every process of a revocation (after it is stored), and returns once they have it.</summary>
    void Publish();
}

/// <summary>One process owns the store (SQLite): a revocation is heard at once, in process.</summary>
public sealed class LocalKeyRevocations : IKeyRevocations
{
    public bool Live => true;

    public event Action? Revoked;

    public void Publish() => Revoked?.Invoke();
}

/// <summary>
/// Known keys' lookups kept in memory, so an authenticated request does not read the store for its key.
/// A revocation drops every cached lookup, in this process at once and in the others when
/// <see cref="IKeyRevocations"/> reaches them (PostgreSQL: a notification that the revoking replica
/// waits to see come back before it answers); while revocations cannot be heard, nothing is cached.
/// Unknown keys are never cached (a new key works at once; guessed keys cannot fill the memory), and an
/// entry is read again after <see cref="AuthOptions.KeyCacheSeconds"/> in any case.
/// </summary>
public sealed class ApiKeyCache : IApiKeyStore
{
    private const int MaxEntries = 10_000;

    private readonly IApiKeyStore _store;
    private readonly IKeyRevocations _revocations;
    private readonly long _lifetimeMs;
    private readonly ConcurrentDictionary<string, (ApiKeyRecord Key, long ReadAt)> _entries = new(StringComparer.Ordinal);
    private long _generation;

    public ApiKeyCache(IApiKeyStore store, IKeyRevocations revocations, IOptions<AuthOptions> options)
    {
        _store = store;
        _revocations = revocations;
        _lifetimeMs = (long)(Math.Max(0, options.Value.KeyCacheSeconds) * 1000);
        revocations.Revoked += Clear;
    }

    public ApiKeyRecord? FindByHash(string secretHash)
    {
        if (_lifetimeMs == 0 || !_revocations.Live) return _store.FindByHash(secretHash);
        long now = Environment.TickCount64;
        if (_entries.TryGetValue(secretHash, out var entry) && now - entry.ReadAt < _lifetimeMs) return entry.Key;
        // A revocation heard while the store is read must not be undone by caching what was read before it.
        long generation = Interlocked.Read(ref _generation);
        var key = _store.FindByHash(secretHash);
        if (key is not null)
        {
            if (_entries.Count >= MaxEntries) _entries.Clear();
            _entries[secretHash] = (key, now);
            if (Interlocked.Read(ref _generation) != generation) _entries.TryRemove(secretHash, out _);
        }
        return key;
    }

    public void Add(ApiKeyRecord key, string secretHash) => _store.Add(key, secretHash);

    public IReadOnlyList<ApiKeyRecord> List() => _store.List();

    public bool Revoke(string id)
    {
        bool revoked = _store.Revoke(id);
        if (revoked) _revocations.Publish();
        return revoked;
    }

    private void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }
}
