using System.Security.Cryptography;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Audit;

/// <param name="Sequence">The event's place in the tenant's tree (1, 2, 3, ...); null until it is sealed (within about a second).</param>
/// <param name="LeafHash">Base64 RFC 9162 leaf hash of the sealed event; null until sealed.</param>
public sealed record AuditEventResponse(
    Guid Id, long? Sequence, DateTimeOffset OccurredAt, Guid? ActorId, string ActorName, string Action,
    string SubjectType, Guid? SubjectId, string Data, string? LeafHash);

/// <summary>Result of recomputing the tenant's audit tree from its events and checking every signed checkpoint against it.</summary>
/// <param name="CheckedEvents">Events whose leaf was recomputed from their content.</param>
/// <param name="TreeSize">The size of the newest signed checkpoint.</param>
/// <param name="RootHash">Base64 root of the newest checkpoint.</param>
/// <param name="CheckedCheckpoints">Signed checkpoints whose signature and root were checked against the rebuilt tree.</param>
public sealed record AuditVerification(bool Valid, long CheckedEvents, long TreeSize, string RootHash, long CheckedCheckpoints, AuditBreakResponse? FirstBreak);

public sealed record AuditBreakResponse(Guid? EventId, long Sequence, string Reason, string Detail);

/// <summary>A signed statement of the tenant's tree: its size and root at a time.</summary>
/// <param name="RootHash">Base64 SHA-256 root (RFC 9162).</param>
/// <param name="SignedText">The exact UTF-8 text the signature covers.</param>
/// <param name="Signature">Base64 DER ECDSA P-256 SHA-256 signature of <c>signedText</c>.</param>
/// <param name="PublicKey">PEM SubjectPublicKeyInfo of the signing key.</param>
public sealed record AuditCheckpointResponse(long TreeSize, string RootHash, DateTimeOffset CreatedAt, Guid KeyId, string SignedText, string Signature, string PublicKey);

/// <summary>RFC 9162 inclusion proof: the event's leaf and the audit path to the checkpoint's root.</summary>
/// <param name="LeafIndex">Sequence minus one.</param>
/// <param name="AuditPath">Base64 hashes, from the leaf upwards.</param>
public sealed record AuditInclusionProof(Guid EventId, long Sequence, long LeafIndex, string LeafHash, string Leaf, IReadOnlyList<string> AuditPath, AuditCheckpointResponse Checkpoint);

/// <summary>RFC 9162 consistency proof that the checkpoint of size <c>to</c> extends the one of size <c>from</c>.</summary>
public sealed record AuditConsistencyProof(AuditCheckpointResponse From, AuditCheckpointResponse To, IReadOnlyList<string> Proof);

public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/audit").WithTags("Audit").RequireAuthorization(Policies.AuditReaders);
        group.MapGet("/", ListAuditEvents).WithName("ListAuditEvents")
            .WithSummary("List the tenant's audit events")
            .WithDescription("Roles `admin`, `legal`. Oldest first (in the order they were written), cursor paged. Events hold ids, never personal data. `sequence` and `leafHash` are null for the moment between an event being written and being sealed into the tenant's tree.")
            .ProducesAuthProblems();
        group.MapGet("/verify", VerifyAuditLog).WithName("VerifyAuditLog")
            .WithSummary("Verify the whole audit log")
            .WithDescription("Roles `admin`, `legal`. Seals what is waiting, then recomputes every event's leaf from its content, rebuilds the tenant's Merkle tree and checks every signed checkpoint's root and signature against it; reports the first problem, if any (`hash-mismatch`, `sequence-gap`, `checkpoint-mismatch`, `bad-signature`, `events-after-checkpoint`). Reads one consistent snapshot.")
            .ProducesAuthProblems();
        group.MapGet("/checkpoint", GetCheckpoint).WithName("GetAuditCheckpoint")
            .WithSummary("Get a signed checkpoint of the audit tree")
            .WithDescription("Roles `admin`, `legal`. The newest checkpoint (after sealing what is waiting), or the one of `treeSize`. Keep it: a later checkpoint must extend it (`/v1/audit/consistency`). 404 when there is no checkpoint of that size.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapGet("/consistency", GetConsistencyProof).WithName("GetAuditConsistencyProof")
            .WithSummary("Prove that a later checkpoint extends an earlier one")
            .WithDescription("Roles `admin`, `legal`. RFC 9162 consistency proof between the checkpoints of sizes `from` and `to` (default: the newest). 404 when either checkpoint does not exist; 422 when `from` is larger than `to`.")
            .ProducesAuthProblems().ProducesProblems(404, 422);
        group.MapGet("/{id}/proof", GetInclusionProof).WithName("GetAuditInclusionProof")
            .WithSummary("Prove that one event is in the audit tree")
            .WithDescription("Roles `admin`, `legal`. RFC 9162 inclusion proof of the event in the checkpoint of `treeSize` (default: the newest), with the leaf it hashes. 404 for an unknown event or checkpoint; 422 when the checkpoint is older than the event.")
            .ProducesAuthProblems().ProducesProblems(404, 422);
        return app;
    }

    public static async Task<Ok<Page<AuditEventResponse>>> ListAuditEvents(int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var take = Cursor.Limit(limit);
        var afterPosition = Cursor.DecodeLong(after) ?? 0;
        var rows = await db.AuditEvents.AsNoTracking()
            .Where(e => e.Position > afterPosition)
            .OrderBy(e => e.Position).Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Cursor.ToPage(rows, take, ToResponse, e => e.Position.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    public static async Task<Ok<AuditVerification>> VerifyAuditLog(CurrentActor caller, FeedbackHubDbContext db, AuditSealer sealer, CancellationToken ct)
    {
        var tenantId = caller.TenantId;
        await sealer.SealAllAsync(tenantId, ct);

        // Events, checkpoints and keys in one snapshot: a sealing run committing meanwhile is wholly in it or wholly out.
        await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await db.Database.ExecuteSqlAsync($"SET TRANSACTION READ ONLY", ct);
        var keys = await db.AuditSigningKeys.AsNoTracking().ToDictionaryAsync(k => k.Id, k => k.PublicKey, ct);
        var checkpoints = await db.AuditCheckpoints.AsNoTracking().Where(c => c.TenantId == tenantId).OrderBy(c => c.TreeSize).ToListAsync(ct);
        var verifier = new AuditLogVerifier();
        var next = 0;
        AuditBreak? broken = null;

        AuditBreak? CheckCheckpointsAt(long size, byte[] root)
        {
            for (; next < checkpoints.Count && checkpoints[next].TreeSize == size; next++)
            {
                var c = checkpoints[next];
                if (!keys.TryGetValue(c.KeyId, out var publicKey) || !AuditSigner.Verify(c, publicKey))
                    return new AuditBreak(null, size, "bad-signature", $"The checkpoint of size {size} is not signed by a FeedbackHub audit key: it was forged or altered.");
                if (!c.RootHash.AsSpan().SequenceEqual(root))
                    return new AuditBreak(null, size, "checkpoint-mismatch", $"The first {size} events do not hash to the root signed at size {size}: events were changed, reordered, removed or inserted.");
            }

            return null;
        }

        await foreach (var e in db.AuditEvents.AsNoTracking().Where(e => e.Sequence != null).OrderBy(e => e.Sequence).AsAsyncEnumerable().WithCancellation(ct))
        {
            broken = verifier.Check(e);
            if (broken is null && next < checkpoints.Count && checkpoints[next].TreeSize == verifier.Checked)
                broken = CheckCheckpointsAt(verifier.Checked, verifier.Root()); // the root only where a checkpoint was signed
            if (broken is not null)
                break;
        }

        var newest = checkpoints.Count > 0 ? checkpoints[^1] : null;
        if (broken is null && next < checkpoints.Count)
        {
            broken = new AuditBreak(null, verifier.Checked + 1, "sequence-gap",
                $"A checkpoint covers {checkpoints[next].TreeSize} events but only {verifier.Checked} are in the log: events at the end were removed.");
        }

        if (broken is null && verifier.Checked > (newest?.TreeSize ?? 0))
        {
            broken = new AuditBreak(null, (newest?.TreeSize ?? 0) + 1, "events-after-checkpoint",
                $"{verifier.Checked - (newest?.TreeSize ?? 0)} sealed events are not covered by any signed checkpoint: they were added outside the sealer.");
        }

        return TypedResults.Ok(new AuditVerification(
            broken is null, verifier.Checked, newest?.TreeSize ?? 0, Convert.ToBase64String(newest?.RootHash ?? MerkleTree.EmptyRoot), next,
            broken is null ? null : new AuditBreakResponse(broken.EventId, broken.Sequence, broken.Reason, broken.Detail)));
    }

    public static async Task<Ok<AuditCheckpointResponse>> GetCheckpoint(long? treeSize, CurrentActor caller, FeedbackHubDbContext db, AuditSealer sealer, CancellationToken ct)
    {
        if (treeSize is null)
            await sealer.SealAllAsync(caller.TenantId, ct);
        return TypedResults.Ok(await CheckpointAsync(db, caller.TenantId, treeSize, "treeSize", ct));
    }

    public static async Task<Ok<AuditConsistencyProof>> GetConsistencyProof(long from, long? to, CurrentActor caller, FeedbackHubDbContext db, AuditSealer sealer, CancellationToken ct)
    {
        if (from < 0 || from > to)
            throw Invalid("from", $"'from' must be between 0 and 'to' ({to}).");
        if (to is null)
            await sealer.SealAllAsync(caller.TenantId, ct);
        var newer = await CheckpointAsync(db, caller.TenantId, to, "to", ct);
        if (from > newer.TreeSize)
            throw Invalid("from", $"The checkpoint to prove against has {newer.TreeSize} events; 'from' must not be larger.");
        var older = await CheckpointAsync(db, caller.TenantId, from, "from", ct);
        var proof = await AuditTree.ComputeAsync(db, caller.TenantId, node => MerkleTree.ConsistencyProof(older.TreeSize, newer.TreeSize, node), ct);
        return TypedResults.Ok(new AuditConsistencyProof(older, newer, proof.Select(Convert.ToBase64String).ToList()));
    }

    public static async Task<Ok<AuditInclusionProof>> GetInclusionProof(Guid id, long? treeSize, CurrentActor caller, FeedbackHubDbContext db, AuditSealer sealer, CancellationToken ct)
    {
        var e = await db.AuditEvents.AsNoTracking().SingleOrDefaultAsync(e => e.Id == id, ct) ?? throw DomainException.NotFound("The audit event");
        if (e.Sequence is null)
        {
            await sealer.SealAllAsync(caller.TenantId, ct);
            e = await db.AuditEvents.AsNoTracking().SingleAsync(x => x.Id == id, ct);
        }

        var sequence = e.Sequence!.Value;
        if (treeSize < sequence)
            throw Invalid("treeSize", $"The event is number {sequence}; a checkpoint of size {treeSize} does not contain it.");
        var checkpoint = await CheckpointAsync(db, caller.TenantId, treeSize, "treeSize", ct);
        var path = await AuditTree.ComputeAsync(db, caller.TenantId, node => MerkleTree.InclusionProof(sequence - 1, checkpoint.TreeSize, node), ct);
        return TypedResults.Ok(new AuditInclusionProof(
            e.Id, sequence, sequence - 1, Convert.ToBase64String(e.LeafHash!), Convert.ToBase64String(AuditLeaf.Encode(e, sequence)),
            path.Select(Convert.ToBase64String).ToList(), checkpoint));
    }

    private static async Task<AuditCheckpointResponse> CheckpointAsync(FeedbackHubDbContext db, Guid tenantId, long? treeSize, string parameter, CancellationToken ct)
    {
        var query = db.AuditCheckpoints.AsNoTracking().Where(c => c.TenantId == tenantId);
        query = treeSize is { } size ? query.Where(c => c.TreeSize == size) : query.OrderByDescending(c => c.TreeSize);
        var row = await query.Join(db.AuditSigningKeys, c => c.KeyId, k => k.Id, (c, k) => new { Checkpoint = c, k.PublicKey }).FirstOrDefaultAsync(ct)
            ?? throw (treeSize is null
                ? DomainException.NotFound("An audit checkpoint")
                : DomainException.NotFound($"An audit checkpoint of size {treeSize} ({parameter})"));
        var c = row.Checkpoint;
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(row.PublicKey, out _);
        return new AuditCheckpointResponse(c.TreeSize, Convert.ToBase64String(c.RootHash), c.CreatedAt, c.KeyId, c.SignedText,
            Convert.ToBase64String(c.Signature), key.ExportSubjectPublicKeyInfoPem());
    }

    private static DomainException Invalid(string parameter, string message) =>
        new(DomainErrorKind.Invalid, "validation", message) { Errors = new Dictionary<string, string[]> { [parameter] = [message] } };

    private static AuditEventResponse ToResponse(AuditEvent e) =>
        new(e.Id, e.Sequence, e.OccurredAt, e.ActorId, e.ActorName, e.Action, e.SubjectType, e.SubjectId, e.Data,
            e.LeafHash is null ? null : Convert.ToBase64String(e.LeafHash));
}
