using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Applications;
using Microsoft.AspNetCore.Http.HttpResults;

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
        Guid id, RejectApplicationRequest? request, CurrentActor caller, ApplicationLifecycle applications, CancellationToken ct)
    {
        var rejection = await applications.RejectAsync(id, request?.RejectedAt, caller.TenantId, caller.Actor, ct);
        return TypedResults.Ok(new RejectionResponse(rejection.ApplicationId, rejection.RejectedAt, rejection.RequestUrl, rejection.ExpiresAt));
    }
}
