using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Delivery;

/// <summary>
/// Finds deliveries whose worker died mid-attempt (Sending, lease no longer renewed: <see cref="SendingLeases"/>),
/// records the attempt as interrupted, flags the delivery as a possible duplicate (SMTP may have accepted it before
/// the crash) and schedules it again through the outbox. This is what makes "no email is ever lost" hold after a crash between SMTP's 250 and the
/// commit. It also queues a new message for deliveries, webhook deliveries and invitations still waiting
/// <see cref="DeliveryOptions.LostMessageAfter"/> past their due time (their message was lost outside the database:
/// a purged or dead-lettered queue, or an invitation's retries ran out while the mail server was unreachable).
/// Rows are claimed with FOR UPDATE SKIP LOCKED, so every worker process can run it. A lease that ran out while
/// PostgreSQL was restarting says nothing about its worker (nobody could renew anything), so for one lease after the
/// server started nothing is taken over: live workers renew their leases or record their answers first.
/// </summary>
public sealed partial class DeliveryRecovery(IServiceScopeFactory scopes, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<DeliveryRecovery> logger)
    : BatchLoop(time)
{
    private readonly DeliveryOptions _options = options.Value;

    protected override int BatchSize => _options.RecoveryBatchSize;

    protected override TimeSpan Pause => _options.RecoveryInterval;

    protected override async Task<int> RunBatchAsync(CancellationToken ct) => await RecoverAsync(ct) + await RequeueLostAsync(ct);

    protected override void OnBatchFailed(Exception exception) => LogRecoveryFailed(logger, exception.GetType().Name, exception);

    /// <summary>One pass: claims up to a batch of interrupted deliveries and schedules them again. Returns how many.</summary>
    public async Task<int> RecoverAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var now = Time.GetUtcNow();
        var interrupted = await db.Deliveries
            .FromSql($"SELECT * FROM deliveries WHERE status = 'Sending' AND lease_until < {now} AND pg_postmaster_start_time() < now() - {_options.SendingLease} ORDER BY lease_until LIMIT {_options.RecoveryBatchSize} FOR UPDATE SKIP LOCKED")
            .Include(d => d.Attempts)
            .ToListAsync(ct);
        if (interrupted.Count == 0)
            return 0;
        foreach (var delivery in interrupted)
        {
            delivery.Interrupt(now);
            db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, now));
            LogInterrupted(logger, delivery.Id);
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return interrupted.Count;
    }

    /// <summary>
    /// One pass: up to a batch each of deliveries, webhook deliveries and invitations overdue by more than
    /// <see cref="DeliveryOptions.LostMessageAfter"/> get a new message, due now. Returns how many.
    /// </summary>
    public async Task<int> RequeueLostAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var now = Time.GetUtcNow();
        var overdue = now - _options.LostMessageAfter;
        var deliveries = await db.Deliveries
            .FromSql($"SELECT * FROM deliveries WHERE status = 'Scheduled' AND scheduled_for < {overdue} ORDER BY scheduled_for LIMIT {_options.RecoveryBatchSize} FOR UPDATE SKIP LOCKED")
            .ToListAsync(ct);
        foreach (var delivery in deliveries.Where(d => d.RequeueLost(now)))
        {
            db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, now));
            LogLostMessage(logger, "Delivery", delivery.Id);
        }

        var webhooks = await db.WebhookDeliveries
            .FromSql($"SELECT * FROM webhook_deliveries WHERE status = 'Pending' AND next_attempt_at < {overdue} ORDER BY next_attempt_at LIMIT {_options.RecoveryBatchSize} FOR UPDATE SKIP LOCKED")
            .ToListAsync(ct);
        foreach (var webhook in webhooks.Where(w => w.RequeueLost(now)))
        {
            db.OutboxMessages.Add(OutboxMessage.Create(new DeliverWebhook(webhook.Id, webhook.TenantId), webhook.TenantId, now, now));
            LogLostMessage(logger, "Webhook delivery", webhook.Id);
        }

        var invitations = await db.Invitations
            .FromSql($"SELECT * FROM invitations WHERE status = 'Queued' AND due_at < {overdue} ORDER BY due_at LIMIT {_options.RecoveryBatchSize} FOR UPDATE SKIP LOCKED")
            .ToListAsync(ct);
        foreach (var invitation in invitations.Where(i => i.RequeueLost(now)))
        {
            db.OutboxMessages.Add(OutboxMessage.Create(new SendInvitation(invitation.Id, invitation.TenantId), invitation.TenantId, now, now));
            LogLostMessage(logger, "Invitation", invitation.Id);
        }

        var found = deliveries.Count + webhooks.Count + invitations.Count;
        if (found == 0)
            return 0;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return found;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} {Id} was still waiting long after its due time (its message was lost); queued a new one")]
    private static partial void LogLostMessage(ILogger logger, string kind, Guid id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery recovery pass failed ({ExceptionType}); retrying")]
    private static partial void LogRecoveryFailed(ILogger logger, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} was interrupted mid-attempt; sending again, flagged as a possible duplicate")]
    private static partial void LogInterrupted(ILogger logger, Guid deliveryId);
}
