using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Delivery;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>The API and the worker with short webhook timings (first backoff 200 ms, timeout 1 s, 5 attempts).</summary>
public sealed class WebhookFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], WorkerSettings());
    }

    /// <summary>Worker settings with the short webhook timings of these tests.</summary>
    public static Dictionary<string, string?> WorkerSettings()
    {
        var settings = DeliveryFixture.WorkerSettings(3);
        settings["Webhooks:FirstBackoff"] = "00:00:00.200";
        settings["Webhooks:Timeout"] = "00:00:01";
        settings["Webhooks:MaxAttempts"] = "5";
        return settings;
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>
/// Webhooks end to end: events raised by real state changes, relayed through the outbox and RabbitMQ, sent by the
/// worker to a real HTTP receiver on loopback that checks every signature with its own code.
/// </summary>
public sealed class WebhookPipelineTests(WebhookFixture fixture) : IClassFixture<WebhookFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private WebhookReceiver _receiver = null!;

    private ApiFactory Api => fixture.Api;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task Every_event_type_arrives_once_per_delivery_with_a_valid_signature()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings with { CoolingOffDelay = TimeSpan.FromHours(1) });
        var hook = await SubscribeAsync(tenant, _receiver.Url(), WebhookEventTypes.All.ToArray());
        var arrange = new DeliveryArrange(Api.Database, tenant.Id);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var deliveries = await arrange.DeliveriesAsync([$"sent-{tag}@example.com", $"failed-{tag}@example.com", $"cancelled-{tag}@example.com"]);
        var (toSend, toFail, toCancel) = (deliveries[0], deliveries[1], deliveries[2]);

        // Sent: due now. Failed: the candidate's data was erased before sending. Cancelled: by a recruiter.
        await arrange.RescheduleAsync(toSend.Id, DateTimeOffset.UtcNow);
        await Api.Database.ExecuteAsync($"UPDATE candidates SET erased_at = now(), first_name = '', last_name = NULL, email = '', locale = NULL WHERE id = (SELECT candidate_id FROM applications WHERE id = '{toFail.ApplicationId}')");
        await arrange.RescheduleAsync(toFail.Id, DateTimeOffset.UtcNow);
        var recruiter = await tenant.ClientAsync(Roles.Recruiter);
        Assert.Equal(HttpStatusCode.OK, (await recruiter.PostAsync($"/v1/deliveries/{toCancel.Id}/cancel", null)).StatusCode);
        await arrange.WaitForStatusAsync(toSend.Id, OutboundStatus.Sent);
        await arrange.WaitForStatusAsync(toFail.Id, OutboundStatus.Failed);

        // 3 requested + 3 approved + sent + failed + cancelled.
        await WaitUntilAsync(() => _receiver.Received.Count >= 9, "nine webhook requests");
        await Task.Delay(1500); // anything sent twice would arrive by now
        var received = _receiver.Received;
        Assert.Equal(9, received.Count);
        Assert.Equal(9, received.Select(r => r.EventId).Distinct().Count()); // each event once
        foreach (var r in received)
        {
            Assert.True(WebhookReceiver.Verify(hook.Secret, r.Signature, r.Body, DateTimeOffset.UtcNow), $"bad signature on {r.EventType}");
            Assert.False(WebhookReceiver.Verify(hook.Secret + "x", r.Signature, r.Body, DateTimeOffset.UtcNow));
            Assert.False(WebhookReceiver.Verify(hook.Secret, r.Signature, r.Body + " ", DateTimeOffset.UtcNow));
            Assert.Equal("application/json", r.ContentType);
            Assert.Equal("FeedbackHub-Webhooks/1.0", r.UserAgent);
            Assert.Equal("1", r.Attempt);
            using var body = JsonDocument.Parse(r.Body);
            Assert.Equal(r.EventId, body.RootElement.GetProperty("id").GetString());
            Assert.Equal(r.EventType, body.RootElement.GetProperty("type").GetString());
            Assert.DoesNotContain("@example.com", r.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("Ada", r.Body, StringComparison.Ordinal);
        }

        var byType = received.GroupBy(r => r.EventType!).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(3, byType["feedback.requested"].Count);
        Assert.Equal(3, byType["feedback.approved"].Count);
        var sent = Data(Assert.Single(byType["delivery.sent"]));
        Assert.Equal(toSend.Id, sent.GetProperty("deliveryId").GetGuid());
        Assert.Equal("sent", sent.GetProperty("status").GetString());
        var failed = Data(Assert.Single(byType["delivery.failed"]));
        Assert.Equal(toFail.Id, failed.GetProperty("deliveryId").GetGuid());
        Assert.Equal("permanent-failure", failed.GetProperty("reason").GetString());
        var cancelled = Data(Assert.Single(byType["delivery.cancelled"]));
        Assert.Equal(toCancel.Id, cancelled.GetProperty("deliveryId").GetGuid());
        Assert.Equal(toCancel.ApplicationId, cancelled.GetProperty("applicationId").GetGuid());
        Assert.StartsWith("ext-", cancelled.GetProperty("applicationExternalId").GetString(), StringComparison.Ordinal);

        var page = await (await tenant.Admin.GetAsync($"/v1/webhooks/{hook.Id}/deliveries?status=delivered")).ReadAsync<FeedbackHub.Api.Infrastructure.Page<WebhookDeliverySummary>>();
        Assert.Equal(9, page.Items.Count);
    }

    [Fact]
    public async Task A_receiver_that_fails_three_times_gets_the_event_with_the_same_id_and_every_attempt_is_listed()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var hook = await SubscribeAsync(tenant, _receiver.Url("/flaky"), WebhookEventTypes.FeedbackRequested);
        _receiver.Answer = (_, before) => new ReceiverAnswer(before < 3 ? 500 : 200);
        await RaiseRequestAsync(tenant.Id);

        var delivery = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Delivered);
        var requests = _receiver.At("/flaky");
        Assert.Equal(4, requests.Count);
        Assert.Single(requests.Select(r => r.EventId).Distinct());
        Assert.Single(requests.Select(r => r.DeliveryId).Distinct());
        Assert.Equal(["1", "2", "3", "4"], requests.Select(r => r.Attempt));
        Assert.All(requests, r => Assert.True(WebhookReceiver.Verify(hook.Secret, r.Signature, r.Body, DateTimeOffset.UtcNow)));
        Assert.Equal(delivery.Event.Id.ToString(), requests[0].EventId);
        Assert.All(requests, r => Assert.Equal(delivery.Event.Body, r.Body));

        Assert.Equal(4, delivery.AttemptCount);
        Assert.Equal(["http-error", "http-error", "http-error", "delivered"], delivery.Attempts.Select(a => a.Outcome));
        Assert.Equal([500, 500, 500, 200], delivery.Attempts.Select(a => a.StatusCode ?? 0));
        Assert.Equal([1, 2, 3, 4], delivery.Attempts.Select(a => a.Number));
        Assert.Equal("nope 500", delivery.Attempts[0].ResponseExcerpt);
        // Growing backoff: 200 ms, 400 ms, 800 ms after the failures.
        var gaps = delivery.Attempts.Zip(delivery.Attempts.Skip(1), (a, b) => b.AttemptedAt - a.AttemptedAt).ToList();
        Assert.True(gaps[0] >= TimeSpan.FromMilliseconds(180) && gaps[2] >= TimeSpan.FromMilliseconds(750), string.Join(", ", gaps));
    }

    [Fact]
    public async Task A_timeout_counts_as_a_failed_attempt()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var hook = await SubscribeAsync(tenant, _receiver.Url("/slow"), WebhookEventTypes.FeedbackRequested);
        _receiver.Answer = (_, before) => before == 0 ? new ReceiverAnswer(200, TimeSpan.FromSeconds(3)) : new ReceiverAnswer(204);
        await RaiseRequestAsync(tenant.Id);

        var delivery = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Delivered);
        Assert.Equal(["timeout", "delivered"], delivery.Attempts.Select(a => a.Outcome));
        Assert.Null(delivery.Attempts[0].StatusCode);
        Assert.InRange(delivery.Attempts[0].DurationMs, 900, 2500);
        Assert.Single(_receiver.At("/slow").Select(r => r.EventId).Distinct());
    }

    [Fact]
    public async Task A_redirect_is_not_followed()
    {
        await using var target = await WebhookReceiver.StartAsync();
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var hook = await SubscribeAsync(tenant, _receiver.Url("/moved"), WebhookEventTypes.FeedbackRequested);
        _receiver.Answer = (_, _) => new ReceiverAnswer(302, Location: target.Url("/elsewhere"));
        await RaiseRequestAsync(tenant.Id);

        var delivery = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Failed);
        Assert.Equal(5, delivery.AttemptCount);
        Assert.All(delivery.Attempts, a => Assert.Equal("redirect-not-followed", a.Outcome));
        Assert.All(delivery.Attempts, a => Assert.Equal(302, a.StatusCode));
        Assert.Equal(5, _receiver.At("/moved").Count);
        Assert.Empty(target.Received);
    }

    [Fact]
    public async Task A_target_that_resolves_to_loopback_at_send_time_is_refused_when_sending()
    {
        // Subscribed while the tenant allowed private targets (development), then the setting was turned off.
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var byName = await SubscribeAsync(tenant, $"http://localhost:{_receiver.Port}/refused", WebhookEventTypes.FeedbackRequested);
        var host = Dns.GetHostName(); // passes the name check, resolves to a loopback address (/etc/hosts)
        Assert.Contains(await Dns.GetHostAddressesAsync(host), IPAddress.IsLoopback);
        var byAddress = await SubscribeAsync(tenant, $"http://{host}:{_receiver.Port}/refused", WebhookEventTypes.FeedbackRequested);
        await SetAllowPrivateAsync(tenant.Id, false);

        await RaiseRequestAsync(tenant.Id);
        foreach (var hook in new[] { byName, byAddress })
        {
            var delivery = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Failed);
            var attempt = Assert.Single(delivery.Attempts); // no retries: a configuration problem
            Assert.Equal("refused-address", attempt.Outcome);
            Assert.Null(attempt.StatusCode);
            Assert.Contains(hook == byName ? "localhost" : "loopback", attempt.Error, StringComparison.Ordinal);
        }

        await Task.Delay(500);
        Assert.Empty(_receiver.At("/refused"));
    }

    [Fact]
    public async Task A_manual_redelivery_sends_the_same_event_id_again()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var hook = await SubscribeAsync(tenant, _receiver.Url("/again"), WebhookEventTypes.FeedbackRequested);
        await RaiseRequestAsync(tenant.Id);
        var first = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Delivered);

        var response = await tenant.Admin.PostAsync($"/v1/webhooks/{hook.Id}/deliveries/{first.Id}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await WaitUntilAsync(() => _receiver.At("/again").Count >= 2, "the redelivery");
        var again = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Delivered, attempts: 2);
        var requests = _receiver.At("/again");
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[0].EventId, requests[1].EventId);
        Assert.Equal(first.Event.Id.ToString(), requests[1].EventId);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.True(WebhookReceiver.Verify(hook.Secret, requests[1].Signature, requests[1].Body, DateTimeOffset.UtcNow));
        Assert.Equal(2, again.Attempts.Count);
    }

    [Fact]
    public async Task A_disabled_subscription_gets_nothing_and_its_pending_delivery_fails_without_a_request()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var active = await SubscribeAsync(tenant, _receiver.Url("/active"), WebhookEventTypes.FeedbackRequested);
        var disabled = await SubscribeAsync(tenant, _receiver.Url("/disabled"), WebhookEventTypes.FeedbackRequested);
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin.PatchAsync($"/v1/webhooks/{disabled.Id}", HttpAssertions.JsonBody(new { enabled = false }))).StatusCode);

        await RaiseRequestAsync(tenant.Id);
        await WaitForDeliveryAsync(tenant, active.Id, WebhookDeliveryStatus.Delivered);
        await using (var db = Api.Database.CreateDbContext())
            Assert.False(await db.WebhookDeliveries.AnyAsync(d => d.SubscriptionId == disabled.Id));

        // A delivery that was pending when its subscription was disabled fails without sending.
        var later = await SubscribeAsync(tenant, _receiver.Url("/disabled-later"), WebhookEventTypes.FeedbackRequested);
        _receiver.Answer = (r, _) => new ReceiverAnswer(r.Path == "/disabled-later" ? 503 : 200);
        await RaiseRequestAsync(tenant.Id);
        await WaitUntilAsync(() => _receiver.At("/disabled-later").Count >= 1, "the first attempt");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin.PatchAsync($"/v1/webhooks/{later.Id}", HttpAssertions.JsonBody(new { enabled = false }))).StatusCode);
        var failed = await WaitForDeliveryAsync(tenant, later.Id, WebhookDeliveryStatus.Failed);
        Assert.Equal("subscription-disabled", failed.Attempts[^1].Outcome);
        Assert.Equal(failed.Attempts.Count - 1, _receiver.At("/disabled-later").Count);
        await using (var db = Api.Database.CreateDbContext())
        {
            var audit = await db.AuditEvents.AsNoTracking().SingleAsync(e => e.TenantId == tenant.Id && e.Action == "webhook.failed");
            Assert.Equal(later.Id, audit.SubjectId);
            Assert.Contains("\"reason\":\"not-sendable\"", audit.Data, StringComparison.Ordinal);
            Assert.Contains("\"detail\":\"subscription-disabled\"", audit.Data, StringComparison.Ordinal);
        }

        Assert.Empty(_receiver.At("/disabled"));
    }

    [Fact]
    public async Task An_outcome_right_after_a_subscription_change_follows_the_change()
    {
        // The worker caches each tenant's subscriptions (WebhookSubscriptionCache): a change must reach it when it commits,
        // not when the cached entry expires.
        var tenant = await Api.CreateTenantAsync(settings: DevSettings with { CoolingOffDelay = TimeSpan.FromHours(1) });
        var arrange = new DeliveryArrange(Api.Database, tenant.Id);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var deliveries = await arrange.DeliveriesAsync([$"one-{tag}@example.com", $"two-{tag}@example.com", $"three-{tag}@example.com"]);

        // No subscription yet: the worker learns (and keeps) that the tenant has none.
        await arrange.RescheduleAsync(deliveries[0].Id, DateTimeOffset.UtcNow);
        await arrange.WaitForStatusAsync(deliveries[0].Id, OutboundStatus.Sent);

        var hook = await SubscribeAsync(tenant, _receiver.Url("/changed"), WebhookEventTypes.DeliverySent);
        await arrange.RescheduleAsync(deliveries[1].Id, DateTimeOffset.UtcNow);
        await arrange.WaitForStatusAsync(deliveries[1].Id, OutboundStatus.Sent);
        await WaitUntilAsync(() => _receiver.At("/changed").Count >= 1, "delivery.sent for the second delivery");
        Assert.Equal(deliveries[1].Id, Data(Assert.Single(_receiver.At("/changed"))).GetProperty("deliveryId").GetGuid());

        // Disabled: the next outcome raises nothing for it.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin.PatchAsync($"/v1/webhooks/{hook.Id}", HttpAssertions.JsonBody(new { enabled = false }))).StatusCode);
        await arrange.RescheduleAsync(deliveries[2].Id, DateTimeOffset.UtcNow);
        await arrange.WaitForStatusAsync(deliveries[2].Id, OutboundStatus.Sent);
        await using var db = Api.Database.CreateDbContext();
        Assert.Equal(1, await db.WebhookDeliveries.CountAsync(d => d.SubscriptionId == hook.Id));
        Assert.Single(_receiver.At("/changed"));
    }

    [Fact]
    public async Task A_secret_that_does_not_open_fails_the_delivery_without_a_request()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var hook = await SubscribeAsync(tenant, _receiver.Url("/sealed"), WebhookEventTypes.FeedbackRequested);
        // As if Webhooks:SecretKey had changed: the stored ciphertext no longer authenticates.
        await Api.Database.ExecuteAsync($"UPDATE webhook_subscriptions SET sealed_secret = set_byte(sealed_secret, 20, get_byte(sealed_secret, 20) # 1) WHERE id = '{hook.Id}'");
        await RaiseRequestAsync(tenant.Id);

        var delivery = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Failed);
        Assert.Equal("secret-unreadable", Assert.Single(delivery.Attempts).Outcome);
        Assert.Empty(_receiver.At("/sealed"));

        // Rotating the secret and redelivering fixes it.
        var rotated = await (await tenant.Admin.PostAsync($"/v1/webhooks/{hook.Id}/rotate-secret", null)).ReadAsync<WebhookSecretResponse>();
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin.PostAsync($"/v1/webhooks/{hook.Id}/deliveries/{delivery.Id}/redeliver", null)).StatusCode);
        await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Delivered, attempts: 2);
        var request = Assert.Single(_receiver.At("/sealed"));
        Assert.True(WebhookReceiver.Verify(rotated.Secret, request.Signature, request.Body, DateTimeOffset.UtcNow));
        Assert.False(WebhookReceiver.Verify(hook.Secret, request.Signature, request.Body, DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task An_early_message_sends_nothing_and_the_delivery_goes_at_its_due_time_without_one()
    {
        var tenant = await Api.CreateTenantAsync(settings: DevSettings);
        var hook = await SubscribeAsync(tenant, _receiver.Url("/early"), WebhookEventTypes.FeedbackRequested);
        await RaiseRequestAsync(tenant.Id);
        var first = await WaitForDeliveryAsync(tenant, hook.Id, WebhookDeliveryStatus.Delivered);

        // As if it were pending again with its retry 3 s away, and a stray message arriving early: it only wakes the dispatcher.
        await Api.Database.ExecuteAsync(
            $"UPDATE outbound SET status = 'Scheduled', due_at = now() + interval '3 seconds' WHERE id = '{first.Id}'");
        await Api.Database.ExecuteAsync($"DELETE FROM outbox_messages WHERE body::text LIKE '%{first.Id}%'");
        await fixture.Worker.Get<MassTransit.IBus>().Publish(new FeedbackHub.Messages.DeliverWebhook(first.Id, tenant.Id));
        await Task.Delay(1000);
        Assert.Single(_receiver.At("/early"));

        await WaitUntilAsync(() => _receiver.At("/early").Count == 2, "the attempt at the due time");
        Assert.Equal(["1", "2"], _receiver.At("/early").Select(r => r.Attempt));
    }

    internal static TenantSettings DevSettings => TenantSettings.Default with { AllowPrivateWebhookTargets = true, CoolingOffDelay = TimeSpan.Zero };

    private static JsonElement Data(ReceivedWebhook r) => JsonDocument.Parse(r.Body).RootElement.GetProperty("data").Clone();

    internal static async Task<CreatedWebhookResponse> SubscribeAsync(TestTenant tenant, string url, params string[] events) =>
        await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url, events })).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);

    private async Task SetAllowPrivateAsync(Guid tenantId, bool allow)
    {
        await using var db = Api.Database.CreateDbContext();
        var tenant = await db.Tenants.SingleAsync(t => t.Id == tenantId);
        tenant.ChangeSettings(tenant.Settings with { AllowPrivateWebhookTargets = allow });
        await db.SaveChangesAsync();
    }

    private Task RaiseRequestAsync(Guid tenantId) => RaiseRequestAsync(Api, tenantId);

    /// <summary>A rejected application and the candidate's request: raises feedback.requested.</summary>
    internal static async Task RaiseRequestAsync(ApiFactory api, Guid tenantId)
    {
        await using var db = api.Database.CreateDbContext();
        await RaiseRequestAsync(db, tenantId);
    }

    /// <summary>As <see cref="RaiseRequestAsync(ApiFactory, Guid)"/>, saved through the caller's context (and transaction, if any).</summary>
    internal static async Task RaiseRequestAsync(FeedbackHub.Domain.Persistence.FeedbackHubDbContext db, Guid tenantId)
    {
        var now = DateTimeOffset.UtcNow;
        var external = "ext-" + Guid.NewGuid().ToString("N")[..10];
        var candidate = Candidate.Create(tenantId, new CandidateDetails("cand-" + external, "Ada", null, "ada@example.com", null), now);
        var application = Application.Create(tenantId, external, candidate.Id, new ApplicationDetails("Engineer", null, null), now);
        application.Reject(now, now);
        db.Candidates.Add(candidate);
        db.Applications.Add(application);
        db.FeedbackRequests.Add(FeedbackRequest.Create(tenantId, application.Id, null, now));
        await db.SaveChangesAsync();
    }

    /// <summary>Waits (through the API) until the subscription's only delivery reaches the status, and returns it with its attempts.</summary>
    private static async Task<WebhookDeliveryResponse> WaitForDeliveryAsync(TestTenant tenant, Guid subscriptionId, WebhookDeliveryStatus status, int attempts = 1)
    {
        var deadline = DateTime.UtcNow + Wait;
        var client = tenant.Admin;
        while (true)
        {
            var page = await (await client.GetAsync($"/v1/webhooks/{subscriptionId}/deliveries")).ReadAsync<FeedbackHub.Api.Infrastructure.Page<WebhookDeliverySummary>>();
            if (page.Items.Count == 1 && page.Items[0].Status == status && page.Items[0].AttemptCount >= attempts)
            {
                var delivery = await (await client.GetAsync($"/v1/webhooks/{subscriptionId}/deliveries/{page.Items[0].Id}")).ReadAsync<WebhookDeliveryResponse>();
                // The list reads the last finished attempt in SQL, the delivery from its attempts in C#: they agree.
                Assert.Equal((delivery.LastStatusCode, delivery.LastOutcome), (page.Items[0].LastStatusCode, page.Items[0].LastOutcome));
                Assert.NotNull(page.Items[0].LastOutcome);
                return delivery;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The delivery of {subscriptionId} did not become {status}: {string.Join(", ", page.Items.Select(i => $"{i.Status}/{i.AttemptCount}/{i.LastOutcome}"))}");
            await Task.Delay(100);
        }
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}
