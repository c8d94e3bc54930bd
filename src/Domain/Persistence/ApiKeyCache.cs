using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// Authenticated API keys, cached by prefix for at most <see cref="Lifetime"/>, and only while this replica listens to
/// PostgreSQL's <c>api_key_changed</c> notifications (the API's <c>ApiKeyChangeListener</c>): a trigger on <c>api_keys</c>
/// notifies every replica when a key is revoked, changed or deleted, at commit, and each evicts it. The replica that
/// makes the change also evicts it at once, whichever code path revoked it: <see cref="FeedbackHubDbContext"/> evicts
/// every changed or deleted key after its save, so the next request on this replica never waits for the notification.
/// While the listener is not connected nothing is cached, so a revocation is never missed. A lookup that started before
/// an eviction never stores what it read (the generation check).
/// </summary>
public sealed class ApiKeyCache(TimeProvider time) : NotifiedCache<string, ApiKey>(time, Lifetime, StringComparer.Ordinal)
{
    public static TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(60);

    public ApiKey? Get(string prefix) => TryGet(prefix, out var key) ? key : null;

    /// <summary>Stores an active key read from the database, unless something was evicted since <paramref name="generation"/>.</summary>
    public void Set(ApiKey key, long generation)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.IsActive)
            Set(key.Prefix, key, generation);
    }
}
