using FeedbackHub.Domain.Delivery;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>
/// The database goes away while the SMTP server is answering: the answer is recorded once it is back, and the email is
/// never sent again. Only this class's database goes away (the server other classes share stays up); the SMTP rules
/// file makes the answer come during the outage, so it runs in the SmtpRules collection.
/// </summary>
[Collection(nameof(SmtpRules))]
public sealed class DeliveryDatabaseOutageTests(DeliveryFixture pipeline) : IClassFixture<DeliveryFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SmtpRules.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task An_answer_that_comes_while_the_database_is_away_is_recorded_when_it_is_back_and_the_email_is_sent_once()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        var to = MailSink.NewAddress("dbblip");
        // The server has the email at once; its 250 comes when this test says so, while the database is away.
        var release = "answer-" + Guid.NewGuid().ToString("N");
        SmtpRules.Set(new { match = to, stage = "data", answer_when_exists = release });
        var scheduled = await arrange.DeliveryAsync(to);
        await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(20));

        await pipeline.Api.Database.CloseAsync(); // every session ended, new ones refused: what a restart does to the worker
        try
        {
            await File.WriteAllTextAsync(Path.Combine(TestServices.SmtpDirectory, release), string.Empty);
            await Task.Delay(TimeSpan.FromSeconds(1.5)); // the 250 arrives now; the whole outage stays shorter than the 5 s lease
        }
        finally
        {
            await pipeline.Api.Database.ReopenAsync();
            File.Delete(Path.Combine(TestServices.SmtpDirectory, release));
        }

        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(20));
        Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.False(sent.PossibleDuplicate);
        Assert.True(
            pipeline.Worker.Logs.Lines.Any(l => l.Contains("email: recording 1 attempts failed", StringComparison.Ordinal)),
            "no failed record in the worker's log:\n" + string.Join('\n', pipeline.Worker.Logs.Lines.Where(l => l.Contains("FeedbackHub.Worker.Outbound", StringComparison.Ordinal)).Select(l => l[..Math.Min(l.Length, 200)])));
        await Task.Delay(TimeSpan.FromSeconds(6)); // a lease that ran out would have been recovered and sent again by now
        Assert.Single(MailSink.For(to));
        Assert.Equal(OutboundStatus.Sent, (await arrange.LoadAsync(scheduled.Id)).Status);
    }
}

/// <summary>PostgreSQL itself restarts (the shared server), so this runs alone, after the parallel tests.</summary>
[Collection(nameof(BrokerOutage))]
public sealed class DatabaseRestartTests(DeliveryFixture pipeline) : IClassFixture<DeliveryFixture>
{
    [Fact]
    public async Task A_PostgreSQL_restart_longer_than_the_lease_while_emails_await_their_answer_sends_each_once_unflagged()
    {
        const int count = 5;
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.FromHours(1));
        var tag = "pgrestart" + Guid.NewGuid().ToString("N")[..8];
        var since = DateTime.UtcNow;
        await arrange.DeliveriesAsync(Enumerable.Range(0, count).Select(_ => MailSink.NewAddress(tag)).ToList());
        SmtpRules.Set(new { match = tag, stage = "data", answer_delay_ms = 2000 });
        try
        {
            await arrange.MakeAllDueAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (DeliveryArrange.MailCounts(tag, since).Count < count && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            Assert.Equal(count, DeliveryArrange.MailCounts(tag, since).Count); // the server has them all; no answer recorded yet

            await TestPostgres.StopServerAsync();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(7)); // every lease (5 s) runs out while nobody can renew it
            }
            finally
            {
                await TestPostgres.StartServerAsync();
            }

            await arrange.WaitForAllSentAsync(count, TimeSpan.FromSeconds(60));
            await Task.Delay(TimeSpan.FromSeconds(7)); // past the grace after the restart: nothing is recovered late
            var sent = await arrange.LoadAllAsync();
            Assert.All(sent, d => Assert.Equal(OutboundStatus.Sent, d.Status));
            Assert.All(sent, d => Assert.Equal([AttemptOutcome.Accepted], DeliveryArrange.Outcomes(d)));
            Assert.All(sent, d => Assert.False(d.PossibleDuplicate));
            var mails = DeliveryArrange.MailCounts(tag, since);
            Assert.Equal(count, mails.Count);
            Assert.All(mails, m => Assert.Equal(1, m.Value));
        }
        finally
        {
            SmtpRules.Clear();
        }
    }
}
