using System.Collections.Concurrent;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// A cache whose entries live at most <c>lifetime</c>, and only while this process listens to the PostgreSQL
/// notifications that evict them (<see cref="NotificationListening"/> calls <see cref="SetListening"/> and hands each
/// payload to the owner, which calls <see cref="Evict"/> or <see cref="EvictAll"/>). While the listener is not
/// connected nothing is cached, so a change is never missed. A read that started before an eviction never stores what
/// it read (the generation check): take <see cref="Generation"/> before reading the database and pass it to
/// <see cref="Set"/>. The lifetime is only a backstop for a lost notification.
/// </summary>
public class NotifiedCache<TKey, TValue>(TimeProvider time, TimeSpan lifetime, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset Until)> _entries = new(comparer);
    private long _generation;
    private volatile bool _listening;

    /// <summary>Whether entries are cached now (the listener is connected).</summary>
    public bool Enabled => _listening;

    /// <summary>Increases with every eviction; take it before reading what <see cref="Set"/> will store.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public bool TryGet(TKey key, out TValue value)
    {
        if (_listening && _entries.TryGetValue(key, out var entry))
        {
            if (entry.Until > time.GetUtcNow())
            {
                value = entry.Value;
                return true;
            }

            _entries.TryRemove(key, out _);
        }

        value = default!;
        return false;
    }

    /// <summary>Stores a value read from the database, unless something was evicted since <paramref name="generation"/>.</summary>
    public void Set(TKey key, TValue value, long generation)
    {
        if (!_listening || Generation != generation)
            return;
        _entries[key] = (value, time.GetUtcNow() + lifetime);
        if (Generation != generation)
            _entries.TryRemove(key, out _); // an eviction raced the store: what was read may be stale
    }

    public void Evict(TKey key)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(key, out _);
    }

    public void EvictAll()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    /// <summary>The listener connected (true) or lost its connection (false): either way, forget everything.</summary>
    public void SetListening(bool listening)
    {
        _listening = listening;
        EvictAll();
    }
}
