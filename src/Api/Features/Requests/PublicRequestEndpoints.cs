using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

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

    public static async Task<Ok<CandidateRequestView>> GetCandidateRequest(string token, CandidateRequests requests, FeedbackHubDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await ViewAsync(db, await requests.ResolveAsync(token, ct), ct));

    public static async Task<Accepted<CandidateRequestView>> SubmitCandidateRequest(
        string token, CandidateRequestBody? body, CandidateRequests requests, FeedbackHubDbContext db, CancellationToken ct)
    {
        var link = await requests.ResolveAsync(token, ct);
        await requests.RequestAsync(link, body?.Note, ct);
        return TypedResults.Accepted((string?)null, await ViewAsync(db, link, ct));
    }

    public static async Task<IResult> ShowCandidatePage(string token, HttpContext context, CandidateRequests requests, FeedbackHubDbContext db, CancellationToken ct)
    {
        var link = await requests.TryResolveAsync(token, ct);
        return CandidatePage.Render(context, link is null ? null : await ViewAsync(db, link, ct), token);
    }

    public static async Task<IResult> PostCandidatePage(
        string token, HttpContext context, CandidateRequests requests, FeedbackHubDbContext db, CancellationToken ct)
    {
        var link = await requests.TryResolveAsync(token, ct);
        if (link is null)
            return CandidatePage.Render(context, null, token);
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(ct) : null;
        // A form sends a textarea's line breaks as CRLF while its maxlength counted each as one character: count them so too.
        var note = form?["note"].ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        // A note the candidate must fix comes back in the form, next to the field; anything else redirects (POST-redirect-GET).
        if (FeedbackRequest.NoteError(note) is { } error)
            return CandidatePage.Render(context, await ViewAsync(db, link, ct), token, note, error);
        await requests.RequestAsync(link, note, ct);
        return CandidatePage.SeeOther(context, token);
    }

    private static async Task<CandidateRequestView> ViewAsync(FeedbackHubDbContext db, CandidateLink link, CancellationToken ct)
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
