using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Templates;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages.Feedback;

/// <summary>A published template to start from.</summary>
public sealed record TemplateChoice(Guid Id, string Name, int Version);

/// <summary>
/// Starts feedback on an application (<see cref="FeedbackAuthoring.StartAsync"/>) and opens its form; with several
/// published templates the author picks one. Feedback that already exists is opened instead.
/// </summary>
[Authorize(Policy = Policies.FeedbackAuthors)]
public sealed class StartModel(FeedbackAuthoring authoring, FeedbackHubDbContext db) : AppPageModel
{
    public string Candidate { get; private set; } = string.Empty;

    public string Position { get; private set; } = string.Empty;

    public List<TemplateChoice> Templates { get; private set; } = [];

    [BindProperty]
    public Guid? TemplateId { get; set; }

    public async Task<IActionResult> OnGetAsync(Guid applicationId, CancellationToken ct)
    {
        if (await db.Feedback.Where(f => f.ApplicationId == applicationId).Select(f => (Guid?)f.Id).SingleOrDefaultAsync(ct) is { } existing)
            return Redirect($"{WebApp.Prefix}/feedback/{existing}");
        return await LoadAsync(applicationId, ct) ? Page() : Missing();
    }

    public async Task<IActionResult> OnPostAsync(Guid applicationId, CancellationToken ct)
    {
        if (!await LoadAsync(applicationId, ct))
            return Missing();
        var templateId = TemplateId ?? (Templates.Count == 1 ? Templates[0].Id : Guid.Empty);
        if (templateId == Guid.Empty)
        {
            Error = "Choose a template.";
            ModelState.AddModelError(nameof(TemplateId), "Choose the template to write the feedback with.");
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }

        try
        {
            var feedback = await authoring.StartAsync(applicationId, templateId, null, TenantId, Actor, ct);
            return Done($"{WebApp.Prefix}/feedback/{feedback.Id}", "Feedback started. Rate each criterion; your draft is kept when you save.");
        }
        catch (DomainException e) when (e.Code == "feedback-exists" && e.Extensions?["feedbackId"] is Guid existing)
        {
            return Done($"{WebApp.Prefix}/feedback/{existing}", "This application already has feedback: here it is.");
        }
        catch (DomainException e) when (e.Kind != DomainErrorKind.NotFound)
        {
            Error = e.Message;
            Response.StatusCode = e.Kind == DomainErrorKind.Conflict ? StatusCodes.Status409Conflict : StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
    }

    private async Task<bool> LoadAsync(Guid applicationId, CancellationToken ct)
    {
        var about = await (
            from a in db.Applications
            join c in db.Candidates on a.CandidateId equals c.Id
            where a.Id == applicationId
            select new { c.FirstName, c.LastName, c.ErasedAt, a.PositionTitle }).SingleOrDefaultAsync(ct);
        if (about is null)
            return false;
        Candidate = about.ErasedAt is null ? $"{about.FirstName} {about.LastName}".Trim() : "Erased candidate";
        Position = about.PositionTitle;
        Templates = await (
            from v in db.TemplateVersions
            join t in db.Templates on v.TemplateId equals t.Id
            where v.Status == TemplateVersionStatus.Published
            orderby t.Name
            select new TemplateChoice(t.Id, t.Name, v.Number)).ToListAsync(ct);
        return true;
    }
}
