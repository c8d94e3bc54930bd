using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Candidates;

/// <summary>A candidate with the ids of its applications. Personal fields are null once erased (<c>erasedAt</c> set).</summary>
public sealed record CandidateLookupResponse(
    Guid Id, string ExternalId, string? FirstName, string? LastName, string? Email, string? Locale,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ErasedAt, IReadOnlyList<Guid> ApplicationIds);

/// <summary>
/// What an erasure did. <c>alreadyErased</c>: the candidate had been erased before (<c>erasedAt</c> is that first time);
/// <c>cleared</c> counts what this call removed, per kind (never values).
/// </summary>
public sealed record ErasureResponse(Guid CandidateId, DateTimeOffset ErasedAt, bool AlreadyErased, ErasureCounts Cleared);

public static class CandidateEndpoints
{
    public static IEndpointRouteBuilder MapCandidateEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/candidates").WithTags("Candidates");

        group.MapGet("/", FindCandidate).WithName("FindCandidate")
            .RequireAuthorization(Policies.CandidateReaders)
            .WithSummary("Find a candidate by the ATS's id")
            .WithDescription("""
                Roles `admin`, `integration`, `recruiter`, `legal`. `externalId` (required) is the ATS's candidate id, as sent in
                `candidate.externalId` of the upsert. Answers the candidate (FeedbackHub's `id`, needed to erase or export) with
                the ids of its applications; personal fields are null once erased. 404 when the tenant has no such candidate.
                """)
            .ProducesAuthProblems().ProducesProblems(404, 422);
        group.MapDelete("/{id}", EraseCandidate).WithName("EraseCandidate")
            .RequireAuthorization(Policies.CandidateErasers)
            .WithSummary("Erase a candidate's personal data")
            .WithDescription("""
                Roles `admin`, `integration`. `id` is FeedbackHub's candidate id (`candidate.id` in application answers, or
                `GET /v1/candidates?externalId=`). Removes the candidate's personal data from every table in one transaction:
                names, email and locale; request notes; free text of feedback; SMTP replies; the suppression entry of the address;
                stored idempotent answers that mention it. Cancels scheduled deliveries and queued invitations and revokes the
                candidate's links (they answer like unknown links). The ids and the ATS's `externalId` stay as a tombstone: a later
                upsert with that `externalId` changes nothing. The audit chain still verifies (it never held personal data).
                Answers 202 when the erasure is complete; nothing is sent afterwards, except an email whose SMTP send had already
                started (it may still arrive). Repeating it answers 202 with `alreadyErased: true`. 409 `legal-hold` while one of
                the candidate's applications is under legal hold. See docs/privacy.md.
                """)
            .ProducesAuthProblems().ProducesProblems(404, 409);
        group.MapGet("/{id}/export", ExportCandidate).WithName("ExportCandidate")
            .RequireAuthorization(Policies.CandidateExporters)
            .WithSummary("Export everything stored about a candidate (subject access request)")
            .WithDescription("""
                Roles `admin`, `integration`, `legal`. One JSON document (an attachment): the candidate; each application with
                its legal hold, feedback (current answers, approval, acknowledgements and its history of versions from the audit
                log), the candidate's request and note, the request links (dates only, never the token), the delivery with every
                SMTP attempt, the invitations; and every audit event about the candidate and those records, in chain order.
                Recorded in the audit log as `candidate.exported`.
                """)
            .WithResponseHeader("Content-Disposition", "`attachment; filename=\"candidate-{id}.json\"`: browsers save the export as a file.", StatusCodes.Status200OK)
            .ProducesAuthProblems().ProducesProblems(404);
        return app;
    }

    public static async Task<Ok<CandidateLookupResponse>> FindCandidate(string? externalId, FeedbackHubDbContext db, CancellationToken ct)
    {
        if (!ExternalIds.IsValid(externalId))
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The request is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["externalId"] = [ExternalIds.Rule] },
            };
        }

        var candidate = await db.Candidates.AsNoTracking().SingleOrDefaultAsync(c => c.ExternalId == externalId, ct)
            ?? throw DomainException.NotFound("The candidate");
        var applications = await db.Applications.AsNoTracking().Where(a => a.CandidateId == candidate.Id)
            .OrderBy(a => a.Id).Select(a => a.Id).ToListAsync(ct);
        var c = ApplicationEndpoints.ToResponse(candidate);
        return TypedResults.Ok(new CandidateLookupResponse(
            c.Id, c.ExternalId, c.FirstName, c.LastName, c.Email, c.Locale, candidate.CreatedAt, candidate.UpdatedAt, candidate.ErasedAt, applications));
    }

    public static async Task<Accepted<ErasureResponse>> EraseCandidate(
        Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var result = await CandidateErasure.EraseAsync(db, audit, caller.TenantId, id, caller.Actor, ErasureReason.Manual, time.GetUtcNow(), ct);
        return TypedResults.Accepted((string?)null, new ErasureResponse(result.CandidateId, result.ErasedAt, result.AlreadyErased, result.Cleared));
    }

    public static async Task<Ok<CandidateExport>> ExportCandidate(
        Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, HttpResponse response, CancellationToken ct)
    {
        var export = await CandidateExports.BuildAsync(db, caller.TenantId, id, time.GetUtcNow(), ct);
        audit.Record(caller.TenantId, caller.Actor, "candidate.exported", "candidate", id,
            new { applications = export.Applications.Count, auditEvents = export.AuditEvents.Count });
        await db.SaveChangesAsync(ct);
        response.Headers.ContentDisposition = $"attachment; filename=\"candidate-{id}.json\"";
        return TypedResults.Ok(export);
    }
}
