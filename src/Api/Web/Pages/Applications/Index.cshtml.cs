using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages.Applications;

public sealed record ApplicationRow(Guid Id, string Candidate, string Position, ApplicationStatus Status, bool Asked, FeedbackStatus? Feedback, DateTimeOffset UpdatedAt);

/// <summary>The tenant's applications, newest first, 50 a page (keyset on the id, an index).</summary>
[Authorize(Policy = Policies.ApplicationViewers)]
public sealed class IndexModel(FeedbackHubDbContext db) : AppPageModel
{
    private const int PageSize = 50;

    public ApplicationStatus? Status { get; private set; }

    public IReadOnlyList<ApplicationRow> Rows { get; private set; } = [];

    public Guid? Next { get; private set; }

    public async Task OnGetAsync(ApplicationStatus? status, Guid? before, CancellationToken ct)
    {
        Status = status;
        var query = db.Applications.AsNoTracking();
        if (status is { } s)
            query = query.Where(a => a.Status == s);
        if (before is { } b)
            query = query.Where(a => a.Id.CompareTo(b) < 0);
        var rows = await query.OrderByDescending(a => a.Id).Take(PageSize + 1)
            .Select(a => new ApplicationRow(
                a.Id,
                db.Candidates.Where(c => c.Id == a.CandidateId).Select(c => c.FirstName + " " + (c.LastName ?? string.Empty)).First(),
                a.PositionTitle, a.Status,
                db.FeedbackRequests.Any(r => r.ApplicationId == a.Id),
                db.Feedback.Where(f => f.ApplicationId == a.Id).Select(f => (FeedbackStatus?)f.Status).FirstOrDefault(),
                a.UpdatedAt))
            .ToListAsync(ct);
        Rows = rows.Take(PageSize).ToList();
        Next = rows.Count > PageSize ? Rows[^1].Id : null;
    }
}
