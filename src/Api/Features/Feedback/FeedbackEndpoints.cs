using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
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
    DateTimeOffset? ApprovedAt, string? ApprovedByName, bool AutoApproved, string? ReviewComment, ChangeRequestResponse? LastChangeRequest);

/// <summary>
/// The version a reviewer last sent back: its number, when and by whom, their comment, the answers as they were, and
/// <c>changes</c>: per criterion what differs in the current answers (band before and after, phrases added and removed,
/// the comment as unchanged, added and removed segments; empty when nothing changed).
/// </summary>
public sealed record ChangeRequestResponse(
    int Version, DateTimeOffset RequestedAt, string RequestedByName, string Comment, IReadOnlyList<Answer> Answers, IReadOnlyList<CriterionChange> Changes)
{
    public static ChangeRequestResponse? From(Domain.Authoring.Feedback feedback) =>
        feedback.LastChangeRequest is not { } r ? null
            : new(r.Version, r.At, r.ByName, r.Comment, r.Answers, AnswerChanges.Compare(r.Answers, feedback.Answers));
}

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
            .WithSummary("Get feedback (with its ETag)")
            .WithDescription("Roles `admin`, `recruiter`, `interviewer`, `legal`. After a reviewer requested changes, `lastChangeRequest` holds the version they sent back (its answers, their comment, who and when) and `changes`: what differs in the current answers, per criterion (band, phrases added and removed, the comment word by word). Null until changes are requested.")
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
        StartFeedbackRequest request, CurrentActor caller, FeedbackAuthoring authoring, HttpResponse response, CancellationToken ct)
    {
        var feedback = await authoring.StartAsync(request.ApplicationId, request.TemplateId, request.TemplateVersion, caller.TenantId, caller.Actor, ct);
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

    public static async Task<Ok<FeedbackResponse>> GetFeedback(Guid id, FeedbackAuthoring authoring, HttpResponse response, CancellationToken ct)
    {
        var feedback = await authoring.GetAsync(id, ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> SaveFeedbackAnswers(
        Guid id, SaveAnswersRequest request, CurrentActor caller, FeedbackAuthoring authoring, HttpRequest httpRequest, HttpResponse response, CancellationToken ct)
    {
        var feedback = await authoring.SaveAnswersAsync(id, IfMatch(httpRequest), request.Answers, caller.TenantId, caller.Actor, ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> SubmitFeedback(
        Guid id, SubmitFeedbackRequest? request, CurrentActor caller, FeedbackAuthoring authoring, HttpRequest httpRequest, HttpResponse response, CancellationToken ct)
    {
        var feedback = await authoring.SubmitAsync(id, IfMatch(httpRequest), request?.Acknowledgements ?? [], caller.TenantId, caller.Actor, ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> ApproveFeedback(
        Guid id, CurrentActor caller, FeedbackAuthoring authoring, HttpRequest httpRequest, HttpResponse response, CancellationToken ct)
    {
        var feedback = await authoring.ApproveAsync(id, IfMatch(httpRequest), caller.TenantId, caller.Actor, ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<FeedbackResponse>> RequestFeedbackChanges(
        Guid id, RequestChangesRequest? request, CurrentActor caller, FeedbackAuthoring authoring, HttpRequest httpRequest, HttpResponse response, CancellationToken ct)
    {
        var feedback = await authoring.RequestChangesAsync(id, IfMatch(httpRequest), request?.Comment, caller.TenantId, caller.Actor, ct);
        SetETag(response, feedback);
        return TypedResults.Ok(ToResponse(feedback));
    }

    public static async Task<Ok<EmailPreviewResponse>> PreviewFeedbackEmail(Guid id, CurrentActor caller, FeedbackAuthoring authoring, CancellationToken ct)
    {
        var email = await authoring.PreviewAsync(id, caller.TenantId, ct);
        return TypedResults.Ok(new EmailPreviewResponse(email.Subject, email.Text, email.Html));
    }

    /// <summary>
    /// The versions If-Match names (RFC 9110 13.1.1): none (any version) when it is absent or <c>*</c>; otherwise the
    /// versions of its strong entity tags, compared character by character (<c>"01"</c> is not <c>"1"</c>; a weak tag
    /// never matches). An unreadable header is refused (412) by the use case where it compares versions.
    /// </summary>
    private static ExpectedVersion IfMatch(HttpRequest request)
    {
        var header = request.Headers.IfMatch;
        if (header.Count == 0)
            return ExpectedVersion.Any;
        if (!Microsoft.Net.Http.Headers.EntityTagHeaderValue.TryParseList(header, out var tags))
            return new ExpectedVersion(null, "If-Match is not a list of entity tags; send the ETag from your last read.");
        if (tags.Any(t => t.Equals(Microsoft.Net.Http.Headers.EntityTagHeaderValue.Any)))
            return ExpectedVersion.Any;
        return new ExpectedVersion(tags
            .Where(t => !t.IsWeak)
            .Select(t => t.Tag.AsSpan(1, t.Tag.Length - 2).ToString())
            .Where(v => int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                && n.ToString(System.Globalization.CultureInfo.InvariantCulture) == v)
            .Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture))
            .ToArray());
    }

    private static void SetETag(HttpResponse response, Domain.Authoring.Feedback feedback) =>
        response.Headers.ETag = $"\"{feedback.Version}\"";

    private static FeedbackResponse ToResponse(Domain.Authoring.Feedback f) =>
        new(f.Id, f.ApplicationId, f.TemplateId, f.TemplateVersion, f.Status, f.Version, f.Answers, FindingResponse.From(f.Findings), f.Acknowledgements,
            f.AuthorName, f.CreatedAt, f.UpdatedAt, f.SubmittedAt, f.ApprovedAt, f.ApprovedByName, f.AutoApproved, f.ReviewComment,
            ChangeRequestResponse.From(f));
}
