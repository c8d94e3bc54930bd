using System.Collections.Concurrent;

namespace FeedbackHub.Domain.Persistence;

/// <summary>A tenant's enabled webhook subscription as <see cref="WebhookRaising"/> needs it.</summary>
public sealed record CachedSubscription(Guid Id, IReadOnlyList<string> Events);

/// <summary>
/// Each tenant's enabled webhook subscriptions (usually none), cached for at most <see cref="Lifetime"/> so that saving an
/// outcome does not query <c>webhook_subscriptions</c> every time (<see cref="WebhookRaising"/>). Only while this process
/// listens to <see cref="Channel"/> on a connection of its own (the host's listener calls <see cref="SetListening"/>):
/// every save that adds, changes or removes a subscription notifies that channel with the tenant's id when it commits
/// (<see cref="FeedbackHubDbContext.SaveChangesAsync(bool, CancellationToken)"/>), and the listener evicts the tenant.
/// While the listener is not connected nothing is cached. A read that started before an eviction never stores what it
/// read (the generation check), so a change is seen by every save that starts after its notification arrived.
/// </summary>
public sealed class WebhookSubscriptionCache(TimeProvider time)
{
    /// <summary>The PostgreSQL notification channel; the payload is the tenant's id.</summary>
    public const string Channel = "webhook_subscriptions_changed";

    /// <summary>How long a tenant's subscriptions are kept without a notification (a backstop for a lost one).</summary>
    public static TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<Guid, (IReadOnlyList<CachedSubscription> Subscriptions, DateTimeOffset Until)> _tenants = new();
    private long _generation;
    private volatile bool _listening;

    /// <summary>Whether subscriptions are cached now (the listener is connected).</summary>
    public bool Enabled => _listening;

    public long Generation => Interlocked.Read(ref _generation);

    public IReadOnlyList<CachedSubscription>? Get(Guid tenantId)
    {
        if (!_listening || !_tenants.TryGetValue(tenantId, out var entry))
            return null;
        if (entry.Until > time.GetUtcNow())
            return entry.Subscriptions;
        _tenants.TryRemove(tenantId, out _);
        return null;
    }

    /// <summary>Stores a tenant's subscriptions read from the database, unless something was evicted since <paramref name="generation"/>.</summary>
    public void Set(Guid tenantId, IReadOnlyList<CachedSubscription> subscriptions, long generation)
    {
        if (!_listening || Generation != generation)
            return;
        _tenants[tenantId] = (subscriptions, time.GetUtcNow() + Lifetime);
        if (Generation != generation)
            _tenants.TryRemove(tenantId, out _); // an eviction raced the read: what was read may be stale
    }

    public void Evict(Guid tenantId)
    {
        Interlocked.Increment(ref _generation);
        _tenants.TryRemove(tenantId, out _);
    }

    /// <summary>A notification's payload: the tenant's id, or anything else (evicts every tenant).</summary>
    public void Evict(string payload)
    {
        if (Guid.TryParse(payload, out var tenantId))
        {
            Evict(tenantId);
            return;
        }

        Interlocked.Increment(ref _generation);
        _tenants.Clear();
    }

    /// <summary>The listener connected (true) or lost its connection (false): either way, forget everything.</summary>
    public void SetListening(bool listening)
    {
        _listening = listening;
        Interlocked.Increment(ref _generation);
        _tenants.Clear();
    }
}
