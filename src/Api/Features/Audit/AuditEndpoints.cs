using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Audit;

public sealed record AuditEventResponse(
    Guid Id, long Sequence, DateTimeOffset OccurredAt, Guid? ActorId, string ActorName, string Action,
    string SubjectType, Guid? SubjectId, string Data, string Hash, string PreviousHash);

/// <summary>Result of recomputing the tenant's hash chain.</summary>
public sealed record AuditVerification(bool Valid, long CheckedEvents, long HeadSequence, AuditBreakResponse? FirstBreak);

public sealed record AuditBreakResponse(Guid? EventId, long Sequence, string Reason, string Detail);

public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/audit").WithTags("Audit").RequireAuthorization(Policies.AuditReaders);
        group.MapGet("/", ListAuditEvents).WithName("ListAuditEvents")
            .WithSummary("List the tenant's audit events")
            .WithDescription("Roles `admin`, `legal`. Oldest first, cursor paged. Events hold ids, never personal data.")
            .ProducesAuthProblems();
        group.MapGet("/verify", VerifyAuditChain).WithName("VerifyAuditChain")
            .WithSummary("Verify the audit hash chain")
            .WithDescription("Roles `admin`, `legal`. Recomputes every event's hash and reports the first broken link, if any. Reads one consistent snapshot, so writes running meanwhile never look like a break.")
            .ProducesAuthProblems();
        return app;
    }

    public static async Task<Ok<Page<AuditEventResponse>>> ListAuditEvents(int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var take = Cursor.Limit(limit);
        var afterSequence = Cursor.DecodeLong(after) ?? 0;
        var rows = await db.AuditEvents.AsNoTracking()
            .Where(e => e.Sequence > afterSequence)
            .OrderBy(e => e.Sequence).Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Cursor.ToPage(rows, take, ToResponse, e => e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    public static async Task<Ok<AuditVerification>> VerifyAuditChain(CurrentActor caller, FeedbackHubDbContext db, CancellationToken ct)
    {
        // The head and the events are read in one snapshot: writers committing meanwhile (events and head move together)
        // are either wholly in it or wholly out of it, so a chain that is whole is never reported broken.
        await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await db.Database.ExecuteSqlAsync($"SET TRANSACTION READ ONLY", ct);
        var tenantId = caller.TenantId;
        var head = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId)
            .Select(t => new { t.AuditHeadSequence, t.AuditHeadHash }).SingleAsync(ct);
        var verifier = new AuditChainVerifier();
        AuditBreak? broken = null;
        await foreach (var e in db.AuditEvents.AsNoTracking().OrderBy(e => e.Sequence).AsAsyncEnumerable().WithCancellation(ct))
        {
            broken = verifier.Check(e);
            if (broken is not null)
                break;
        }

        broken ??= verifier.Complete(head.AuditHeadSequence, head.AuditHeadHash);
        return TypedResults.Ok(new AuditVerification(
            broken is null, verifier.Checked, head.AuditHeadSequence,
            broken is null ? null : new AuditBreakResponse(broken.EventId, broken.Sequence, broken.Reason, broken.Detail)));
    }

    private static AuditEventResponse ToResponse(AuditEvent e) =>
        new(e.Id, e.Sequence, e.OccurredAt, e.ActorId, e.ActorName, e.Action, e.SubjectType, e.SubjectId, e.Data,
            Convert.ToHexStringLower(e.Hash), Convert.ToHexStringLower(e.PreviousHash));
}
