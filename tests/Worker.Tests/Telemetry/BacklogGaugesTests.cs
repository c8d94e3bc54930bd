using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using FeedbackHub.Messages;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Worker.Tests.Telemetry;

/// <summary>
/// The backlog gauges read what waits in PostgreSQL. No relay or consumer runs here, so what is arranged stays put.
/// </summary>
public sealed class BacklogGaugesTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Due_outbox_messages_and_due_outbound_items_are_counted_with_the_oldest_ones_age()
    {
        await using var services = Services();
        var gauges = services.GetRequiredService<BacklogGauges>();
        var before = await gauges.ReadAsync(CancellationToken.None); // the class's tests share one database

        var now = DateTimeOffset.UtcNow;
        var tenant = Guid.NewGuid();
        await using (var db = database.CreateDbContext())
        {
            db.OutboxMessages.Add(OutboxMessage.Create(new SendTestEmail(Guid.NewGuid(), tenant), tenant, now.AddMinutes(-10), now.AddMinutes(-5)));
            db.OutboxMessages.Add(OutboxMessage.Create(new SendTestEmail(Guid.NewGuid(), tenant), tenant, now.AddMinutes(-1), now.AddMinutes(-1)));
            db.OutboxMessages.Add(OutboxMessage.Create(new SendTestEmail(Guid.NewGuid(), tenant), tenant, now, now.AddHours(1))); // not due
            await db.SaveChangesAsync();
        }

        var backlog = await gauges.ReadAsync(CancellationToken.None);

        Assert.Equal(before.OutboxDue + 2, backlog.OutboxDue);
        Assert.InRange(backlog.OutboxOldestSeconds, 299, 400);
        using var metrics = new MetricCapture(services, "feedbackhub.outbox.backlog", "feedbackhub.outbox.oldest_age", "feedbackhub.outbound.due");
        metrics.Observe();
        Assert.Equal(backlog.OutboxDue, Assert.Single(metrics.Of("feedbackhub.outbox.backlog")).Value);
        Assert.Equal(backlog.OutboxOldestSeconds, Assert.Single(metrics.Of("feedbackhub.outbox.oldest_age")).Value);
        Assert.Equal(backlog.OutboundDue, Assert.Single(metrics.Of("feedbackhub.outbound.due")).Value);
    }

    [Fact]
    public async Task A_scheduled_email_that_is_due_counts_as_outbound_backlog()
    {
        await using var services = Services();
        var gauges = services.GetRequiredService<BacklogGauges>();
        var before = await gauges.ReadAsync(CancellationToken.None);
        await using (var db = database.CreateDbContext())
        {
            var tenant = Tenant.Create("Backlog Ltd", DateTimeOffset.UtcNow);
            db.Tenants.Add(tenant);
            await db.SaveChangesAsync();
            db.TestEmails.Add(TestEmail.Request(tenant.Id, "backlog@example.test", DateTimeOffset.UtcNow.AddSeconds(-30)));
            await db.SaveChangesAsync();
        }

        var after = await gauges.ReadAsync(CancellationToken.None);

        Assert.Equal(before.OutboundDue + 1, after.OutboundDue);
        Assert.True(after.OutboundOldestSeconds >= 25, $"oldest due item waited {after.OutboundOldestSeconds} s");
    }

    [Fact]
    public async Task Due_webhook_deliveries_and_due_emails_both_count_as_outbound_backlog()
    {
        await using var services = Services();
        var gauges = services.GetRequiredService<BacklogGauges>();
        var before = await gauges.ReadAsync(CancellationToken.None);
        var tenant = Tenant.Create("Backlog webhooks", DateTimeOffset.UtcNow);
        await using (var db = database.CreateDbContext())
        {
            db.Tenants.Add(tenant);
            await db.SaveChangesAsync();
        }

        // Each kind has a due index of its own (QueueClaims): the gauge reads both.
        await database.ExecuteAsync($"""
            INSERT INTO outbound (id, tenant_id, channel, status, due_at, possible_duplicate, created_at, updated_at) VALUES
                (gen_random_uuid(), '{tenant.Id}', 'webhook', 'Scheduled', now() - interval '2 hours', false, now(), now()),
                (gen_random_uuid(), '{tenant.Id}', 'webhook', 'Scheduled', now() + interval '1 hour', false, now(), now()),
                (gen_random_uuid(), '{tenant.Id}', 'invitation', 'Scheduled', now() - interval '1 minute', false, now(), now());
            """);

        var after = await gauges.ReadAsync(CancellationToken.None);

        Assert.Equal(before.OutboundDue + 2, after.OutboundDue);
        Assert.InRange(after.OutboundOldestSeconds, 7190, 7300);
    }

    [Fact]
    public async Task Audit_events_not_yet_sealed_are_counted_with_the_oldest_ones_age_as_the_sealing_lag()
    {
        await using var services = Services();
        var gauges = services.GetRequiredService<BacklogGauges>();
        var before = await gauges.ReadAsync(CancellationToken.None);
        await using (var db = database.CreateDbContext())
        {
            var tenant = Tenant.Create("Audit Lag Ltd", DateTimeOffset.UtcNow);
            db.Tenants.Add(tenant);
            await db.SaveChangesAsync();
            var audit = new AuditLog(db, new ShiftedTime(TimeSpan.FromSeconds(-20))); // written 20 s ago, no sealer runs here
            audit.Record(tenant.Id, Actor.System, "test.lag", "tenant", tenant.Id);
            audit.Record(tenant.Id, Actor.System, "test.lag", "tenant", tenant.Id);
            await db.SaveChangesAsync();
        }

        var after = await gauges.ReadAsync(CancellationToken.None);

        Assert.Equal(before.AuditUnsealed + 2, after.AuditUnsealed);
        Assert.InRange(after.AuditOldestUnsealedSeconds, 19, 120);
        using var metrics = new MetricCapture(services, "feedbackhub.audit.unsealed", "feedbackhub.audit.sealing_lag");
        metrics.Observe();
        Assert.Equal(after.AuditUnsealed, Assert.Single(metrics.Of("feedbackhub.audit.unsealed")).Value);
        Assert.Equal(after.AuditOldestUnsealedSeconds, Assert.Single(metrics.Of("feedbackhub.audit.sealing_lag")).Value);
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
    }

    private ServiceProvider Services()
    {
        var services = database.Services();
        services.AddMetrics();
        services.AddSingleton<FeedbackHubMetrics>();
        services.AddSingleton<BacklogGauges>();
        return services.BuildServiceProvider();
    }
}
