using FeedbackHub.Domain.Outbound;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// The notification that wakes the worker's dispatchers when outbound items are created due at once (a webhook event,
/// a test email, an invitation), so they go out within milliseconds of the commit instead of at the dispatcher's next
/// poll (up to <c>Webhooks:PollInterval</c> / <c>Delivery:PollInterval</c>, 100 ms by default). The poll stays: the
/// notification only shortens the wait, and a lost one (no listener connected, PgBouncer in transaction mode) costs
/// nothing but that wait. Items due later (a feedback email after its cooling-off) are found by the poll or woken by
/// their outbox message at their due time, as before.
/// </summary>
/// <remarks>
/// Sent by <see cref="FeedbackHubDbContext.SaveChangesAsync(bool, CancellationToken)"/> with the save's other
/// notifications in one statement: inside the caller's transaction PostgreSQL delivers it when that commits (never if it
/// rolls back, and once however many items the transaction added), so a woken dispatcher finds the rows committed.
/// </remarks>
public static class OutboundWakeUps
{
    /// <summary>The PostgreSQL notification channel; the payload is the dispatcher to wake: <see cref="Webhooks"/> or <see cref="Emails"/>.</summary>
    public const string Channel = "outbound_due";

    /// <summary>The webhook dispatcher's name, and the payload that wakes it.</summary>
    public const string Webhooks = OutboundChannels.Webhook;

    /// <summary>The email dispatcher's name (every email channel), and the payload that wakes it.</summary>
    public const string Emails = "email";

    /// <summary>The dispatcher that sends an item of <paramref name="channel"/>.</summary>
    public static string DispatcherOf(string channel) => channel == OutboundChannels.Webhook ? Webhooks : Emails;

    /// <summary>The dispatchers that have items to send at once among the tracked changes: items added due when created.</summary>
    internal static List<string> ToWake(ChangeTracker changes) =>
        changes.Entries<OutboundItem>()
            .Where(e => e.State == Microsoft.EntityFrameworkCore.EntityState.Added && e.Entity.Status == OutboundStatus.Scheduled && e.Entity.DueAt <= e.Entity.CreatedAt)
            .Select(e => DispatcherOf(e.Entity.Channel))
            .Distinct()
            .ToList();
}
