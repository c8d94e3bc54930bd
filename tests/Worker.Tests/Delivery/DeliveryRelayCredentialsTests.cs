using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>
/// The whole pipeline against a relay that requires STARTTLS and AUTH (a private sink with a certificate made for the test):
/// a wrong password costs a delay and an alert, never a failed delivery or a suppressed candidate.
/// </summary>
public sealed class DeliveryRelayCredentialsTests(DatabaseOnlyFixture fixture) : IClassFixture<DatabaseOnlyFixture>, IAsyncLifetime
{
    private const string User = "relay-user";
    private const string Password = "right-password";
    private const int MaxAttempts = 3;

    private SinkProcess _relay = null!;

    public async Task InitializeAsync() => _relay = await SinkProcess.StartWithCertificateAsync("--require-starttls", "--auth", $"{User}:{Password}");

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    [Fact]
    public async Task With_a_wrong_password_emails_wait_and_readiness_says_why_and_once_it_is_fixed_they_all_arrive()
    {
        const int count = 5;
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api);
        var addresses = Enumerable.Range(0, count).Select(_ => MailSink.NewAddress("relay-auth")).ToList();
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var deliveries = await arrange.DeliveriesAsync(addresses);

        await using (var wrong = await StartWorkerAsync(prefix, "not-the-password"))
        {
            // Every delivery is tried more often than its retry budget allows and is still waiting, not failed.
            var waiting = await WaitAsync(arrange, all => all.All(d => d.Attempts.Count(a => a.Outcome == AttemptOutcome.ServerProblem) > MaxAttempts));
            Assert.All(waiting, d => Assert.Equal(OutboundStatus.Scheduled, d.Status));
            Assert.All(waiting, d => Assert.DoesNotContain(d.Attempts, a => a.Outcome is AttemptOutcome.PermanentFailure or AttemptOutcome.TransientFailure));
            Assert.All(waiting, d => Assert.StartsWith("535", d.LastReply, StringComparison.Ordinal));

            var report = await wrong.Get<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains("ready"));
            Assert.Equal(HealthStatus.Unhealthy, report.Status);
            Assert.Equal(
                $"SMTP authentication failed at 127.0.0.1:{_relay.Port} (535 5.7.8): check Smtp:Username and Smtp:Password",
                report.Entries["smtp"].Description);

            // One line that says what to fix, however many emails hit it; no credential in it.
            var problem = Assert.Single(wrong.Logs.Lines, l => l.StartsWith("Error FeedbackHub.", StringComparison.Ordinal));
            Assert.Contains("check Smtp:Username and Smtp:Password", problem, StringComparison.Ordinal);
            Assert.DoesNotContain("not-the-password", problem, StringComparison.Ordinal);
            Assert.DoesNotContain(User, problem, StringComparison.Ordinal);
        }

        Assert.Empty(_relay.Mail());
        await using (var db = fixture.Api.Database.CreateDbContext())
            Assert.False(await db.SuppressedAddresses.AnyAsync(s => s.TenantId == arrange.TenantId));

        // The operator fixes the secret and restarts the worker: every waiting email arrives, once, over TLS as the user.
        await using (var fixedWorker = await StartWorkerAsync(prefix, Password))
        {
            var sent = await arrange.WaitForAllSentAsync(count, TimeSpan.FromSeconds(30));
            Assert.Equal(deliveries.Select(d => d.Id).Order(), sent.Select(d => d.Id).Order());
            Assert.All(sent, d => Assert.Equal(AttemptOutcome.Accepted, d.Attempts.MaxBy(a => a.Number)!.Outcome));
            Assert.All(sent, d => Assert.False(d.PossibleDuplicate));

            var report = await fixedWorker.Get<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains("ready"));
            Assert.Equal(HealthStatus.Healthy, report.Entries["smtp"].Status);
        }

        Assert.All(addresses, a => Assert.Single(_relay.MailTo(a)));
        Assert.All(_relay.Log("accepted"), e =>
        {
            Assert.True(e.GetProperty("tls").GetBoolean());
            Assert.Equal(User, e.GetProperty("auth").GetString());
        });

        // The audit log holds what the candidates were sent and nothing that did not happen.
        var audit = (await arrange.AuditAsync()).Where(e => e.Action.StartsWith("delivery.", StringComparison.Ordinal)).ToList();
        Assert.Equal(count, audit.Count(e => e.Action == "delivery.sent"));
        Assert.DoesNotContain(audit, e => e.Action is "delivery.failed" or "delivery.suppressed");
    }

    /// <summary>The real worker on the relay, in Development so the relay's self-signed certificate may be accepted.</summary>
    private Task<WorkerHost> StartWorkerAsync(string prefix, string password)
    {
        var settings = DeliveryFixture.WorkerSettings(MaxAttempts);
        settings["Smtp:Host"] = _relay.Host;
        settings["Smtp:Port"] = _relay.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Smtp:Security"] = "StartTls";
        settings["Smtp:Username"] = User;
        settings["Smtp:Password"] = password;
        settings["Smtp:AllowUntrustedCertificates"] = "true";
        settings["Delivery:ServerProblemRetry"] = "00:00:01";
        return WorkerHost.StartAsync(fixture.Api.Database.ConnectionString, prefix, settings, environment: "Development");
    }

    private static async Task<List<Domain.Delivery.Delivery>> WaitAsync(DeliveryArrange arrange, Func<List<Domain.Delivery.Delivery>, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
        while (true)
        {
            var all = await arrange.LoadAllAsync();
            if (all.Count > 0 && done(all))
                return all;
            Assert.True(DateTime.UtcNow < deadline, string.Join("; ", all.Select(d => $"{d.Status} {d.Attempts.Count} {d.LastReply}")));
            await Task.Delay(200);
        }
    }
}
