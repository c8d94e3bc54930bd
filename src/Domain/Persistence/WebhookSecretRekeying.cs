using System.Security.Cryptography;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>What one re-keying pass did.</summary>
/// <param name="Resealed">Secrets that opened only with an earlier key and are now sealed under the current one.</param>
/// <param name="AlreadyCurrent">Secrets already sealed under the current key (left as they are).</param>
/// <param name="Unreadable">Subscriptions whose secret opens with no configured key: their tenant must rotate the secret.</param>
public sealed record WebhookRekeyResult(int Resealed, int AlreadyCurrent, IReadOnlyList<Guid> Unreadable);

/// <summary>
/// The second step of rotating <c>Webhooks:SecretKey</c> (after giving both hosts the new key and the old one in
/// <c>Webhooks:PreviousSecretKeys</c>): re-seals every subscription's secret under the current key, in batches, each
/// batch in one transaction with its rows locked, so a concurrent rotate-secret is never overwritten. Idempotent: a second
/// run finds everything current. Needs a context with system access (all tenants).
/// </summary>
public static class WebhookSecretRekeying
{
    public static async Task<WebhookRekeyResult> RunAsync(FeedbackHubDbContext db, WebhookSecretBox box, int batchSize = 200, CancellationToken ct = default)
    {
        var (resealed, current, unreadable) = await SealedSecretRekeying.RunAsync(
            db, box, batchSize,
            after => db.WebhookSubscriptions
                .FromSql($"SELECT * FROM webhook_subscriptions WHERE id > {after} ORDER BY id LIMIT {batchSize} FOR UPDATE")
                .OrderBy(s => s.Id), // PostgreSQL's uuid order
            s => s.Id, s => s.ResealUnderCurrentKey(box), ct);
        return new WebhookRekeyResult(resealed, current, unreadable.Select(s => s.Id).ToList());
    }
}
