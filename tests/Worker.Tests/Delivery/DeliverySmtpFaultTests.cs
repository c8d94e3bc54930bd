using FeedbackHub.Domain.Delivery;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>A worker with a retry budget of 3 attempts.</summary>
public sealed class ThreeAttemptsFixture : DeliveryFixture
{
    protected override int MaxAttempts => 3;
}

/// <summary>SMTP refusals injected into the real sink: retries as outbox due times, permanent failures suppress the address.</summary>
[Collection(nameof(SmtpRules))]
public sealed class DeliverySmtpFaultTests(ThreeAttemptsFixture pipeline) : IClassFixture<ThreeAttemptsFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SmtpRules.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Temporary_refusals_are_retried_with_backoff_until_accepted()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("busy");
        SmtpRules.Set(new { match = to, code = 451, message = "4.3.0 Mailbox busy", times = 2 });
        var scheduled = await arrange.DeliveryAsync(to);

        Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(20)));
        var delivery = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent);
        Assert.Equal([AttemptOutcome.TransientFailure, AttemptOutcome.TransientFailure, AttemptOutcome.Accepted], DeliveryArrange.Outcomes(delivery));
        var attempts = delivery.Attempts.OrderBy(a => a.Number).ToList();
        Assert.StartsWith("451", attempts[0].Reply, StringComparison.Ordinal);
        Assert.True(attempts[1].StartedAt - attempts[0].StartedAt >= TimeSpan.FromSeconds(0.9), "first backoff");
        Assert.True(attempts[2].StartedAt - attempts[1].StartedAt >= TimeSpan.FromSeconds(1.9), "second backoff doubles");
        Assert.Equal(2, MailSink.LogFor(to).Count(l => l.Contains("\"refused\"", StringComparison.Ordinal)));

        // Only the outcome is audited (the retries are not), with its attempt and code.
        var audit = (await arrange.AuditAsync()).Where(e => e.SubjectId == scheduled.Id && e.Action.StartsWith("delivery.", StringComparison.Ordinal)).ToList();
        var sentEvent = Assert.Single(audit);
        Assert.Equal("delivery.sent", sentEvent.Action);
        Assert.Contains("\"attempt\":3", sentEvent.Data, StringComparison.Ordinal);
        Assert.Contains("\"code\":250", sentEvent.Data, StringComparison.Ordinal);
        Assert.Contains("\"possibleDuplicate\":false", sentEvent.Data, StringComparison.Ordinal);
        Assert.Equal("system", sentEvent.ActorName);
    }

    [Fact]
    public async Task An_answer_that_comes_after_recovery_took_the_attempt_over_does_not_overwrite_the_attempt_that_took_over()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("stale");
        // The first transaction's answer comes 6 s after its "." and is a refusal; later ones are accepted at once.
        SmtpRules.Set(new { match = to, stage = "data", delay_ms = 6000, code = 451, message = "4.3.0 Too late", times = 1 });
        var scheduled = await arrange.DeliveryAsync(to);
        await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sending);

        // While it waits, recovery takes the attempt over, as it does when a worker stops renewing its lease.
        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            await OutboundSteps.ChangeAsync<Domain.Delivery.Delivery>(db, scheduled.Id, (delivery, guard) =>
            {
                Assert.True(delivery.Interrupt(guard, DateTimeOffset.UtcNow));
                db.OutboxMessages.Add(Domain.Outbox.OutboxMessage.Create(new Messages.DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, DateTimeOffset.UtcNow));
            });
        }

        await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(30));
        await MailSink.WaitForAsync(to);
        await Task.Delay(TimeSpan.FromSeconds(7)); // the first attempt's late 451 has arrived by now

        var sent = await arrange.LoadAsync(scheduled.Id);
        Assert.Equal(OutboundStatus.Sent, sent.Status);
        Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.True(sent.PossibleDuplicate); // recovery could not know the first attempt would be refused
        Assert.Single(MailSink.For(to));
        Assert.Single(MailSink.LogFor(to), l => l.Contains("\"refused\"", StringComparison.Ordinal));
        Assert.Contains(pipeline.Worker.Logs.Lines, l => l.Contains("was taken over by recovery", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_answer_slower_than_the_lease_is_waited_for_the_lease_is_renewed_and_nothing_is_sent_twice()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("slow");
        // The server has the email at once but answers 12 s later: more than two leases (5 s) and recovery passes (1 s).
        SmtpRules.Set(new { match = to, stage = "data", answer_delay_ms = 12000 });
        var scheduled = await arrange.DeliveryAsync(to);

        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(40));
        Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.False(sent.PossibleDuplicate);
        await Task.Delay(1000);
        Assert.Single(MailSink.For(to));
    }

    [Fact]
    public async Task A_permanent_refusal_fails_at_once_and_suppresses_the_address()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("gone");
        SmtpRules.Set(new { match = to, code = 550, message = "5.1.1 No such user" });
        var first = await arrange.DeliveryAsync(to);

        var failed = await arrange.WaitForStatusAsync(first.Id, OutboundStatus.Failed);
        Assert.StartsWith("550", failed.LastReply, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(3)); // a retry would have happened by now (first backoff is 1 s)
        var still = await arrange.LoadAsync(first.Id);
        Assert.Equal([AttemptOutcome.PermanentFailure], DeliveryArrange.Outcomes(still));
        Assert.Single(MailSink.LogFor(to));
        Assert.Empty(MailSink.For(to));

        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            var hash = SuppressedAddress.Hash(to);
            Assert.Single(await db.SuppressedAddresses.Where(s => s.TenantId == arrange.TenantId && s.AddressHash == hash).ToListAsync());
        }

        // Another application of the same address (in upper case): no SMTP transaction at all.
        var second = await arrange.DeliveryAsync(to.ToUpperInvariant());
        var secondFailed = await arrange.WaitForStatusAsync(second.Id, OutboundStatus.Failed);
        Assert.Contains("suppressed", secondFailed.LastReply, StringComparison.Ordinal);
        await Task.Delay(500);
        Assert.Single(MailSink.LogFor(to));

        // Both outcomes are in the tenant's audit chain, with codes and no address; the chain verifies.
        var audit = await arrange.AuditAsync();
        var refused = audit.Where(e => e.SubjectId == first.Id).Select(e => (e.Action, e.Data)).ToList();
        Assert.Equal(["delivery.failed", "delivery.suppressed"], refused.Select(e => e.Action));
        Assert.Contains("\"reason\":\"refused\"", refused[0].Data, StringComparison.Ordinal);
        Assert.Contains("\"code\":550", refused[0].Data, StringComparison.Ordinal);
        Assert.Contains("\"detail\":\"rcpt-to 5.1.1\"", refused[1].Data, StringComparison.Ordinal);
        Assert.Contains(audit, e => e.SubjectId == second.Id && e.Action == "delivery.failed" && e.Data.Contains("not-sendable", StringComparison.Ordinal));
        Assert.DoesNotContain(audit, e => e.Data.Contains('@', StringComparison.Ordinal) || e.Data.Contains("No such user", StringComparison.Ordinal));
        await AuditChainVerifiesAsync(arrange);
    }

    [Fact]
    public async Task A_batch_with_one_refused_recipient_records_each_outcome_on_its_own()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var tag = "batch" + Guid.NewGuid().ToString("N")[..8];
        var emails = Enumerable.Range(0, 12).Select(i => MailSink.NewAddress($"{tag}-{i}")).ToList();
        var refused = emails[5];
        SmtpRules.Set(new { match = refused, code = 550, message = "5.1.1 No such user" });
        var deliveries = await arrange.DeliveriesAsync(emails);
        // All due at one instant: the dispatcher claims, sends and records them together.
        await arrange.MakeAllDueAsync();

        var failedId = deliveries[5].Id;
        var failed = await arrange.WaitForStatusAsync(failedId, OutboundStatus.Failed);
        foreach (var d in deliveries.Where(d => d.Id != failedId))
        {
            var sent = await arrange.WaitForStatusAsync(d.Id, OutboundStatus.Sent);
            Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        }

        Assert.Equal([AttemptOutcome.PermanentFailure], DeliveryArrange.Outcomes(failed));
        Assert.StartsWith("550", failed.LastReply, StringComparison.Ordinal);
        Assert.All(emails.Where(e => e != refused), e => Assert.Single(MailSink.For(e)));
        Assert.Empty(MailSink.For(refused));
        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            var suppressed = await db.SuppressedAddresses.Where(s => s.TenantId == arrange.TenantId).Select(s => s.AddressHash).ToListAsync();
            Assert.Equal([SuppressedAddress.Hash(refused)], suppressed);
        }

        // One final audit event per delivery (and the suppression of the refused one); the chain verifies.
        var audit = await arrange.AuditAsync();
        Assert.All(deliveries.Where(d => d.Id != failedId), d => Assert.Equal(["delivery.sent"], audit.Where(e => e.SubjectId == d.Id).Select(e => e.Action)));
        Assert.Equal(["delivery.failed", "delivery.suppressed"], audit.Where(e => e.SubjectId == failedId).Select(e => e.Action));
        await AuditChainVerifiesAsync(arrange);
    }

    [Fact]
    public async Task A_server_problem_at_MAIL_FROM_makes_emails_wait_uncounted_and_unsuppressed_and_they_all_go_out_once_it_is_fixed()
    {
        // The operator's problem (say, a relay that wants AUTH): 530 at MAIL FROM for this tenant's sender.
        var sender = MailSink.NewAddress("sender");
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, senderAddress: sender);
        var tag = "waiting" + Guid.NewGuid().ToString("N")[..8];
        var addresses = new[] { MailSink.NewAddress(tag), MailSink.NewAddress(tag) };
        SmtpRules.Set(new { match = sender, stage = "mail", code = 530, message = "5.7.0 Authentication required" });
        var deliveries = await arrange.DeliveriesAsync(addresses);

        // More tries than the budget (3), none counted: still waiting, nothing suppressed, nothing sent.
        foreach (var d in deliveries)
        {
            await WaitUntilAsync(
                async () => (await arrange.LoadAsync(d.Id)).Attempts.Count(a => a.Outcome == AttemptOutcome.ServerProblem) >= 4,
                TimeSpan.FromSeconds(30));
        }
        foreach (var d in deliveries)
        {
            var waiting = await arrange.LoadAsync(d.Id);
            Assert.NotEqual(OutboundStatus.Failed, waiting.Status);
            Assert.All(waiting.Attempts.Where(a => a.Outcome != AttemptOutcome.InProgress), a => Assert.Equal(AttemptOutcome.ServerProblem, a.Outcome));
            Assert.All(waiting.Attempts.Where(a => a.Outcome == AttemptOutcome.ServerProblem), a => Assert.False(a.CountsAgainstBudget));
            Assert.StartsWith("530", waiting.Attempts[0].Reply, StringComparison.Ordinal);
            Assert.False(waiting.PossibleDuplicate);
        }

        await using (var db = pipeline.Api.Database.CreateDbContext())
            Assert.False(await db.SuppressedAddresses.AnyAsync(s => s.TenantId == arrange.TenantId));
        Assert.All(addresses, a => Assert.Empty(MailSink.For(a)));

        SmtpRules.Clear(); // the operator fixes the relay
        foreach (var d in deliveries)
        {
            var sent = await arrange.WaitForStatusAsync(d.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(20));
            Assert.Equal(AttemptOutcome.Accepted, sent.Attempts.OrderBy(a => a.Number).Last().Outcome);
        }

        Assert.All(addresses, a => Assert.Single(MailSink.For(a)));
        Assert.DoesNotContain(await arrange.AuditAsync(), e => e.Action is "delivery.failed" or "delivery.suppressed");
    }

    [Fact]
    public async Task A_refusal_after_the_data_is_the_servers_problem_retried_uncounted_and_never_suppressed()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("toobig");
        SmtpRules.Set(new { match = to, stage = "data", code = 552, message = "5.3.4 Message size exceeds fixed limit", times = 4 });
        var scheduled = await arrange.DeliveryAsync(to);

        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(30));
        Assert.Equal(
            [AttemptOutcome.ServerProblem, AttemptOutcome.ServerProblem, AttemptOutcome.ServerProblem, AttemptOutcome.ServerProblem, AttemptOutcome.Accepted],
            DeliveryArrange.Outcomes(sent)); // four refusals, one more than the budget, and still sent
        Assert.StartsWith("552", sent.Attempts.OrderBy(a => a.Number).First().Reply, StringComparison.Ordinal);
        await using (var db = pipeline.Api.Database.CreateDbContext())
            Assert.False(await db.SuppressedAddresses.AnyAsync(s => s.TenantId == arrange.TenantId));
        Assert.Single(MailSink.For(to));
    }

    private static async Task AuditChainVerifiesAsync(DeliveryArrange arrange)
    {
        var result = await (await arrange.Tenant!.Admin.GetAsync("/v1/audit/verify")).ReadAsync<FeedbackHub.Api.Features.Audit.AuditVerification>();
        Assert.True(result.Valid, result.FirstBreak?.Detail);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not become true in time.");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task The_retry_budget_ends_in_failure_with_the_last_reply()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("full");
        SmtpRules.Set(new { match = to, code = 452, message = "4.2.2 Mailbox full" });
        var scheduled = await arrange.DeliveryAsync(to);

        var failed = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Failed, TimeSpan.FromSeconds(30));
        Assert.Equal([AttemptOutcome.TransientFailure, AttemptOutcome.TransientFailure, AttemptOutcome.TransientFailure], DeliveryArrange.Outcomes(failed));
        Assert.Equal("452 4.2.2 Mailbox full", failed.LastReply);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(3, (await arrange.LoadAsync(scheduled.Id)).Attempts.Count);
        Assert.Equal(3, MailSink.LogFor(to).Count);
        Assert.Empty(MailSink.For(to));
    }
}
