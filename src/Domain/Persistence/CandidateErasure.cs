using System.Text.Json.Serialization;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>Why a candidate was erased (recorded in the audit event).</summary>
public enum ErasureReason
{
    /// <summary>Someone asked for it: <c>DELETE /v1/candidates/{id}</c>.</summary>
    Manual,
    /// <summary>The tenant's retention period after the last activity ran out.</summary>
    Retention,
}

/// <summary>How many things one erasure cleared, per kind (counts only, never values).</summary>
public sealed record ErasureCounts(
    int CandidateFields,
    int Applications,
    int RequestNotes,
    int LinksRevoked,
    int DeliveriesCancelled,
    int DeliveryReplies,
    int InvitationsCancelled,
    int InvitationReplies,
    int FeedbackTexts,
    int SuppressedAddresses,
    int IdempotencyRecords)
{
    public static ErasureCounts None { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>Anything at all was changed (applications are only counted, not changed).</summary>
    [JsonIgnore]
    public bool Any => this with { Applications = 0 } != None;
}

/// <summary>The outcome of an erasure. <see cref="ErasedAt"/> is the first erasure's time when <see cref="AlreadyErased"/>.</summary>
public sealed record ErasureResult(Guid CandidateId, DateTimeOffset ErasedAt, bool AlreadyErased, ErasureCounts Cleared);

/// <summary>
/// Erases one candidate's personal data from every table (docs/privacy.md lists what and why), in one transaction.
/// The API's <c>DELETE /v1/candidates/{id}</c> and the worker's retention sweep both use it.
/// </summary>
/// <remarks>
/// Locks, in this order: the candidate row (FOR UPDATE: no application can be added to the candidate meanwhile),
/// each application's lock (<see cref="DeliveryScheduling.LockApplicationAsync"/>: a concurrent request, rejection,
/// reopening, legal-hold change or a worker's claim or outcome of its delivery or invitation finishes first or waits),
/// then, on save, the tenant's audit head. When the call returns, nothing personal is left and nothing is sent any more,
/// except an email whose SMTP send a worker had already started (<c>Sending</c>): it may still arrive, and its outcome
/// is recorded without the reply text.
/// </remarks>
public static class CandidateErasure
{
    /// <summary>Erases the candidate; repeating it is harmless (it answers <c>AlreadyErased</c> and clears anything left).</summary>
    /// <exception cref="DomainException">404 when the candidate is not the tenant's; 409 <c>legal-hold</c> when one of its applications is on hold.</exception>
    public static async Task<ErasureResult> EraseAsync(
        FeedbackHubDbContext db, AuditLog audit, Guid tenantId, Guid candidateId, Actor actor, ErasureReason reason, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(audit);
        var own = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
        try
        {
            var result = await EraseInTransactionAsync(db, audit, tenantId, candidateId, actor, reason, now, ct);
            if (own is not null)
                await own.CommitAsync(ct);
            return result;
        }
        finally
        {
            if (own is not null)
                await own.DisposeAsync();
        }
    }

    private static async Task<ErasureResult> EraseInTransactionAsync(
        FeedbackHubDbContext db, AuditLog audit, Guid tenantId, Guid candidateId, Actor actor, ErasureReason reason, DateTimeOffset now, CancellationToken ct)
    {
        var candidate = await db.Candidates
            .FromSql($"SELECT * FROM candidates WHERE id = {candidateId} AND tenant_id = {tenantId} FOR UPDATE")
            .IgnoreQueryFilters()
            .SingleOrDefaultAsync(ct)
            ?? throw DomainException.NotFound("The candidate");

        var applicationIds = await db.Applications.IgnoreQueryFilters().AsNoTracking()
            .Where(a => a.TenantId == tenantId && a.CandidateId == candidateId)
            .OrderBy(a => a.Id).Select(a => a.Id).ToListAsync(ct);
        var locks = new Dictionary<Guid, LockedApplication>();
        foreach (var id in applicationIds)
            locks[id] = await DeliveryScheduling.LockApplicationAsync(db, id, ct);
        var applications = await db.Applications.IgnoreQueryFilters()
            .Where(a => a.TenantId == tenantId && a.CandidateId == candidateId).ToListAsync(ct);

        var alreadyErased = candidate.IsErased;
        var held = applications.Count(a => a.LegalHold);
        if (!alreadyErased && held > 0)
        {
            throw DomainException.Conflict("legal-hold",
                $"{held} of the candidate's applications are under legal hold; a legal hold exempts them from erasure until it is released.");
        }

        // The values that identify the person in free text, read before they are cleared.
        var terms = new List<string> { candidateId.ToString() };
        terms.AddRange(applicationIds.Select(id => id.ToString()));
        if (!alreadyErased)
        {
            terms.Add(candidate.Email);
            terms.AddRange(new[] { candidate.FirstName, candidate.LastName }.OfType<string>().Where(n => n.Length >= 3));
        }

        var requests = await db.FeedbackRequests.IgnoreQueryFilters()
            .Where(r => r.TenantId == tenantId && applicationIds.Contains(r.ApplicationId)).ToListAsync(ct);
        var requestNotes = requests.Count(r => r.EraseNote());

        var links = await db.FeedbackRequestLinks.IgnoreQueryFilters()
            .Where(l => l.TenantId == tenantId && applicationIds.Contains(l.ApplicationId) && l.RevokedAt == null).ToListAsync(ct);
        foreach (var link in links)
            link.Revoke(now);

        // Under the applications' locks nobody else changes their deliveries and invitations: read them as they are.
        var deliveries = await db.Deliveries.IgnoreQueryFilters().Include(d => d.Attempts)
            .Where(d => d.TenantId == tenantId && applicationIds.Contains(d.ApplicationId)).ToListAsync(ct);
        var deliveriesCancelled = 0;
        var deliveryReplies = 0;
        foreach (var delivery in deliveries)
        {
            var locked = locks[delivery.ApplicationId];
            if (delivery.Status == OutboundStatus.Scheduled)
            {
                delivery.Cancel(locked, now);
                deliveriesCancelled++;
                audit.Record(tenantId, actor, AuditActions.DeliveryCancelled, "delivery", delivery.Id, new { reason = "candidate-erased" });
            }

            deliveryReplies += delivery.EraseReplies(locked, now);
        }

        var invitations = await db.Invitations.IgnoreQueryFilters().Include(i => i.Attempts)
            .Where(i => i.TenantId == tenantId && applicationIds.Contains(i.ApplicationId)).ToListAsync(ct);
        var invitationsCancelled = 0;
        var invitationReplies = 0;
        foreach (var invitation in invitations)
        {
            var locked = locks[invitation.ApplicationId];
            if (invitation.Status == OutboundStatus.Scheduled)
            {
                invitation.Cancel(locked, now);
                invitationsCancelled++;
                audit.Record(tenantId, actor, AuditActions.InvitationCancelled, "invitation", invitation.Id, new { reason = "candidate-erased" });
            }

            invitationReplies += invitation.EraseReplies(locked, now);
        }

        var feedback = await db.Feedback.IgnoreQueryFilters()
            .Where(f => f.TenantId == tenantId && applicationIds.Contains(f.ApplicationId)).ToListAsync(ct);
        var feedbackTexts = feedback.Sum(f => f.EraseFreeText(now));

        // An unsalted hash of an address can be reversed by guessing: the suppression entry goes with the person.
        var suppressed = 0;
        if (!alreadyErased && candidate.Email.Length > 0)
        {
            var hash = SuppressedAddress.Hash(candidate.Email);
            suppressed = await db.Database.ExecuteSqlAsync(
                $"DELETE FROM suppressed_addresses WHERE tenant_id = {tenantId} AND address_hash = {hash}", ct);
        }

        // Stored first answers of creating POSTs (replayed for 24 h) that mention the person or their records.
        var termArray = terms.Where(t => t.Length > 0).Select(t => t.ToLowerInvariant()).Distinct().ToArray();
        var idempotency = await db.Database.ExecuteSqlAsync(
            $"DELETE FROM idempotency_records WHERE tenant_id = {tenantId} AND response_body IS NOT NULL AND EXISTS (SELECT 1 FROM unnest({termArray}) AS term WHERE strpos(lower(response_body), term) > 0)",
            ct);

        var candidateFields = alreadyErased ? 0 : 2 + (candidate.LastName is null ? 0 : 1) + (candidate.Locale is null ? 0 : 1);
        candidate.Erase(now);

        var counts = new ErasureCounts(
            candidateFields, applications.Count, requestNotes, links.Count, deliveriesCancelled, deliveryReplies, invitationsCancelled,
            invitationReplies, feedbackTexts, suppressed, idempotency);
        if (!alreadyErased || counts.Any)
        {
            audit.Record(tenantId, actor, "candidate.erased", "candidate", candidateId,
                new { reason = reason == ErasureReason.Manual ? "manual" : "retention", again = alreadyErased, cleared = counts });
        }

        await db.SaveChangesAsync(ct);
        return new ErasureResult(candidateId, candidate.ErasedAt!.Value, alreadyErased, counts);
    }

    /// <summary>
    /// Candidates due for erasure by retention: not erased, no application under legal hold, and no activity for the
    /// tenant's <see cref="TenantSettings.RetentionMonths"/>. The last activity is the latest of the candidate's
    /// <c>updated_at</c> and, for each of its applications, the application's <c>updated_at</c>, the feedback's
    /// <c>updated_at</c>, the request's <c>requested_at</c>, the request links' <c>created_at</c>, the delivery's
    /// <c>updated_at</c> (which moves with every attempt) and the invitations' <c>created_at</c> and <c>sent_at</c>.
    /// Ordered by tenant and id; at most <paramref name="limit"/>; rows already locked (by another worker erasing them) are
    /// skipped. Inside a transaction the rows stay locked until it ends. With <paramref name="only"/>, checks that one candidate.
    /// </summary>
    public static Task<List<DueCandidate>> DueForRetentionAsync(FeedbackHubDbContext db, DateTimeOffset now, int limit, CancellationToken ct, Guid? only = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        var all = only is null;
        var id = only ?? Guid.Empty;
        return db.Database.SqlQuery<DueCandidate>($"""
            SELECT c.id AS "CandidateId", c.tenant_id AS "TenantId"
            FROM candidates c
            JOIN tenants t ON t.id = c.tenant_id
            CROSS JOIN LATERAL (SELECT {now} - make_interval(months => COALESCE((t.settings ->> 'retentionMonths')::int, 12)) AS cutoff) k
            WHERE c.erased_at IS NULL
              AND ({all} OR c.id = {id})
              AND c.updated_at < {now} - interval '1 month' -- the shortest retention: lets the index on updated_at narrow the scan
              AND c.updated_at < k.cutoff
              AND NOT EXISTS (
                SELECT 1 FROM applications a
                WHERE a.candidate_id = c.id AND (
                  a.legal_hold OR a.updated_at >= k.cutoff
                  OR EXISTS (SELECT 1 FROM feedback f WHERE f.application_id = a.id AND f.updated_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM feedback_requests r WHERE r.application_id = a.id AND r.requested_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM feedback_request_links l WHERE l.application_id = a.id AND l.created_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM deliveries d JOIN outbound o ON o.id = d.id WHERE d.application_id = a.id AND o.updated_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM invitations i JOIN outbound o ON o.id = i.id WHERE i.application_id = a.id AND (o.created_at >= k.cutoff OR o.sent_at >= k.cutoff))))
            ORDER BY c.tenant_id, c.id
            LIMIT {limit}
            FOR UPDATE OF c SKIP LOCKED
            """).ToListAsync(ct);
    }
}

/// <summary>A candidate the retention sweep will erase.</summary>
public sealed record DueCandidate(Guid CandidateId, Guid TenantId);
