using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Api.Features.Requests;

public sealed record CandidateRequestBody([FreeText] string? Note = null);

/// <summary>What the candidate sees through their link.</summary>
public sealed record CandidateRequestView(
    string Company, string Position, [property: ApiValues("open", "requested", "sent", "closed")] string Status, DateTimeOffset CanRequestUntil, DateTimeOffset? RequestedAt, DateTimeOffset? AnswerBy,
    DateTimeOffset? SentAt, string WhatHappensNext);

public static class PublicRequestEndpoints
{
    public const string RateLimitedPathPrefix = "/v1/public/";

    public static IEndpointRouteBuilder MapPublicRequestEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/public/feedback-requests").WithTags("Candidate requests").AllowAnonymous();
        group.MapGet("/{token}", GetCandidateRequest).WithName("GetCandidateRequest")
            .WithSummary("What the candidate's link shows")
            .WithDescription("No key: the token is the credential. Unknown, expired, revoked and erased links all answer the same 404. Rate limited per token and per client address (429 with Retry-After).")
            .ProducesProblems(404, 429);
        group.MapPost("/{token}", SubmitCandidateRequest).WithName("SubmitCandidateRequest")
            .WithSummary("The candidate asks for feedback")
            .WithDescription("No key. Optional `note` (at most 1000 characters). Answers 202; asking again changes nothing and answers the same. Once the feedback is approved, the email goes out after the tenant's cooling-off period.")
            .ProducesProblems(400, 404, 422, 429);
        app.MapGet("/r/{token}", ShowCandidatePage).AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/r/{token}", PostCandidatePage).AllowAnonymous().ExcludeFromDescription().DisableAntiforgery();
        return app;
    }

    public static async Task<Ok<CandidateRequestView>> GetCandidateRequest(string token, FeedbackHubDbContext db, TimeProvider time, CancellationToken ct) =>
        TypedResults.Ok(await ViewAsync(db, await ResolveAsync(db, token, time.GetUtcNow(), ct), ct));

    public static async Task<Accepted<CandidateRequestView>> SubmitCandidateRequest(
        string token, CandidateRequestBody? body, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, IOptions<PublicLinkOptions> options, CancellationToken ct)
    {
        var link = await ResolveAsync(db, token, time.GetUtcNow(), ct);
        await RequestAsync(db, audit, link, body?.Note, time.GetUtcNow(), options.Value, ct);
        return TypedResults.Accepted((string?)null, await ViewAsync(db, link, ct));
    }

    public static async Task<IResult> ShowCandidatePage(string token, HttpContext context, FeedbackHubDbContext db, TimeProvider time, CancellationToken ct)
    {
        var link = await TryResolveAsync(db, token, time.GetUtcNow(), ct);
        return CandidatePage.Render(context, link is null ? null : await ViewAsync(db, link, ct), token);
    }

    public static async Task<IResult> PostCandidatePage(
        string token, HttpContext context, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, IOptions<PublicLinkOptions> options, CancellationToken ct)
    {
        var link = await TryResolveAsync(db, token, time.GetUtcNow(), ct);
        if (link is null)
            return CandidatePage.Render(context, null, token);
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(ct) : null;
        // A form sends a textarea's line breaks as CRLF while its maxlength counted each as one character: count them so too.
        var note = form?["note"].ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        // A note the candidate must fix comes back in the form, next to the field; anything else redirects (POST-redirect-GET).
        if (FeedbackRequest.NoteError(note) is { } error)
            return CandidatePage.Render(context, await ViewAsync(db, link, ct), token, note, error);
        await RequestAsync(db, audit, link, note, time.GetUtcNow(), options.Value, ct);
        return CandidatePage.SeeOther(context, token);
    }

    private static async Task RequestAsync(FeedbackHubDbContext db, AuditLog audit, ResolvedLink link, string? note, DateTimeOffset now, PublicLinkOptions options, CancellationToken ct)
    {
        note = FeedbackRequest.ValidNote(note); // a bad note is refused even when the candidate already asked
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var application = await DeliveryScheduling.LockApplicationAsync(db, link.ApplicationId, ct);
        // The link was resolved before the lock: an erasure (or a reopening) may have finished in between.
        if (await TryResolveAsync(db, link.Token, now, ct) is null)
            throw LinkNotValid();
        if (await db.FeedbackRequests.IgnoreQueryFilters().AnyAsync(r => r.TenantId == link.TenantId && r.ApplicationId == link.ApplicationId, ct))
            return; // asking twice is one request
        var request = FeedbackRequest.Create(link.TenantId, link.ApplicationId, note, now);
        db.FeedbackRequests.Add(request);
        audit.Record(link.TenantId, new Actor(null, "candidate"), "feedback.requested", "application", link.ApplicationId, new { requestId = request.Id, withNote = request.Note is not null });
        await DeliveryScheduling.SaveAndTryScheduleAsync(db, audit, application, link.TenantId, options.MessageIdDomain, now, ct);
        await tx.CommitAsync(ct);
    }

    private sealed record ResolvedLink(string Token, Guid TenantId, Guid ApplicationId, DateTimeOffset ExpiresAt, string Company, string Position, int AnswerByDays);

    /// <summary>One indexed query whatever the token, so unknown, expired and erased links take about the same time.</summary>
    private static async Task<ResolvedLink?> TryResolveAsync(FeedbackHubDbContext db, string token, DateTimeOffset now, CancellationToken ct)
    {
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
            : new ResolvedLink(token, row.TenantId, row.ApplicationId, row.ExpiresAt, row.Company, row.PositionTitle, row.Settings.AnswerByDays);
    }

    private static async Task<ResolvedLink> ResolveAsync(FeedbackHubDbContext db, string token, DateTimeOffset now, CancellationToken ct) =>
        await TryResolveAsync(db, token, now, ct) ?? throw LinkNotValid();

    private static DomainException LinkNotValid() =>
        new(DomainErrorKind.NotFound, "link-not-valid", "This link is not valid. It may have expired; please contact the company that gave it to you.");

    private static async Task<CandidateRequestView> ViewAsync(FeedbackHubDbContext db, ResolvedLink link, CancellationToken ct)
    {
        var request = await db.FeedbackRequests.IgnoreQueryFilters().AsNoTracking().SingleOrDefaultAsync(r => r.ApplicationId == link.ApplicationId, ct);
        var delivery = await db.Deliveries.IgnoreQueryFilters().AsNoTracking().Where(d => d.ApplicationId == link.ApplicationId)
            .Select(d => new { d.Status, d.SentAt }).SingleOrDefaultAsync(ct);
        var answerBy = request?.RequestedAt.AddDays(link.AnswerByDays);
        var (status, next) = (request, delivery is null ? (DeliveryStatus?)null : PublicStatuses.OfDelivery(delivery.Status)) switch
        {
            (null, _) => ("open", $"You can ask {link.Company} for feedback on your application until {link.ExpiresAt:d MMMM yyyy}. Your feedback is written from a structured review and checked by a second person before it is sent to you by email."),
            (_, DeliveryStatus.Sent) => ("sent", $"Your feedback was sent by email on {delivery!.SentAt:d MMMM yyyy}. If you cannot find it, please check your spam folder."),
            (_, DeliveryStatus.Cancelled) => ("closed", $"{link.Company} is no longer sending feedback for this application."),
            _ => ("requested", $"Thank you. {link.Company} has your request and aims to send your feedback by email by {answerBy:d MMMM yyyy}."),
        };
        return new CandidateRequestView(link.Company, link.Position, status, link.ExpiresAt, request?.RequestedAt, answerBy, delivery?.SentAt, next);
    }
}
