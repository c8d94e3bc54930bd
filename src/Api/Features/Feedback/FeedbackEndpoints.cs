using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Domain.Templates;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Feedback;

public sealed record StartFeedbackRequest(Guid ApplicationId, Guid TemplateId, int? TemplateVersion = null);

public sealed record SaveAnswersRequest(IReadOnlyList<Answer> Answers);

public sealed record SubmitFeedbackRequest(IReadOnlyList<AcknowledgementRequest>? Acknowledgements = null);

/// <summary>What the authors should change (required: the body may be omitted, but then the answer is 422 naming <c>comment</c>).</summary>
public sealed record RequestChangesRequest([FreeText] string? Comment = null);

public sealed record FeedbackResponse(
    Guid Id, Guid ApplicationId, Guid TemplateId, int TemplateVersion, FeedbackStatus Status, int Version,
    IReadOnlyList<Answer> Answers, IReadOnlyList<FindingResponse> Findings, IReadOnlyList<Acknowledgement> Acknowledgements,
    string AuthorName, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? SubmittedAt,
    DateTimeOffset? ApprovedAt, string? ApprovedByName, bool AutoApproved, string? ReviewComment);

public sealed record FeedbackSummary(Guid Id, Guid ApplicationId, FeedbackStatus Status, string AuthorName, DateTimeOffset UpdatedAt);

/// <summary>Exactly the email the candidate would receive.</summary>
public sealed record EmailPreviewResponse(string Subject, string Text, string Html);

public static class FeedbackEndpoints
{
    public static IEndpointRouteBuilder MapFeedbackEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/feedback").WithTags("Feedback");

        group.MapPost("/", StartFeedback).WithName("StartFeedback").RequireAuthorization(Policies.FeedbackAuthors)
            .WithSummary("Start feedback for an application from a published template")
            .WithDescription("Roles `interviewer`, `recruiter`. One feedback per application (409 `feedback-exists`). `templateVersion` defaults to the published version.")
            .WithIdempotency().WithETag().ProducesAuthProblems().ProducesProblems(404, 409, 422);
        group.MapGet("/", ListFeedback).WithName("ListFeedback").RequireAuthorization(Policies.FeedbackReaders)
            .WithSummary("List feedback").WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`. Filter by `status` (draft, submitted, approved, changesRequested) or `applicationId`. Reviewers use `status=submitted` as their queue.")
            .ProducesAuthProblems();
        group.MapGet("/{id}", GetFeedback).WithName("GetFeedback").RequireAuthorization(Policies.FeedbackReaders)
            .WithSummary("Get feedback (with its ETag)").WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`.")
            .WithETag().ProducesAuthProblems().ProducesProblems(404);
        group.MapPut("/{id}/answers", SaveFeedbackAnswers).WithName("SaveFeedbackAnswers").RequireAuthorization(Policies.FeedbackAuthors)
            .WithSummary("Save answers; returns the language findings")
            .WithDescription("Roles `interviewer`, `recruiter`. Send `If-Match` with the ETag you read: a stale write answers 412. Phrases must be pre-approved phrases of the chosen band; comments are checked for risky language on every save with the full engine, rules and sentence model (findings carry the path of their field; model findings have `ruleId` `model.<category>`, a `confidence` and the nearest labelled `example`).")
            .WithRequestExample(new SaveAnswersRequest([
                new Answer("problem-solving", "meets", ["Talking through alternatives earlier would have made your reasoning easier to follow."], "You solved the second exercise with a clear, tested approach."),
                new Answer("code-quality", "strong", ["You kept functions small and focused."]),
            ]))
            .WithIfMatch().ProducesAuthProblems().ProducesProblems(404, 409, 412, 422);
        group.MapPost("/{id}/submit", SubmitFeedback).WithName("SubmitFeedback").RequireAuthorization(Policies.FeedbackAuthors)
            .WithSummary("Submit for approval")
            .WithDescription("Roles `interviewer`, `recruiter`. Refused (422) while any criterion is unanswered (`feedback-incomplete`), any `block` finding remains (`language-blocked`), or a `warn` finding is not acknowledged with a reason (`acknowledgement-required`). If the tenant allows it, feedback built only from template wording with no findings is approved automatically.")
            .WithIfMatch().ProducesAuthProblems().ProducesProblems(404, 409, 412, 422);
        group.MapPost("/{id}/approve", ApproveFeedback).WithName("ApproveFeedback").RequireAuthorization(Policies.FeedbackReviewers)
            .WithSummary("Approve submitted feedback")
            .WithDescription("Roles `recruiter`, `legal`, and never someone who wrote or edited it (403 `own-feedback`).")
            .WithIfMatch().ProducesAuthProblems().ProducesProblems(404, 409, 412);
        group.MapPost("/{id}/request-changes", RequestFeedbackChanges).WithName("RequestFeedbackChanges").RequireAuthorization(Policies.FeedbackReviewers)
            .WithSummary("Send submitted feedback back with a comment")
            .WithDescription("Roles `recruiter`, `legal`, not an author. The authors edit and submit again.")
            .WithIfMatch().ProducesAuthProblems().ProducesProblems(404, 409, 412, 422);
        group.MapGet("/{id}/preview", PreviewFeedbackEmail).WithName("PreviewFeedbackEmail").RequireAuthorization(Policies.FeedbackReaders)
            .WithSummary("Preview the email the candidate would receive")
            .WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`. Rendered by the same renderer the worker sends with. A merge field without a value (e.g. {{application.rejected_on}} before the rejection) answers 422 `missing-merge-value`.")
            .ProducesAuthProblems().ProducesProblems(404, 422);
        return app;
    }

    public static async Task<Created<FeedbackResponse>> StartFeedback(
        StartFeedbackRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, HttpResponse response, CancellationToken ct)
    {
        var application = await db.Applications.AsNoTracking().SingleOrDefaultAsync(a => a.Id == request.ApplicationId, ct)
            ?? throw DomainException.NotFound("The application");
        var template = await db.Templates.AsNoTracking().Include(t => t.Versions).SingleOrDefaultAsync(t => t.Id == request.TemplateId, ct)
            ?? throw DomainException.NotFound("The template");
        var version = request.TemplateVersion is { } n ? template.Version(n)
            : template.Published ?? throw DomainException.Invalid("template-not-published", "The template has no published version yet.");
        if (await db.Feedback.Where(f => f.ApplicationId == application.Id).Select(f => (Guid?)f.Id).SingleOrDefaultAsync(ct) is { } existing)
            throw FeedbackExists(existing);
        await EnsureCandidateNotErasedAsync(db, application.Id, ct);

        var feedback = Domain.Authoring.Feedback.Start(caller.TenantId, application.Id, version, caller.Actor, time.GetUtcNow());
        db.Feedback.Add(feedback);
        audit.Record(caller.TenantId, caller.Actor, "feedback.started", "feedback", feedback.Id,
            new { applicationId = application.Id, templateId = template.Id, templateVersion = version.Number });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is Npgsql.PostgresException { SqlState: "23505" })
        {
            // Someone else started it at the same moment: point to theirs.
            db.ChangeTracker.Clear();
            throw FeedbackExists(await db.Feedback.Where(f => f.ApplicationId == application.Id).Select(f => f.Id).SingleAsync(ct));
        }

        SetETag(response, feedback);
        return TypedResults.Created($"/v1/feedback/{feedback.Id}", ToResponse(feedback));
    }

    public static async Task<Ok<Page<FeedbackSummary>>> ListFeedback(
        [ApiValues(typeof(FeedbackStatus))] string? status, Guid? applicationId, int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var wanted = QueryValues.Enum<FeedbackStatus>(status, "status");
        var take = Cursor.Limit(limit);
        var afterId = Cursor.DecodeGuid(after);
        var query = db.Feedback.AsNoTracking();
        if (wanted is { } s)
            query = query.Where(f => f.Status == s);
        if (applicationId is { } a)
            query = query.Where(f => f.ApplicationId == a);
        return TypedResults.Ok(await query.PageByIdAsync(f => f.Id, limit, after,
            f => new FeedbackSummary(f.Id, f.ApplicationId, f.Status, f.AuthorName, f.UpdatedAt), ct));
    }

    public static async Task<Ok<FeedbackResponse>> GetFeedback(Guid id, FeedbackHubDbContext db, HttpResponse response, CancellationToken ct)
    {
        var feedback = await LoadAsync(db, id, ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> SaveFeedbackAnswers(
        Guid id, SaveAnswersRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language,
        TimeProvider time, HttpRequest httpRequest, HttpResponse response, PublishedTemplateContent templates, CancellationToken ct)
    {
        var feedback = await LoadWritableAsync(db, id, ct);
        feedback.CheckVersion(IfMatch(httpRequest));
        var template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        // The full engine (rules and sentence model) on every save, so submit decides on its findings; sentences the
        // live check already saw are not embedded again (cache), which keeps the save fast.
        var checker = await language.CheckerAsync(db, caller.TenantId, LanguageEngine.Full, ct);
        feedback.Save(request.Answers, template, caller.Actor, time.GetUtcNow(), fields => language.Check(checker, fields, "answers"));
        audit.Record(caller.TenantId, caller.Actor, "feedback.saved", "feedback", feedback.Id,
            new { version = feedback.Version, findings = feedback.Findings.Count, blocking = feedback.Findings.Count(f => f.Finding.Severity == Severity.Block) });
        await db.SaveChangesAsync(ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> SubmitFeedback(
        Guid id, SubmitFeedbackRequest? request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<Requests.PublicLinkOptions> options, HttpRequest httpRequest, HttpResponse response, PublishedTemplateContent templates, CancellationToken ct)
    {
        var feedback = await LoadWritableAsync(db, id, ct);
        feedback.CheckVersion(IfMatch(httpRequest));
        var template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        var settings = await db.Tenants.Where(t => t.Id == caller.TenantId).Select(t => t.Settings).SingleAsync(ct);
        var auto = feedback.Submit(request?.Acknowledgements ?? [], template, caller.Actor, time.GetUtcNow(), settings.AutoApproveTemplateOnly);
        audit.Record(caller.TenantId, caller.Actor, "feedback.submitted", "feedback", feedback.Id,
            new { version = feedback.Version, acknowledged = feedback.Acknowledgements.Count });
        if (auto)
            audit.Record(caller.TenantId, Actor.System, "feedback.approved", "feedback", feedback.Id, new { automatic = true });
        await SaveAndScheduleAsync(db, audit, feedback, auto, options.Value, time.GetUtcNow(), ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> ApproveFeedback(
        Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<Requests.PublicLinkOptions> options, HttpRequest httpRequest, HttpResponse response, CancellationToken ct)
    {
        var feedback = await LoadAsync(db, id, ct);
        feedback.CheckVersion(IfMatch(httpRequest));
        feedback.Approve(caller.Actor, time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "feedback.approved", "feedback", feedback.Id, new { automatic = false });
        await SaveAndScheduleAsync(db, audit, feedback, approved: true, options.Value, time.GetUtcNow(), ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> RequestFeedbackChanges(
        Guid id, RequestChangesRequest? request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time,
        HttpRequest httpRequest, HttpResponse response, CancellationToken ct)
    {
        var feedback = await LoadWritableAsync(db, id, ct);
        feedback.CheckVersion(IfMatch(httpRequest));
        feedback.RequestChanges(caller.Actor, request?.Comment, time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "feedback.changes-requested", "feedback", feedback.Id);
        await db.SaveChangesAsync(ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<EmailPreviewResponse>> PreviewFeedbackEmail(Guid id, CurrentActor caller, FeedbackHubDbContext db, PublishedTemplateContent templates, CancellationToken ct)
    {
        var feedback = await LoadAsync(db, id, ct);
        var template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        var recipient = await DeliveryScheduling.RecipientAsync(db, caller.TenantId, feedback.ApplicationId, ct);
        var email = FeedbackEmailRenderer.Render(template, feedback.Answers, recipient.MergeValues, recipient.Footer);
        return TypedResults.Ok(new EmailPreviewResponse(email.Subject, email.Text, email.Html));
    }

    /// <summary>Saves; approved feedback whose candidate already asked gets its delivery scheduled in the same transaction.</summary>
    private static async Task SaveAndScheduleAsync(
        FeedbackHubDbContext db, AuditLog audit, Domain.Authoring.Feedback feedback, bool approved, Requests.PublicLinkOptions options, DateTimeOffset now, CancellationToken ct)
    {
        if (!approved)
        {
            await db.SaveChangesAsync(ct);
            return;
        }

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var application = await DeliveryScheduling.LockApplicationAsync(db, feedback.ApplicationId, ct);
        await DeliveryScheduling.SaveAndTryScheduleAsync(db, audit, application, feedback.TenantId, options.MessageIdDomain, now, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>409 <c>feedback-exists</c> with the existing feedback's id (<c>feedbackId</c>) to continue it.</summary>
    private static DomainException FeedbackExists(Guid existing) =>
        new(DomainErrorKind.Conflict, "feedback-exists", "This application already has feedback; continue it instead (see feedbackId).")
        {
            Extensions = new Dictionary<string, object?> { ["feedbackId"] = existing },
        };

    private static async Task<Domain.Authoring.Feedback> LoadAsync(FeedbackHubDbContext db, Guid id, CancellationToken ct) =>
        await db.Feedback.SingleOrDefaultAsync(f => f.Id == id, ct) ?? throw DomainException.NotFound("The feedback");

    /// <summary>Loads feedback for an operation that writes free text about the candidate: refused once the candidate is erased.</summary>
    private static async Task<Domain.Authoring.Feedback> LoadWritableAsync(FeedbackHubDbContext db, Guid id, CancellationToken ct)
    {
        var feedback = await LoadAsync(db, id, ct);
        await EnsureCandidateNotErasedAsync(db, feedback.ApplicationId, ct);
        return feedback;
    }

    /// <summary>
    /// 409 <c>candidate-erased</c>: nothing more is written about an erased candidate. A write racing the erasure
    /// fails on the feedback's version (the erasure moves it).
    /// </summary>
    private static async Task EnsureCandidateNotErasedAsync(FeedbackHubDbContext db, Guid applicationId, CancellationToken ct)
    {
        var erasedAt = await (
            from a in db.Applications
            join c in db.Candidates on a.CandidateId equals c.Id
            where a.Id == applicationId
            select c.ErasedAt).SingleOrDefaultAsync(ct);
        if (erasedAt is not null)
            throw DomainException.Conflict("candidate-erased", "The candidate's personal data was erased; no more feedback is written about them.");
    }

    /// <summary>
    /// The versions If-Match names (RFC 9110 13.1.1): null when it is absent or <c>*</c>; otherwise the versions of
    /// its strong entity tags, compared character by character (<c>"01"</c> is not <c>"1"</c>; a weak tag never matches).
    /// </summary>
    private static int[]? IfMatch(HttpRequest request)
    {
        var header = request.Headers.IfMatch;
        if (header.Count == 0)
            return null;
        if (!Microsoft.Net.Http.Headers.EntityTagHeaderValue.TryParseList(header, out var tags))
            throw new DomainException(DomainErrorKind.PreconditionFailed, "stale-version", "If-Match is not a list of entity tags; send the ETag from your last read.");
        if (tags.Any(t => t.Equals(Microsoft.Net.Http.Headers.EntityTagHeaderValue.Any)))
            return null;
        return tags
            .Where(t => !t.IsWeak)
            .Select(t => t.Tag.AsSpan(1, t.Tag.Length - 2).ToString())
            .Where(v => int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                && n.ToString(System.Globalization.CultureInfo.InvariantCulture) == v)
            .Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();
    }

    private static void SetETag(HttpResponse response, Domain.Authoring.Feedback feedback) =>
        response.Headers.ETag = $"\"{feedback.Version}\"";

    private static FeedbackResponse ToResponse(Domain.Authoring.Feedback f) =>
        new(f.Id, f.ApplicationId, f.TemplateId, f.TemplateVersion, f.Status, f.Version, f.Answers, FindingResponse.From(f.Findings), f.Acknowledgements,
            f.AuthorName, f.CreatedAt, f.UpdatedAt, f.SubmittedAt, f.ApprovedAt, f.ApprovedByName, f.AutoApproved, f.ReviewComment);
}
