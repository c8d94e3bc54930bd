using FeedbackHub.Domain.Delivery;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;
using FeedbackHub.Domain.Outbound;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>
/// RabbitMQ stops and restarts while deliveries are being sent. (Runs alone, like every BrokerOutage test, so it may
/// also write the SMTP sink's rules file.)
/// </summary>
[Collection(nameof(BrokerOutage))]
public sealed class DeliveryBrokerOutageTests(DeliveryFixture pipeline) : IClassFixture<DeliveryFixture>
{
    [Fact]
    public async Task A_broker_restart_in_the_middle_of_a_batch_loses_and_duplicates_nothing()
    {
        const int count = 30;
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var tag = "outage" + Guid.NewGuid().ToString("N")[..8];
        var since = DateTime.UtcNow;
        var ids = (await arrange.DeliveriesAsync(Enumerable.Range(0, count).Select(_ => MailSink.NewAddress(tag)).ToList())).Select(d => d.Id).ToList();

        // Due one after the other over 6 s; the broker goes away after about 2 s.
        var start = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(0.5);
        for (var i = 0; i < count; i++)
            await arrange.RescheduleAsync(ids[i], start + TimeSpan.FromMilliseconds(200 * i));
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var beforeStop = DeliveryArrange.MailCounts(tag, since).Count;
        await TestServices.RunServicesCommandAsync("stop-rabbit");
        int duringOutage;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            duringOutage = DeliveryArrange.MailCounts(tag, since).Count;
        }
        finally
        {
            await TestServices.RunServicesCommandAsync("start-rabbit");
        }

        Assert.InRange(beforeStop, 1, count - 1); // the outage really was in the middle of the batch
        Assert.True(duringOutage < count, $"{duringOutage} of {count} arrived while the broker was down");
        var sent = await arrange.WaitForAllSentAsync(count, TimeSpan.FromSeconds(90));
        await Task.Delay(1000);
        var mails = DeliveryArrange.MailCounts(tag, since);
        Assert.Equal(count, mails.Count);
        Assert.All(mails, m => Assert.Equal(1, m.Value));
        Assert.All(sent, d => Assert.False(d.PossibleDuplicate));
    }

    [Fact]
    public async Task A_broker_lost_before_the_SMTP_server_took_the_email_releases_it_at_once_without_a_duplicate_flag()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("release");
        var scheduled = await arrange.DeliveryAsync(to);
        SmtpRules.Set(new { match = to, stage = "rcpt", delay_ms = 8000 }); // the SMTP transaction stalls before DATA
        try
        {
            await arrange.RescheduleAsync(scheduled.Id, DateTimeOffset.UtcNow);
            await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sending, TimeSpan.FromSeconds(20));
            await Task.Delay(300); // the consumer is now waiting for the RCPT answer
            await TestServices.RunServicesCommandAsync("stop-rabbit");
            try
            {
                // Released well before the 5 s lease would run out and recovery would flag it.
                var released = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Scheduled, TimeSpan.FromSeconds(4));
                Assert.Equal([AttemptOutcome.NotSent], DeliveryArrange.Outcomes(released));
                Assert.False(released.PossibleDuplicate);
                SmtpRules.Clear();
            }
            finally
            {
                await TestServices.RunServicesCommandAsync("start-rabbit");
            }
        }
        finally
        {
            SmtpRules.Clear();
        }

        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(90));
        Assert.Equal([AttemptOutcome.NotSent, AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.False(sent.PossibleDuplicate);
        Assert.False(sent.Attempts.Single(a => a.Outcome == AttemptOutcome.NotSent).CountsAgainstBudget);
        await Task.Delay(1000);
        Assert.Single(MailSink.For(to));
    }

    [Fact]
    public async Task An_invitation_queued_while_the_broker_is_down_is_sent_once_after_it_returns_and_a_webhook_does_not_wait_for_the_broker()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await pipeline.Api.CreateTenantAsync(settings: Webhooks.WebhookPipelineTests.DevSettings with { CoolingOffDelay = TimeSpan.FromHours(1) });
        (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url("/outage"), events = new[] { "feedback.requested" } })).EnsureSuccessStatusCode();
        var arrange = new DeliveryArrange(pipeline.Api.Database, tenant.Id);
        var invitee = MailSink.NewAddress("outage-invite");

        Guid invitationId, webhookId;
        await TestServices.RunServicesCommandAsync("stop-rabbit");
        try
        {
            // Both are queued while the relay cannot publish: the invitation waits for its outbox message, the webhook
            // delivery does not need one (the worker's dispatcher claims due deliveries from the database, ADR 0015).
            var story = (await arrange.SubmittedStoriesAsync([invitee]))[0]; // the candidate's request raises feedback.requested
            await using (var db = pipeline.Api.Database.CreateDbContext())
                invitationId = (await OutboundSteps.QueueInvitationAsync(db, tenant.Id, story.ApplicationId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)).Invitation.Id;
            await using (var db = pipeline.Api.Database.CreateDbContext())
                webhookId = await db.WebhookDeliveries.Where(d => d.TenantId == tenant.Id).Select(d => d.Id).SingleAsync();
            var webhook = await OutboundSteps.WaitSentAsync(pipeline.Api.Database, webhookId, TimeSpan.FromSeconds(30));
            Assert.Equal([AttemptOutcome.Accepted], webhook.Attempts.Select(a => a.Outcome));
            Assert.Empty(MailSink.For(invitee));
        }
        finally
        {
            await TestServices.RunServicesCommandAsync("start-rabbit");
        }

        var sent = await OutboundSteps.WaitSentAsync(pipeline.Api.Database, invitationId, TimeSpan.FromSeconds(90));
        Assert.Equal([AttemptOutcome.Accepted], sent.Attempts.Select(a => a.Outcome));
        Assert.False(sent.PossibleDuplicate);

        await Task.Delay(1000);
        Assert.Single(MailSink.For(invitee));
        Assert.Single(receiver.At("/outage"));
    }

}
