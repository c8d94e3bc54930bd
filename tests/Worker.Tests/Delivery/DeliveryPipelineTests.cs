using FeedbackHub.Domain.Delivery;
using FeedbackHub.Messages;
using FeedbackHub.Tests;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>Scheduled delivery -> outbox -> RabbitMQ -> the outbound core (feedback email channel) -> real SMTP sink.</summary>
public sealed class DeliveryPipelineTests(DeliveryFixture pipeline) : IClassFixture<DeliveryFixture>
{
    [Fact]
    public async Task Approved_feedback_arrives_once_with_both_parts_and_the_expected_headers()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress();
        var scheduled = await arrange.DeliveryAsync(to);

        var mail = Assert.Single(await MailSink.WaitForAsync(to));
        var delivery = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent);

        Assert.Equal("Your interview feedback for Backend Engineer at " + await TenantNameAsync(arrange), mail.Subject);
        Assert.Equal(("Acme Talent", "feedback@acme.example"), mail.Mailbox("From"));
        Assert.Equal((null, "talent@acme.example"), mail.Mailbox("Reply-To"));
        Assert.Equal(("Ada", to), mail.Mailbox("To"));
        Assert.Equal($"<feedback.{scheduled.Id:N}@{DeliveryArrange.MessageIdDomain}>", mail.Header("Message-ID"));
        Assert.Equal($"feedback.{scheduled.Id:N}@{DeliveryArrange.MessageIdDomain}", delivery.MessageId);
        Assert.Contains("Dear Ada,", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("You broke the problem into clear steps", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("You broke the problem into clear steps", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("<", mail.HtmlBody, StringComparison.Ordinal);

        Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(delivery));
        Assert.StartsWith("250", delivery.LastReply, StringComparison.Ordinal);
        Assert.False(delivery.PossibleDuplicate);
        Assert.NotNull(delivery.SentAt);

        // The same message delivered again (a broker redelivery, a duplicated publish) sends nothing.
        var bus = pipeline.Worker.Get<IBus>();
        await bus.Publish(new DeliverFeedback(scheduled.Id, arrange.TenantId));
        await bus.Publish(new DeliverFeedback(scheduled.Id, arrange.TenantId));
        await Task.Delay(2000);
        Assert.Single(MailSink.For(to));
        var after = await arrange.LoadAsync(scheduled.Id);
        Assert.Equal(OutboundStatus.Sent, after.Status);
        Assert.Single(after.Attempts);
    }

    [Fact]
    public async Task Cooling_off_delay_is_respected()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromSeconds(6));
        var to = MailSink.NewAddress();
        var started = DateTimeOffset.UtcNow;
        var scheduled = await arrange.DeliveryAsync(to);
        Assert.True(scheduled.DueAt >= started + TimeSpan.FromSeconds(5.5), $"scheduled for {scheduled.DueAt:O}");

        // The cooling-off runs from the rejection, which the arrangement made before it asked: look 3 s before the due
        // time (nothing is claimed before it), however long the arrangement took on a busy machine.
        var lookAt = scheduled.DueAt - TimeSpan.FromSeconds(3);
        if (lookAt > DateTimeOffset.UtcNow)
            await Task.Delay(lookAt - DateTimeOffset.UtcNow);
        Assert.Empty(MailSink.For(to));
        Assert.Equal(OutboundStatus.Scheduled, (await arrange.LoadAsync(scheduled.Id)).Status);

        Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(15)));
        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent);
        Assert.True(sent.SentAt >= scheduled.DueAt, $"sent {sent.SentAt:O}, due {scheduled.DueAt:O}");
    }

    [Fact]
    public async Task An_early_duplicate_message_does_not_bypass_the_cooling_off_delay()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromSeconds(4));
        var to = MailSink.NewAddress();
        var scheduled = await arrange.DeliveryAsync(to);
        await pipeline.Worker.Get<IBus>().Publish(new DeliverFeedback(scheduled.Id, arrange.TenantId));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Empty(MailSink.For(to));
        Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task An_early_message_puts_one_back_for_the_due_time_so_a_lost_message_strands_nothing()
    {
        // Due in 6 s: the early message is handled well before the 2 s early tolerance, even on a busy machine.
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromSeconds(6));
        var to = MailSink.NewAddress();
        var scheduled = await arrange.DeliveryAsync(to);
        // The delivery's own message is lost (e.g. deleted by hand); only an early one arrives.
        await pipeline.Api.Database.ExecuteAsync($"DELETE FROM outbox_messages WHERE body::text LIKE '%{scheduled.Id}%'");
        await pipeline.Worker.Get<IBus>().Publish(new DeliverFeedback(scheduled.Id, arrange.TenantId));

        Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(15)));
        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent);
        Assert.True(sent.SentAt >= scheduled.DueAt, $"sent {sent.SentAt:O}, due {scheduled.DueAt:O}");
    }

    [Fact]
    public async Task An_interrupted_attempt_is_recovered_flagged_and_sent()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress();
        var stuck = await arrange.DeliveryAsync(to, interrupted: true);
        Assert.Equal(OutboundStatus.Sending, stuck.Status);

        Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(20)));
        var delivery = await arrange.WaitForStatusAsync(stuck.Id, OutboundStatus.Sent);
        Assert.True(delivery.PossibleDuplicate);
        Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.Accepted], DeliveryArrange.Outcomes(delivery));
    }

    [Fact]
    public async Task A_delivery_whose_application_is_no_longer_rejected_when_it_is_claimed_is_cancelled_audited_and_not_sent()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromSeconds(2));
        var to = MailSink.NewAddress("moved-on");
        var scheduled = await arrange.DeliveryAsync(to);
        // Reopened behind the API's back (nothing cancelled the delivery): the claim's own check, under the lock, stops it.
        await pipeline.Api.Database.ExecuteAsync($"UPDATE applications SET status = 'Active', rejected_at = NULL WHERE id = '{scheduled.ApplicationId}'");

        var cancelled = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Cancelled);
        Assert.Empty(cancelled.Attempts);
        var audit = Assert.Single(await arrange.AuditAsync(), e => e.SubjectId == scheduled.Id);
        Assert.Equal("delivery.cancelled", audit.Action);
        Assert.Contains("application-reopened", audit.Data, StringComparison.Ordinal);
        await Task.Delay(500);
        Assert.Empty(MailSink.LogFor(to));
    }

    [Fact]
    public async Task A_candidate_erased_before_the_due_time_gets_nothing()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromSeconds(2));
        var to = MailSink.NewAddress("erased");
        var scheduled = await arrange.DeliveryAsync(to);
        await pipeline.Api.Database.ExecuteAsync(
            $"UPDATE candidates SET erased_at = now(), first_name = '', last_name = NULL, email = '', locale = NULL WHERE id = (SELECT candidate_id FROM applications WHERE id = '{scheduled.ApplicationId}')");

        var failed = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Failed);
        Assert.Contains("erased", failed.LastReply, StringComparison.Ordinal);
        Assert.Equal([AttemptOutcome.PermanentFailure], DeliveryArrange.Outcomes(failed));
        await Task.Delay(500);
        Assert.Empty(MailSink.LogFor(to));
    }

    [Fact]
    public async Task One_claim_of_many_emails_decides_each_on_its_own_sent_erased_reopened_suppressed()
    {
        // Six deliveries due at the same instant, so the dispatcher claims them together (its batch reads recipients,
        // suppressions and answers for all at once): each must still get its own decision.
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var sendable = new[] { MailSink.NewAddress("batch-a"), MailSink.NewAddress("batch-b"), MailSink.NewAddress("batch-c") };
        var (erasedTo, reopenedTo, suppressedTo) = (MailSink.NewAddress("batch-erased"), MailSink.NewAddress("batch-reopened"), MailSink.NewAddress("batch-suppressed"));
        var scheduled = await arrange.DeliveriesAsync([.. sendable, erasedTo, reopenedTo, suppressedTo]);
        var (erased, reopened, suppressed) = (scheduled[3], scheduled[4], scheduled[5]);
        await pipeline.Api.Database.ExecuteAsync(
            $"UPDATE candidates SET erased_at = now(), first_name = '', last_name = NULL, email = '', locale = NULL WHERE id = (SELECT candidate_id FROM applications WHERE id = '{erased.ApplicationId}')");
        await pipeline.Api.Database.ExecuteAsync($"UPDATE applications SET status = 'Active', rejected_at = NULL WHERE id = '{reopened.ApplicationId}'");
        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            db.SuppressedAddresses.Add(SuppressedAddress.For(arrange.TenantId, suppressedTo.ToUpperInvariant(), "550 earlier", DateTimeOffset.UtcNow));
            await db.SaveChangesAsync();
        }

        await arrange.MakeAllDueAsync();

        foreach (var (delivery, to) in scheduled.Take(3).Zip(sendable))
        {
            Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(await arrange.WaitForStatusAsync(delivery.Id, OutboundStatus.Sent)));
            Assert.Single(await MailSink.WaitForAsync(to));
        }

        Assert.Contains("erased", (await arrange.WaitForStatusAsync(erased.Id, OutboundStatus.Failed)).LastReply, StringComparison.Ordinal);
        Assert.Empty((await arrange.WaitForStatusAsync(reopened.Id, OutboundStatus.Cancelled)).Attempts);
        Assert.Contains("suppressed", (await arrange.WaitForStatusAsync(suppressed.Id, OutboundStatus.Failed)).LastReply, StringComparison.Ordinal);
        var audit = await arrange.AuditAsync();
        Assert.Equal(3, audit.Count(e => e.Action == "delivery.sent"));
        Assert.Equal(2, audit.Count(e => e.Action == "delivery.failed" && e.Data.Contains("not-sendable", StringComparison.Ordinal)));
        Assert.Single(audit, e => e.Action == "delivery.cancelled" && e.SubjectId == reopened.Id);
        await Task.Delay(500);
        Assert.Empty(MailSink.LogFor(erasedTo));
        Assert.Empty(MailSink.LogFor(reopenedTo));
        Assert.Empty(MailSink.LogFor(suppressedTo));
    }

    [Fact]
    public async Task Locking_many_items_skips_those_whose_application_another_transaction_holds_and_takes_the_rest_in_application_order()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1)); // not due: the worker leaves them alone
        var scheduled = await arrange.DeliveriesAsync([MailSink.NewAddress("lock-a"), MailSink.NewAddress("lock-b"), MailSink.NewAddress("lock-c")]);
        var busy = scheduled[1];

        // Another transaction (an API writer) holds the second delivery's application.
        await using var other = pipeline.Api.Database.CreateDbContext();
        await using var otherTx = await other.Database.BeginTransactionAsync();
        await DeliveryScheduling.LockApplicationAsync(other, busy.ApplicationId, CancellationToken.None);

        await using var db = pipeline.Api.Database.CreateDbContext();
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            var locked = await OutboundLocks.LockManyAsync<Domain.Delivery.Delivery>(db, [.. scheduled.Select(d => d.Id), Guid.NewGuid()], CancellationToken.None, skipIfBusy: true);
            var expected = scheduled.Where(d => d.Id != busy.Id).OrderBy(d => d.ApplicationId.ToString(), StringComparer.Ordinal).ToList();
            Assert.Equal(expected.Select(d => d.Id), locked.Select(l => l.Item.Id));
            Assert.All(locked, l => Assert.Equal(l.Item.ApplicationId, l.Guard.Application?.ApplicationId));

            // Held until this transaction ends: the other writer cannot take them meanwhile.
            await using var third = pipeline.Api.Database.CreateDbContext();
            await using var thirdTx = await third.Database.BeginTransactionAsync();
            Assert.Null(await DeliveryScheduling.TryLockApplicationAsync(third, expected[0].ApplicationId, CancellationToken.None));
            await tx.RollbackAsync();
        }

        await otherTx.RollbackAsync();
    }

    [Fact]
    public async Task The_application_lock_key_is_the_hash_earlier_releases_took_so_old_and_new_processes_exclude_each_other()
    {
        var applicationId = Guid.NewGuid();
        await using var earlier = pipeline.Api.Database.CreateDbContext();
        await using var earlierTx = await earlier.Database.BeginTransactionAsync();
        await earlier.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({applicationId.ToString()}, 0))");

        await using var db = pipeline.Api.Database.CreateDbContext();
        await using var tx = await db.Database.BeginTransactionAsync();
        Assert.Null(await DeliveryScheduling.TryLockApplicationAsync(db, applicationId, CancellationToken.None));
        await earlierTx.RollbackAsync();
        Assert.NotNull(await DeliveryScheduling.TryLockApplicationAsync(db, applicationId, CancellationToken.None));
    }

    private async Task<string> TenantNameAsync(DeliveryArrange arrange)
    {
        await using var db = pipeline.Api.Database.CreateDbContext();
        return db.Tenants.Single(t => t.Id == arrange.TenantId).Name;
    }
}
