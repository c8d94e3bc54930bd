using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Domain.Templates;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages.Feedback;

/// <summary>One step of the feedback's history, from the audit log.</summary>
public sealed record HistoryEntry(DateTimeOffset At, string Who, string What);

/// <summary>
/// Reviewing feedback (recruiter, legal): what changed since a reviewer last sent it back (<see cref="AnswerChanges"/>),
/// the answers with their findings, the history of saves and reviews, the
/// email exactly as the candidate will get it (<see cref="FeedbackAuthoring.PreviewAsync"/>: its HTML part in a
/// sandboxed frame with its own content policy, <see cref="OnGetHtmlAsync"/>, and its text part), and approve or request
/// changes. Nobody reviews feedback they wrote or edited: the page says so and offers no button; the use case refuses
/// a forced post.
/// </summary>
[Authorize(Policy = Policies.FeedbackReviewers)]
public sealed class ReviewModel(FeedbackAuthoring authoring, FeedbackHubDbContext db, PublishedTemplateContent templates) : AppPageModel
{
    public Domain.Authoring.Feedback Feedback { get; private set; } = null!;

    public TemplateContent Template { get; private set; } = null!;

    public string Candidate { get; private set; } = string.Empty;

    public string Position { get; private set; } = string.Empty;

    public Dictionary<string, List<FieldFindingView>> Findings { get; private set; } = [];

    public RenderedEmail? Preview { get; private set; }

    public string? PreviewProblem { get; private set; }

    public List<HistoryEntry> History { get; private set; } = [];

    /// <summary>What differs from the version last sent back for changes (empty when nothing changed or none was sent back).</summary>
    public IReadOnlyList<CriterionChange> Changes { get; private set; } = [];

    [BindProperty]
    public string? Comment { get; set; }

    public string? CommentError { get; private set; }

    public bool IsContributor => Actor.Id is { } id && Feedback.Contributors.Contains(id);

    public bool Reviewable => Feedback.Status == FeedbackStatus.Submitted && !IsContributor;

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct) =>
        await LoadAsync(id, ct) ? Page() : Missing();

    /// <summary>
    /// The email's HTML part as the candidate's mail program gets it, for the review page's frame: sandboxed (no script,
    /// no same origin), nothing loaded from elsewhere, framed only by this app. Another tenant's feedback answers 404.
    /// </summary>
    public async Task<IActionResult> OnGetHtmlAsync(Guid id, CancellationToken ct)
    {
        string html;
        try
        {
            html = (await authoring.PreviewAsync(id, TenantId, ct)).Html;
        }
        catch (DomainException e) when (e.Kind != DomainErrorKind.NotFound)
        {
            html = $"<p>The email cannot be shown yet: {System.Net.WebUtility.HtmlEncode(e.Message)}</p>";
        }

        Response.Headers.ContentSecurityPolicy = WebApp.EmailFramePolicy;
        Response.Headers.XFrameOptions = "SAMEORIGIN";
        return Content(html, "text/html; charset=utf-8");
    }

    public Task<IActionResult> OnPostApproveAsync(Guid id, int version, CancellationToken ct) =>
        DecideAsync(id, () => authoring.ApproveAsync(id, ExpectedVersion.Of(version), TenantId, Actor, ct),
            "Approved. The candidate gets this email when they have asked for feedback and the cooling-off has passed.", ct);

    public Task<IActionResult> OnPostRequestChangesAsync(Guid id, int version, CancellationToken ct) =>
        DecideAsync(id, () => authoring.RequestChangesAsync(id, ExpectedVersion.Of(version), Comment, TenantId, Actor, ct),
            "Changes requested. The author sees your comment on the feedback.", ct);

    private async Task<IActionResult> DecideAsync(Guid id, Func<Task> decide, string notice, CancellationToken ct)
    {
        var ok = await TryAsync(decide);
        var refused = Refusal?.Kind;
        if (ok)
            return Done($"{WebApp.Prefix}/feedback/{id}/review", notice);
        if (!await LoadAsync(id, ct))
            return Missing();
        if (ModelState.TryGetValue("comment", out var entry) && entry.Errors.Count > 0)
            CommentError = string.Join(" ", entry.Errors.Select(e => e.ErrorMessage));
        if (refused == DomainErrorKind.PreconditionFailed)
            Error = "Someone else changed this feedback while you were reviewing it. Nothing was recorded; read it again below, then decide.";
        Response.StatusCode = refused switch
        {
            DomainErrorKind.Forbidden => StatusCodes.Status403Forbidden,
            DomainErrorKind.Conflict => StatusCodes.Status409Conflict,
            DomainErrorKind.PreconditionFailed => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status422UnprocessableEntity,
        };
        return Page();
    }

    private async Task<bool> LoadAsync(Guid id, CancellationToken ct)
    {
        var feedback = await db.Feedback.AsNoTracking().SingleOrDefaultAsync(f => f.Id == id, ct);
        if (feedback is null)
            return false;
        Feedback = feedback;
        Template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        Findings = FeedbackView.FindingsByCriterion(feedback);
        Changes = feedback.LastChangeRequest is { } sentBack ? AnswerChanges.Compare(sentBack.Answers, feedback.Answers) : [];
        var about = await (
            from a in db.Applications
            join c in db.Candidates on a.CandidateId equals c.Id
            where a.Id == feedback.ApplicationId
            select new { c.FirstName, c.LastName, c.ErasedAt, a.PositionTitle }).SingleAsync(ct);
        Candidate = about.ErasedAt is null ? $"{about.FirstName} {about.LastName}".Trim() : "Erased candidate";
        Position = about.PositionTitle;
        History = await db.AuditEvents.AsNoTracking()
            .Where(e => e.TenantId == TenantId && e.SubjectType == "feedback" && e.SubjectId == id)
            .OrderBy(e => e.Position)
            .Select(e => new HistoryEntry(e.OccurredAt, e.ActorName, e.Action))
            .ToListAsync(ct);
        try
        {
            Preview = await authoring.PreviewAsync(id, TenantId, ct);
        }
        catch (DomainException e) when (e.Kind != DomainErrorKind.NotFound)
        {
            PreviewProblem = e.Message;
        }

        return true;
    }

    /// <summary>A band's label in the template (its key when the template does not have it).</summary>
    public string BandLabel(string criterion, string? band) =>
        Template.Criteria.FirstOrDefault(c => c.Key == criterion)?.Bands.FirstOrDefault(b => b.Key == band)?.Label ?? band ?? string.Empty;
}
