using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Domain.Delivery;

/// <summary>A candidate link that works now, with what its pages show. <see cref="Token"/> is the candidate's credential: never logged.</summary>
public sealed record CandidateLink(string Token, Guid TenantId, Guid ApplicationId, DateTimeOffset ExpiresAt, string Company, string Position, int AnswerByDays);

/// <summary>
/// The candidate asks for feedback through their personal link (no key: the token is the credential). The use case
/// behind the public API and the candidate's HTML page; scoped by the link's tenant, not by a request's.
/// </summary>
public sealed class CandidateRequests(
    FeedbackHubDbContext db, AuditLog audit, TimeProvider time, IOptions<PublicLinkOptions> links, People.PersonNotifications notifications)
{
    private static readonly Actor Candidate = new(null, "candidate");

    /// <summary>
    /// The link, or null when it is unknown, expired, revoked, its candidate erased or its application no longer rejected.
    /// One indexed query whatever the token, so unknown, expired and erased links take about the same time.
    /// </summary>
    public async Task<CandidateLink?> TryResolveAsync(string token, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var hash = FeedbackRequestLink.Hash(token);
        var row = await (
            from l in db.FeedbackRequestLinks.IgnoreQueryFilters()
            join a in db.Applications.IgnoreQueryFilters() on l.ApplicationId equals a.Id
            join c in db.Candidates.IgnoreQueryFilters() on a.CandidateId equals c.Id
            join t in db.Tenants on l.TenantId equals t.Id
            where l.TokenHash == hash
            select new { l.TenantId, l.ApplicationId, l.ExpiresAt, l.RevokedAt, c.ErasedAt, a.Status, Company = t.Name, a.PositionTitle, t.Settings }).SingleOrDefaultAsync(ct);
        return row is null || row.RevokedAt is not null || row.ExpiresAt <= now || row.ErasedAt is not null || row.Status != ApplicationStatus.Rejected
            ? null
            : new CandidateLink(token, row.TenantId, row.ApplicationId, row.ExpiresAt, row.Company, row.PositionTitle, row.Settings.AnswerByDays);
    }

    /// <summary>As <see cref="TryResolveAsync"/>, but 404 <c>link-not-valid</c> (one answer for every reason) instead of null.</summary>
    public async Task<CandidateLink> ResolveAsync(string token, CancellationToken ct) =>
        await TryResolveAsync(token, ct) ?? throw LinkNotValid();

    /// <summary>
    /// Records the candidate's request (asking twice is one request) and, when approved feedback is already there,
    /// schedules its delivery, under the application's lock.
    /// </summary>
    /// <exception cref="DomainException">422 for a bad note (even when the candidate already asked); 404 <c>link-not-valid</c>
    /// when the link stopped working since it was resolved (an erasure or a reopening in between).</exception>
    public async Task RequestAsync(CandidateLink link, string? note, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(link);
        note = FeedbackRequest.ValidNote(note);
        var now = time.GetUtcNow();
        await db.WithApplicationLockAsync(link.ApplicationId, async application =>
        {
            // The link was resolved before the lock: an erasure (or a reopening) may have finished in between.
            if (await TryResolveAsync(link.Token, ct) is null)
                throw LinkNotValid();
            if (await db.FeedbackRequests.IgnoreQueryFilters().AnyAsync(r => r.TenantId == link.TenantId && r.ApplicationId == link.ApplicationId, ct))
                return;
            var request = FeedbackRequest.Create(link.TenantId, link.ApplicationId, note, now);
            db.FeedbackRequests.Add(request);
            audit.Record(link.TenantId, Candidate, "feedback.requested", "application", link.ApplicationId, new { requestId = request.Id, withNote = request.Note is not null });
            await notifications.CandidateAskedAsync(link.TenantId, link.ApplicationId, ct);
            await DeliveryScheduling.SaveAndTryScheduleAsync(db, audit, application, link.TenantId, links.Value.MessageIdDomain, now, ct);
        }, ct);
    }

    private static DomainException LinkNotValid() =>
        new(DomainErrorKind.NotFound, "link-not-valid", "This link is not valid. It may have expired; please contact the company that gave it to you.");
}
