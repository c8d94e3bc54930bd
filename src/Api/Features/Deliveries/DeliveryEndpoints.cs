using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Deliveries;

public sealed record AttemptResponse(int Number, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, AttemptOutcome Outcome, string? Reply);

public sealed record DeliveryResponse(
    Guid Id, Guid ApplicationId, Guid FeedbackId, DeliveryStatus Status, DateTimeOffset ScheduledFor, DateTimeOffset? SentAt,
    string? LastReply, bool PossibleDuplicate, string MessageId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<AttemptResponse> Attempts);

public sealed record DeliverySummary(Guid Id, Guid ApplicationId, DeliveryStatus Status, DateTimeOffset ScheduledFor, DateTimeOffset? SentAt, int Attempts, bool PossibleDuplicate);

public static class DeliveryEndpoints
{
    public static IEndpointRouteBuilder MapDeliveryEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/deliveries").WithTags("Deliveries");
        group.MapGet("/", ListDeliveries).WithName("ListDeliveries").RequireAuthorization(Policies.DeliveryReaders)
            .WithSummary("List deliveries").WithDescription("Roles `admin`, `recruiter`, `legal`. Filter by `status` (scheduled, sending, sent, failed, cancelled).")
            .ProducesAuthProblems();
        group.MapGet("/{id}", GetDelivery).WithName("GetDelivery").RequireAuthorization(Policies.DeliveryReaders)
            .WithSummary("Get a delivery with every attempt and the SMTP replies").WithDescription("Roles `admin`, `recruiter`, `legal`.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPost("/{id}/cancel", CancelDelivery).WithName("CancelDelivery").RequireAuthorization(Policies.DeliveryOperators)
            .WithSummary("Cancel a scheduled delivery").WithDescription("Role `recruiter`. Only while it is scheduled (409 otherwise).")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        group.MapPost("/{id}/retry", RetryDelivery).WithName("RetryDelivery").RequireAuthorization(Policies.DeliveryOperators)
            .WithSummary("Retry a failed delivery now").WithDescription("Role `recruiter`. Only a failed delivery (409 otherwise); the retry budget starts over. A suppressed address fails again until it is fixed.")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        return app;
    }

    public static async Task<Ok<Page<DeliverySummary>>> ListDeliveries([ApiValues(typeof(DeliveryStatus))] string? status, int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var wanted = QueryValues.Enum<DeliveryStatus>(status, "status") is { } w ? PublicStatuses.FromDelivery(w) : (OutboundStatus?)null;
        var take = Cursor.Limit(limit);
        var afterId = Cursor.DecodeGuid(after);
        var query = db.Deliveries.AsNoTracking();
        if (wanted is { } s)
            query = query.Where(d => d.Status == s);
        if (afterId is { } a)
            query = query.Where(d => d.Id.CompareTo(a) > 0);
        var rows = await query.OrderBy(d => d.Id).Take(take + 1)
            .Select(d => new { d.Id, d.ApplicationId, d.Status, d.DueAt, d.SentAt, Attempts = d.Attempts.Count, d.PossibleDuplicate }).ToListAsync(ct);
        return TypedResults.Ok(Cursor.ToPage(rows, take,
            d => new DeliverySummary(d.Id, d.ApplicationId, PublicStatuses.OfDelivery(d.Status), d.DueAt, d.SentAt, d.Attempts, d.PossibleDuplicate), d => d.Id.ToString()));
    }

    public static async Task<Ok<DeliveryResponse>> GetDelivery(Guid id, FeedbackHubDbContext db, CancellationToken ct) =>
        TypedResults.Ok(ToResponse(await db.Deliveries.AsNoTracking().Include(d => d.Attempts).SingleOrDefaultAsync(d => d.Id == id, ct)
            ?? throw DomainException.NotFound("The delivery")));

    public static async Task<Ok<DeliveryResponse>> CancelDelivery(Guid id, CurrentActor caller, FeedbackEmails emails, CancellationToken ct) =>
        TypedResults.Ok(ToResponse(await emails.CancelAsync(id, caller.TenantId, caller.Actor, ct)));

    public static async Task<Ok<DeliveryResponse>> RetryDelivery(Guid id, CurrentActor caller, FeedbackEmails emails, CancellationToken ct) =>
        TypedResults.Ok(ToResponse(await emails.RetryAsync(id, caller.TenantId, caller.Actor, ct)));

    private static DeliveryResponse ToResponse(Delivery d) =>
        new(d.Id, d.ApplicationId, d.FeedbackId, PublicStatuses.OfDelivery(d.Status), d.DueAt, d.SentAt, d.LastReply, d.PossibleDuplicate, d.MessageId, d.CreatedAt, d.UpdatedAt,
            d.Attempts.OrderBy(a => a.Number).Select(a => new AttemptResponse(a.Number, a.StartedAt, a.FinishedAt, a.Outcome, a.Reply)).ToList());
}
