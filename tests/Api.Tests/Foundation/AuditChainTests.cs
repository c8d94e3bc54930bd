using System.Net;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

public sealed class AuditChainTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static async Task<TestTenant> TenantWithEventsAsync(ApiFactory api)
    {
        var tenant = await api.CreateTenantAsync();
        for (var i = 0; i < 3; i++)
            await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = $"Key {i}", roles = new[] { "recruiter" } });
        return tenant;
    }

    [Fact]
    public async Task Verify_passes_on_an_untouched_chain()
    {
        var tenant = await TenantWithEventsAsync(api);
        var result = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(result.Valid);
        Assert.Equal(5, result.CheckedEvents); // tenant.created, bootstrap key, 3 keys
        Assert.Equal(5, result.HeadSequence);
        Assert.Null(result.FirstBreak);
    }

    [Fact]
    public async Task Events_list_in_order_with_actor_and_linked_hashes()
    {
        var tenant = await TenantWithEventsAsync(api);
        var page = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        Assert.Equal([1L, 2, 3, 4, 5], page.Items.Select(e => e.Sequence));
        Assert.Equal(["tenant.created", "api-key.created", "api-key.created", "api-key.created", "api-key.created"], page.Items.Select(e => e.Action));
        Assert.Equal("Bootstrap admin", page.Items[2].ActorName);
        for (var i = 1; i < page.Items.Count; i++)
            Assert.Equal(page.Items[i - 1].Hash, page.Items[i].PreviousHash);
    }

    [Fact]
    public async Task Tampering_with_one_row_is_reported_at_that_row()
    {
        var tenant = await TenantWithEventsAsync(api);
        // An attacker with database access bypasses the append-only trigger and edits event 3.
        await api.Database.ExecuteAsync($$"""
            ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
            UPDATE audit_events SET data = '{"roles":["admin"]}' WHERE tenant_id = '{{tenant.Id}}' AND sequence = 3;
            ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
            """);
        var result = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.False(result.Valid);
        Assert.Equal(3, result.FirstBreak!.Sequence);
        Assert.Equal("hash-mismatch", result.FirstBreak.Reason);
    }

    [Fact]
    public async Task Deleting_a_row_is_reported_as_a_gap()
    {
        var tenant = await TenantWithEventsAsync(api);
        await api.Database.ExecuteAsync($"""
            ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
            DELETE FROM audit_events WHERE tenant_id = '{tenant.Id}' AND sequence = 2;
            ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
            """);
        var result = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.False(result.Valid);
        Assert.Equal("sequence-gap", result.FirstBreak!.Reason);
        Assert.Equal(3, result.FirstBreak.Sequence);
    }

    [Fact]
    public async Task The_database_refuses_updates_and_deletes_of_audit_events()
    {
        var tenant = await TenantWithEventsAsync(api);
        var update = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            api.Database.ExecuteAsync($"UPDATE audit_events SET action = 'x' WHERE tenant_id = '{tenant.Id}'"));
        Assert.Contains("append-only", update.MessageText, StringComparison.Ordinal);
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            api.Database.ExecuteAsync($"DELETE FROM audit_events WHERE tenant_id = '{tenant.Id}'"));
        var result = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(result.Valid);
    }

    [Fact]
    public async Task Chains_of_tenants_are_separate_and_invisible_to_each_other()
    {
        var a = await TenantWithEventsAsync(api);
        var b = await api.CreateTenantAsync();
        var page = await (await b.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        Assert.Equal(2, page.Items.Count);
        Assert.True((await (await a.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
    }

    [Fact]
    public async Task Concurrent_writes_keep_one_gapless_chain()
    {
        var tenant = await api.CreateTenantAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = $"Parallel {i}", roles = new[] { "legal" } })));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var result = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(result.Valid, result.FirstBreak?.Detail);
        Assert.Equal(22, result.HeadSequence);
    }

    [Fact]
    public async Task Verify_never_reports_a_break_while_hundreds_of_writes_run()
    {
        const int writes = 300;
        var tenant = await api.CreateTenantAsync();
        var auditor = await tenant.ClientAsync("legal");
        var next = 0;
        var writers = Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            var client = tenant.Admin;
            while (Interlocked.Increment(ref next) <= writes)
                Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/v1/api-keys", new { displayName = "Writer", roles = new[] { "recruiter" } })).StatusCode);
        }));

        var checks = new List<AuditVerification>();
        while (!writers.IsCompleted)
            checks.Add(await (await auditor.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>());
        await writers;

        Assert.True(checks.Count >= 5, $"only {checks.Count} checks ran during the writes");
        Assert.All(checks, c => Assert.True(c.Valid, $"{c.FirstBreak?.Reason}: {c.FirstBreak?.Detail}"));
        Assert.All(checks, c => Assert.Equal(c.HeadSequence, c.CheckedEvents)); // each check saw one consistent chain
        var last = await (await auditor.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(last.Valid);
        Assert.Equal(writes + 2, last.HeadSequence); // tenant.created, the bootstrap key, the writes
    }

    [Fact]
    public async Task Interviewers_cannot_read_the_audit_log()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("interviewer");
        await (await client.GetAsync("/v1/audit")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/v1/audit/verify")).AssertProblemAsync(HttpStatusCode.Forbidden);
        var legal = await tenant.ClientAsync("legal");
        Assert.Equal(HttpStatusCode.OK, (await legal.GetAsync("/v1/audit/verify")).StatusCode);
    }
}
