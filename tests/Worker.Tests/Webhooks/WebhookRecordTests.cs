using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Delivery;
using FeedbackHub.Worker.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>
/// The dispatcher's set-based record (<see cref="WebhookBatches.RecordAsync"/>), run directly on claimed deliveries with no
/// worker: it records only attempts still in progress, and inserts the audit events of exactly the final outcomes it
/// recorded, unsealed, in the order of the batch, with the data every audit event of a webhook outcome carries.
/// </summary>
public sealed class WebhookRecordTests(DatabaseOnlyFixture fixture) : IClassFixture<DatabaseOnlyFixture>
{
    private static readonly RetryPolicy Policy = new(5, TimeSpan.FromSeconds(30), WebhookDelivery.MaxBackoff, WebhookDelivery.MaxBackoff);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task An_attempt_recovery_took_over_is_not_recorded_and_not_audited_while_the_rest_of_the_batch_is()
    {
        var (tenant, claimed) = await ClaimAsync(3);
        var (taken, kept) = (claimed[0], claimed.Skip(1).ToList());
        // What recovery does to an attempt whose lease ran out: interrupted, the delivery due again and flagged.
        await fixture.Api.Database.ExecuteAsync($"""
            UPDATE outbound_attempts SET outcome = 'Interrupted', finished_at = now() WHERE outbound_id = '{taken.Id}' AND number = {taken.Attempt};
            UPDATE outbound SET status = 'Scheduled', lease_until = NULL, possible_duplicate = true WHERE id = '{taken.Id}';
            """);

        var recorded = await RecordAsync(claimed.Select(c => new WebhookResult(c, Accepted())).ToList());

        Assert.Equal(kept.Select(c => c.Id).Order(), recorded.Select(r => r.Result.Claim.Id).Order());
        Assert.All(recorded, r => Assert.Equal((OutboundStatus.Sent, false), (r.Status, r.PossibleDuplicate)));
        await using var db = fixture.Api.Database.CreateDbContext();
        var takenOver = await db.WebhookDeliveries.AsNoTracking().Include(d => d.Attempts).SingleAsync(d => d.Id == taken.Id);
        Assert.Equal(OutboundStatus.Scheduled, takenOver.Status);
        Assert.Equal(AttemptOutcome.Interrupted, takenOver.Attempts.Single().Outcome);
        var audits = await AuditsAsync(db, tenant.Id);
        Assert.Equal(kept.Select(c => c.Id.ToString()), audits.Select(a => DeliveryIdOf(a)));
        Assert.DoesNotContain(audits, a => a.Data.Contains(taken.Id.ToString(), StringComparison.Ordinal));

        // Recorded again (a retry whose first try had committed): nothing changes, no second audit event.
        Assert.Empty(await RecordAsync(kept.Select(c => new WebhookResult(c, Accepted())).ToList()));
        Assert.Equal(kept.Count, (await AuditsAsync(db, tenant.Id)).Count);
    }

    [Fact]
    public async Task Final_outcomes_are_audited_in_batch_order_with_their_data_and_the_tenant_chain_seals_and_verifies()
    {
        var (tenant, claimed) = await ClaimAsync(4);
        // The second was flagged by an earlier interrupted attempt; the third is refused; the fourth fails for now (no event).
        await fixture.Api.Database.ExecuteAsync($"UPDATE outbound SET possible_duplicate = true WHERE id = '{claimed[1].Id}'");
        var refused = WebhookDelivery.Answer(new WebhookSendResult(WebhookAttemptOutcomes.RefusedAddress, null, 3, "Refused target: loopback.", null));
        var later = WebhookDelivery.Answer(new WebhookSendResult(WebhookAttemptOutcomes.HttpError, 503, 9, "HTTP 503 Service Unavailable", "busy"));
        var results = new List<WebhookResult>
        {
            new(claimed[0], Accepted()), new(claimed[1], Accepted()), new(claimed[2], refused), new(claimed[3], later),
        };

        var recorded = await RecordAsync(results);

        Assert.Equal(
            [OutboundStatus.Sent, OutboundStatus.Sent, OutboundStatus.Failed, OutboundStatus.Scheduled],
            results.Select(r => recorded.Single(x => x.Result.Claim.Id == r.Claim.Id).Status));
        await using var db = fixture.Api.Database.CreateDbContext();
        var audits = await AuditsAsync(db, tenant.Id);
        Assert.Equal(claimed.Take(3).Select(c => c.Id.ToString()), audits.Select(a => DeliveryIdOf(a)));
        Assert.All(audits, a => Assert.Equal(((Guid?)null, "system", "webhook", (long?)null), (a.ActorId, a.ActorName, a.SubjectType, a.Sequence)));
        Assert.All(audits, a => Assert.Equal(claimed[0].SubscriptionId, a.SubjectId));
        Assert.Equal([AuditActions.WebhookDelivered, AuditActions.WebhookDelivered, AuditActions.WebhookFailed], audits.Select(a => a.Action));
        // The exact text an audit event of a webhook outcome has always carried (the leaf hash covers these characters).
        Assert.Equal(Data(claimed[0], 204, WebhookAttemptOutcomes.Delivered, false, null), audits[0].Data);
        Assert.Equal(Data(claimed[1], 204, WebhookAttemptOutcomes.Delivered, true, null), audits[1].Data);
        Assert.Equal(Data(claimed[2], null, WebhookAttemptOutcomes.RefusedAddress, false, "refused"), audits[2].Data);

        var box = fixture.Api.Services.GetRequiredService<WebhookSecretBox>();
        await new AuditSealer(db, new AuditSigner(box), TimeProvider.System).SealAsync(tenant.Id, skipLocked: false);
        var verification = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(verification.Valid, verification.FirstBreak?.Detail);
    }

    private static AttemptAnswer Accepted() => WebhookDelivery.Answer(new WebhookSendResult(WebhookAttemptOutcomes.Delivered, 204, 5, null, null));

    private static string Data(ClaimedWebhook c, int? code, string detail, bool possibleDuplicate, string? reason)
    {
        var data = new Dictionary<string, object?> { ["attempt"] = c.Attempt, ["code"] = code, ["detail"] = detail, ["possibleDuplicate"] = possibleDuplicate };
        if (reason is not null)
            data["reason"] = reason;
        data["deliveryId"] = c.Id;
        data["eventId"] = c.EventId;
        data["eventType"] = c.EventType;
        return JsonSerializer.Serialize(data, Json);
    }

    private static string DeliveryIdOf(AuditEvent e) => JsonDocument.Parse(e.Data).RootElement.GetProperty("deliveryId").GetString()!;

    [Fact]
    public async Task The_claim_runs_in_a_transaction_so_PostgreSQL_has_no_warning_about_its_planner_setting()
    {
        await using var db = fixture.Api.Database.CreateDbContext();
        await db.Database.OpenConnectionAsync();
        var notices = new List<string>();
        ((NpgsqlConnection)db.Database.GetDbConnection()).Notice += (_, e) => notices.Add($"{e.Notice.Severity}: {e.Notice.MessageText}");
        var box = fixture.Api.Services.GetRequiredService<WebhookSecretBox>();

        // Due before 1970: nothing of the other tests is claimed; the statement and its SET LOCALs run all the same.
        var (claimed, _) = await WebhookBatches.ClaimAsync(db, box, 10, DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(2), CancellationToken.None);

        Assert.Empty(claimed);
        Assert.Empty(notices);
        Assert.Equal("on", await PlanCapture.SettingAsync(db, "enable_bitmapscan")); // nothing left on the pooled connection
    }

    [Fact]
    public async Task The_claim_reads_each_claimed_delivery_by_its_key_however_many_were_sent_before()
    {
        var tenant = await TenantWithHistoryAsync(due: 60, sent: 10_000);
        await using var db = fixture.Api.Database.CreateDbContext();
        var box = fixture.Api.Services.GetRequiredService<WebhookSecretBox>();

        var (plans, (claimed, _)) = await PlanCapture.RunAsync(db, () =>
            WebhookBatches.ClaimAsync(db, box, 100, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(2), CancellationToken.None));

        Assert.Equal(60, claimed.Count(c => c.TenantId == tenant.Id));
        // Before: webhook_deliveries read whole and hashed on every claim (a seq scan of its 10,060 rows).
        var plan = Assert.Single(plans, p => p.Contains("INSERT INTO outbound_attempts", StringComparison.Ordinal));
        Assert.DoesNotContain("Seq Scan on webhook_deliveries", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Seq Scan on webhook_events", plan, StringComparison.Ordinal);
        Assert.True(plan.Contains("Index Scan using \"PK_webhook_deliveries\"", StringComparison.Ordinal), plan);
        Assert.Equal("on", await PlanCapture.SettingAsync(db, "enable_hashjoin")); // nothing left on the pooled connection
    }

    [Fact]
    public async Task The_record_finds_each_delivery_by_its_key_even_when_the_statistics_saw_no_sending_rows()
    {
        var tenant = await TenantWithHistoryAsync(due: 60, sent: 10_000);
        var claimed = await ClaimMineAsync(tenant, 60);
        await using var db = fixture.Api.Database.CreateDbContext();

        var (plans, recorded) = await PlanCapture.RunAsync(db, () => WebhookBatches.RecordAsync(
            db, new AuditLog(db, TimeProvider.System), claimed.Select(c => new WebhookResult(c, Accepted())).ToList(), Policy, DateTimeOffset.UtcNow,
            CancellationToken.None));

        Assert.Equal(60, recorded.Count);
        // Each row found by its key and the batch joined by hash. Before: the attempts read whole (10,000 rows, seq scan) and
        // the leased deliveries walked once per row (the lease index was filtered on the record's own status guard).
        var plan = Assert.Single(plans, p => p.Contains("UPDATE outbound o", StringComparison.Ordinal));
        Assert.DoesNotContain("Nested Loop", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("ix_outbound_lease_until", plan, StringComparison.Ordinal);
        Assert.True(plan.Contains("ix_outbound_attempts_outbound_id_number", StringComparison.Ordinal), plan);
        Assert.True(plan.Contains("\"PK_outbound\"", StringComparison.Ordinal), plan);
        Assert.Equal("on", await PlanCapture.SettingAsync(db, "enable_nestloop")); // the setting ended with the batch's transaction
    }

    /// <summary>
    /// A subscribed tenant with <paramref name="due"/> deliveries due and <paramref name="sent"/> sent before, analysed
    /// while nothing was in flight (as after most of autovacuum's analyses of a queue).
    /// </summary>
    private async Task<TestTenant> TenantWithHistoryAsync(int due, int sent)
    {
        var tenant = await fixture.Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        Assert.Equal(HttpStatusCode.Created, (await tenant.Admin.PostJsonAsync("/v1/webhooks",
            new { url = "http://127.0.0.1:9/hook", events = new[] { WebhookEventTypes.FeedbackRequested } })).StatusCode);
        for (var i = 0; i < due; i++)
            await WebhookPipelineTests.RaiseRequestAsync(fixture.Api, tenant.Id);
        await fixture.Api.Database.ExecuteAsync($"""
            WITH e AS (INSERT INTO webhook_events (id, tenant_id, type, occurred_at, body, application_id)
                       SELECT gen_random_uuid(), '{tenant.Id}', 'feedback.requested', now(), '[]', (SELECT id FROM applications WHERE tenant_id = '{tenant.Id}' LIMIT 1)
                       FROM generate_series(1, {sent}) RETURNING id),
                 o AS (INSERT INTO outbound (id, tenant_id, channel, status, due_at, sent_at, possible_duplicate, created_at, updated_at)
                       SELECT gen_random_uuid(), '{tenant.Id}', 'webhook', 'Sent', now(), now(), false, now(), now() FROM generate_series(1, {sent}) RETURNING id),
                 a AS (INSERT INTO outbound_attempts (id, outbound_id, tenant_id, number, started_at, finished_at, outcome, counts_against_budget)
                       SELECT gen_random_uuid(), id, '{tenant.Id}', 1, now(), now(), 'Delivered', true FROM o)
            INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type)
            SELECT o.id, (SELECT id FROM webhook_subscriptions WHERE tenant_id = '{tenant.Id}'), e.id, 'feedback.requested'
            FROM (SELECT id, row_number() OVER () AS n FROM o) o JOIN (SELECT id, row_number() OVER () AS n FROM e) e USING (n);
            ANALYZE outbound; ANALYZE outbound_attempts; ANALYZE webhook_deliveries; ANALYZE webhook_events;
            """);
        return tenant;
    }

    private static Task<List<AuditEvent>> AuditsAsync(FeedbackHubDbContext db, Guid tenantId) =>
        db.AuditEvents.AsNoTracking()
            .Where(e => e.TenantId == tenantId && (e.Action == AuditActions.WebhookDelivered || e.Action == AuditActions.WebhookFailed))
            .OrderBy(e => e.Position).ToListAsync();

    /// <summary>A development tenant subscribed to feedback.requested, <paramref name="n"/> events raised and their deliveries claimed.</summary>
    private async Task<(TestTenant Tenant, IReadOnlyList<ClaimedWebhook> Claimed)> ClaimAsync(int n)
    {
        var tenant = await fixture.Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        Assert.Equal(HttpStatusCode.Created, (await tenant.Admin.PostJsonAsync("/v1/webhooks",
            new { url = "http://127.0.0.1:9/hook", events = new[] { WebhookEventTypes.FeedbackRequested } })).StatusCode);
        for (var i = 0; i < n; i++)
            await WebhookPipelineTests.RaiseRequestAsync(fixture.Api, tenant.Id);
        return (tenant, await ClaimMineAsync(tenant, n));
    }

    private async Task<IReadOnlyList<ClaimedWebhook>> ClaimMineAsync(TestTenant tenant, int n)
    {
        await using var db = fixture.Api.Database.CreateDbContext();
        var box = fixture.Api.Services.GetRequiredService<WebhookSecretBox>();
        var (claimed, targets) = await WebhookBatches.ClaimAsync(db, box, 100, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(2), CancellationToken.None);
        var mine = claimed.Where(c => c.TenantId == tenant.Id).ToList();
        Assert.Equal(n, mine.Count);
        Assert.All(mine, c => Assert.Null(targets[c.SubscriptionId].NotSendable));
        return mine;
    }

    private async Task<IReadOnlyList<RecordedWebhook>> RecordAsync(IReadOnlyList<WebhookResult> results)
    {
        await using var db = fixture.Api.Database.CreateDbContext();
        return await WebhookBatches.RecordAsync(db, new AuditLog(db, TimeProvider.System), results, Policy, DateTimeOffset.UtcNow, CancellationToken.None);
    }
}
