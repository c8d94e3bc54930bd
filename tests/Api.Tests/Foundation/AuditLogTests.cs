using System.Net;
using System.Security.Cryptography;
using System.Text;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>
/// The audit log as an auditor uses it: writers append without a tenant lock, the sealer places events in the tenant's
/// Merkle tree with signed checkpoints, and every kind of tampering with the stored rows is found by verify.
/// </summary>
public sealed class AuditLogTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static async Task<TestTenant> TenantWithEventsAsync(ApiFactory api)
    {
        var tenant = await api.CreateTenantAsync();
        for (var i = 0; i < 3; i++)
            await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = $"Key {i}", roles = new[] { "recruiter" } });
        return tenant;
    }

    private static async Task<AuditVerification> VerifyAsync(TestTenant tenant) =>
        await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();

    /// <summary>An attacker with database access: bypasses the append-only triggers for one statement batch.</summary>
    private Task TamperAsync(string sql) => api.Database.ExecuteAsync($"""
        ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
        ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only;
        {sql}
        ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
        ALTER TABLE audit_checkpoints ENABLE TRIGGER audit_checkpoints_append_only;
        """);

    [Fact]
    public async Task Verify_seals_what_waits_and_passes_on_an_untouched_log()
    {
        var tenant = await TenantWithEventsAsync(api);
        var result = await VerifyAsync(tenant);
        Assert.True(result.Valid, result.FirstBreak?.Detail);
        Assert.Equal(5, result.CheckedEvents); // tenant.created, bootstrap key, 3 keys
        Assert.Equal(5, result.TreeSize);
        Assert.True(result.CheckedCheckpoints >= 1);
        Assert.Null(result.FirstBreak);
    }

    [Fact]
    public async Task Events_list_in_the_order_written_with_their_places_in_the_tree_once_sealed()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        var page = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        Assert.Equal([1L, 2, 3, 4, 5], page.Items.Select(e => e.Sequence));
        Assert.Equal(["tenant.created", "api-key.created", "api-key.created", "api-key.created", "api-key.created"], page.Items.Select(e => e.Action));
        Assert.Equal("Bootstrap admin", page.Items[2].ActorName);
        Assert.All(page.Items, e => Assert.Equal(32, Convert.FromBase64String(e.LeafHash!).Length));
    }

    [Fact]
    public async Task A_write_does_not_wait_for_a_lock_held_on_the_tenant()
    {
        var tenant = await api.CreateTenantAsync();
        // What every audited write used to queue on: the tenant row, locked as the hash chain's head was.
        await using var holder = new NpgsqlConnection(api.Database.ConnectionString);
        await holder.OpenAsync();
        await using var tx = await holder.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand($"SELECT 1 FROM tenants WHERE id = '{tenant.Id}' FOR NO KEY UPDATE", holder, tx))
            await command.ExecuteNonQueryAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var created = await tenant.Admin.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new { displayName = "While locked", roles = new[] { "legal" } }), timeout.Token);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await tx.RollbackAsync();

        var result = await VerifyAsync(tenant);
        Assert.True(result.Valid, result.FirstBreak?.Detail);
        Assert.Equal(3, result.TreeSize);
    }

    [Fact]
    public async Task Changing_an_events_content_is_reported_at_that_event()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        await TamperAsync($$"""UPDATE audit_events SET data = '{"roles":["admin"]}' WHERE tenant_id = '{{tenant.Id}}' AND sequence = 3;""");
        var result = await VerifyAsync(tenant);
        Assert.False(result.Valid);
        Assert.Equal(3, result.FirstBreak!.Sequence);
        Assert.Equal("hash-mismatch", result.FirstBreak.Reason);
    }

    [Fact]
    public async Task Changing_an_event_and_recomputing_its_leaf_is_caught_by_the_signed_checkpoint()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        await TamperAsync($$"""UPDATE audit_events SET data = '{"roles":["admin"]}' WHERE tenant_id = '{{tenant.Id}}' AND sequence = 3;""");
        await RecomputeLeafAsync(tenant.Id, 3);

        var result = await VerifyAsync(tenant);
        Assert.False(result.Valid);
        Assert.Equal("checkpoint-mismatch", result.FirstBreak!.Reason);
    }

    [Fact]
    public async Task Reordering_two_events_is_detected_even_with_their_leaves_recomputed()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        await TamperAsync($"""
            UPDATE audit_events SET sequence = -1 WHERE tenant_id = '{tenant.Id}' AND sequence = 2;
            UPDATE audit_events SET sequence = 2 WHERE tenant_id = '{tenant.Id}' AND sequence = 4;
            UPDATE audit_events SET sequence = 4 WHERE tenant_id = '{tenant.Id}' AND sequence = -1;
            """);
        await RecomputeLeafAsync(tenant.Id, 2);
        await RecomputeLeafAsync(tenant.Id, 4);

        var result = await VerifyAsync(tenant);
        Assert.False(result.Valid);
        Assert.Equal("checkpoint-mismatch", result.FirstBreak!.Reason);
    }

    [Fact]
    public async Task Deleting_an_event_is_reported_as_a_gap()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        await TamperAsync($"DELETE FROM audit_events WHERE tenant_id = '{tenant.Id}' AND sequence = 2;");
        var result = await VerifyAsync(tenant);
        Assert.False(result.Valid);
        Assert.Equal("sequence-gap", result.FirstBreak!.Reason);
        Assert.Equal(2, result.FirstBreak.Sequence);
    }

    [Fact]
    public async Task Deleting_the_newest_events_is_reported_because_a_checkpoint_covers_them()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        await TamperAsync($"DELETE FROM audit_events WHERE tenant_id = '{tenant.Id}' AND sequence >= 4;");
        var result = await VerifyAsync(tenant);
        Assert.False(result.Valid);
        Assert.Equal("sequence-gap", result.FirstBreak!.Reason);
    }

    [Fact]
    public async Task A_checkpoint_rewritten_without_the_signing_key_is_reported()
    {
        var tenant = await TenantWithEventsAsync(api);
        Assert.Equal(5, (await VerifyAsync(tenant)).TreeSize);
        // The attacker changes an event, recomputes its leaf and re-roots the newest checkpoint, but cannot sign.
        await TamperAsync($$"""UPDATE audit_events SET data = '{"roles":["admin"]}' WHERE tenant_id = '{{tenant.Id}}' AND sequence = 5;""");
        var leaf = await RecomputeLeafAsync(tenant.Id, 5);
        var left = await ScalarHashAsync( // the root of 5 leaves is HASH(node of leaves 1-4, leaf 5)
            $"SELECT hash FROM audit_tree_nodes WHERE tenant_id = '{tenant.Id}' AND level = 2 AND index = 0");
        var forgedRoot = MerkleTree.NodeHash(left, leaf);
        await TamperAsync($"UPDATE audit_checkpoints SET root_hash = '\\x{Convert.ToHexStringLower(forgedRoot)}' WHERE tenant_id = '{tenant.Id}' AND tree_size = 5;");

        var result = await VerifyAsync(tenant);
        Assert.False(result.Valid);
        Assert.Equal("bad-signature", result.FirstBreak!.Reason);
    }

    [Fact]
    public async Task An_inclusion_proof_and_the_checkpoint_signature_verify_with_nothing_but_the_answer()
    {
        var tenant = await TenantWithEventsAsync(api);
        var page = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        var third = page.Items[2];

        var proof = await (await tenant.Admin.GetAsync($"/v1/audit/{third.Id}/proof")).ReadAsync<AuditInclusionProof>();

        Assert.Equal(3, proof.Sequence);
        var leafHash = MerkleTree.LeafHash(Convert.FromBase64String(proof.Leaf));
        Assert.Equal(proof.LeafHash, Convert.ToBase64String(leafHash));
        var root = Convert.FromBase64String(proof.Checkpoint.RootHash);
        var path = proof.AuditPath.Select(Convert.FromBase64String).ToList();
        Assert.True(MerkleTree.VerifyInclusion(proof.LeafIndex, proof.Checkpoint.TreeSize, leafHash, path, root));
        Assert.False(MerkleTree.VerifyInclusion(proof.LeafIndex + 1, proof.Checkpoint.TreeSize, leafHash, path, root));
        Assert.Contains(third.Id.ToString(), Encoding.UTF8.GetString(Convert.FromBase64String(proof.Leaf)), StringComparison.Ordinal); // the leaf names the event's content
        Assert.True(SignatureVerifies(proof.Checkpoint));
        Assert.Contains($"size {proof.Checkpoint.TreeSize}\n", proof.Checkpoint.SignedText, StringComparison.Ordinal);
        Assert.Contains($"root {proof.Checkpoint.RootHash}\n", proof.Checkpoint.SignedText, StringComparison.Ordinal);
        Assert.False(SignatureVerifies(proof.Checkpoint with { SignedText = proof.Checkpoint.SignedText.Replace("size 5", "size 6", StringComparison.Ordinal) }));
    }

    [Fact]
    public async Task A_later_checkpoint_provably_extends_an_earlier_one()
    {
        var tenant = await api.CreateTenantAsync();
        var early = await (await tenant.Admin.GetAsync("/v1/audit/checkpoint")).ReadAsync<AuditCheckpointResponse>();
        for (var i = 0; i < 5; i++)
            await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = $"Later {i}", roles = new[] { "legal" } });
        var late = await (await tenant.Admin.GetAsync("/v1/audit/checkpoint")).ReadAsync<AuditCheckpointResponse>();
        Assert.Equal(2, early.TreeSize);
        Assert.Equal(7, late.TreeSize);

        var consistency = await (await tenant.Admin.GetAsync($"/v1/audit/consistency?from={early.TreeSize}")).ReadAsync<AuditConsistencyProof>();

        Assert.Equal(early.RootHash, consistency.From.RootHash);
        Assert.Equal(late.RootHash, consistency.To.RootHash);
        var proof = consistency.Proof.Select(Convert.FromBase64String).ToList();
        Assert.True(MerkleTree.VerifyConsistency(early.TreeSize, late.TreeSize, Convert.FromBase64String(early.RootHash), Convert.FromBase64String(late.RootHash), proof));
        Assert.False(MerkleTree.VerifyConsistency(early.TreeSize, late.TreeSize, new byte[32], Convert.FromBase64String(late.RootHash), proof));
        Assert.True(SignatureVerifies(early) && SignatureVerifies(late));
        // The earlier checkpoint stays retrievable by its size.
        Assert.Equal(early, await (await tenant.Admin.GetAsync($"/v1/audit/checkpoint?treeSize={early.TreeSize}")).ReadAsync<AuditCheckpointResponse>());
    }

    [Fact]
    public async Task Proofs_answer_404_for_another_tenants_event_or_an_unknown_checkpoint_and_422_for_impossible_sizes()
    {
        var a = await TenantWithEventsAsync(api);
        var b = await api.CreateTenantAsync();
        var aEvent = (await (await a.Admin.GetAsync("/v1/audit?limit=1")).ReadAsync<Page<AuditEventResponse>>()).Items[0];
        await VerifyAsync(a);

        await (await b.Admin.GetAsync($"/v1/audit/{aEvent.Id}/proof")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await a.Admin.GetAsync("/v1/audit/checkpoint?treeSize=999")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await a.Admin.GetAsync("/v1/audit/consistency?from=4&to=3")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        await (await a.Admin.GetAsync("/v1/audit/consistency?from=2&to=999")).AssertProblemAsync(HttpStatusCode.NotFound);
        var last = (await (await a.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>()).Items[^1];
        var smallest = (await (await a.Admin.GetAsync("/v1/audit/checkpoint")).ReadAsync<AuditCheckpointResponse>()).TreeSize;
        Assert.Equal(5, smallest);
        await (await a.Admin.GetAsync($"/v1/audit/{last.Id}/proof?treeSize=2")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        await (await a.Admin.GetAsync("/v1/audit/consistency?from=x")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_database_refuses_to_change_events_nodes_and_checkpoints_except_sealing_once()
    {
        var tenant = await TenantWithEventsAsync(api);
        await VerifyAsync(tenant);
        var update = await Assert.ThrowsAsync<PostgresException>(() =>
            api.Database.ExecuteAsync($"UPDATE audit_events SET action = 'x' WHERE tenant_id = '{tenant.Id}'"));
        Assert.Contains("append-only", update.MessageText, StringComparison.Ordinal);
        await Assert.ThrowsAsync<PostgresException>(() => api.Database.ExecuteAsync($"UPDATE audit_events SET sequence = sequence + 100 WHERE tenant_id = '{tenant.Id}'"));
        await Assert.ThrowsAsync<PostgresException>(() => api.Database.ExecuteAsync($"DELETE FROM audit_events WHERE tenant_id = '{tenant.Id}'"));
        await Assert.ThrowsAsync<PostgresException>(() => api.Database.ExecuteAsync($"DELETE FROM audit_tree_nodes WHERE tenant_id = '{tenant.Id}'"));
        await Assert.ThrowsAsync<PostgresException>(() => api.Database.ExecuteAsync($"UPDATE audit_checkpoints SET tree_size = 1 WHERE tenant_id = '{tenant.Id}'"));
        Assert.True((await VerifyAsync(tenant)).Valid);
    }

    [Fact]
    public async Task Concurrent_writes_end_in_one_gapless_verified_tree()
    {
        var tenant = await api.CreateTenantAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = $"Parallel {i}", roles = new[] { "legal" } })));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var result = await VerifyAsync(tenant);
        Assert.True(result.Valid, result.FirstBreak?.Detail);
        Assert.Equal(22, result.TreeSize);
    }

    [Fact]
    public async Task Sealers_in_several_processes_at_once_build_one_tree_while_writes_go_on()
    {
        var tenant = await api.CreateTenantAsync();
        var signer = new Domain.Persistence.AuditSigner(api.Services.GetRequiredService<Domain.Webhooks.WebhookSecretBox>());
        var writing = Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = $"Sealed {i}", roles = new[] { "legal" } })));
        var sealedCount = 0;
        var sealers = Enumerable.Range(0, 3).Select(async s =>
        {
            // Small batches, until the writes are done and nothing waits: the three compete for every tenant lock.
            while (true)
            {
                var done = writing.IsCompleted;
                await using var db = api.Database.CreateDbContext();
                var n = await new Domain.Persistence.AuditSealer(db, signer, TimeProvider.System).SealAsync(tenant.Id, skipLocked: s > 0, batchSize: 3);
                Interlocked.Add(ref sealedCount, n);
                if (done && n == 0 && !await db.AuditEvents.AnyAsync(e => e.TenantId == tenant.Id && e.Sequence == null))
                    return;
            }
        });
        await Task.WhenAll([writing, .. sealers]);

        Assert.Equal(62, sealedCount); // the sealers sealed everything, each event once
        var result = await VerifyAsync(tenant);
        Assert.True(result.Valid, result.FirstBreak?.Detail);
        Assert.Equal(62, result.TreeSize);
        Assert.True(result.CheckedCheckpoints >= 21, $"{result.CheckedCheckpoints} checkpoints for batches of 3");
    }

    [Fact]
    public async Task A_process_that_cannot_open_the_newest_signing_key_signs_with_a_new_one_says_why_and_the_log_still_verifies()
    {
        var tenant = await TenantWithEventsAsync(api);
        var first = await VerifyAsync(tenant); // sealed and signed with the API's own key
        Assert.True(first.Valid, first.FirstBreak?.Detail);
        var before = await NewestSigningKeyAsync();
        await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "One more", roles = new[] { "legal" } });
        using var logs = new CapturedLogs();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        // A process given a Webhooks:SecretKey of its own (misconfigured): the newest signing key does not open with it.
        var stranger = new AuditSigner(new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)), loggers.CreateLogger<AuditSigner>());

        await using (var db = api.Database.CreateDbContext())
            Assert.Equal(1, await new AuditSealer(db, stranger, TimeProvider.System).SealAsync(tenant.Id, skipLocked: false));

        var made = await NewestSigningKeyAsync();
        Assert.NotEqual(before, made);
        var warning = Assert.Single(logs.Lines);
        Assert.StartsWith("Warning ", warning, StringComparison.Ordinal);
        Assert.Contains($"new key {made} from now on: this process cannot open the newest signing key {before}", warning, StringComparison.Ordinal);
        Assert.Contains("Give every API and worker process the same Webhooks:SecretKey", warning, StringComparison.Ordinal);
        // Each checkpoint names the key that signed it, so the log verifies across the change of key.
        var result = await VerifyAsync(tenant);
        Assert.True(result.Valid, result.FirstBreak?.Detail);
        Assert.Equal(first.TreeSize + 1, result.TreeSize);

        async Task<Guid?> NewestSigningKeyAsync()
        {
            await using var db = api.Database.CreateDbContext();
            return await db.AuditSigningKeys.OrderByDescending(k => k.CreatedAt).Select(k => (Guid?)k.Id).FirstOrDefaultAsync();
        }
    }

    [Fact]
    public async Task Verify_never_reports_a_break_while_hundreds_of_writes_run()
    {
        // At least 300 writes, and on until 5 checks ran during them (bounded): a fast API must not outrun the checks.
        const int writes = 300, most = 5000, wantedChecks = 5;
        var tenant = await api.CreateTenantAsync();
        var auditor = await tenant.ClientAsync("legal");
        var next = 0;
        var checksDone = 0;
        var written = 0;
        var writers = Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            var client = tenant.Admin;
            while (Interlocked.Increment(ref next) is var n && n <= most && (n <= writes || Volatile.Read(ref checksDone) < wantedChecks))
            {
                Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/v1/api-keys", new { displayName = "Writer", roles = new[] { "recruiter" } })).StatusCode);
                Interlocked.Increment(ref written);
            }
        }));

        var checks = new List<AuditVerification>();
        while (!writers.IsCompleted)
        {
            checks.Add(await (await auditor.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>());
            Interlocked.Increment(ref checksDone);
        }

        await writers;

        Assert.True(checks.Count >= 3, $"only {checks.Count} checks ran during the writes");
        Assert.All(checks, c => Assert.True(c.Valid, $"{c.FirstBreak?.Reason}: {c.FirstBreak?.Detail}"));
        Assert.All(checks, c => Assert.Equal(c.TreeSize, c.CheckedEvents)); // each check saw one consistent tree
        var last = await (await auditor.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(last.Valid);
        Assert.True(written >= writes);
        Assert.Equal(written + 2, last.TreeSize); // tenant.created, the bootstrap key, the writes
    }

    [Fact]
    public async Task The_sealer_finds_the_events_it_seals_by_key_however_long_the_log()
    {
        // 30,000 events of another tenant, sealed long ago, and 300 of this one waiting.
        var other = await api.CreateTenantAsync();
        var tenant = await api.CreateTenantAsync();
        await api.Database.ExecuteAsync($"""
            INSERT INTO audit_events (id, tenant_id, sequence, occurred_at, actor_name, action, subject_type, data, leaf_hash)
            SELECT gen_random_uuid(), '{other.Id}', 1000000 + n, now(), 'system', 'test.filler', 'test', '[]', sha256(n::text::bytea)
            FROM generate_series(1, 30000) AS n;
            INSERT INTO audit_events (id, tenant_id, occurred_at, actor_name, action, subject_type, data)
            SELECT gen_random_uuid(), '{tenant.Id}', now(), 'system', 'test.waiting', 'test', '[]' FROM generate_series(1, 300);
            ANALYZE audit_events;
            """);
        var waiting = await api.Database.ScalarAsync<long>($"SELECT count(*) FROM audit_events WHERE tenant_id = '{tenant.Id}' AND sequence IS NULL");
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var sealer = new AuditSealer(db, scope.ServiceProvider.GetRequiredService<AuditSigner>(), TimeProvider.System);

        var (plans, count) = await PlanCapture.RunAsync(db, () => sealer.SealAsync(tenant.Id, skipLocked: false));

        Assert.Equal(waiting, count); // the 300 and the tenant's own creation
        var plan = Assert.Single(plans, p => p.Contains("UPDATE audit_events AS e", StringComparison.Ordinal));
        Assert.False(plan.Contains("Seq Scan on audit_events", StringComparison.Ordinal), plan); // before: all 30,300 read and hashed
        Assert.True(plan.Contains("pk_audit_events", StringComparison.Ordinal), plan);
        Assert.Equal("on", await PlanCapture.SettingAsync(db, "enable_seqscan")); // the setting ended with the sealer's transaction
        Assert.True((await VerifyAsync(tenant)).Valid);
    }

    [Fact]
    public async Task Sealing_checks_no_foreign_key_per_tree_node_and_indexes_only_sealed_sequences()
    {
        var tenant = await api.CreateTenantAsync();
        await api.Database.ExecuteAsync($"""
            INSERT INTO audit_events (id, tenant_id, occurred_at, actor_name, action, subject_type, data)
            SELECT gen_random_uuid(), '{tenant.Id}', now(), 'system', 'test.waiting', 'test', '[]' FROM generate_series(1, 200);
            """);
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var sealer = new AuditSealer(db, scope.ServiceProvider.GetRequiredService<AuditSigner>(), TimeProvider.System);

        var (plans, count) = await PlanCapture.RunAsync(db, () => sealer.SealAsync(tenant.Id, skipLocked: false), nested: true);

        Assert.True(count > 200);
        Assert.Contains(plans, p => p.Contains("INSERT INTO audit_tree_nodes", StringComparison.Ordinal)); // nested plans were captured
        // The checkpoint's own key is checked once; before, each of the ~2 nodes per event was checked too (about 400 here).
        var keyChecks = plans.Count(p => p.Contains("FROM ONLY \"public\".\"tenants\"", StringComparison.Ordinal));
        Assert.InRange(keyChecks, 0, 1);
        // Unsealed events (sequence null) have no entry in the (tenant, sequence) index; sealing gives them one.
        var definition = await api.Database.ScalarAsync<string>("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_audit_events_tenant_id_sequence'");
        Assert.EndsWith("WHERE (sequence IS NOT NULL)", definition, StringComparison.Ordinal);
        Assert.True((await VerifyAsync(tenant)).Valid);
    }

    [Fact]
    public async Task Interviewers_cannot_read_the_audit_log_or_its_proofs()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("interviewer");
        foreach (var path in new[] { "/v1/audit", "/v1/audit/verify", "/v1/audit/checkpoint", "/v1/audit/consistency?from=1", $"/v1/audit/{Guid.NewGuid()}/proof" })
            await (await client.GetAsync(path)).AssertProblemAsync(HttpStatusCode.Forbidden);
        var legal = await tenant.ClientAsync("legal");
        Assert.Equal(HttpStatusCode.OK, (await legal.GetAsync("/v1/audit/verify")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await legal.GetAsync("/v1/audit/checkpoint")).StatusCode);
    }

    /// <summary>As an attacker who knows the leaf format would: the event's leaf hash recomputed from its (changed) row.</summary>
    private async Task<byte[]> RecomputeLeafAsync(Guid tenantId, long sequence)
    {
        await using var db = api.Database.CreateDbContext();
        var e = db.AuditEvents.Single(x => x.TenantId == tenantId && x.Sequence == sequence);
        var leaf = AuditLeaf.Hash(e, sequence);
        await TamperAsync($"UPDATE audit_events SET leaf_hash = '\\x{Convert.ToHexStringLower(leaf)}' WHERE id = '{e.Id}';");
        return leaf;
    }

    private async Task<byte[]> ScalarHashAsync(string sql) => (await api.Database.ScalarAsync<byte[]>(sql))!;

    private static bool SignatureVerifies(AuditCheckpointResponse checkpoint)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(checkpoint.PublicKey);
        return key.VerifyData(Encoding.UTF8.GetBytes(checkpoint.SignedText), Convert.FromBase64String(checkpoint.Signature), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }
}
