using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Requests;

public sealed record RejectApplicationRequest(DateTimeOffset? RejectedAt = null);

/// <summary>The candidate's personal link: hand it to the candidate (it is shown only here).</summary>
public sealed record RejectionResponse(Guid ApplicationId, DateTimeOffset RejectedAt, string RequestUrl, DateTimeOffset ExpiresAt);

public static class RejectionEndpoints
{
    public static IEndpointRouteBuilder MapRejectionEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/applications/{id}/rejection", RejectApplication).WithTags("Applications").WithName("RejectApplication")
            .RequireAuthorization(Policies.ApplicationWriters)
            .WithSummary("Record the rejection and get the candidate's feedback-request link")
            .WithDescription("Roles `integration`, `recruiter`. `rejectedAt` defaults to now, cannot be in the future and not more than 365 days ago. If the tenant enables invitations, FeedbackHub also emails the candidate a short invitation with a link of its own. Answers the candidate's personal link (256 random bits, stored only as a hash, valid until the end of the tenant's request window). Calling it again issues a new link and the old one stops working. Not replayed by Idempotency-Key: the link is shown once.")
            .ProducesAuthProblems().ProducesProblems(404, 409, 422);
        return app;
    }

    public static async Task<Ok<RejectionResponse>> RejectApplication(
        Guid id, RejectApplicationRequest? request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<PublicLinkOptions> links, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var rejectedAt = request?.RejectedAt ?? now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var application = await db.Applications.SingleOrDefaultAsync(a => a.Id == id, ct) ?? throw DomainException.NotFound("The application");
        var locked = await DeliveryScheduling.LockApplicationAsync(db, id, ct);
        await db.Entry(application).ReloadAsync(ct);
        var settings = await db.Tenants.Where(t => t.Id == caller.TenantId).Select(t => t.Settings).SingleAsync(ct);
        application.Reject(rejectedAt, now);
        foreach (var old in await db.FeedbackRequestLinks.Where(l => l.ApplicationId == id && l.RevokedAt == null).ToListAsync(ct))
            old.Revoke(now);
        var expiresAt = application.RejectedAt!.Value.AddDays(settings.RequestWindowDays);
        var (link, token) = FeedbackRequestLink.Issue(caller.TenantId, id, expiresAt, now);
        db.FeedbackRequestLinks.Add(link);
        audit.Record(caller.TenantId, caller.Actor, "application.rejected", "application", id, new { linkId = link.Id, expiresAt });
        if (settings.InvitationsEnabled
            && !await db.Invitations.AnyAsync(i => i.ApplicationId == id && (i.Status == OutboundStatus.Scheduled || i.Status == OutboundStatus.Sending || i.Status == OutboundStatus.Sent), ct))
        {
            var invitation = Invitation.Queue(locked, caller.TenantId, now);
            db.Invitations.Add(invitation);
            db.OutboxMessages.Add(Domain.Outbox.OutboxMessage.Create(new Messages.SendInvitation(invitation.Id, caller.TenantId), caller.TenantId, now));
            audit.Record(caller.TenantId, caller.Actor, AuditActions.InvitationQueued, "invitation", invitation.Id, new { applicationId = id });
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.Ok(new RejectionResponse(id, application.RejectedAt!.Value, $"{links.Value.PublicBaseUrl.TrimEnd('/')}/r/{token}", expiresAt));
    }
}
