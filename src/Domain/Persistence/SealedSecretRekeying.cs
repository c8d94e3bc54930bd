using System.Security.Cryptography;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// The one re-sealing loop behind <see cref="WebhookSecretRekeying"/>, <see cref="DkimKeyRekeying"/> and <see cref="AuditSigningKeyRekeying"/>: rows in
/// batches by id, each batch in one transaction with its rows locked (<c>batchAfter</c> selects them
/// <c>FOR UPDATE</c>, ordered by id), so a concurrent change is never overwritten; each row re-sealed under the current key or counted.
/// </summary>
internal static class SealedSecretRekeying
{
    public static async Task<(int Resealed, int AlreadyCurrent, List<T> Unreadable)> RunAsync<T>(
        FeedbackHubDbContext db, WebhookSecretBox box, int batchSize, Func<Guid, IQueryable<T>> batchAfter, Func<T, Guid> id,
        Func<T, bool> reseal, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(box);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int resealed = 0, current = 0;
        var unreadable = new List<T>();
        var after = Guid.Empty;
        while (true)
        {
            db.ChangeTracker.Clear();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var batch = await batchAfter(after).ToListAsync(ct); // ordered by id: the next batch's "id >" continues from it
            if (batch.Count == 0)
                break;
            foreach (var row in batch)
            {
                try
                {
                    if (reseal(row))
                        resealed++;
                    else
                        current++;
                }
                catch (CryptographicException)
                {
                    unreadable.Add(row);
                }
            }

            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            after = id(batch[^1]);
        }

        return (resealed, current, unreadable);
    }
}
