using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Messages;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Tests;

/// <summary>Changes an outbound item the way the worker does: in a transaction, under its locks (the only way the model allows).</summary>
public static class OutboundSteps
{
    /// <summary>Waits until the outbound item (any channel) is Sent and returns it with its attempts.</summary>
    public static async Task<OutboundItem> WaitSentAsync(TestDatabase database, Guid id, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(database);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await using var db = database.CreateDbContext();
            var item = await db.Outbound.AsNoTracking().Include(o => o.Attempts).SingleAsync(o => o.Id == id);
            if (item.Status == OutboundStatus.Sent)
                return item;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{item.Channel} {id} is {item.Status}, not Sent; last reply: {item.LastReply}");
            await Task.Delay(200);
        }
    }

    public static async Task ChangeAsync<TItem>(FeedbackHubDbContext db, Guid id, Action<TItem, OutboundGuard> change)
        where TItem : OutboundItem
    {
        await using var tx = await db.Database.BeginTransactionAsync();
        var locked = await OutboundLocks.LockAsync<TItem>(db, id, CancellationToken.None)
            ?? throw new InvalidOperationException($"{typeof(TItem).Name} {id} does not exist.");
        change(locked.Item, locked.Guard);
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    /// <summary>
    /// Queues an invitation as the rejection does (under the application's lock), created at <paramref name="createdAt"/>;
    /// with <paramref name="messageDueAt"/>, also its message. Returns it and the message's id, if any.
    /// </summary>
    public static async Task<(Invitation Invitation, Guid? MessageId)> QueueInvitationAsync(
        FeedbackHubDbContext db, Guid tenantId, Guid applicationId, DateTimeOffset createdAt, DateTimeOffset? messageDueAt)
    {
        await using var tx = await db.Database.BeginTransactionAsync();
        var application = await DeliveryScheduling.LockApplicationAsync(db, applicationId, CancellationToken.None);
        var invitation = Invitation.Queue(application, tenantId, createdAt);
        db.Invitations.Add(invitation);
        OutboxMessage? message = null;
        if (messageDueAt is { } due)
        {
            message = OutboxMessage.Create(new SendInvitation(invitation.Id, tenantId), tenantId, createdAt, due);
            db.OutboxMessages.Add(message);
        }

        await db.SaveChangesAsync();
        await tx.CommitAsync();
        return (invitation, message?.Id);
    }

    /// <summary>A retry policy for arranging answers (the worker's own comes from its options).</summary>
    public static RetryPolicy Policy { get; } = new(6, TimeSpan.FromDays(1), TimeSpan.FromDays(1), TimeSpan.FromDays(1));
}
