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
    : NotifiedCache<Guid, IReadOnlyList<CachedSubscription>>(time, Lifetime)
{
    /// <summary>The PostgreSQL notification channel; the payload is the tenant's id.</summary>
    public const string Channel = "webhook_subscriptions_changed";

    /// <summary>How long a tenant's subscriptions are kept without a notification (a backstop for a lost one).</summary>
    public static TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(60);

    public IReadOnlyList<CachedSubscription>? Get(Guid tenantId) => TryGet(tenantId, out var subscriptions) ? subscriptions : null;

    /// <summary>A notification's payload: the tenant's id, or anything else (evicts every tenant).</summary>
    public void Evict(string payload)
    {
        if (Guid.TryParse(payload, out var tenantId))
            Evict(tenantId);
        else
            EvictAll();
    }
}
