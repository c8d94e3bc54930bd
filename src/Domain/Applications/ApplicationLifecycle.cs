using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Domain.Applications;

/// <summary>An upserted application with its candidate; <see cref="Created"/> when the application is new.</summary>
public sealed record ApplicationUpsert(Application Application, Candidate Candidate, bool Created);

/// <summary>A recorded rejection and the candidate's personal link (shown only once: only its hash is stored).</summary>
public sealed record ApplicationRejection(Guid ApplicationId, DateTimeOffset RejectedAt, string RequestUrl, DateTimeOffset ExpiresAt);

/// <summary>
/// An application's life as the ATS and HR people drive it: create or update it with its candidate (a reopening stops
/// what the rejection started), reject it (a new candidate link, an invitation when the tenant sends them), put it on
/// legal hold. The use cases the API's endpoints and the web app's pages both call; each writer of the application's
/// delivery state holds its lock (<see cref="ApplicationLocks"/>).
/// </summary>
public sealed class ApplicationLifecycle(FeedbackHubDbContext db, AuditLog audit, TimeProvider time, IOptions<PublicLinkOptions> links)
{
    /// <summary>
    /// Creates or updates the application by the ATS's id, and its candidate by theirs. Setting a rejected application
    /// back to another status reopens it: what its rejection scheduled is cancelled and its links stop working.
    /// </summary>
    /// <exception cref="DomainException">422 validation (or <c>use-rejection-operation</c>); 409 <c>candidate-mismatch</c>,
    /// <c>delivery-in-progress</c> (nothing changed; retry) or <c>concurrent-update</c>.</exception>
    public async Task<ApplicationUpsert> UpsertAsync(
        string externalId, CandidateDetails? candidate, ApplicationDetails details, Guid tenantId, Actor actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(details);
        candidate = candidate?.Normalized();
        details = details.Normalized();
        Application.ValidateUpsert(externalId, candidate, details);
        try
        {
            return await UpsertOnceAsync(externalId, candidate!, details, tenantId, actor, ct);
        }
        catch (DbUpdateException e) when (IsUniqueViolation(e) || IsErasedMeanwhile(e))
        {
            // A concurrent request created the same application or candidate first; now it exists: update it.
            // Or the candidate was erased meanwhile (the database refused its details): the retry finds it erased.
            db.DiscardPendingChanges();
            try
            {
                return await UpsertOnceAsync(externalId, candidate!, details, tenantId, actor, ct);
            }
            catch (DbUpdateException again) when (IsUniqueViolation(again))
            {
                throw DomainException.Conflict("concurrent-update", "The application was changed concurrently; send the request again.");
            }
        }
    }

    /// <summary>
    /// Records the rejection (<paramref name="rejectedAt"/> defaults to now) and issues the candidate's link; an earlier
    /// link stops working. Queues an invitation email when the tenant enables them and none is queued or sent.
    /// </summary>
    /// <exception cref="DomainException">404; 422 for a time in the future or too far back.</exception>
    public async Task<ApplicationRejection> RejectAsync(Guid id, DateTimeOffset? rejectedAt, Guid tenantId, Actor actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return await db.WithApplicationLockAsync(id, async locked =>
        {
            var application = await db.Applications.SingleOrDefaultAsync(a => a.Id == id, ct) ?? throw DomainException.NotFound("The application");
            var settings = await db.Tenants.Where(t => t.Id == tenantId).Select(t => t.Settings).SingleAsync(ct);
            application.Reject(rejectedAt ?? now, now);
            foreach (var old in await db.FeedbackRequestLinks.Where(l => l.ApplicationId == id && l.RevokedAt == null).ToListAsync(ct))
                old.Revoke(now);
            var expiresAt = application.RejectedAt!.Value.AddDays(settings.RequestWindowDays);
            var (link, token) = FeedbackRequestLink.Issue(tenantId, id, expiresAt, now);
            db.FeedbackRequestLinks.Add(link);
            audit.Record(tenantId, actor, "application.rejected", "application", id, new { linkId = link.Id, expiresAt });
            if (settings.InvitationsEnabled
                && !await db.Invitations.AnyAsync(i => i.ApplicationId == id && (i.Status == OutboundStatus.Scheduled || i.Status == OutboundStatus.Sending || i.Status == OutboundStatus.Sent), ct))
            {
                var invitation = Invitation.Queue(locked, tenantId, now);
                db.Invitations.Add(invitation);
                db.OutboxMessages.Add(OutboxMessage.Create(new SendInvitation(invitation.Id, tenantId), tenantId, now));
                audit.Record(tenantId, actor, AuditActions.InvitationQueued, "invitation", invitation.Id, new { applicationId = id });
            }

            await db.SaveChangesAsync(ct);
            return new ApplicationRejection(id, application.RejectedAt!.Value, links.Value.RequestUrl(token), expiresAt);
        }, ct);
    }

    /// <summary>
    /// Sets or releases the application's legal hold (its candidate is then not erased); the same state again changes
    /// nothing but the reason. The lock orders it against a concurrent erasure: one of them sees the other's result.
    /// </summary>
    public async Task<Application> SetLegalHoldAsync(Guid id, bool onHold, string? reason, Guid tenantId, Actor actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(actor);
        return await db.WithApplicationLockAsync(id, async _ =>
        {
            var application = await db.Applications.SingleOrDefaultAsync(a => a.Id == id, ct) ?? throw DomainException.NotFound("The application");
            if (application.SetLegalHold(onHold, reason, actor.Id, time.GetUtcNow()))
            {
                audit.Record(tenantId, actor, onHold ? "application.legal-hold-set" : "application.legal-hold-released",
                    "application", id, new { withReason = application.LegalHoldReason is not null });
            }

            await db.SaveChangesAsync(ct);
            return application;
        }, ct);
    }

    private async Task<ApplicationUpsert> UpsertOnceAsync(
        string externalId, CandidateDetails candidateDetails, ApplicationDetails details, Guid tenantId, Actor actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var application = await db.Applications.SingleOrDefaultAsync(a => a.ExternalId == externalId, ct);
        var candidate = await db.Candidates.SingleOrDefaultAsync(c => c.ExternalId == candidateDetails.ExternalId, ct);
        if (application is not null && application.CandidateId != candidate?.Id)
            throw Application.CandidateMismatch();

        // An upsert may reopen the application, and then what its rejection scheduled must not go out: it takes the locks
        // every writer of the application's delivery state takes (the candidate's row first, as erasure does), and reads
        // both again under them.
        LockedApplication? locked = null;
        if (application is not null)
        {
            locked = await DeliveryScheduling.LockCandidateAndApplicationAsync(db, application.CandidateId, application.Id, ct);
            await db.Entry(application).ReloadAsync(ct);
            await db.Entry(candidate!).ReloadAsync(ct);
        }

        // Audit data: ids, states and the NAMES of changed fields; never names, emails or other values.
        var candidateChanged = false;
        if (candidate is null)
        {
            candidate = Candidate.Create(tenantId, candidateDetails, now);
            db.Candidates.Add(candidate);
            audit.Record(tenantId, actor, "candidate.created", "candidate", candidate.Id);
        }
        else
        {
            var changed = candidate.ApplyUpsert(candidateDetails, now);
            if (changed.Count > 0)
            {
                candidateChanged = true;
                audit.Record(tenantId, actor, "candidate.updated", "candidate", candidate.Id, new { fields = changed });
            }
        }

        var created = application is null;
        if (application is null)
        {
            application = Application.Create(tenantId, externalId, candidate.Id, details, now);
            db.Applications.Add(application);
            audit.Record(tenantId, actor, "application.created", "application", application.Id,
                new { candidateId = candidate.Id, status = StatusName(application.Status) });
        }
        else
        {
            var result = application.ApplyUpsert(candidate.Id, details, now);
            if (result.Changed)
            {
                audit.Record(tenantId, actor, "application.updated", "application", application.Id,
                    new { fields = result.ChangedFields, status = StatusName(application.Status), reopened = result.Reopened });
            }

            if (result.Reopened)
                await StopWhatTheRejectionStartedAsync(locked!, tenantId, actor, now, ct);
            else if (candidateChanged)
                application.Touch(now); // its candidate changed: list consumers syncing by updatedSince see it again
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new ApplicationUpsert(application, candidate, created);
    }

    /// <summary>
    /// The ATS moved the candidate on: nothing scheduled may go out, and the request links stop working. An email being
    /// sent right now cannot be stopped, so the reopening is refused (409 <c>delivery-in-progress</c>, nothing changed)
    /// rather than answered as if it had been: a successful reopening guarantees that no email goes out.
    /// </summary>
    private async Task StopWhatTheRejectionStartedAsync(LockedApplication locked, Guid tenantId, Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var id = locked.ApplicationId;
        var deliveries = await db.Deliveries.Where(d => d.ApplicationId == id).ToListAsync(ct);
        var invitations = await db.Invitations.Where(i => i.ApplicationId == id).ToListAsync(ct);
        if (deliveries.Any(d => d.Status == OutboundStatus.Sending) || invitations.Any(i => i.Status == OutboundStatus.Sending))
            throw DeliveryInProgress();

        foreach (var delivery in deliveries.Where(d => d.Status == OutboundStatus.Scheduled))
        {
            delivery.Cancel(locked, now);
            audit.Record(tenantId, actor, AuditActions.DeliveryCancelled, "delivery", delivery.Id, new { reason = "application-reopened" });
        }

        foreach (var invitation in invitations.Where(i => i.Status == OutboundStatus.Scheduled))
        {
            invitation.Cancel(locked, now);
            audit.Record(tenantId, actor, AuditActions.InvitationCancelled, "invitation", invitation.Id, new { reason = "application-reopened" });
        }

        foreach (var link in await db.FeedbackRequestLinks.Where(l => l.ApplicationId == id && l.RevokedAt == null).ToListAsync(ct))
            link.Revoke(now);
    }

    /// <summary>409 <c>delivery-in-progress</c>: retryable; once the email's send has ended the same request succeeds.</summary>
    private static DomainException DeliveryInProgress() =>
        DomainException.Conflict("delivery-in-progress",
            "An email to this candidate is being handed to the mail server right now and cannot be stopped; nothing was changed. Send the request again in a few seconds.");

    private static bool IsUniqueViolation(DbUpdateException e) =>
        e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    private static bool IsErasedMeanwhile(DbUpdateException e) =>
        e.InnerException is PostgresException { SqlState: PostgresErrorCodes.CheckViolation, ConstraintName: "ck_candidates_erased_holds_no_personal_data" };

    /// <summary>The status as audit data spells it (as the API does).</summary>
    private static string StatusName(ApplicationStatus status) => status.ToString().ToLowerInvariant();
}
