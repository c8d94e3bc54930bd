using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.People;

/// <summary>
/// Emails people about work that waits for them, in the unit of work of the change that made it wait (so a change that
/// is not saved notifies nobody): the authors when changes are requested, reviewers when feedback is submitted, the
/// authors and recruiters when a candidate asks. Never the person who made the change; never someone who turned it off.
/// </summary>
public sealed class PersonNotifications(FeedbackHubDbContext db, TimeProvider time)
{
    /// <summary>Reviewers (recruiters and legal) of submitted feedback, except its authors: they cannot approve it.</summary>
    public Task FeedbackSubmittedAsync(Feedback feedback, Actor by, CancellationToken ct) =>
        QueueAsync(feedback.TenantId, PersonEmailKind.AwaitingApproval, feedback.ApplicationId, by, [], [Roles.Recruiter, Roles.Legal], feedback.Contributors, ct);

    /// <summary>The feedback's authors.</summary>
    public Task ChangesRequestedAsync(Feedback feedback, Actor by, CancellationToken ct) =>
        QueueAsync(feedback.TenantId, PersonEmailKind.ChangesRequested, feedback.ApplicationId, by, feedback.Contributors, [], [], ct);

    /// <summary>The authors of the application's feedback (if any) and the recruiters.</summary>
    public async Task CandidateAskedAsync(Guid tenantId, Guid applicationId, CancellationToken ct)
    {
        // The candidate's request runs outside any tenant's scope (the link is the credential): the tenant is explicit.
        var authors = await db.Feedback.IgnoreQueryFilters().Where(f => f.TenantId == tenantId && f.ApplicationId == applicationId)
            .Select(f => f.Contributors).SingleOrDefaultAsync(ct) ?? [];
        await QueueAsync(tenantId, PersonEmailKind.CandidateAsked, applicationId, Actor.System, authors, [Roles.Recruiter], [], ct);
    }

    private async Task QueueAsync(
        Guid tenantId, PersonEmailKind kind, Guid applicationId, Actor cause,
        IReadOnlyCollection<Guid> personIds, IReadOnlyCollection<string> roles, IReadOnlyCollection<Guid> exclude, CancellationToken ct)
    {
        var notification = PersonEmail.NotificationOf(kind) ?? throw new ArgumentException("Not a notification.", nameof(kind));
        var ids = personIds.ToList();
        var roleList = roles.ToList();
        var recipients = await db.People.AsNoTracking()
            .Where(p => p.TenantId == tenantId && p.RemovedAt == null && p.PasswordHash != null
                && (ids.Contains(p.Id) || p.Roles.Any(r => roleList.Contains(r))))
            .ToListAsync(ct);
        var now = time.GetUtcNow();
        foreach (var person in recipients.Where(p => p.Id != cause.Id && !exclude.Contains(p.Id) && p.Wants(notification)))
            PeopleDirectory.QueueEmail(db, person, kind, applicationId, now);
    }
}
