using System.Collections.Concurrent;
using System.Net;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>The API and a worker that sends at most 3 requests at once to one subscription (and 64 in all).</summary>
public sealed class BoundedWebhookFixture : IAsyncLifetime
{
    public const int Bound = 3;

    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        var settings = WebhookFixture.WorkerSettings();
        settings["Webhooks:ConcurrentSendsPerSubscription"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Webhooks:ConcurrentSends"] = "64";
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], settings);
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>
/// The webhook dispatcher claims due deliveries in batches, sends them concurrently within a bound per subscription and
/// records the answers in batches: every attempt is recorded, and one event's failure neither loses nor repeats another.
/// </summary>
public sealed class WebhookBatchTests(BoundedWebhookFixture fixture) : IClassFixture<BoundedWebhookFixture>
{
    [Fact]
    public async Task Requests_to_one_subscription_never_exceed_the_bound_while_other_subscriptions_go_on_beside_them()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, _) => new ReceiverAnswer(204, TimeSpan.FromMilliseconds(150));
        var tenant = await fixture.Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        await SubscribeAsync(tenant, receiver.Url("/one"));
        await SubscribeAsync(tenant, receiver.Url("/two"));

        await RaiseAsync(tenant.Id, 15);
        await WebhookPipelineTests.WaitUntilAsync(() => receiver.At("/one").Count == 15 && receiver.At("/two").Count == 15, "30 requests");

        // Fifteen slow requests due at once per subscription: as many at once as the bound allows, never more, for each.
        Assert.Equal(BoundedWebhookFixture.Bound, receiver.MostAtOnce("/one"));
        Assert.Equal(BoundedWebhookFixture.Bound, receiver.MostAtOnce("/two"));
        Assert.Equal(15, receiver.At("/one").Select(r => r.EventId).Distinct().Count());
    }

    [Fact]
    public async Task A_batch_records_every_attempt_and_a_failed_event_neither_loses_nor_repeats_the_others()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var failed = new ConcurrentDictionary<string, bool>();
        string? unlucky = null;
        receiver.Answer = (r, _) =>
        {
            // The first event to arrive fails once (HTTP 500); every other request is accepted.
            var first = Interlocked.CompareExchange(ref unlucky, r.EventId, null) ?? r.EventId;
            return r.EventId == first && failed.TryAdd(first!, true) ? new ReceiverAnswer(500) : new ReceiverAnswer(200);
        };
        var tenant = await fixture.Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        var hook = await SubscribeAsync(tenant, receiver.Url("/batch"));

        const int n = 20;
        await RaiseAsync(tenant.Id, n);
        await WebhookPipelineTests.WaitUntilAsync(() => Count(tenant.Id, OutboundStatus.Sent) == n, $"{n} delivered");
        await Task.Delay(500); // anything sent twice would arrive by now

        var requests = receiver.At("/batch");
        Assert.Equal(n + 1, requests.Count);
        var byEvent = requests.GroupBy(r => r.EventId!).ToDictionary(g => g.Key, g => g.Select(r => r.Attempt).ToList());
        Assert.Equal(n, byEvent.Count);
        Assert.Equal(["1", "2"], byEvent[unlucky!]);
        Assert.All(byEvent.Where(e => e.Key != unlucky), e => Assert.Equal(["1"], e.Value));

        await using var db = fixture.Api.Database.CreateDbContext();
        var deliveries = await db.WebhookDeliveries.AsNoTracking().Include(d => d.Attempts).Where(d => d.SubscriptionId == hook.Id).ToListAsync();
        Assert.Equal(n, deliveries.Count);
        foreach (var d in deliveries)
        {
            var expected = d.EventId.ToString() == unlucky ? new[] { AttemptOutcome.TransientFailure, AttemptOutcome.Accepted } : [AttemptOutcome.Accepted];
            Assert.Equal(expected, d.Attempts.OrderBy(a => a.Number).Select(a => a.Outcome));
            Assert.All(d.Attempts, a => Assert.NotNull(a.FinishedAt));
            Assert.Equal(expected.Length, d.Attempts.Count(a => a.DurationMs is not null));
            Assert.False(d.PossibleDuplicate);
            Assert.NotNull(d.SentAt);
            Assert.Null(d.LeaseUntil);
        }

        var retried = deliveries.Single(d => d.EventId.ToString() == unlucky).Attempts.OrderBy(a => a.Number).ToList();
        Assert.Equal((500, "http-error"), (retried[0].Code, retried[0].Detail));
        Assert.True(retried[1].StartedAt - retried[0].FinishedAt >= TimeSpan.FromMilliseconds(180), "the retry waited for its backoff");

        // Claimed together: the first attempts of several deliveries started in one claim (one statement, one timestamp).
        Assert.True(deliveries.Select(d => d.Attempts.Single(a => a.Number == 1).StartedAt).GroupBy(t => t).Max(g => g.Count()) > 1);

        // One audit event per delivery, with its ids.
        var audits = await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == tenant.Id && e.Action == "webhook.delivered").ToListAsync();
        Assert.Equal(n, audits.Count);
        Assert.All(deliveries, d => Assert.Single(audits, a => a.Data.Contains(d.Id.ToString(), StringComparison.Ordinal)));
    }

    private int Count(Guid tenantId, OutboundStatus status)
    {
        using var db = fixture.Api.Database.CreateDbContext();
        return db.WebhookDeliveries.AsNoTracking().Count(d => d.TenantId == tenantId && d.Status == status);
    }

    /// <summary>Raises feedback.requested for <paramref name="n"/> candidates in one transaction, so all their deliveries are due at once.</summary>
    private async Task RaiseAsync(Guid tenantId, int n)
    {
        await using var db = fixture.Api.Database.CreateDbContext();
        await using var tx = await db.Database.BeginTransactionAsync();
        for (var i = 0; i < n; i++)
            await WebhookPipelineTests.RaiseRequestAsync(db, tenantId);
        await tx.CommitAsync();
    }

    private static async Task<CreatedWebhookResponse> SubscribeAsync(TestTenant tenant, string url) =>
        await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url, events = new[] { WebhookEventTypes.FeedbackRequested } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
}
