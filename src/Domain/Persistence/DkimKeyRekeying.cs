using System.Security.Cryptography;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>What one re-keying pass over the DKIM keys did.</summary>
/// <param name="Resealed">Keys that opened only with an earlier operator key and are now sealed under the current one.</param>
/// <param name="AlreadyCurrent">Keys already sealed under the current key (left as they are).</param>
/// <param name="Unreadable">Tenants whose key (active or pending) opens with no configured operator key: they must set or generate a new one.</param>
public sealed record DkimRekeyResult(int Resealed, int AlreadyCurrent, IReadOnlyList<Guid> Unreadable);

/// <summary>
/// The DKIM half of rotating <c>Webhooks:SecretKey</c> (beside <see cref="WebhookSecretRekeying"/>): re-seals every
/// tenant's DKIM private key under the current key, in batches, each in one transaction with its rows locked, so a key
/// set or activated meanwhile is never overwritten. The keys and their DNS records do not change. Idempotent. Needs a
/// context with system access (all tenants).
/// </summary>
public static class DkimKeyRekeying
{
    public static async Task<DkimRekeyResult> RunAsync(FeedbackHubDbContext db, WebhookSecretBox box, int batchSize = 200, CancellationToken ct = default)
    {
        var (resealed, current, unreadable) = await SealedSecretRekeying.RunAsync(
            db, box, batchSize,
            after => db.DkimKeys
                .FromSql($"SELECT * FROM dkim_keys WHERE id > {after} ORDER BY id LIMIT {batchSize} FOR UPDATE")
                .OrderBy(k => k.Id), // PostgreSQL's uuid order
            k => k.Id, k => k.ResealUnderCurrentKey(box), ct);
        return new DkimRekeyResult(resealed, current, unreadable.Select(k => k.TenantId).Distinct().ToList());
    }
}

/// <summary>
/// The audit half of rotating <c>Webhooks:SecretKey</c>: re-seals the checkpoint-signing keys under the current key (the
/// keys, and so every checkpoint's signature, do not change). An unreadable one is replaced by a new key at the next
/// sealing run; checkpoints it signed keep verifying with its public key.
/// </summary>
public static class AuditSigningKeyRekeying
{
    public static async Task<(int Resealed, int AlreadyCurrent, int Unreadable)> RunAsync(FeedbackHubDbContext db, WebhookSecretBox box, int batchSize = 200, CancellationToken ct = default)
    {
        var (resealed, current, unreadable) = await SealedSecretRekeying.RunAsync(
            db, box, batchSize,
            after => db.AuditSigningKeys
                .FromSql($"SELECT * FROM audit_signing_keys WHERE id > {after} ORDER BY id LIMIT {batchSize} FOR UPDATE")
                .OrderBy(k => k.Id),
            k => k.Id, k => k.ResealUnderCurrentKey(box), ct);
        return (resealed, current, unreadable.Count);
    }
}
