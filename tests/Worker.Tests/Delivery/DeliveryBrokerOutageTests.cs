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
        Assert.True(duringOutage > beforeStop, $"{duringOutage} of {count} arrived by the end of the outage, {beforeStop} before it: emails need no broker (ADR 0017)");
        var sent = await arrange.WaitForAllSentAsync(count, TimeSpan.FromSeconds(90));
        await Task.Delay(1000);
        var mails = DeliveryArrange.MailCounts(tag, since);
        Assert.Equal(count, mails.Count);
        Assert.All(mails, m => Assert.Equal(1, m.Value));
        Assert.All(sent, d => Assert.False(d.PossibleDuplicate));
    }

    [Fact]
    public async Task A_broker_lost_while_an_email_is_in_the_SMTP_conversation_changes_nothing_it_is_sent_once_unflagged()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("release");
        var scheduled = await arrange.DeliveryAsync(to);
        SmtpRules.Set(new { match = to, stage = "rcpt", delay_ms = 8000 }); // the SMTP transaction stalls before DATA
        try
        {
            await arrange.RescheduleAsync(scheduled.Id, DateTimeOffset.UtcNow);
            await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sending, TimeSpan.FromSeconds(20));
            await Task.Delay(300); // the dispatcher is now waiting for the RCPT answer
            await TestServices.RunServicesCommandAsync("stop-rabbit");
            try
            {
                // The dispatcher holds no message: the conversation goes on, its lease is renewed, and the answer is recorded.
                var sentMeanwhile = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(20));
                Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sentMeanwhile));
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

        await Task.Delay(1000);
        var sent = await arrange.LoadAsync(scheduled.Id);
        Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.False(sent.PossibleDuplicate);
        Assert.Single(MailSink.For(to));
    }

    [Fact]
    public async Task An_invitation_and_a_webhook_queued_while_the_broker_is_down_do_not_wait_for_it_and_are_sent_once()
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
            // Both are queued while the relay cannot publish: neither needs its message (the worker's dispatchers claim
            // due items from the database, ADRs 0015 and 0017); the invitation's message waits in the outbox, harmless.
            var story = (await arrange.SubmittedStoriesAsync([invitee]))[0]; // the candidate's request raises feedback.requested
            await using (var db = pipeline.Api.Database.CreateDbContext())
                invitationId = (await OutboundSteps.QueueInvitationAsync(db, tenant.Id, story.ApplicationId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)).Invitation.Id;
            await using (var db = pipeline.Api.Database.CreateDbContext())
                webhookId = await db.WebhookDeliveries.Where(d => d.TenantId == tenant.Id).Select(d => d.Id).SingleAsync();
            var webhook = await OutboundSteps.WaitSentAsync(pipeline.Api.Database, webhookId, TimeSpan.FromSeconds(30));
            Assert.Equal([AttemptOutcome.Accepted], webhook.Attempts.Select(a => a.Outcome));
            var sent = await OutboundSteps.WaitSentAsync(pipeline.Api.Database, invitationId, TimeSpan.FromSeconds(30));
            Assert.Equal([AttemptOutcome.Accepted], sent.Attempts.Select(a => a.Outcome));
            Assert.False(sent.PossibleDuplicate);
        }
        finally
        {
            await TestServices.RunServicesCommandAsync("start-rabbit");
        }

        await Task.Delay(1000); // the invitation's late message sends nothing again

        await Task.Delay(1000);
        Assert.Single(MailSink.For(invitee));
        Assert.Single(receiver.At("/outage"));
    }

}
