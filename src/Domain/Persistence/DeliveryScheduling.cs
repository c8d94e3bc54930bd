using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
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
/// <remarks>
/// Lock order, kept by every writer so none deadlocks with another: the candidate's row (erasure, an upsert that may
/// change the candidate), then the application's lock (<see cref="LockApplicationAsync"/>), then outbound rows
/// (<see cref="OutboundLocks"/>), then, when the unit of work is saved, the tenant's audit head.
/// </remarks>
public static class DeliveryScheduling
{
    /// <summary>
    /// Takes the application's lock until the transaction ends: every writer of the application's delivery state
    /// (scheduling, cancelling, reopening, erasing, the worker's claim and outcome) takes it, and the state changes
    /// themselves require the returned proof. The key is <c>application_lock_key(id)</c>, a SQL function of the Initial
    /// migration (<c>hashtextextended(id::text, 0)</c>), which every statement that takes an application's lock calls.
    /// </summary>
    public static async Task<LockedApplication> LockApplicationAsync(FeedbackHubDbContext db, Guid applicationId, CancellationToken ct)
    {
        RequireTransaction(db);
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(application_lock_key({applicationId}))", ct);
        return new LockedApplication(applicationId);
    }

    /// <summary>
    /// <see cref="LockApplicationAsync"/> for many applications in one statement, taken in id order (the order erasure
    /// takes a candidate's applications in), so two transactions locking overlapping sets never wait in a circle.
    /// </summary>
    public static async Task LockApplicationsAsync(FeedbackHubDbContext db, IReadOnlyCollection<Guid> applicationIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(applicationIds);
        RequireTransaction(db);
        if (applicationIds.Count == 0)
            return;
        var ids = applicationIds as Guid[] ?? [.. applicationIds];
        await db.Database.ExecuteSqlAsync(
            $"SELECT count(pg_advisory_xact_lock(application_lock_key(id)) IS NOT NULL) FROM (SELECT DISTINCT unnest({ids}) AS id ORDER BY 1 OFFSET 0) AS applications",
            ct);
    }

    /// <summary>As <see cref="LockApplicationAsync"/>, but null at once when another transaction holds the lock (recovery skips such items for a pass).</summary>
    public static async Task<LockedApplication?> TryLockApplicationAsync(FeedbackHubDbContext db, Guid applicationId, CancellationToken ct)
    {
        RequireTransaction(db);
        var taken = await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_xact_lock(application_lock_key({applicationId})) AS \"Value\"").SingleAsync(ct);
        return taken ? new LockedApplication(applicationId) : null;
    }

    /// <summary>
    /// Locks the candidate's row, then the application: for a writer that may change the candidate too (an upsert), in
    /// the order erasure takes them (it locks the candidate first), so the two never wait for each other in a circle.
    /// </summary>
    public static async Task<LockedApplication> LockCandidateAndApplicationAsync(FeedbackHubDbContext db, Guid candidateId, Guid applicationId, CancellationToken ct)
    {
        RequireTransaction(db);
        await db.Database.ExecuteSqlAsync($"SELECT 1 FROM candidates WHERE id = {candidateId} FOR UPDATE", ct);
        return await LockApplicationAsync(db, applicationId, ct);
    }

    private static void RequireTransaction(FeedbackHubDbContext db)
    {
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Lock the application inside a transaction.");
    }

    /// <summary>Schedules the delivery (and its outbox message, due at the later of now and rejection + cooling-off) when everything is there.</summary>
    /// <remarks>
    /// Scoped explicitly by <paramref name="tenantId"/> rather than by the request's tenant scope: the candidate's
    /// request arrives without an API key.
    /// </remarks>
    public static async Task<Delivery.Delivery?> TryScheduleAsync(FeedbackHubDbContext db, LockedApplication application, Guid tenantId, string messageIdDomain, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(application);
        var applicationId = application.ApplicationId;
        if (await db.Deliveries.IgnoreQueryFilters().AnyAsync(d => d.TenantId == tenantId && d.ApplicationId == applicationId, ct))
            return null;
        var request = await db.FeedbackRequests.IgnoreQueryFilters().SingleOrDefaultAsync(r => r.TenantId == tenantId && r.ApplicationId == applicationId, ct);
        var feedback = await db.Feedback.IgnoreQueryFilters()
            .SingleOrDefaultAsync(f => f.TenantId == tenantId && f.ApplicationId == applicationId && f.Status == FeedbackStatus.Approved, ct);
        if (request is null || feedback is null)
            return null;
        var app = await db.Applications.IgnoreQueryFilters().SingleAsync(a => a.TenantId == tenantId && a.Id == applicationId, ct);
        if (app.Status != ApplicationStatus.Rejected || app.RejectedAt is not { } rejectedAt)
            return null;
        var settings = await db.Tenants.Where(t => t.Id == app.TenantId).Select(t => t.Settings).SingleAsync(ct);

        var delivery = Delivery.Delivery.Schedule(application, app.TenantId, feedback.Id, request.Id,
            Delivery.Delivery.DueTime(rejectedAt, settings.CoolingOffDelay, now), messageIdDomain, now);
        db.Deliveries.Add(delivery);
        db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, delivery.DueAt));
        return delivery;
    }

    /// <summary>
    /// Saves what the caller changed (a request or an approval, so the scheduler sees it), schedules the delivery when
    /// everything is there, audits <c>delivery.scheduled</c> and saves again. Call it inside the transaction that holds
    /// the application's lock; the caller commits.
    /// </summary>
    public static async Task<Delivery.Delivery?> SaveAndTryScheduleAsync(
        FeedbackHubDbContext db, AuditLog audit, LockedApplication application, Guid tenantId, string messageIdDomain, DateTimeOffset now, CancellationToken ct)
    {
        await db.SaveChangesAsync(ct);
        var delivery = await TryScheduleAsync(db, application, tenantId, messageIdDomain, now, ct);
        if (delivery is not null)
            audit.Record(tenantId, Auditing.Actor.System, AuditActions.DeliveryScheduled, "delivery", delivery.Id, new { scheduledFor = delivery.DueAt });
        await db.SaveChangesAsync(ct);
        return delivery;
    }

    /// <summary>Everything sending to an application's candidate needs, in one query (the preview and the delivery read it the same way).</summary>
    public static async Task<Recipient> RecipientAsync(FeedbackHubDbContext db, Guid tenantId, Guid applicationId, CancellationToken ct) =>
        (await RecipientsOf(db, db.Applications.IgnoreQueryFilters().Where(a => a.Id == applicationId && a.TenantId == tenantId)).SingleOrDefaultAsync(ct))?.Recipient
        ?? throw DomainException.NotFound("The application");

    /// <summary>
    /// <see cref="RecipientAsync"/> for many applications in one query (a batch of emails of any tenants): by application
    /// id, with the application's tenant, which the caller checks against its item's. Missing applications are left out.
    /// </summary>
    public static async Task<IReadOnlyDictionary<Guid, TenantRecipient>> RecipientsAsync(FeedbackHubDbContext db, IReadOnlyCollection<Guid> applicationIds, CancellationToken ct) =>
        await RecipientsOf(db, db.Applications.IgnoreQueryFilters().Where(a => applicationIds.Contains(a.Id))).ToDictionaryAsync(r => r.ApplicationId, ct);

    private static IQueryable<TenantRecipient> RecipientsOf(FeedbackHubDbContext db, IQueryable<Model.Application> applications) =>
        from a in applications
        join c in db.Candidates.IgnoreQueryFilters() on a.CandidateId equals c.Id
        join t in db.Tenants on a.TenantId equals t.Id
        select new TenantRecipient(a.Id, a.TenantId, new Recipient(c.FirstName, c.Email, c.ErasedAt, a.PositionTitle, a.Status, a.RejectedAt, t.Name, t.Settings));

    /// <summary>
    /// The applications (of <paramref name="applicationIds"/>) whose candidate was erased, in one query. Read under the
    /// applications' locks, which erasure takes too, the answer is final until the transaction ends. Call it in a
    /// transaction: the query runs with sequential scans off (<see cref="PlannerMethods"/>), since an erased candidate looks rare to
    /// the planner and it read every candidate to find them (a seq scan of <c>candidates</c> for each batch of emails
    /// recorded, until the table was large enough for it to change its mind; CandidateErasureTests).
    /// </summary>
    public static async Task<IReadOnlySet<Guid>> ErasedApplicationsAsync(FeedbackHubDbContext db, IReadOnlyCollection<Guid> applicationIds, CancellationToken ct) =>
        (await db.Database.SqlQuery<Guid>(PlannerMethods.Without($"""
            SELECT a.id AS "Value" FROM applications a JOIN candidates c ON c.id = a.candidate_id
            WHERE a.id = ANY({applicationIds.ToArray()}) AND c.erased_at IS NOT NULL
            """, PlannerMethods.SeqScan)).ToListAsync(ct)).ToHashSet();

    /// <summary>Which of these (tenant, address) pairs the tenant sends nothing more to, in one query: the suppressed pairs' indexes.</summary>
    public static async Task<IReadOnlySet<int>> SuppressedAsync(FeedbackHubDbContext db, IReadOnlyList<(Guid TenantId, string Address)> addresses, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var hashes = addresses.Select(a => SuppressedAddress.Hash(a.Address)).ToList();
        var tenants = addresses.Select(a => a.TenantId).Distinct().ToList();
        var found = await db.SuppressedAddresses.IgnoreQueryFilters()
            .Where(s => tenants.Contains(s.TenantId) && hashes.Contains(s.AddressHash))
            .Select(s => new { s.TenantId, s.AddressHash })
            .ToListAsync(ct);
        var suppressed = new HashSet<int>();
        for (var i = 0; i < addresses.Count; i++)
        {
            if (found.Any(f => f.TenantId == addresses[i].TenantId && f.AddressHash.AsSpan().SequenceEqual(hashes[i])))
                suppressed.Add(i);
        }

        return suppressed;
    }

    /// <summary>True when the tenant sends nothing more to this address (an earlier permanent SMTP failure).</summary>
    public static Task<bool> IsSuppressedAsync(FeedbackHubDbContext db, Guid tenantId, string address, CancellationToken ct) =>
        Suppressions(db, tenantId, address).AnyAsync(ct);

    /// <summary>
    /// The tenant's suppression of this address (none or one row): <see cref="IsSuppressedAsync"/>, or <c>.Any()</c> inside
    /// a larger query, so a caller that reads something else anyway asks in the same round trip.
    /// </summary>
    public static IQueryable<SuppressedAddress> Suppressions(FeedbackHubDbContext db, Guid tenantId, string address)
    {
        var hash = SuppressedAddress.Hash(address);
        return db.SuppressedAddresses.IgnoreQueryFilters().Where(s => s.TenantId == tenantId && s.AddressHash == hash);
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

/// <summary>An application's <see cref="Recipient"/>, with the application's id and tenant (a batch read of many tenants' applications).</summary>
public sealed record TenantRecipient(Guid ApplicationId, Guid TenantId, Recipient Recipient);

/// <summary>An application's candidate and tenant, as sending needs them. Personal data: never logged.</summary>
public sealed record Recipient(
    string FirstName, string Email, DateTimeOffset? ErasedAt, string PositionTitle, ApplicationStatus Status, DateTimeOffset? RejectedAt,
    string Company, TenantSettings Settings)
{
    public MergeValues MergeValues => new(ErasedAt is null ? FirstName : null, PositionTitle, Company, RejectedAt);

    public EmailFooter Footer => EmailFooter.For(Company, Settings);
}
