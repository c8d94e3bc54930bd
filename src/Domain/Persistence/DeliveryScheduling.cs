using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbox;

using FeedbackHub.Domain.Rendering;
using FeedbackHub.Messages;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// A delivery exists once a rejected application has both a candidate's request and approved feedback, in either
/// order. Both paths call <see cref="TryScheduleAsync"/> inside a transaction that holds the application's lock,
/// so exactly one delivery is scheduled.
/// </summary>
public static class DeliveryScheduling
{
    /// <summary>Serialises scheduling decisions for one application until the transaction ends.</summary>
    public static Task LockApplicationAsync(FeedbackHubDbContext db, Guid applicationId, CancellationToken ct)
    {
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Lock the application inside a transaction.");
        return db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({applicationId.ToString()}, 0))", ct);
    }

    /// <summary>Schedules the delivery (and its outbox message, due at the later of now and rejection + cooling-off) when everything is there.</summary>
    /// <remarks>
    /// Scoped explicitly by <paramref name="tenantId"/> rather than by the request's tenant scope: the candidate's
    /// request arrives without an API key.
    /// </remarks>
    public static async Task<Delivery.Delivery?> TryScheduleAsync(FeedbackHubDbContext db, Guid tenantId, Guid applicationId, string messageIdDomain, DateTimeOffset now, CancellationToken ct)
    {
        if (await db.Deliveries.IgnoreQueryFilters().AnyAsync(d => d.TenantId == tenantId && d.ApplicationId == applicationId, ct))
            return null;
        var request = await db.FeedbackRequests.IgnoreQueryFilters().SingleOrDefaultAsync(r => r.TenantId == tenantId && r.ApplicationId == applicationId, ct);
        var feedback = await db.Feedback.IgnoreQueryFilters()
            .SingleOrDefaultAsync(f => f.TenantId == tenantId && f.ApplicationId == applicationId && f.Status == FeedbackStatus.Approved, ct);
        if (request is null || feedback is null)
            return null;
        var application = await db.Applications.IgnoreQueryFilters().SingleAsync(a => a.TenantId == tenantId && a.Id == applicationId, ct);
        if (application.Status != ApplicationStatus.Rejected || application.RejectedAt is not { } rejectedAt)
            return null;
        var settings = await db.Tenants.Where(t => t.Id == application.TenantId).Select(t => t.Settings).SingleAsync(ct);

        var delivery = Delivery.Delivery.Schedule(application.TenantId, applicationId, feedback.Id, request.Id,
            Delivery.Delivery.DueAt(rejectedAt, settings.CoolingOffDelay, now), messageIdDomain, now);
        db.Deliveries.Add(delivery);
        db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, delivery.ScheduledFor));
        return delivery;
    }

    /// <summary>
    /// Saves what the caller changed (a request or an approval, so the scheduler sees it), schedules the delivery when
    /// everything is there, audits <c>delivery.scheduled</c> and saves again. Call it inside a transaction that holds
    /// <see cref="LockApplicationAsync"/>; the caller commits.
    /// </summary>
    public static async Task<Delivery.Delivery?> SaveAndTryScheduleAsync(
        FeedbackHubDbContext db, AuditLog audit, Guid tenantId, Guid applicationId, string messageIdDomain, DateTimeOffset now, CancellationToken ct)
    {
        await db.SaveChangesAsync(ct);
        var delivery = await TryScheduleAsync(db, tenantId, applicationId, messageIdDomain, now, ct);
        if (delivery is not null)
            audit.Record(tenantId, Auditing.Actor.System, "delivery.scheduled", "delivery", delivery.Id, new { scheduledFor = delivery.ScheduledFor });
        await db.SaveChangesAsync(ct);
        return delivery;
    }

    /// <summary>Everything sending to an application's candidate needs, in one query (the preview and the delivery read it the same way).</summary>
    public static async Task<Recipient> RecipientAsync(FeedbackHubDbContext db, Guid tenantId, Guid applicationId, CancellationToken ct) =>
        await (
            from a in db.Applications.IgnoreQueryFilters()
            join c in db.Candidates.IgnoreQueryFilters() on a.CandidateId equals c.Id
            join t in db.Tenants on a.TenantId equals t.Id
            where a.Id == applicationId && a.TenantId == tenantId
            select new Recipient(c.FirstName, c.Email, c.ErasedAt, a.PositionTitle, a.Status, a.RejectedAt, t.Name, t.Settings)).SingleOrDefaultAsync(ct)
        ?? throw DomainException.NotFound("The application");

    /// <summary>True when the tenant sends nothing more to this address (an earlier permanent SMTP failure).</summary>
    public static Task<bool> IsSuppressedAsync(FeedbackHubDbContext db, Guid tenantId, string address, CancellationToken ct)
    {
        var hash = SuppressedAddress.Hash(address);
        return db.SuppressedAddresses.IgnoreQueryFilters().AnyAsync(s => s.TenantId == tenantId && s.AddressHash == hash, ct);
    }

    /// <summary>Suppresses an address after a permanent failure; concurrent failures to one address are a no-op, not an error.</summary>
    public static Task SuppressAsync(FeedbackHubDbContext db, Guid tenantId, string address, string reason, DateTimeOffset now, CancellationToken ct)
    {
        var s = SuppressedAddress.For(tenantId, address, reason, now);
        return db.Database.ExecuteSqlAsync(
            $"INSERT INTO suppressed_addresses (tenant_id, address_hash, reason, created_at) VALUES ({s.TenantId}, {s.AddressHash}, {s.Reason}, {s.CreatedAt}) ON CONFLICT DO NOTHING",
            ct);
    }
}

/// <summary>An application's candidate and tenant, as sending needs them. Personal data: never logged.</summary>
public sealed record Recipient(
    string FirstName, string Email, DateTimeOffset? ErasedAt, string PositionTitle, ApplicationStatus Status, DateTimeOffset? RejectedAt,
    string Company, TenantSettings Settings)
{
    public MergeValues MergeValues => new(ErasedAt is null ? FirstName : null, PositionTitle, Company, RejectedAt);

    public EmailFooter Footer => EmailFooter.For(Company, Settings);
}
