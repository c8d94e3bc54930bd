using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Templates;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Templates;

/// <summary>
/// A template's name, locale and content (subject, intro, outro with merge fields; criteria; optionally the criteria
/// that weighed most in the decision, at most 3 keys, and a sentence introducing them, merge fields allowed).
/// </summary>
public sealed record TemplateRequest(
    string Name, string Locale, string Subject, [FreeText] string Intro, [FreeText] string Outro, IReadOnlyList<Criterion> Criteria,
    IReadOnlyList<string>? DecidingCriteria = null, [FreeText] string? DecisionText = null)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public TemplateContent Content => new(Subject, Intro, Outro, Criteria, DecidingCriteria, DecisionText);

    public static TemplateRequest From(string name, string locale, TemplateContent content) =>
        new(name, locale, content.Subject, content.Intro, content.Outro, content.Criteria, content.DecidingCriteria, content.DecisionText);
}

public sealed record VersionSummary(int Number, TemplateVersionStatus Status, string AuthorName, DateTimeOffset UpdatedAt, DateTimeOffset? SubmittedAt, DateTimeOffset? PublishedAt, string? PublishedByName, DateTimeOffset? RetiredAt);

public sealed record TemplateSummary(Guid Id, string Name, string Locale, VersionSummary Latest, int? PublishedVersion, DateTimeOffset UpdatedAt);

public sealed record TemplateResponse(Guid Id, string Name, string Locale, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int? PublishedVersion, IReadOnlyList<VersionSummary> Versions);

/// <summary>One version in full, with the language findings of its candidate-visible text.</summary>
public sealed record TemplateVersionResponse(
    Guid TemplateId, string Name, string Locale, int Number, TemplateVersionStatus Status, TemplateContent Content,
    string AuthorName, DateTimeOffset UpdatedAt, DateTimeOffset? PublishedAt, string? PublishedByName, IReadOnlyList<FindingResponse> Findings);

public static class TemplateEndpoints
{
    public static IEndpointRouteBuilder MapTemplateEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/templates").WithTags("Templates");

        group.MapPost("/", CreateTemplate).WithName("CreateTemplate").RequireAuthorization(Policies.TemplateWriters)
            .WithSummary("Create a template (version 1, draft)")
            .WithDescription("Roles `recruiter`, `legal`. Merge fields: {{candidate.first_name}}, {{position.title}}, {{company.name}}, {{application.rejected_on}} (subject, intro, outro, decisionText only). Optional `decidingCriteria` (at most 3 keys of this template's criteria) and `decisionText` (at most 600 characters): the email's section \"What weighed most in our decision\" shows the text, then each of those criteria with the band wording the candidate got. The answer lists language findings of every candidate-visible string.")
            .WithRequestExample(TemplateRequest.From(Commands.ExampleTemplates.CustomerSupport.Name, "en", Commands.ExampleTemplates.CustomerSupport.Content))
            .WithIdempotency().ProducesAuthProblems().ProducesProblems(422);
        group.MapGet("/", ListTemplates).WithName("ListTemplates").RequireAuthorization(Policies.TemplateReaders)
            .WithSummary("List templates").WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`. Filter `published=true` for templates that can be used for feedback.")
            .ProducesAuthProblems();
        group.MapGet("/{id}", GetTemplate).WithName("GetTemplate").RequireAuthorization(Policies.TemplateReaders)
            .WithSummary("Get a template with its versions").WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapGet("/{id}/versions/{version:int}", GetTemplateVersion).WithName("GetTemplateVersion").RequireAuthorization(Policies.TemplateReaders)
            .WithSummary("Get one version's content and findings").WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPut("/{id}/draft", SaveTemplateDraft).WithName("SaveTemplateDraft").RequireAuthorization(Policies.TemplateWriters)
            .WithSummary("Save the draft (a new version if the newest is published)")
            .WithDescription("Roles `recruiter`, `legal`. Replaces the newest version while it is a draft or in review (it goes back to draft); after publication a new draft version is created. Published versions never change.")
            .ProducesAuthProblems().ProducesProblems(404, 422);
        group.MapPost("/{id}/versions/{version:int}/submit", SubmitTemplateVersion).WithName("SubmitTemplateVersion").RequireAuthorization(Policies.TemplateWriters)
            .WithSummary("Submit a draft for legal review").WithDescription("Roles `recruiter`, `legal`. Draft -> InReview.")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        group.MapPost("/{id}/versions/{version:int}/publish", PublishTemplateVersion).WithName("PublishTemplateVersion").RequireAuthorization(Policies.Legal)
            .WithSummary("Publish a version in review")
            .WithDescription("Role `legal`, and not the version's author (403). Every candidate-visible string must pass the language check: blocking findings answer 422 with `findings` (path, rule, reason, suggestion). The previously published version is retired.")
            .ProducesAuthProblems().ProducesProblems(404, 409, 422);
        group.MapPost("/{id}/versions/{version:int}/retire", RetireTemplateVersion).WithName("RetireTemplateVersion").RequireAuthorization(Policies.Legal)
            .WithSummary("Retire the published version").WithDescription("Role `legal`. New feedback can no longer start from it; existing feedback keeps it.")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        return app;
    }

    public static async Task<Created<TemplateVersionResponse>> CreateTemplate(
        TemplateRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, TimeProvider time, CancellationToken ct)
    {
        var template = Template.Create(caller.TenantId, request.Name, request.Locale, request.Content, caller.Actor, time.GetUtcNow());
        db.Templates.Add(template);
        audit.Record(caller.TenantId, caller.Actor, "template.created", "template", template.Id, new { version = 1 });
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/templates/{template.Id}/versions/1", await ToResponseAsync(template, template.Latest, language, db, ct));
    }

    public static async Task<Ok<Page<TemplateSummary>>> ListTemplates(bool? published, int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var query = db.Templates.AsNoTracking().Include(t => t.Versions).AsSplitQuery().AsQueryable();
        if (published is { } p)
            query = query.Where(t => t.Versions.Any(v => v.Status == TemplateVersionStatus.Published) == p);
        return TypedResults.Ok(await query.PageByIdAsync(t => t.Id, limit, after,
            t => new TemplateSummary(t.Id, t.Name, t.Locale, Summary(t.Latest), t.Published?.Number, t.UpdatedAt), ct));
    }

    public static async Task<Ok<TemplateResponse>> GetTemplate(Guid id, FeedbackHubDbContext db, CancellationToken ct)
    {
        var t = await LoadAsync(db, id, tracking: false, ct);
        return TypedResults.Ok(new TemplateResponse(t.Id, t.Name, t.Locale, t.CreatedAt, t.UpdatedAt, t.Published?.Number,
            t.Versions.OrderBy(v => v.Number).Select(Summary).ToList()));
    }

    public static async Task<Ok<TemplateVersionResponse>> GetTemplateVersion(
        Guid id, int version, CurrentActor caller, FeedbackHubDbContext db, TenantLanguage language, CancellationToken ct)
    {
        var template = await LoadAsync(db, id, tracking: false, ct);
        return TypedResults.Ok(await ToResponseAsync(template, template.Version(version), language, db, ct));
    }

    public static async Task<Ok<TemplateVersionResponse>> SaveTemplateDraft(
        Guid id, TemplateRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, TimeProvider time, CancellationToken ct)
    {
        var template = await LoadAsync(db, id, tracking: true, ct);
        var before = template.Latest.Number;
        var draft = template.EditDraft(request.Name, request.Locale, request.Content, caller.Actor, time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, draft.Number == before ? "template.draft-saved" : "template.version-started", "template", template.Id, new { version = draft.Number });
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(await ToResponseAsync(template, draft, language, db, ct));
    }

    public static async Task<Ok<TemplateVersionResponse>> SubmitTemplateVersion(
        Guid id, int version, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, TimeProvider time, CancellationToken ct)
    {
        var template = await LoadAsync(db, id, tracking: true, ct);
        var v = template.Version(version);
        v.Submit(time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "template.submitted", "template", template.Id, new { version });
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(await ToResponseAsync(template, v, language, db, ct));
    }

    public static async Task<Ok<TemplateVersionResponse>> PublishTemplateVersion(
        Guid id, int version, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, TimeProvider time, CancellationToken ct)
    {
        var template = await LoadAsync(db, id, tracking: true, ct);
        var v = template.Version(version);
        var findings = await language.CheckAsync(db, caller.TenantId, v.Content.CandidateVisibleText(), ct);
        var blocking = findings.Where(f => f.Finding.Severity == Severity.Block).ToList();
        if (blocking.Count > 0)
        {
            throw new DomainException(DomainErrorKind.Invalid, "language-blocked",
                $"The template has {blocking.Count} blocking language finding(s); rewrite them before publishing.")
            {
                Extensions = new Dictionary<string, object?> { ["findings"] = FindingResponse.From(blocking) },
            };
        }

        var retiring = template.Published?.Number;
        template.Publish(version, caller.Actor, time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "template.published", "template", template.Id, new { version, retired = retiring, warnings = findings.Count });
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(await ToResponseAsync(template, v, language, db, ct));
    }

    public static async Task<Ok<TemplateVersionResponse>> RetireTemplateVersion(
        Guid id, int version, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, TimeProvider time, CancellationToken ct)
    {
        var template = await LoadAsync(db, id, tracking: true, ct);
        template.Retire(version, time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "template.retired", "template", template.Id, new { version });
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(await ToResponseAsync(template, template.Version(version), language, db, ct));
    }

    private static async Task<Template> LoadAsync(FeedbackHubDbContext db, Guid id, bool tracking, CancellationToken ct)
    {
        var query = db.Templates.Include(t => t.Versions).Where(t => t.Id == id);
        return await (tracking ? query : query.AsNoTracking()).SingleOrDefaultAsync(ct) ?? throw DomainException.NotFound("The template");
    }

    private static VersionSummary Summary(TemplateVersion v) =>
        new(v.Number, v.Status, v.AuthorName, v.UpdatedAt, v.SubmittedAt, v.PublishedAt, v.PublishedByName, v.RetiredAt);

    private static async Task<TemplateVersionResponse> ToResponseAsync(
        Template t, TemplateVersion v, TenantLanguage language, FeedbackHubDbContext db, CancellationToken ct) =>
        new(t.Id, t.Name, t.Locale, v.Number, v.Status, v.Content, v.AuthorName, v.UpdatedAt, v.PublishedAt, v.PublishedByName,
            FindingResponse.From(await language.CheckAsync(db, t.TenantId, v.Content.CandidateVisibleText(), ct)));
}
