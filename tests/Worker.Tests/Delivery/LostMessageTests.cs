using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Messages;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Webhooks;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>The API and a worker that treats anything 3 s overdue as having lost its message.</summary>
public sealed class LostMessageFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        var settings = WebhookFixture.WorkerSettings();
        settings["Delivery:LostMessageAfter"] = "00:00:03";
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], settings);
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>
/// A message lost outside the database (a purged or dead-lettered queue) strands nothing: the email and webhook
/// dispatchers find due items in the <c>outbound</c> table (messages only wake them), and recovery queues a new message
/// for anything still waiting Delivery:LostMessageAfter past its due time.
/// </summary>
public sealed class LostMessageTests(LostMessageFixture fixture) : IClassFixture<LostMessageFixture>
{
    [Fact]
    public async Task A_scheduled_delivery_needs_no_message_the_dispatcher_finds_it_due_in_the_table()
    {
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("lost");
        var scheduled = await arrange.DeliveryAsync(to);
        // As if its message had been published and then purged from the queue: no outbox row, due a second ago
        // (recovery would act only 3 s past the due time).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await fixture.Api.Database.ExecuteAsync(
            $"DELETE FROM outbox_messages WHERE body::text LIKE '%{scheduled.Id}%'; UPDATE outbound SET due_at = now() - interval '1 second' WHERE id = '{scheduled.Id}'");

        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(30));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"sent after {clock.Elapsed.TotalMilliseconds:0} ms: it waited for recovery");
        Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.False(sent.PossibleDuplicate);
        Assert.Single(await MailSink.WaitForAsync(to));
        Assert.DoesNotContain(fixture.Worker.Logs.Lines, m => m.Contains($"feedback-email {scheduled.Id} was still waiting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pending_webhook_delivery_needs_no_message_the_dispatcher_finds_it_due_in_the_table()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await fixture.Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        var box = new WebhookSecretBox(Convert.FromBase64String(TestServices.WebhookSecretKey));
        var (subscription, secret) = WebhookSubscription.Create(tenant.Id, new Uri(receiver.Url("/lost")), [WebhookEventTypes.FeedbackRequested], null, box, DateTimeOffset.UtcNow);

        // The event is raised (webhook deliveries queue no message) and any message removed in the same transaction, so the
        // relay never sees one; due a second ago (recovery would act only 3 s past the due time: a minute ago let the
        // recovery sweep find it first when it ran before the dispatcher's claim, a CI failure of 2026-12-03).
        Guid deliveryId;
        await using (var db = fixture.Api.Database.CreateDbContext())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            db.WebhookSubscriptions.Add(subscription);
            await db.SaveChangesAsync();
            await WebhookPipelineTests.RaiseRequestAsync(db, tenant.Id);
            deliveryId = await db.WebhookDeliveries.Where(d => d.SubscriptionId == subscription.Id).Select(d => d.Id).SingleAsync();
            await db.Database.ExecuteSqlAsync($"DELETE FROM outbox_messages WHERE message_type LIKE '%DeliverWebhook%' AND body::text LIKE {"%" + deliveryId + "%"}");
            await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = now() - interval '1 second' WHERE id = {deliveryId}");
            await tx.CommitAsync();
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await WebhookPipelineTests.WaitUntilAsync(() => receiver.At("/lost").Count == 1, "the webhook without a message");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"sent after {clock.Elapsed.TotalMilliseconds:0} ms: it waited for recovery");
        var request = Assert.Single(receiver.At("/lost"));
        Assert.True(WebhookReceiver.Verify(secret, request.Signature, request.Body, DateTimeOffset.UtcNow));
        Assert.DoesNotContain(fixture.Worker.Logs.Lines, m => m.Contains($"webhook {deliveryId} was still waiting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_queued_invitation_whose_message_was_lost_is_sent_by_the_dispatcher()
    {
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("lost-invite");
        var rejected = await arrange.DeliveryAsync(to);
        // Queued a minute ago, and its message is gone (never written here: as if purged or dead-lettered).
        Invitation invitation;
        await using (var db = fixture.Api.Database.CreateDbContext())
            (invitation, _) = await OutboundSteps.QueueInvitationAsync(db, arrange.TenantId, rejected.ApplicationId, DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1), messageDueAt: null);

        var mail = Assert.Single(await MailSink.WaitForAsync(to));
        Assert.Contains("would you like feedback?", mail.Subject, StringComparison.Ordinal);
        await WebhookPipelineTests.WaitUntilAsync(() => StatusOf(invitation.Id) == OutboundStatus.Sent, "the invitation to be sent");
    }

    [Fact]
    public async Task An_invitation_that_could_not_go_out_before_the_request_window_ended_fails_without_an_email()
    {
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("late-invite");
        var rejected = await arrange.DeliveryAsync(to);
        // Rejected 40 days ago (the request window is 30 days): a link sent now would already be expired.
        await fixture.Api.Database.ExecuteAsync($"UPDATE applications SET rejected_at = now() - interval '40 days' WHERE id = '{rejected.ApplicationId}'");
        Invitation invitation;
        await using (var db = fixture.Api.Database.CreateDbContext())
            (invitation, _) = await OutboundSteps.QueueInvitationAsync(db, arrange.TenantId, rejected.ApplicationId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);

        await WebhookPipelineTests.WaitUntilAsync(() => StatusOf(invitation.Id) == OutboundStatus.Failed, "the invitation to fail");
        await using (var db = fixture.Api.Database.CreateDbContext())
            Assert.Contains("request window ended", (await db.Invitations.SingleAsync(i => i.Id == invitation.Id)).LastReply, StringComparison.Ordinal);
        Assert.Empty(MailSink.For(to));
    }

    private OutboundStatus StatusOf(Guid invitationId)
    {
        using var db = fixture.Api.Database.CreateDbContext();
        return db.Invitations.AsNoTracking().Single(i => i.Id == invitationId).Status;
    }
}
