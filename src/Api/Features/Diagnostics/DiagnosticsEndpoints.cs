using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Diagnostics;

public sealed record TestEmailRequest(string To);

public sealed record TestEmailResponse(Guid Id, [property: ApiValues(typeof(FeedbackHub.Domain.Email.TestEmailStatus))] string Status, DateTimeOffset RequestedAt, DateTimeOffset? SentAt, string? LastReply);

public static class DiagnosticsEndpoints
{
    public static IEndpointRouteBuilder MapDiagnosticsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/diagnostics").WithTags("Diagnostics").RequireAuthorization(Policies.Admin);
        group.MapPost("/test-email", SendTestEmail).WithName("SendTestEmail")
            .WithSummary("Send a test email through the whole delivery pipeline")
            .WithDescription("Role `admin`. Queues a short email to the given address via the outbox, RabbitMQ, the worker and SMTP. Answers 202; follow the Location to see when it was sent.")
            .WithIdempotency().ProducesAuthProblems().ProducesProblems(422);
        group.MapGet("/test-email/{id}", GetTestEmail).WithName("GetTestEmail")
            .WithSummary("See whether a test email was sent").WithDescription("Role `admin`.")
            .ProducesAuthProblems().ProducesProblems(404);
        return app;
    }

    public static async Task<Accepted<TestEmailResponse>> SendTestEmail(
        TestEmailRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var email = TestEmail.Request(caller.TenantId, request.To, now);
        db.TestEmails.Add(email);
        // The message and the audit event commit with the row, or none of them do.
        db.OutboxMessages.Add(OutboxMessage.Create(new SendTestEmail(email.Id, caller.TenantId), caller.TenantId, now));
        audit.Record(caller.TenantId, caller.Actor, AuditActions.TestEmailRequested, "test-email", email.Id);
        await db.SaveChangesAsync(ct);
        return TypedResults.Accepted($"/v1/diagnostics/test-email/{email.Id}", ToResponse(email));
    }

    public static async Task<Ok<TestEmailResponse>> GetTestEmail(Guid id, FeedbackHubDbContext db, CancellationToken ct)
    {
        var email = await db.TestEmails.AsNoTracking().SingleOrDefaultAsync(e => e.Id == id, ct)
            ?? throw DomainException.NotFound("The test email");
        return TypedResults.Ok(ToResponse(email));
    }

    private static TestEmailResponse ToResponse(TestEmail e) =>
        new(e.Id, PublicStatuses.OfTestEmail(e.Status).ToString().ToLowerInvariant(), e.CreatedAt, e.SentAt, e.LastReply);
}
