using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Delivery;
using FeedbackHub.Worker.Tests.Foundation;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Erasure;

/// <summary>A worker whose first SMTP retry waits a minute, so a test can erase between a refusal and the retry.</summary>
public sealed class SlowRetryFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        var settings = DeliveryFixture.WorkerSettings(6);
        settings["Delivery:FirstBackoff"] = "00:01:00";
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], settings);
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>Messages about an erased candidate are consumed cleanly: no email, no retry loop, nothing personal written.</summary>
[Collection(nameof(SmtpRules))]
public sealed class ErasedCandidateConsumerTests(SlowRetryFixture pipeline) : IClassFixture<SlowRetryFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SmtpRules.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_delivery_message_for_an_erased_candidate_sends_nothing()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("erased");
        var scheduled = await arrange.DeliveryAsync(to);
        await EraseAsync(arrange.TenantId, scheduled.ApplicationId);

        await arrange.MakeAllDueAsync(); // the outbox message goes out now; the delivery itself is cancelled
        await WaitUntilAsync(async db => !await db.OutboxMessages.AnyAsync(m => m.TenantId == arrange.TenantId));
        await Task.Delay(1000);
        var delivery = await arrange.LoadAsync(scheduled.Id);
        Assert.Equal(OutboundStatus.Cancelled, delivery.Status);
        Assert.Empty(delivery.Attempts);
        Assert.Empty(MailSink.LogFor(to));
    }

    [Fact]
    public async Task A_delivery_interrupted_mid_send_of_an_erased_candidate_ends_failed_without_sending_again()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("midsend");
        var sending = await arrange.DeliveryAsync(to, interrupted: true); // Sending, lease run out: the recovery sends it again
        await EraseAsync(arrange.TenantId, sending.ApplicationId);

        var failed = await arrange.WaitForStatusAsync(sending.Id, OutboundStatus.Failed);
        Assert.Contains("erased", failed.LastReply, StringComparison.Ordinal);
        await Task.Delay(1500);
        Assert.Equal(OutboundStatus.Failed, (await arrange.LoadAsync(sending.Id)).Status); // no loop
        Assert.Empty(MailSink.LogFor(to));
        AssertNotInWorkerLogs(to);
    }

    [Fact]
    public async Task An_invitation_message_for_an_erased_candidate_is_consumed_cleanly()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var to = MailSink.NewAddress("invited");
        var scheduled = await arrange.DeliveryAsync(to);
        var outboxId = await QueueInvitationAsync(arrange.TenantId, scheduled.ApplicationId, DateTimeOffset.UtcNow.AddHours(1));
        await EraseAsync(arrange.TenantId, scheduled.ApplicationId);

        await arrange.MakeAllDueAsync();
        await WaitUntilAsync(async db => !await db.OutboxMessages.AnyAsync(m => m.Id == outboxId)); // published
        await Task.Delay(1000); // and consumed: the invitation was cancelled by the erasure, so nothing is sent
        await using var check = pipeline.Api.Database.CreateDbContext();
        Assert.Equal(OutboundStatus.Cancelled, (await check.Invitations.SingleAsync(i => i.ApplicationId == scheduled.ApplicationId)).Status);
        Assert.False(await check.FeedbackRequestLinks.AnyAsync(l => l.ApplicationId == scheduled.ApplicationId && l.RevokedAt == null));
        Assert.Empty(MailSink.LogFor(to));
    }

    [Fact]
    public async Task A_refusal_quoting_the_address_is_scrubbed_and_the_retry_never_happens()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("greylisted");
        SmtpRules.Set(new { match = to, code = 451, message = $"4.2.0 <{to}> greylisted, try later" });
        var scheduled = await arrange.DeliveryAsync(to);
        await WaitUntilAsync(async db => (await db.OutboundAttempts.Where(a => a.OutboundId == scheduled.Id).Select(a => a.Reply).FirstOrDefaultAsync()) is not null);
        var refused = await arrange.LoadAsync(scheduled.Id);
        Assert.Equal(OutboundStatus.Scheduled, refused.Status); // the retry is a minute away
        Assert.Contains(to, refused.Attempts.Single().Reply, StringComparison.OrdinalIgnoreCase);

        await EraseAsync(arrange.TenantId, scheduled.ApplicationId);
        SmtpRules.Clear();
        await arrange.MakeAllDueAsync(); // the retry message goes out now
        await WaitUntilAsync(async db => !await db.OutboxMessages.AnyAsync(m => m.TenantId == arrange.TenantId));
        await Task.Delay(1000);

        var after = await arrange.LoadAsync(scheduled.Id);
        Assert.Equal(OutboundStatus.Cancelled, after.Status);
        Assert.Single(after.Attempts);
        Assert.StartsWith("451 (reply text erased", after.Attempts.Single().Reply, StringComparison.Ordinal);
        Assert.Empty(MailSink.For(to));
        Assert.DoesNotContain(to, await pipeline.Api.Database.DumpAsync(), StringComparison.OrdinalIgnoreCase);
        AssertNotInWorkerLogs(to);
    }

    private void AssertNotInWorkerLogs(string address) =>
        Assert.DoesNotContain(pipeline.Worker.Logs.Lines, l => l.Contains(address, StringComparison.OrdinalIgnoreCase));

    private async Task EraseAsync(Guid tenantId, Guid applicationId)
    {
        await using var db = pipeline.Api.Database.CreateDbContext();
        var candidateId = (await db.Applications.SingleAsync(a => a.Id == applicationId)).CandidateId;
        var result = await CandidateErasure.EraseAsync(db, new AuditLog(db, TimeProvider.System), tenantId, candidateId, Actor.System, ErasureReason.Manual,
            DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.False(result.AlreadyErased);
    }

    private async Task<Guid> QueueInvitationAsync(Guid tenantId, Guid applicationId, DateTimeOffset dueAt)
    {
        await using var db = pipeline.Api.Database.CreateDbContext();
        // Queued as of dueAt, so not due before then: the dispatcher (it polls the table) must not send it before the
        // test erases the candidate; MakeAllDueAsync makes it due afterwards.
        var (_, messageId) = await OutboundSteps.QueueInvitationAsync(db, tenantId, applicationId, dueAt, dueAt);
        return messageId!.Value;
    }

    private async Task WaitUntilAsync(Func<FeedbackHubDbContext, Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            await using (var db = pipeline.Api.Database.CreateDbContext())
            {
                if (await condition(db))
                    return;
            }

            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not become true in time.");
            await Task.Delay(100);
        }
    }
}
