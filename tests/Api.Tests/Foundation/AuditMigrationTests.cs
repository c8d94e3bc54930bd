using System.Security.Cryptography;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>A database with hash-chained audit events from before the Merkle tree, migrated and sealed.</summary>
public sealed class AuditMigrationTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeEmptyAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task Existing_chains_are_sealed_into_each_tenants_tree_in_their_old_order()
    {
        await _database.MigrateToAsync("20261201155939_Initial");
        var tenants = new[] { Guid.CreateVersion7(), Guid.CreateVersion7() };
        var legacy = new Dictionary<Guid, List<Guid>>();
        foreach (var tenant in tenants)
        {
            await _database.ExecuteAsync($"INSERT INTO tenants (id, name, created_at, settings, language_rules_revision, audit_head_sequence, audit_head_hash) VALUES ('{tenant}', 'Old {tenant:N}', now(), '{{}}', 0, 3, '\\x00')");
            legacy[tenant] = [];
            // Ids deliberately out of order against the chain: the old sequence, not the id, is the order to keep.
            for (var sequence = 3; sequence >= 1; sequence--)
            {
                var id = Guid.CreateVersion7();
                legacy[tenant].Insert(0, id);
                await _database.ExecuteAsync($$"""
                    INSERT INTO audit_events (id, tenant_id, sequence, occurred_at, actor_name, action, subject_type, data, previous_hash, hash)
                    VALUES ('{{id}}', '{{tenant}}', {{sequence}}, now(), 'system', 'legacy.{{sequence}}', 'tenant', '{"n":{{sequence}}}', '\x00', '\x00')
                    """);
            }
        }

        await _database.MigrateToAsync();

        await using var db = _database.CreateDbContext();
        var sealer = new AuditSealer(db, new AuditSigner(new WebhookSecretBox(RandomNumberGenerator.GetBytes(32))), TimeProvider.System);
        foreach (var tenant in tenants)
        {
            await sealer.SealAllAsync(tenant, CancellationToken.None);
            var events = await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == tenant).OrderBy(e => e.Sequence).ToListAsync();
            Assert.Equal(legacy[tenant], events.Select(e => e.Id));
            Assert.Equal(["legacy.1", "legacy.2", "legacy.3"], events.Select(e => e.Action));
            var verifier = new AuditLogVerifier();
            Assert.All(events, e => Assert.Null(verifier.Check(e)));
            var checkpoint = await db.AuditCheckpoints.AsNoTracking().Where(c => c.TenantId == tenant).OrderByDescending(c => c.TreeSize).FirstAsync();
            Assert.Equal(3, checkpoint.TreeSize);
            Assert.Equal(verifier.Root(), checkpoint.RootHash);
        }

        // New events take positions after the migrated ones.
        var newest = await db.AuditEvents.AsNoTracking().MaxAsync(e => e.Position);
        Assert.Equal(6, newest);
    }
}
