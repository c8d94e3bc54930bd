using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Model;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FeedbackHub.Api.Features.Candidates;

/// <summary><c>onHold</c> sets (true) or releases (false) the hold; <c>reason</c>: at most 200 characters, e.g. a case reference, never personal data.</summary>
public sealed record LegalHoldRequest(bool OnHold, [FreeText] string? Reason = null);

/// <summary>An application's legal hold: who set it (API key id) and when; all null when not on hold.</summary>
public sealed record LegalHoldResponse(Guid ApplicationId, bool OnHold, DateTimeOffset? SetAt, Guid? SetById, string? Reason);

public static class LegalHoldEndpoints
{
    public static IEndpointRouteBuilder MapLegalHoldEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/v1/applications/{id}/legal-hold", SetLegalHold).WithTags("Applications").WithName("SetLegalHold")
            .RequireAuthorization(Policies.LegalHoldEditors)
            .WithSummary("Set or release an application's legal hold")
            .WithDescription("""
                Roles `admin`, `legal`. While an application is on hold, its candidate is erased neither by retention nor by
                `DELETE /v1/candidates/{id}` (409 `legal-hold`). `reason` (optional, at most 200 characters) is kept on the
                application, not in the audit log; write a case reference, never personal data. Setting the state it already
                has changes nothing (a new `reason` replaces the old one). Audited as `application.legal-hold-set` or
                `application.legal-hold-released`. A hold on an erased candidate's application keeps only what erasure left.
                """)
            .WithRequestExample(new LegalHoldRequest(true, "Case 2026-114 (employment tribunal)"))
            .ProducesAuthProblems().ProducesProblems(404, 422);
        return app;
    }

    public static async Task<Ok<LegalHoldResponse>> SetLegalHold(
        Guid id, LegalHoldRequest request, CurrentActor caller, ApplicationLifecycle applications, CancellationToken ct)
    {
        var application = await applications.SetLegalHoldAsync(id, request.OnHold, request.Reason, caller.TenantId, caller.Actor, ct);
        return TypedResults.Ok(new LegalHoldResponse(application.Id, application.LegalHold, application.LegalHoldSetAt, application.LegalHoldSetById, application.LegalHoldReason));
    }
}
