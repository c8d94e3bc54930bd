using System.Security.Claims;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web;

/// <summary>How much work waits for a person, for the navigation.</summary>
public sealed record WorkCount(int ToWrite, int ToApprove, int CandidatesWaiting)
{
    public int Total => ToWrite + ToApprove + CandidatesWaiting;
}

/// <summary>One row of "My work".</summary>
public sealed record WorkItem(Guid ApplicationId, Guid? FeedbackId, string Candidate, string Position, FeedbackStatus? Status, DateTimeOffset Since, string? Comment);

/// <summary>
/// "My work", from the person's point of view: feedback they must write or fix, feedback waiting for their approval
/// (reviewers; never their own), and candidates who asked and still wait for the email. Each a query on an index.
/// </summary>
public sealed class WorkCounts(FeedbackHubDbContext db)
{
    public async Task<WorkCount> ForAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var me = PersonOf(user);
        return new WorkCount(
            await ToWrite(me).CountAsync(ct),
            IsReviewer(user) ? await ToApprove(me).CountAsync(ct) : 0,
            IsRecruiterOrAuthor(user) ? await Waiting(me, user).CountAsync(ct) : 0);
    }

    public Task<List<WorkItem>> ToWriteAsync(ClaimsPrincipal user, CancellationToken ct) =>
        Rows(ToWrite(PersonOf(user)), ct);

    public async Task<List<WorkItem>> ToApproveAsync(ClaimsPrincipal user, CancellationToken ct) =>
        IsReviewer(user) ? await Rows(ToApprove(PersonOf(user)), ct) : [];

    public async Task<List<WorkItem>> WaitingAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        if (!IsRecruiterOrAuthor(user))
            return [];
        return await (
            from r in Waiting(PersonOf(user), user)
            join a in db.Applications on r.ApplicationId equals a.Id
            join c in db.Candidates on a.CandidateId equals c.Id
            orderby r.RequestedAt
            select new WorkItem(a.Id, db.Feedback.Where(f => f.ApplicationId == a.Id).Select(f => (Guid?)f.Id).FirstOrDefault(),
                c.FirstName + " " + (c.LastName ?? string.Empty), a.PositionTitle,
                db.Feedback.Where(f => f.ApplicationId == a.Id).Select(f => (FeedbackStatus?)f.Status).FirstOrDefault(), r.RequestedAt, r.Note))
            .Take(200).ToListAsync(ct);
    }

    private static Guid PersonOf(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ApiKeyClaims.PersonId), out var id) ? id : Guid.Empty;

    private static bool IsReviewer(ClaimsPrincipal user) => user.IsInRole(Roles.Recruiter) || user.IsInRole(Roles.Legal);

    private static bool IsRecruiterOrAuthor(ClaimsPrincipal user) => user.IsInRole(Roles.Recruiter) || user.IsInRole(Roles.Interviewer);

    private IQueryable<Feedback> ToWrite(Guid me) =>
        db.Feedback.Where(f => f.Contributors.Contains(me) && (f.Status == FeedbackStatus.Draft || f.Status == FeedbackStatus.ChangesRequested));

    private IQueryable<Feedback> ToApprove(Guid me) =>
        db.Feedback.Where(f => f.Status == FeedbackStatus.Submitted && !f.Contributors.Contains(me));

    /// <summary>Requests with no email sent yet: all of them for recruiters, those on feedback they wrote for interviewers.</summary>
    private IQueryable<Domain.Delivery.FeedbackRequest> Waiting(Guid me, ClaimsPrincipal user)
    {
        var waiting = db.FeedbackRequests.Where(r => r.AnsweredAt == null);
        return user.IsInRole(Roles.Recruiter)
            ? waiting
            : waiting.Where(r => db.Feedback.Any(f => f.ApplicationId == r.ApplicationId && f.Contributors.Contains(me)));
    }

    /// <summary>Oldest first: what has waited longest comes first.</summary>
    private Task<List<WorkItem>> Rows(IQueryable<Feedback> feedback, CancellationToken ct)
    {
        var rows =
            from f in feedback
            join a in db.Applications on f.ApplicationId equals a.Id
            join c in db.Candidates on a.CandidateId equals c.Id
            let since = f.Status == FeedbackStatus.Submitted ? f.SubmittedAt ?? f.UpdatedAt : f.UpdatedAt
            orderby since
            select new WorkItem(a.Id, f.Id, c.FirstName + " " + (c.LastName ?? string.Empty), a.PositionTitle, f.Status, since, f.ReviewComment);
        return rows.Take(200).ToListAsync(ct);
    }
}
