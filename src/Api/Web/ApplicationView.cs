using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web;

/// <summary>One sent-or-sending item (the feedback email, the invitation) with every attempt and its answer.</summary>
/// <param name="IsFeedbackEmail">The feedback email itself (a recruiter may cancel it while scheduled, or send it again once failed).</param>
public sealed record OutboundView(Guid Id, string Kind, OutboundStatus Status, DateTimeOffset DueAt, DateTimeOffset? SentAt, bool PossibleDuplicate, IReadOnlyList<OutboundAttempt> Attempts, bool IsFeedbackEmail = false);

/// <summary>A line of the application's timeline (from the audit log: ids and actions, never text about the candidate).</summary>
public sealed record TimelineEntry(DateTimeOffset At, string Action, string Actor);

/// <summary>Everything the application page shows, read in one unit (tenant-scoped by the query filters).</summary>
public sealed record ApplicationDetails(
    Application Application,
    Candidate Candidate,
    FeedbackRequest? Request,
    Feedback? Feedback,
    IReadOnlyList<OutboundView> Outbound,
    IReadOnlyList<(DateTimeOffset At, string Type)> WebhookEvents,
    IReadOnlyList<TimelineEntry> Timeline);

/// <summary>The read side of the application page.</summary>
public sealed class ApplicationView(FeedbackHubDbContext db)
{
    public async Task<ApplicationDetails?> FindAsync(Guid id, CancellationToken ct)
    {
        var application = await db.Applications.AsNoTracking().SingleOrDefaultAsync(a => a.Id == id, ct);
        if (application is null)
            return null;
        var candidate = await db.Candidates.AsNoTracking().SingleAsync(c => c.Id == application.CandidateId, ct);
        var request = await db.FeedbackRequests.AsNoTracking().SingleOrDefaultAsync(r => r.ApplicationId == id, ct);
        var feedback = await db.Feedback.AsNoTracking().SingleOrDefaultAsync(f => f.ApplicationId == id, ct);

        var outbound = new List<OutboundView>();
        foreach (var delivery in await db.Deliveries.AsNoTracking().Include(d => d.Attempts).Where(d => d.ApplicationId == id).ToListAsync(ct))
            outbound.Add(new(delivery.Id, "Feedback email", delivery.Status, delivery.DueAt, delivery.SentAt, delivery.PossibleDuplicate, delivery.Attempts.OrderBy(a => a.Number).ToList(), IsFeedbackEmail: true));
        foreach (var invitation in await db.Invitations.AsNoTracking().Include(i => i.Attempts).Where(i => i.ApplicationId == id).OrderBy(i => i.CreatedAt).ToListAsync(ct))
            outbound.Add(new(invitation.Id, "Invitation to ask", invitation.Status, invitation.DueAt, invitation.SentAt, invitation.PossibleDuplicate, invitation.Attempts.OrderBy(a => a.Number).ToList()));

        // The newest 50 webhook events about the application.
        var events = await db.WebhookEvents.AsNoTracking().Where(e => e.ApplicationId == id)
            .OrderByDescending(e => e.OccurredAt).Take(50).Select(e => new { e.OccurredAt, e.Type }).ToListAsync(ct);

        var subjects = new List<Guid> { id };
        if (feedback is not null)
            subjects.Add(feedback.Id);
        if (request is not null)
            subjects.Add(request.Id);
        subjects.AddRange(outbound.Select(o => o.Id));
        var timeline = await db.AuditEvents.AsNoTracking().Where(e => e.SubjectId != null && subjects.Contains(e.SubjectId.Value))
            .OrderBy(e => e.OccurredAt).ThenBy(e => e.Id).Take(200)
            .Select(e => new TimelineEntry(e.OccurredAt, e.Action, e.ActorName)).ToListAsync(ct);

        return new ApplicationDetails(application, candidate, request, feedback, outbound,
            events.Select(e => (e.OccurredAt, e.Type)).ToList(), timeline);
    }
}
