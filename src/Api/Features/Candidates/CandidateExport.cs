using System.Text.Json;
using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Features.Language;
using FeedbackHub.Domain;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Candidates;

/// <summary>
/// Everything FeedbackHub stores about one candidate, for a subject access request. Version 1 of the format
/// (docs/privacy.md); request-link tokens are never stored and never exported.
/// </summary>
public sealed record CandidateExport(
    int FormatVersion, DateTimeOffset ExportedAt, ExportedCandidate Candidate, IReadOnlyList<ExportedApplication> Applications,
    IReadOnlyList<ExportedAuditEvent> AuditEvents);

/// <summary>The candidate; names, email and locale are null once erased.</summary>
public sealed record ExportedCandidate(
    Guid Id, string ExternalId, string? FirstName, string? LastName, string? Email, string? Locale,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ErasedAt);

public sealed record ExportedApplication(
    Guid Id, string ExternalId, string PositionTitle, string? StageReached, [property: ApiValues(typeof(FeedbackHub.Domain.Model.ApplicationStatus))] string Status, DateTimeOffset? RejectedAt,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, ExportedLegalHold LegalHold, ExportedFeedback? Feedback,
    ExportedRequest? Request, IReadOnlyList<ExportedLink> Links, ExportedDelivery? Delivery, IReadOnlyList<ExportedInvitation> Invitations);

public sealed record ExportedLegalHold(bool OnHold, DateTimeOffset? SetAt, Guid? SetById, string? Reason);

/// <summary>
/// The feedback as it is now, its approval, the version a reviewer last sent back (<c>lastChangeRequest</c>: its
/// answers and the reviewer's comment), and <c>history</c>: one entry per recorded change (the <c>feedback.*</c>
/// audit events: started, saved, submitted, changes requested, approved), oldest first.
/// </summary>
public sealed record ExportedFeedback(
    Guid Id, Guid TemplateId, int TemplateVersion, [property: ApiValues(typeof(FeedbackStatus))] string Status, int Version, IReadOnlyList<Answer> Answers,
    IReadOnlyList<FindingResponse> Findings, IReadOnlyList<Acknowledgement> Acknowledgements, string AuthorName, string? ReviewComment,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? SubmittedAt, ExportedApproval? Approval,
    IReadOnlyList<ExportedAuditEvent> History, ChangeRequest? LastChangeRequest);

public sealed record ExportedApproval(DateTimeOffset At, Guid? ById, string? ByName, bool Automatic);

public sealed record ExportedRequest(Guid Id, DateTimeOffset RequestedAt, string? Note);

/// <summary>A personal request link: its dates only (the token exists only in the rejection answer and the invitation email).</summary>
public sealed record ExportedLink(Guid Id, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt);

public sealed record ExportedDelivery(
    Guid Id, [property: ApiValues(typeof(DeliveryStatus))] string Status, DateTimeOffset ScheduledFor, DateTimeOffset? SentAt, string MessageId, string? LastReply, bool PossibleDuplicate,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<ExportedAttempt> Attempts);

public sealed record ExportedAttempt(int Number, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, [property: ApiValues(typeof(AttemptOutcome))] string Outcome, string? Reply);

public sealed record ExportedInvitation(Guid Id, [property: ApiValues(typeof(InvitationStatus))] string Status, DateTimeOffset CreatedAt, DateTimeOffset? SentAt, string? LastReply);

/// <summary>An audit event (its data holds ids, states and counts only); <c>sequence</c> is null until it is sealed.</summary>
public sealed record ExportedAuditEvent(
    long? Sequence, Guid Id, DateTimeOffset OccurredAt, string Action, string SubjectType, Guid? SubjectId, Guid? ActorId, string ActorName,
    JsonElement Data);

internal static class CandidateExports
{
    /// <summary>Reads the export under the tenant's scope (another tenant's candidate is not found).</summary>
    public static async Task<CandidateExport> BuildAsync(FeedbackHubDbContext db, Guid tenantId, Guid candidateId, DateTimeOffset now, CancellationToken ct)
    {
        var c = await db.Candidates.AsNoTracking().SingleOrDefaultAsync(x => x.TenantId == tenantId && x.Id == candidateId, ct)
            ?? throw DomainException.NotFound("The candidate");
        var applications = await db.Applications.AsNoTracking().Where(a => a.TenantId == tenantId && a.CandidateId == candidateId)
            .OrderBy(a => a.CreatedAt).ThenBy(a => a.Id).ToListAsync(ct);
        var ids = applications.Select(a => a.Id).ToList();
        var feedback = await db.Feedback.AsNoTracking().Where(f => f.TenantId == tenantId && ids.Contains(f.ApplicationId)).ToListAsync(ct);
        var requests = await db.FeedbackRequests.AsNoTracking().Where(r => r.TenantId == tenantId && ids.Contains(r.ApplicationId)).ToListAsync(ct);
        var links = await db.FeedbackRequestLinks.AsNoTracking().Where(l => l.TenantId == tenantId && ids.Contains(l.ApplicationId))
            .OrderBy(l => l.CreatedAt).ToListAsync(ct);
        var deliveries = await db.Deliveries.AsNoTracking().Include(d => d.Attempts)
            .Where(d => d.TenantId == tenantId && ids.Contains(d.ApplicationId)).ToListAsync(ct);
        var invitations = await db.Invitations.AsNoTracking().Where(i => i.TenantId == tenantId && ids.Contains(i.ApplicationId))
            .OrderBy(i => i.CreatedAt).ToListAsync(ct);

        var subjects = new HashSet<Guid>(ids) { candidateId };
        subjects.UnionWith(feedback.Select(f => f.Id));
        subjects.UnionWith(requests.Select(r => r.Id));
        subjects.UnionWith(deliveries.Select(d => d.Id));
        subjects.UnionWith(invitations.Select(i => i.Id));
        var subjectList = subjects.ToList();
        var events = (await db.AuditEvents.AsNoTracking()
                .Where(e => e.TenantId == tenantId && e.SubjectId != null && subjectList.Contains(e.SubjectId.Value))
                .OrderBy(e => e.Position).ToListAsync(ct))
            .Select(e => new ExportedAuditEvent(e.Sequence, e.Id, e.OccurredAt, e.Action, e.SubjectType, e.SubjectId, e.ActorId, e.ActorName, Parse(e.Data)))
            .ToList();

        var exported = applications.Select(a =>
        {
            var f = feedback.SingleOrDefault(x => x.ApplicationId == a.Id);
            var r = requests.SingleOrDefault(x => x.ApplicationId == a.Id);
            var d = deliveries.SingleOrDefault(x => x.ApplicationId == a.Id);
            return new ExportedApplication(
                a.Id, a.ExternalId, a.PositionTitle, a.StageReached, ApplicationEndpoints.StatusName(a.Status), a.RejectedAt, a.CreatedAt, a.UpdatedAt,
                new ExportedLegalHold(a.LegalHold, a.LegalHoldSetAt, a.LegalHoldSetById, a.LegalHoldReason),
                f is null ? null : new ExportedFeedback(
                    f.Id, f.TemplateId, f.TemplateVersion, Name(f.Status), f.Version, f.Answers, FindingResponse.From(f.Findings), f.Acknowledgements,
                    f.AuthorName, f.ReviewComment, f.CreatedAt, f.UpdatedAt, f.SubmittedAt,
                    f.ApprovedAt is { } at ? new ExportedApproval(at, f.ApprovedById, f.ApprovedByName, f.AutoApproved) : null,
                    events.Where(e => e.SubjectId == f.Id && e.Action.StartsWith("feedback.", StringComparison.Ordinal)).ToList(),
                    f.LastChangeRequest),
                r is null ? null : new ExportedRequest(r.Id, r.RequestedAt, r.Note),
                links.Where(l => l.ApplicationId == a.Id).Select(l => new ExportedLink(l.Id, l.CreatedAt, l.ExpiresAt, l.RevokedAt)).ToList(),
                d is null ? null : new ExportedDelivery(
                    d.Id, Name(PublicStatuses.OfDelivery(d.Status)), d.DueAt, d.SentAt, d.MessageId, d.LastReply, d.PossibleDuplicate, d.CreatedAt, d.UpdatedAt,
                    d.Attempts.OrderBy(x => x.Number).Select(x => new ExportedAttempt(x.Number, x.StartedAt, x.FinishedAt, Name(x.Outcome), x.Reply)).ToList()),
                invitations.Where(i => i.ApplicationId == a.Id).Select(i => new ExportedInvitation(i.Id, Name(PublicStatuses.OfInvitation(i.Status)), i.CreatedAt, i.SentAt, i.LastReply)).ToList());
        }).ToList();

        var p = ApplicationEndpoints.ToResponse(c);
        return new CandidateExport(
            1, now, new ExportedCandidate(c.Id, c.ExternalId, p.FirstName, p.LastName, p.Email, p.Locale, c.CreatedAt, c.UpdatedAt, c.ErasedAt),
            exported, events);
    }

    private static string Name<T>(T value)
        where T : struct, Enum => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    private static JsonElement Parse(string data)
    {
        using var doc = JsonDocument.Parse(data);
        return doc.RootElement.Clone();
    }
}
