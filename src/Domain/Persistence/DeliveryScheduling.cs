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

    /// <summary>The merge values of an application (preview and delivery use the same query).</summary>
    public static async Task<MergeValues> MergeValuesAsync(FeedbackHubDbContext db, Guid tenantId, Guid applicationId, CancellationToken ct)
    {
        var row = await (
            from a in db.Applications.IgnoreQueryFilters()
            join c in db.Candidates.IgnoreQueryFilters() on a.CandidateId equals c.Id
            join t in db.Tenants on a.TenantId equals t.Id
            where a.Id == applicationId && a.TenantId == tenantId
            select new { c.FirstName, c.ErasedAt, a.PositionTitle, a.RejectedAt, t.Name }).SingleOrDefaultAsync(ct)
            ?? throw DomainException.NotFound("The application");
        return new MergeValues(row.ErasedAt is null ? row.FirstName : null, row.PositionTitle, row.Name, row.RejectedAt);
    }
}
