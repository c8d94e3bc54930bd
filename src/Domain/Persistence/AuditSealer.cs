using System.Collections.Concurrent;
using System.Security.Cryptography;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// Places a tenant's new audit events in its Merkle tree and signs a checkpoint over the result, in one short transaction
/// under the tenant row's lock (FOR NO KEY UPDATE: writers' foreign-key checks are not blocked, and writers take no audit
/// lock at all). Any number of processes may run it: with <c>skipLocked</c> a tenant being sealed elsewhere is skipped.
/// Events are placed in the order they were inserted (<see cref="AuditEvent.Position"/>) as the sealer finds them committed.
/// </summary>
public sealed class AuditSealer(FeedbackHubDbContext db, AuditSigner signer, TimeProvider time)
{
    public const int DefaultBatchSize = 2000;

    /// <summary>The tenants that have events waiting to be sealed (from the partial index, so cheap however long the log).</summary>
    public Task<List<Guid>> TenantsWithUnsealedEventsAsync(int limit, CancellationToken ct) =>
        db.Database.SqlQuery<Guid>($"SELECT DISTINCT tenant_id AS \"Value\" FROM audit_events WHERE sequence IS NULL LIMIT {limit}").ToListAsync(ct);

    /// <summary>
    /// Seals up to <paramref name="batchSize"/> of the tenant's unsealed events. Returns how many were sealed (0 when none
    /// waited, or when <paramref name="skipLocked"/> and another process is sealing the tenant).
    /// </summary>
    public async Task<int> SealAsync(Guid tenantId, bool skipLocked, int batchSize = DefaultBatchSize, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var locked = skipLocked
            ? await db.Database.SqlQuery<Guid>($"SELECT id AS \"Value\" FROM tenants WHERE id = {tenantId} FOR NO KEY UPDATE SKIP LOCKED").ToListAsync(ct)
            : await db.Database.SqlQuery<Guid>($"SELECT id AS \"Value\" FROM tenants WHERE id = {tenantId} FOR NO KEY UPDATE").ToListAsync(ct);
        if (locked.Count == 0)
            return 0;

        var events = await db.AuditEvents.IgnoreQueryFilters().AsNoTracking()
            .Where(e => e.TenantId == tenantId && e.Sequence == null)
            .OrderBy(e => e.Position).Take(batchSize).ToListAsync(ct);
        if (events.Count == 0)
            return 0;

        var size = await db.AuditCheckpoints.Where(c => c.TenantId == tenantId).MaxAsync(c => (long?)c.TreeSize, ct) ?? 0;
        var frontierIds = MerkleTree.Frontier(size);
        var stored = await AuditTree.LoadNodesAsync(db, tenantId, frontierIds, ct);
        var tree = new MerkleAppender(size, frontierIds.Select(id => stored[id]).ToList());
        foreach (var e in events)
            tree.Append(e.Seal(tree.Size + 1));

        var ids = events.Select(e => e.Id).ToArray();
        var sequences = events.Select(e => e.Sequence!.Value).ToArray();
        var leaves = events.Select(e => e.LeafHash!).ToArray();
        // The events found by their keys (sequential scans off for this statement): otherwise the planner, costing a random
        // read at four sequential ones, read the whole log (every tenant's events) to seal a few hundred, until the table
        // was large enough for it to change its mind (12 ms for 300 events among 30,000, AuditLogTests).
        await db.Database.ExecuteSqlAsync(PlannerMethods.Without($"""
            UPDATE audit_events AS e SET sequence = v.sequence, leaf_hash = v.leaf_hash
            FROM unnest({ids}, {sequences}, {leaves}) AS v(id, sequence, leaf_hash) WHERE e.id = v.id
            """, PlannerMethods.SeqScan), ct);

        var levels = tree.NewNodes.Select(n => n.Id.Level).ToArray();
        var indexes = tree.NewNodes.Select(n => n.Id.Index).ToArray();
        var hashes = tree.NewNodes.Select(n => n.Hash).ToArray();
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO audit_tree_nodes (tenant_id, level, index, hash)
            SELECT {tenantId}, level, index, hash FROM unnest({levels}, {indexes}, {hashes}) AS v(level, index, hash)
            """, ct);

        var checkpoint = await signer.SignAsync(db, tenantId, tree.Size, tree.Root(), time.GetUtcNow(), ct);
        db.AuditCheckpoints.Add(checkpoint);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        db.Entry(checkpoint).State = EntityState.Detached;
        return events.Count;
    }

    /// <summary>Seals everything the tenant has waiting, batch after batch, waiting for a sealer elsewhere if there is one.</summary>
    public async Task SealAllAsync(Guid tenantId, CancellationToken ct)
    {
        while (await SealAsync(tenantId, skipLocked: false, DefaultBatchSize, ct) == DefaultBatchSize)
        {
        }
    }
}

/// <summary>Reads a tenant's stored tree nodes.</summary>
public static class AuditTree
{
    /// <summary>The stored hashes of the given complete nodes; a node that is missing is an error (the tree is damaged).</summary>
    public static async Task<Dictionary<NodeId, byte[]>> LoadNodesAsync(FeedbackHubDbContext db, Guid tenantId, IReadOnlyCollection<NodeId> nodes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0)
            return [];
        var levels = nodes.Select(n => n.Level).ToArray();
        var indexes = nodes.Select(n => n.Index).ToArray();
        var rows = await db.AuditTreeNodes.FromSql($"""
                SELECT n.* FROM audit_tree_nodes n JOIN unnest({levels}, {indexes}) AS v(level, index)
                ON n.level = v.level AND n.index = v.index WHERE n.tenant_id = {tenantId}
                """).AsNoTracking().ToListAsync(ct);
        var found = rows.ToDictionary(r => new NodeId(r.Level, r.Index), r => r.Hash);
        var missing = nodes.Where(n => !found.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"The audit tree of tenant {tenantId} lacks {missing.Count} node(s), e.g. level {missing[0].Level} index {missing[0].Index}.");
        return found;
    }

    /// <summary>
    /// Runs a proof computation against the stored nodes: first to learn which nodes it reads, then (after one query for
    /// them) for real, so a proof costs one round trip whatever its length.
    /// </summary>
    public static async Task<T> ComputeAsync<T>(FeedbackHubDbContext db, Guid tenantId, Func<Func<NodeId, byte[]>, T> compute, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(compute);
        var needed = new HashSet<NodeId>();
        compute(id =>
        {
            needed.Add(id);
            return MerkleTree.EmptyRoot; // any 32 bytes: only which nodes are read matters in this pass
        });
        var nodes = await LoadNodesAsync(db, tenantId, needed, ct);
        return compute(id => nodes[id]);
    }
}

/// <summary>
/// Signs checkpoints with the deployment's ECDSA P-256 key, made on first use and stored sealed (<see cref="AuditSigningKey"/>).
/// A singleton: keys are opened once and cached.
/// </summary>
public sealed partial class AuditSigner(WebhookSecretBox box, ILogger<AuditSigner>? logger = null)
{
    private const string Purpose = AuditSigningKey.SealPurpose;
    private readonly ConcurrentDictionary<Guid, ECDsa> _opened = new();

    /// <summary>Signs with the newest key (one small query per checkpoint: a key made by another process is picked up).</summary>
    public async Task<AuditCheckpoint> SignAsync(FeedbackHubDbContext db, Guid tenantId, long treeSize, byte[] root, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        var newest = await NewestAsync(db, ct);
        if (newest is null || !CanOpen(newest))
        {
            // Only making a key takes the lock (transaction-scoped), so two processes starting at once make one key, not two.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext('feedbackhub.audit-signing-key'))", ct);
            newest = await NewestAsync(db, ct);
            if (newest is null || !CanOpen(newest))
            {
                var unreadable = newest?.Id;
                newest = await CreateAsync(db, now, ct);
                if (unreadable is { } previous && logger is not null)
                    NewKeyBecauseUnreadable(logger, newest.Id, previous);
            }
        }

        var key = _opened[newest.Id];
        return AuditCheckpoint.Create(tenantId, treeSize, root, now, newest.Id,
            text => key.SignData(text, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    private static Task<AuditSigningKey?> NewestAsync(FeedbackHubDbContext db, CancellationToken ct) =>
        db.AuditSigningKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).FirstOrDefaultAsync(ct);

    /// <summary>
    /// None yet, or the newest is sealed under a key no longer configured: a new key signs from now on. Earlier checkpoints
    /// keep verifying with the public key they name.
    /// </summary>
    private async Task<AuditSigningKey> CreateAsync(FeedbackHubDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = Guid.CreateVersion7(now);
        var key = AuditSigningKey.Create(id, ecdsa.ExportSubjectPublicKeyInfo(), box.Seal(Convert.ToBase64String(ecdsa.ExportPkcs8PrivateKey()), id, Purpose), now);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO audit_signing_keys (id, public_key, sealed_private_key, created_at) VALUES ({key.Id}, {key.PublicKey}, {key.SealedPrivateKey}, {now})", ct);
        _opened[key.Id] = Open(key);
        return key;
    }

    // Processes with different keys take turns making new signing keys, one at almost every checkpoint: say so each time.
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message =
        "Audit checkpoints are signed with a new key {KeyId} from now on: this process cannot open the newest signing key {UnreadableKeyId} "
        + "(it is sealed under a key that is neither this process's Webhooks:SecretKey nor one of its Webhooks:PreviousSecretKeys). "
        + "Give every API and worker process the same Webhooks:SecretKey; while they differ, each makes its own signing key.")]
    private static partial void NewKeyBecauseUnreadable(ILogger logger, Guid keyId, Guid unreadableKeyId);

    private bool CanOpen(AuditSigningKey key)
    {
        try
        {
            _opened.GetOrAdd(key.Id, _ => Open(key));
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private ECDsa Open(AuditSigningKey key)
    {
        var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(Convert.FromBase64String(box.Open(key.SealedPrivateKey, key.Id, Purpose)), out _);
        return ecdsa;
    }

    /// <summary>Whether <paramref name="checkpoint"/>'s signature verifies with the public key it names.</summary>
    public static bool Verify(AuditCheckpoint checkpoint, byte[] publicKey)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(publicKey, out _);
        return ecdsa.VerifyData(System.Text.Encoding.UTF8.GetBytes(checkpoint.SignedText), checkpoint.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }
}
