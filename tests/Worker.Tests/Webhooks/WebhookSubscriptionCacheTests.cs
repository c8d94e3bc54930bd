using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>The cache's own rules (pure unit tests; the pipeline test proves a subscription change reaches a running worker).</summary>
public sealed class WebhookSubscriptionCacheTests
{
    private static readonly IReadOnlyList<CachedSubscription> One = [new(Guid.NewGuid(), ["delivery.sent"])];

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Nothing_is_cached_while_the_listener_is_not_connected()
    {
        var cache = new WebhookSubscriptionCache(TimeProvider.System);
        var tenant = Guid.NewGuid();
        cache.Set(tenant, One, cache.Generation);
        Assert.Null(cache.Get(tenant));

        cache.SetListening(true);
        cache.Set(tenant, One, cache.Generation);
        Assert.Same(One, cache.Get(tenant));

        cache.SetListening(false); // the connection dropped: a notification may be missed from now on
        Assert.Null(cache.Get(tenant));
        cache.Set(tenant, One, cache.Generation);
        Assert.Null(cache.Get(tenant));
    }

    [Fact]
    public void A_notification_evicts_its_tenant_and_a_read_that_started_before_it_is_not_stored()
    {
        var cache = new WebhookSubscriptionCache(TimeProvider.System);
        cache.SetListening(true);
        var (tenant, other) = (Guid.NewGuid(), Guid.NewGuid());
        cache.Set(tenant, One, cache.Generation);
        cache.Set(other, [], cache.Generation);

        cache.Evict(tenant.ToString());
        Assert.Null(cache.Get(tenant));
        Assert.Empty(cache.Get(other)!);

        var before = cache.Generation; // a read starts
        cache.Evict(tenant.ToString()); // a change commits meanwhile
        cache.Set(tenant, [], before); // the read's result may predate the change
        Assert.Null(cache.Get(tenant));

        cache.Evict("not a tenant id"); // anything else evicts everything
        Assert.Null(cache.Get(other));
    }

    [Fact]
    public void An_entry_expires_after_its_lifetime_even_without_a_notification()
    {
        var clock = new Clock();
        var cache = new WebhookSubscriptionCache(clock);
        cache.SetListening(true);
        var tenant = Guid.NewGuid();
        cache.Set(tenant, One, cache.Generation);
        clock.Now += WebhookSubscriptionCache.Lifetime - TimeSpan.FromSeconds(1);
        Assert.Same(One, cache.Get(tenant));
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Null(cache.Get(tenant));
    }
}
