using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;

namespace FeedbackHub.Domain.Applications;

/// <summary>
/// What a recruiter does to a candidate's feedback email: cancel one still scheduled, or send a failed one again. The
/// API (<c>/v1/deliveries/{id}/cancel</c>, <c>/retry</c>) and the web app's application page call these; each holds the
/// application's lock, as the worker's claim and outcome do, so neither races a send.
/// </summary>
public sealed class FeedbackEmails(FeedbackHubDbContext db, AuditLog audit, TimeProvider time)
{
    /// <exception cref="DomainException">404 unknown (or another tenant's); 409 when it is no longer scheduled.</exception>
    public async Task<Delivery.Delivery> CancelAsync(Guid id, Guid tenantId, Actor actor, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var (delivery, application) = await LockAsync(id, ct);
        delivery.Cancel(application, time.GetUtcNow());
        audit.Record(tenantId, actor, AuditActions.DeliveryCancelled, "delivery", id, new { reason = "by-recruiter" });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return delivery;
    }

    /// <summary>A failed email is scheduled again at once, with a new retry budget.</summary>
    /// <exception cref="DomainException">404 unknown (or another tenant's); 409 <c>delivery-not-failed</c>.</exception>
    public async Task<Delivery.Delivery> RetryAsync(Guid id, Guid tenantId, Actor actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var (delivery, application) = await LockAsync(id, ct);
        delivery.Retry(application, now);
        db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now));
        audit.Record(tenantId, actor, AuditActions.DeliveryRetried, "delivery", id);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return delivery;
    }

    /// <summary>The delivery under its application's lock, or 404 (the tenant filter hides another tenant's).</summary>
    private async Task<(Delivery.Delivery Delivery, LockedApplication Application)> LockAsync(Guid id, CancellationToken ct)
    {
        var locked = await OutboundLocks.LockAsync<Delivery.Delivery>(db, id, ct) ?? throw DomainException.NotFound("The delivery");
        return (locked.Item, locked.Guard.Application!);
    }
}
