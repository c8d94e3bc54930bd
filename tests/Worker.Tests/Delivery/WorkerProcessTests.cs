using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using System.Diagnostics;
using FeedbackHub.Worker.Tests.Foundation;
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
        Assert.Equal(count, mails.Count);
        Assert.All(mails, m => Assert.Equal(1, m.Value));
        Assert.All(sent, d => Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(d)));
        var byFirst = first.Count("sent: 250");
        var bySecond = second.Count("sent: 250");
        Assert.Equal(count, byFirst + bySecond);
        Assert.True(byFirst > 0 && bySecond > 0, $"first sent {byFirst}, second {bySecond}: both processes should share the queue");
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
