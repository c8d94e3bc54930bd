using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Outbox;

/// <summary>Consumer idempotency: one inbox row per (message id, consumer), written in the consumer's transaction.</summary>
public static class Inbox
{
    /// <summary>
    /// Claims the message for this consumer inside the current transaction. False when it was already
    /// processed (a concurrent duplicate waits on the unique key until the first one commits or rolls back).
    /// </summary>
    public static async Task<bool> TryClaimAsync(this FeedbackHubDbContext db, Guid messageId, string consumer, DateTimeOffset now, CancellationToken ct)
    {
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Claim an inbox record inside the consumer's transaction.");
        var inserted = await db.Database.ExecuteSqlAsync(
            $"INSERT INTO inbox_records (message_id, consumer, processed_at) VALUES ({messageId}, {consumer}, {now}) ON CONFLICT DO NOTHING",
            ct);
        return inserted == 1;
    }
}
