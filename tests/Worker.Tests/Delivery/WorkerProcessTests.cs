using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using System.Diagnostics;
using FeedbackHub.Worker.Tests.Foundation;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>Only the API's database (no in-process worker): these tests run real worker processes.</summary>
public sealed class DatabaseOnlyFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public Task InitializeAsync() => Api.InitializeAsync();

    public Task DisposeAsync() => ((IAsyncLifetime)Api).DisposeAsync();
}

/// <summary>
/// Real worker processes on the same queue. Uses the sink's rules file (to slow SMTP down so a kill lands in the
/// middle of a batch), so it runs in the non-parallel SmtpRules collection.
/// </summary>
[Collection(nameof(SmtpRules))]
public sealed class WorkerProcessTests(DatabaseOnlyFixture fixture, ITestOutputHelper output) : IClassFixture<DatabaseOnlyFixture>, IAsyncLifetime
{
    /// <summary>Each worker's prefetch and <c>Delivery:BatchSize</c>: the most emails it holds, so the most a kill can duplicate.</summary>
    private const int Prefetch = 16;

    private readonly DateTime _since = DateTime.UtcNow;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SmtpRules.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_worker_killed_mid_batch_loses_nothing_and_duplicates_only_flagged_in_flight_emails()
    {
        const int count = 200;
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var tag = "kill" + Guid.NewGuid().ToString("N")[..8];
        var (arrange, byAddress) = await ArrangeAsync(tag, count);
        SmtpRules.Set(new { match = tag, delay_ms = 100 });

        int atKill;
        await using (var first = await WorkerProcess.StartAsync(fixture.Api.Database.ConnectionString, prefix, Prefetch))
        {
            await arrange.MakeAllDueAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DeliveryArrange.MailCounts(tag, _since).Count < 40 && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            await first.KillAsync();
            atKill = DeliveryArrange.MailCounts(tag, _since).Count;
        }

        Assert.InRange(atKill, 40, count - 1); // killed in the middle of the batch

        await using var second = await WorkerProcess.StartAsync(fixture.Api.Database.ConnectionString, prefix, Prefetch);
        var sent = await arrange.WaitForAllSentAsync(count, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        var mails = DeliveryArrange.MailCounts(tag, _since);

        Assert.Equal(count, mails.Count); // every email arrived
        var duplicated = mails.Where(m => m.Value > 1).Select(m => byAddress[m.Key]).ToHashSet();
        var flagged = sent.Where(d => d.PossibleDuplicate).Select(d => d.Id).ToHashSet();
        Assert.Subset(flagged, duplicated); // a duplicate is never silent
        Assert.True(mails.Values.Sum() - count <= Prefetch, $"{mails.Values.Sum() - count} duplicates, more than the {Prefetch} in flight");
        Assert.True(flagged.Count <= Prefetch, $"{flagged.Count} flagged, more than the {Prefetch} in flight");
        Assert.All(sent.Where(d => d.PossibleDuplicate), d => Assert.Contains(d.Attempts, a => a.Outcome == AttemptOutcome.Interrupted));
    }

    [Fact]
    public async Task Two_worker_processes_on_one_queue_send_each_email_exactly_once()
    {
        const int count = 100;
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var tag = "pair" + Guid.NewGuid().ToString("N")[..8];
        var clock = Stopwatch.StartNew();
        var (arrange, _) = await ArrangeAsync(tag, count);
        output.WriteLine($"arranged {clock.Elapsed}");
        SmtpRules.Set(new { match = tag, delay_ms = 20 });

        await using var first = await WorkerProcess.StartAsync(fixture.Api.Database.ConnectionString, prefix, Prefetch);
        await using var second = await WorkerProcess.StartAsync(fixture.Api.Database.ConnectionString, prefix, Prefetch);
        output.WriteLine($"started {clock.Elapsed}");
        await arrange.MakeAllDueAsync();
        var sent = await arrange.WaitForAllSentAsync(count, TimeSpan.FromSeconds(60));
        output.WriteLine($"sent {clock.Elapsed}");
        await Task.Delay(1000);

        var mails = DeliveryArrange.MailCounts(tag, _since);
        output.WriteLine($"taken over by recovery: {first.Count("interrupted mid-attempt")} + {second.Count("interrupted mid-attempt")}");
        Assert.Equal(count, mails.Count);
        Assert.All(mails, m => Assert.Equal(1, m.Value));
        Assert.All(sent, d => Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(d)));
        var byFirst = first.Count("sent: 250");
        var bySecond = second.Count("sent: 250");
        Assert.Equal(count, byFirst + bySecond);
        Assert.True(byFirst > 0 && bySecond > 0, $"first sent {byFirst}, second {bySecond}: both processes should share the queue");
    }

    [Fact]
    public async Task An_invitation_and_a_webhook_interrupted_by_a_killed_worker_are_recovered_flagged_and_sent()
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, before) => new ReceiverAnswer(200, before == 0 ? TimeSpan.FromSeconds(8) : TimeSpan.Zero);
        var tenant = await fixture.Api.CreateTenantAsync(settings: Webhooks.WebhookPipelineTests.DevSettings with { CoolingOffDelay = TimeSpan.FromHours(1) });
        (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url("/killed"), events = new[] { "feedback.requested" } })).EnsureSuccessStatusCode();

        // The sink stores the invitation at once but answers 8 s later; the receiver holds the webhook 8 s: the worker dies in between.
        var invitee = MailSink.NewAddress("killed-invite");
        SmtpRules.Set(new { match = invitee, stage = "data", answer_delay_ms = 8000, times = 1 });
        var arrange = new DeliveryArrange(fixture.Api.Database, tenant.Id);
        var story = (await arrange.SubmittedStoriesAsync([invitee]))[0]; // the candidate's request raises feedback.requested
        Domain.Delivery.Invitation invitation;
        await using (var db = fixture.Api.Database.CreateDbContext())
            (invitation, _) = await OutboundSteps.QueueInvitationAsync(db, tenant.Id, story.ApplicationId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        Guid webhookId;
        await using (var db = fixture.Api.Database.CreateDbContext())
            webhookId = await db.WebhookDeliveries.Where(d => d.TenantId == tenant.Id).Select(d => d.Id).SingleAsync();

        await using (var first = await WorkerProcess.StartAsync(fixture.Api.Database.ConnectionString, prefix, Prefetch))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!(MailSink.For(invitee).Count == 1 && receiver.At("/killed").Count == 1 && await StatusAsync(invitation.Id) == OutboundStatus.Sending
                     && await StatusAsync(webhookId) == OutboundStatus.Sending))
            {
                Assert.True(DateTime.UtcNow < deadline, "the worker did not get both in flight");
                await Task.Delay(50);
            }

            await first.KillAsync(); // both handed over, neither answer recorded
        }

        await using var second = await WorkerProcess.StartAsync(fixture.Api.Database.ConnectionString, prefix, Prefetch);
        var sent = await OutboundSteps.WaitSentAsync(fixture.Api.Database, invitation.Id, TimeSpan.FromSeconds(45));
        var delivered = await OutboundSteps.WaitSentAsync(fixture.Api.Database, webhookId, TimeSpan.FromSeconds(45));

        Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.Accepted], sent.Attempts.OrderBy(a => a.Number).Select(a => a.Outcome));
        Assert.True(sent.PossibleDuplicate); // the sink had the first email: the candidate got it twice, flagged
        Assert.Equal(2, MailSink.For(invitee).Count);
        await using (var db = fixture.Api.Database.CreateDbContext())
        {
            // The first email may have been read: its link was kept, and so was the second's.
            Assert.Equal(2, await db.FeedbackRequestLinks.CountAsync(l => l.ApplicationId == story.ApplicationId && l.RevokedAt == null));
        }

        Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.Accepted], delivered.Attempts.OrderBy(a => a.Number).Select(a => a.Outcome));
        var requests = receiver.At("/killed");
        Assert.Equal(2, requests.Count);
        Assert.Single(requests.Select(r => r.EventId).Distinct()); // the same event id: the receiver deduplicates
        Assert.Equal(["1", "2"], requests.Select(r => r.Attempt));
    }

    private async Task<OutboundStatus> StatusAsync(Guid id)
    {
        await using var db = fixture.Api.Database.CreateDbContext();
        return await db.Outbound.AsNoTracking().Where(o => o.Id == id).Select(o => o.Status).SingleAsync();
    }


    /// <summary>Deliveries far in the future (made due once the workers run), keyed by address.</summary>
    private async Task<(DeliveryArrange Arrange, Dictionary<string, Guid> ByAddress)> ArrangeAsync(string tag, int count)
    {
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api, coolingOff: TimeSpan.FromHours(1));
        var addresses = Enumerable.Range(0, count).Select(_ => MailSink.NewAddress(tag)).ToList();
        var deliveries = await arrange.DeliveriesAsync(addresses);
        return (arrange, addresses.Zip(deliveries).ToDictionary(p => p.First, p => p.Second.Id, StringComparer.OrdinalIgnoreCase));
    }
}
