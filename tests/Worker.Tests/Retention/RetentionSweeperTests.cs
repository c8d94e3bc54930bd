using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Retention;
using FeedbackHub.Worker.Tests.Delivery;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Retention;

/// <summary>The retention sweep on a real database, run deterministically through <see cref="RetentionSweeper.RunOnceAsync"/>.</summary>
public sealed class RetentionSweeperTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly TimeSpan ThirteenMonths = TimeSpan.FromDays(400);

    [Fact]
    public async Task Erases_exactly_the_candidates_past_retention_and_never_one_under_legal_hold()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1) });
        var patient = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), RetentionMonths = 24 });
        var arrange = new DeliveryArrange(api.Database, tenant.Id);
        var deliveries = await arrange.DeliveriesAsync([MailSink.NewAddress("due"), MailSink.NewAddress("held"), MailSink.NewAddress("recent"), MailSink.NewAddress("active")]);
        var (due, held, recent, active) = (await CandidateOf(deliveries[0]), await CandidateOf(deliveries[1]), await CandidateOf(deliveries[2]), await CandidateOf(deliveries[3]));
        var longer = await CandidateOf((await new DeliveryArrange(api.Database, patient.Id).DeliveriesAsync([MailSink.NewAddress("longer")]))[0]);

        await BackdateAsync(due, ThirteenMonths);
        await BackdateAsync(held, ThirteenMonths);
        await api.Database.ExecuteAsync($"UPDATE applications SET legal_hold = true, legal_hold_set_at = now() WHERE candidate_id = '{held}'");
        await BackdateAsync(active, ThirteenMonths);
        await api.Database.ExecuteAsync($"UPDATE outbound SET updated_at = now() - interval '1 day' WHERE id IN (SELECT d.id FROM deliveries d JOIN applications a ON a.id = d.application_id WHERE a.candidate_id = '{active}')");
        await BackdateAsync(longer, ThirteenMonths);

        var (sweeper, logs) = Sweeper(new RetentionOptions());
        var run = await sweeper.RunOnceAsync(CancellationToken.None);
        Assert.Equal(new RetentionRun(1, 0, 1, false), run);

        await using var db = api.Database.CreateDbContext();
        Guid[] mine = [due, held, recent, active, longer];
        var erasedIds = await db.Candidates.Where(c => mine.Contains(c.Id) && c.ErasedAt != null).Select(c => c.Id).ToListAsync();
        Assert.Equal([due], erasedIds);
        var erased = await db.Candidates.SingleAsync(c => c.Id == due);
        Assert.Equal(("", null, ""), (erased.FirstName, erased.LastName, erased.Email));
        Assert.Equal(OutboundStatus.Cancelled, (await db.Deliveries.SingleAsync(d => d.Id == deliveries[0].Id)).Status);
        Assert.Equal(OutboundStatus.Scheduled, (await db.Deliveries.SingleAsync(d => d.Id == deliveries[1].Id)).Status);

        var audit = await db.AuditEvents.SingleAsync(e => e.TenantId == tenant.Id && e.Action == "candidate.erased");
        Assert.Equal(due, audit.SubjectId);
        Assert.Null(audit.ActorId);
        Assert.Equal("system", audit.ActorName);
        Assert.Contains("\"reason\":\"retention\"", audit.Data, StringComparison.Ordinal);
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
        Assert.Contains(logs.Lines, l => l.Contains("1 candidates erased", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("@example.test", StringComparison.Ordinal) || l.Contains("Ada", StringComparison.Ordinal));

        // Nothing is due any more: a second run erases nothing.
        Assert.Equal(0, (await sweeper.RunOnceAsync(CancellationToken.None)).Erased);
    }

    [Fact]
    public async Task Works_in_batches_and_stops_at_the_bound_of_a_run()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), RetentionMonths = 1 });
        var deliveries = await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync(Enumerable.Range(0, 5).Select(_ => MailSink.NewAddress("batch")).ToList());
        var candidates = new List<Guid>();
        foreach (var delivery in deliveries)
        {
            var id = await CandidateOf(delivery);
            candidates.Add(id);
            await BackdateAsync(id, TimeSpan.FromDays(40));
        }

        var (sweeper, _) = Sweeper(new RetentionOptions { BatchSize = 2, MaxPerRun = 3 });
        Assert.Equal(new RetentionRun(3, 0, 2, true), await sweeper.RunOnceAsync(CancellationToken.None));
        Assert.Equal(3, await ErasedCountAsync(candidates));
        Assert.Equal(new RetentionRun(2, 0, 1, false), await sweeper.RunOnceAsync(CancellationToken.None));
        Assert.Equal(5, await ErasedCountAsync(candidates));
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
    }

    [Fact]
    public async Task Two_sweepers_running_at_once_erase_each_candidate_once()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), RetentionMonths = 1 });
        var deliveries = await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync(Enumerable.Range(0, 12).Select(_ => MailSink.NewAddress("shared")).ToList());
        var candidates = new List<Guid>();
        foreach (var delivery in deliveries)
        {
            var id = await CandidateOf(delivery);
            candidates.Add(id);
            await BackdateAsync(id, TimeSpan.FromDays(40));
        }

        var runs = await Task.WhenAll(
            Sweeper(new RetentionOptions { BatchSize = 3 }).Sweeper.RunOnceAsync(CancellationToken.None),
            Sweeper(new RetentionOptions { BatchSize = 3 }).Sweeper.RunOnceAsync(CancellationToken.None));
        Assert.Equal(12, runs.Sum(r => r.Erased));
        Assert.Equal(12, await ErasedCountAsync(candidates));
        await using var db = api.Database.CreateDbContext();
        Assert.Equal(12, await db.AuditEvents.CountAsync(e => e.TenantId == tenant.Id && e.Action == "candidate.erased"));
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
    }

    [Fact]
    public async Task A_batch_erases_every_due_candidate_in_one_go_with_its_audit_events_in_order_and_the_cancelled_webhooks()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with
        {
            CoolingOffDelay = TimeSpan.FromHours(1), RetentionMonths = 1, AllowPrivateWebhookTargets = true,
        });
        (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "delivery.cancelled" } }))
            .EnsureSuccessStatusCode();
        var deliveries = await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync(Enumerable.Range(0, 6).Select(_ => MailSink.NewAddress("set")).ToList());
        var candidates = new List<Guid>();
        foreach (var delivery in deliveries)
        {
            var id = await CandidateOf(delivery);
            candidates.Add(id);
            await BackdateAsync(id, TimeSpan.FromDays(40));
        }

        (await tenant.Admin.PutAsync($"/v1/applications/{deliveries[5].ApplicationId}/legal-hold", HttpAssertions.JsonBody(new { onHold = true })))
            .EnsureSuccessStatusCode();

        var (sweeper, _) = Sweeper(new RetentionOptions { BatchSize = 100, Parallelism = 1 });
        Assert.Equal(new RetentionRun(5, 0, 1, false), await sweeper.RunOnceAsync(CancellationToken.None));

        await using var db = api.Database.CreateDbContext();
        var erased = candidates.Take(5).ToList();
        Assert.Equal(erased.Order(), (await db.Candidates.Where(c => candidates.Contains(c.Id) && c.ErasedAt != null).Select(c => c.Id).ToListAsync()).Order());
        var held = await db.Candidates.SingleAsync(c => c.Id == candidates[5]);
        Assert.Equal(("Ada", "Lovelace", null), (held.FirstName, held.LastName, held.ErasedAt));
        Assert.Equal(OutboundStatus.Scheduled, (await db.Deliveries.SingleAsync(d => d.Id == deliveries[5].Id)).Status);

        // One candidate.erased per candidate, after its delivery's delivery.cancelled; ids increase with the position, as the normal path's do.
        var events = await db.AuditEvents.Where(e => e.TenantId == tenant.Id && (e.Action == "candidate.erased" || e.Action == "delivery.cancelled"))
            .OrderBy(e => e.Position).ToListAsync();
        Assert.Equal(10, events.Count);
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        for (var i = 0; i < 5; i++)
        {
            var erasedEvent = Assert.Single(events, e => e.Action == "candidate.erased" && e.SubjectId == erased[i]);
            var cancelled = Assert.Single(events, e => e.Action == "delivery.cancelled" && e.SubjectId == deliveries[i].Id);
            Assert.True(cancelled.Position < erasedEvent.Position);
            Assert.Equal(("system", null), (erasedEvent.ActorName, erasedEvent.ActorId));
            Assert.Contains("\"reason\":\"retention\",\"again\":false", erasedEvent.Data, StringComparison.Ordinal);
            Assert.Contains("\"deliveriesCancelled\":1", erasedEvent.Data, StringComparison.Ordinal);
            Assert.Equal("{\"reason\":\"candidate-erased\"}", cancelled.Data);
        }

        // Subscribers hear of each cancellation, as they did when each erasure cancelled its delivery through the domain.
        var hooks = await db.WebhookEvents.Where(e => e.TenantId == tenant.Id && e.Type == "delivery.cancelled").ToListAsync();
        Assert.Equal(5, hooks.Count);
        foreach (var (delivery, candidate) in deliveries.Take(5).Zip(erased))
            Assert.Single(hooks, h => h.Body.Contains(delivery.Id.ToString(), StringComparison.Ordinal) && h.Body.Contains(candidate.ToString(), StringComparison.Ordinal));
        Assert.Equal(5, await db.WebhookDeliveries.CountAsync(d => d.TenantId == tenant.Id));
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
    }

    [Fact]
    public async Task A_held_candidate_in_a_batch_is_untouched_and_the_others_are_erased()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1) });
        var deliveries = await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync([MailSink.NewAddress("b1"), MailSink.NewAddress("b2"), MailSink.NewAddress("b3")]);
        var candidates = new List<Guid>();
        foreach (var delivery in deliveries)
            candidates.Add(await CandidateOf(delivery));
        (await tenant.Admin.PutAsync($"/v1/applications/{deliveries[1].ApplicationId}/legal-hold", HttpAssertions.JsonBody(new { onHold = true })))
            .EnsureSuccessStatusCode();

        ErasureBatch batch;
        await using (var db = api.Database.CreateDbContext())
        {
            batch = await CandidateErasure.EraseManyAsync(db, new AuditLog(db, TimeProvider.System), tenant.Id, candidates, Actor.System, ErasureReason.Manual,
                DateTimeOffset.UtcNow, CancellationToken.None);
        }

        Assert.Equal(new[] { candidates[0], candidates[2] }.Order(), batch.Erased.Select(e => e.CandidateId).Order());
        var held1 = Assert.Single(batch.Held);
        Assert.Equal((candidates[1], 1), (held1.Key, held1.Value));
        await using var after = api.Database.CreateDbContext();
        var held = await after.Candidates.SingleAsync(c => c.Id == candidates[1]);
        Assert.Equal(("Ada", null), (held.FirstName, held.ErasedAt));
        Assert.Equal(OutboundStatus.Scheduled, (await after.Deliveries.SingleAsync(d => d.Id == deliveries[1].Id)).Status);
        Assert.False(await after.AuditEvents.AnyAsync(e => e.SubjectId == candidates[1] && e.Action == "candidate.erased"));
        Assert.Equal(2, await after.AuditEvents.CountAsync(e => e.TenantId == tenant.Id && e.Action == "candidate.erased"));
    }

    [Fact]
    public async Task A_legal_hold_placed_while_the_sweep_waits_for_the_applications_lock_is_respected()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), RetentionMonths = 1 });
        var deliveries = await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync([MailSink.NewAddress("r1"), MailSink.NewAddress("r2")]);
        var (free, racing) = (await CandidateOf(deliveries[0]), await CandidateOf(deliveries[1]));
        await BackdateAsync(free, TimeSpan.FromDays(40));
        await BackdateAsync(racing, TimeSpan.FromDays(40));

        // The hold's use case runs up to its commit: it holds the application's lock and has written the hold.
        await using var holder = api.Database.CreateDbContext();
        var hold = await holder.Database.BeginTransactionAsync();
        var lifecycle = new ApplicationLifecycle(holder, new AuditLog(holder, TimeProvider.System), TimeProvider.System, Options.Create(new PublicLinkOptions()));
        await lifecycle.SetLegalHoldAsync(deliveries[1].ApplicationId, true, null, tenant.Id, Actor.System, CancellationToken.None);

        // The sweep finds both due (the hold is not committed), locks them and waits for the application's lock.
        var (sweeper, _) = Sweeper(new RetentionOptions { Parallelism = 1 });
        var run = sweeper.RunOnceAsync(CancellationToken.None);
        var waited = TimeSpan.Zero;
        while (await api.Database.ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'") == 0)
        {
            Assert.False(run.IsCompleted, "the sweep did not wait for the application's lock");
            Assert.True(waited < TimeSpan.FromSeconds(30), "the sweep never waited for the application's lock");
            await Task.Delay(50);
            waited += TimeSpan.FromMilliseconds(50);
        }

        await hold.CommitAsync();
        Assert.Equal(new RetentionRun(1, 1, 1, false), await run);
        await using var db = api.Database.CreateDbContext();
        Assert.NotNull((await db.Candidates.SingleAsync(c => c.Id == free)).ErasedAt);
        var kept = await db.Candidates.SingleAsync(c => c.Id == racing);
        Assert.Equal(("Ada", null), (kept.FirstName, kept.ErasedAt));
        Assert.Equal(OutboundStatus.Scheduled, (await db.Deliveries.SingleAsync(d => d.Id == deliveries[1].Id)).Status);
    }

    [Fact]
    public async Task A_batch_that_fails_leaves_nothing_half_written()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), RetentionMonths = 1 });
        var deliveries = await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync([MailSink.NewAddress("f1"), MailSink.NewAddress("f2"), MailSink.NewAddress("f3")]);
        var candidates = new List<Guid>();
        foreach (var delivery in deliveries)
        {
            var id = await CandidateOf(delivery);
            candidates.Add(id);
            await BackdateAsync(id, TimeSpan.FromDays(40));
        }

        // The last statement of the batch (its audit events) fails, after every table was changed.
        var name = "fail_erasure_" + tenant.Id.ToString("N");
        await api.Database.ExecuteAsync($"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.tenant_id = '{tenant.Id}' AND NEW.action = 'candidate.erased' THEN RAISE EXCEPTION 'injected failure'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER {name} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION {name}();
            """);
        try
        {
            var (sweeper, _) = Sweeper(new RetentionOptions { Parallelism = 1 });
            await Assert.ThrowsAnyAsync<Exception>(() => sweeper.RunOnceAsync(CancellationToken.None));
        }
        finally
        {
            await api.Database.ExecuteAsync($"DROP TRIGGER {name} ON audit_events; DROP FUNCTION {name}();");
        }

        await using var db = api.Database.CreateDbContext();
        var rows = await db.Candidates.Where(c => candidates.Contains(c.Id)).ToListAsync();
        Assert.All(rows, c => Assert.Equal(("Ada", "Lovelace", null), (c.FirstName, c.LastName, c.ErasedAt)));
        var ids = deliveries.Select(d => d.Id).ToList();
        Assert.All(await db.Deliveries.Where(d => ids.Contains(d.Id)).ToListAsync(), d => Assert.Equal(OutboundStatus.Scheduled, d.Status));
        var applications = deliveries.Select(d => d.ApplicationId).ToList();
        Assert.False(await db.FeedbackRequestLinks.AnyAsync(l => applications.Contains(l.ApplicationId) && l.RevokedAt != null));
        Assert.All(await db.Feedback.Where(f => applications.Contains(f.ApplicationId)).ToListAsync(), f => Assert.NotEmpty(f.Answers));
        Assert.False(await db.AuditEvents.AnyAsync(e => e.TenantId == tenant.Id && (e.Action == "candidate.erased" || e.Action == "delivery.cancelled")));

        // Once the failure is gone, the next run erases them all.
        Assert.Equal(3, (await Sweeper(new RetentionOptions()).Sweeper.RunOnceAsync(CancellationToken.None)).Erased);
    }

    [Fact]
    public async Task Old_webhook_events_are_deleted_once_no_delivery_of_theirs_is_pending()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), AllowPrivateWebhookTargets = true });
        (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "feedback.requested" } }))
            .EnsureSuccessStatusCode();
        await new DeliveryArrange(api.Database, tenant.Id).DeliveriesAsync([MailSink.NewAddress("w1"), MailSink.NewAddress("w2"), MailSink.NewAddress("w3")]);
        await using var db = api.Database.CreateDbContext();
        var events = await db.WebhookEvents.Where(e => e.TenantId == tenant.Id).OrderBy(e => e.Id).Select(e => e.Id).ToListAsync();
        Assert.Equal(3, events.Count);
        var (oldDone, oldPending, recentDone) = (events[0], events[1], events[2]);
        await api.Database.ExecuteAsync($"""
            UPDATE webhook_events SET occurred_at = now() - interval '100 days' WHERE id IN ('{oldDone}', '{oldPending}');
            UPDATE outbound SET status = 'Sent' WHERE id IN (SELECT id FROM webhook_deliveries WHERE event_id IN ('{oldDone}', '{recentDone}'));
            """);

        var (sweeper, logs) = Sweeper(new RetentionOptions());
        Assert.Equal(1, (await sweeper.RunOnceAsync(CancellationToken.None)).WebhookEventsDeleted);
        var left = await db.WebhookEvents.Where(e => e.TenantId == tenant.Id).Select(e => e.Id).ToListAsync();
        Assert.Equal([oldPending, recentDone], left.Order());
        Assert.False(await db.WebhookDeliveries.AnyAsync(d => d.EventId == oldDone)); // its deliveries went with it
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT count(*) FROM outbound o WHERE o.channel = 'webhook' AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = o.id)"));
        Assert.Contains(logs.Lines, l => l.Contains("1 old webhook events deleted", StringComparison.Ordinal));

        var (keepAll, _) = Sweeper(new RetentionOptions { WebhookLogDays = 0 });
        await api.Database.ExecuteAsync($"UPDATE outbound SET status = 'Sent' WHERE id IN (SELECT id FROM webhook_deliveries WHERE event_id = '{oldPending}')");
        Assert.Equal(0, (await keepAll.RunOnceAsync(CancellationToken.None)).WebhookEventsDeleted);
        Assert.Equal(1, (await sweeper.RunOnceAsync(CancellationToken.None)).WebhookEventsDeleted);
    }

    private (RetentionSweeper Sweeper, CapturedLogs Logs) Sweeper(RetentionOptions options)
    {
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = api.Database.ConnectionString }).Build());
        services.AddLogging(b => b.ClearProviders().SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        services.AddFeedbackHubDatabase();
        services.AddSingleton<ITenantScope, SystemTenantScope>();
        var provider = services.BuildServiceProvider();
        return (new RetentionSweeper(provider.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System, Options.Create(options),
            provider.GetRequiredService<ILogger<RetentionSweeper>>()), logs);
    }

    private async Task<Guid> CandidateOf(Domain.Delivery.Delivery delivery)
    {
        await using var db = api.Database.CreateDbContext();
        return (await db.Applications.SingleAsync(a => a.Id == delivery.ApplicationId)).CandidateId;
    }

    private async Task<int> ErasedCountAsync(IReadOnlyList<Guid> candidates)
    {
        await using var db = api.Database.CreateDbContext();
        return await db.Candidates.CountAsync(c => candidates.Contains(c.Id) && c.ErasedAt != null);
    }

    /// <summary>Moves every activity time of the candidate's story into the past.</summary>
    private Task BackdateAsync(Guid candidateId, TimeSpan age)
    {
        var by = $"interval '{(int)age.TotalDays} days'";
        var apps = $"(SELECT id FROM applications WHERE candidate_id = '{candidateId}')";
        return api.Database.ExecuteAsync($"""
            UPDATE candidates SET created_at = created_at - {by}, updated_at = updated_at - {by} WHERE id = '{candidateId}';
            UPDATE applications SET created_at = created_at - {by}, updated_at = updated_at - {by}, rejected_at = rejected_at - {by} WHERE candidate_id = '{candidateId}';
            UPDATE feedback SET created_at = created_at - {by}, updated_at = updated_at - {by} WHERE application_id IN {apps};
            UPDATE feedback_requests SET requested_at = requested_at - {by} WHERE application_id IN {apps};
            UPDATE feedback_request_links SET created_at = created_at - {by}, expires_at = expires_at - {by} WHERE application_id IN {apps};
            UPDATE outbound SET created_at = created_at - {by}, updated_at = updated_at - {by}, due_at = due_at - {by}
              WHERE id IN (SELECT id FROM deliveries WHERE application_id IN {apps} UNION SELECT id FROM invitations WHERE application_id IN {apps});
            """);
    }
}
