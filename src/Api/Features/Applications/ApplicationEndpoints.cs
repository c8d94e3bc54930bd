using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace FeedbackHub.Api.Features.Applications;

/// <summary>The candidate as the ATS knows them. <c>lastName</c> and <c>locale</c> are optional.</summary>
public sealed record UpsertCandidateRequest(string ExternalId, string FirstName, string Email, string? LastName = null, string? Locale = null);

/// <summary>
/// The application as the ATS knows it. <c>status</c>: <c>active</c>, <c>withdrawn</c> or <c>hired</c>; omitted keeps the
/// current status (a new application starts active).
/// </summary>
public sealed record UpsertApplicationRequest(UpsertCandidateRequest Candidate, string PositionTitle, string? StageReached = null,
    [property: ApiValues("active", "withdrawn", "hired")] string? Status = null);

/// <summary>The candidate of an application. Personal fields are null once the candidate was erased.</summary>
public sealed record CandidateResponse(Guid Id, string ExternalId, string? FirstName, string? LastName, string? Email, string? Locale);

/// <summary>
/// An application as listed and as answered by the upsert. <c>status</c>: active, rejected, withdrawn, hired.
/// <c>legalHold</c>: the application is exempt from erasure (see <c>PUT /v1/applications/{id}/legal-hold</c>).
/// </summary>
public sealed record ApplicationResponse(
    Guid Id, string ExternalId, CandidateResponse Candidate, string PositionTitle, string? StageReached, [property: ApiValues(typeof(ApplicationStatus))] string Status,
    DateTimeOffset? RejectedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, bool LegalHold);

/// <summary>
/// One application with what happened after the rejection. <c>feedback</c>, <c>request</c> and <c>delivery</c> are
/// null until the authoring, request and delivery operations exist and have something to show.
/// </summary>
public sealed record ApplicationDetailResponse(
    Guid Id, string ExternalId, CandidateResponse Candidate, string PositionTitle, string? StageReached, [property: ApiValues(typeof(ApplicationStatus))] string Status,
    DateTimeOffset? RejectedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, bool LegalHold,
    ApplicationFeedbackSummary? Feedback, ApplicationRequestSummary? Request, ApplicationDeliverySummary? Delivery);

/// <summary>The application's feedback (filled by the authoring operations).</summary>
public sealed record ApplicationFeedbackSummary(Guid Id, FeedbackStatus Status);

/// <summary>The candidate's feedback request (filled by the request operations).</summary>
public sealed record ApplicationRequestSummary(Guid Id, [property: ApiValues("requested")] string Status);

/// <summary>The feedback email's delivery (filled by the delivery pipeline).</summary>
public sealed record ApplicationDeliverySummary(Guid Id, DeliveryStatus Status);

public static partial class ApplicationEndpoints
{
    /// <summary>The statuses as the API spells them (camelCase names of <see cref="ApplicationStatus"/>).</summary>
    private static readonly string[] AllowedStatusFilters = [.. Enum.GetNames<ApplicationStatus>().Select(JsonNamingPolicy.CamelCase.ConvertName)];

    public static IEndpointRouteBuilder MapApplicationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/applications").WithTags("Applications");

        // The ATS's id has its own path: `/{id}` is FeedbackHub's UUID everywhere else, so one path never means two ids.
        group.MapPut("/by-external-id/{externalId}", UpsertApplication).WithName("UpsertApplication")
            .RequireAuthorization(Policies.ApplicationWriters)
            .WithSummary("Create or update an application and its candidate by the ATS's ids")
            .WithDescription("""
                Roles `integration`, `recruiter`. The path's `externalId` is the ATS's application id (1 to 200 of
                `A-Z a-z 0-9 . _ : -`), not FeedbackHub's UUID.
                Creates the application (201, `Location`) or replaces its position title, stage and, when given, status (200);
                the candidate is created or updated by `candidate.externalId`. Sending the same body again changes nothing
                (same answer, same `updatedAt`). An application's candidate cannot change (409 `candidate-mismatch`).
                `status` accepts active, withdrawn, hired; rejecting has its own operation (422 `use-rejection-operation`).
                Setting a rejected application back to active (or withdrawn, hired) reopens it: `rejectedAt` is cleared, a
                scheduled feedback email and a queued invitation are cancelled and the candidate's links stop working. While
                one of those emails is being handed to the mail server it cannot be stopped: the answer is then 409
                `delivery-in-progress` and nothing changes; repeat the request after a few seconds. A successful reopening
                means no email goes out.
                """)
            .ProducesAuthProblems().ProducesProblems(409, 422);
        group.MapGet("/", ListApplications).WithName("ListApplications")
            .RequireAuthorization(Policies.ApplicationReaders)
            .WithSummary("List the tenant's applications")
            .WithDescription("""
                Roles `integration`, `recruiter`, `legal`, `admin`. Ordered by `updatedAt` (oldest first), cursor paged, so an
                ATS can sync with `updatedSince`. Filters: `status` (active, rejected, withdrawn, hired), `position`
                (case-insensitive part of the title), `updatedSince` (ISO-8601 with an offset, e.g. `2026-01-31T09:00:00Z`).
                """)
            .ProducesAuthProblems().ProducesProblems(422);
        group.MapGet("/{id}", GetApplication).WithName("GetApplication")
            .RequireAuthorization(Policies.ApplicationViewers)
            .WithSummary("Get one application")
            .WithDescription("""
                Roles `integration`, `recruiter`, `legal`, `admin`, `interviewer`. The application with its candidate (personal
                fields null once erased). `feedback`, `request` and `delivery` are null until feedback is written, the candidate
                asks for it and it is sent (those operations arrive with their issues).
                """)
            .ProducesAuthProblems().ProducesProblems(404);
        return app;
    }

    public static async Task<Results<Created<ApplicationResponse>, Ok<ApplicationResponse>>> UpsertApplication(
        [Description("The ATS's id of the application (its externalId), not FeedbackHub's id.")] string externalId,
        UpsertApplicationRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time,
        CancellationToken ct)
    {
        var candidate = request.Candidate is { } c ? new CandidateDetails(c.ExternalId, c.FirstName, c.LastName, c.Email, c.Locale).Normalized() : null;
        var details = new ApplicationDetails(request.PositionTitle, request.StageReached, ParseStatus(request.Status)).Normalized();
        Application.ValidateUpsert(externalId, candidate, details);

        (Application Application, Candidate Candidate, bool Created) result;
        try
        {
            result = await UpsertAsync(externalId, candidate!, details, caller, db, audit, time, ct);
        }
        catch (DbUpdateException e) when (IsUniqueViolation(e) || IsErasedMeanwhile(e))
        {
            // A concurrent request created the same application or candidate first; now it exists: update it.
            // Or the candidate was erased meanwhile (the database refused its details): the retry finds it erased.
            db.DiscardPendingChanges();
            try
            {
                result = await UpsertAsync(externalId, candidate!, details, caller, db, audit, time, ct);
            }
            catch (DbUpdateException again) when (IsUniqueViolation(again))
            {
                throw DomainException.Conflict("concurrent-update", "The application was changed concurrently; send the request again.");
            }
        }

        var response = ToResponse(result.Application, result.Candidate);
        return result.Created
            ? TypedResults.Created($"/v1/applications/{response.Id}", response)
            : TypedResults.Ok(response);
    }

    public static async Task<Ok<Page<ApplicationResponse>>> ListApplications(
        [ApiValues(typeof(ApplicationStatus))] string? status, string? position, string? updatedSince, int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var take = Cursor.Limit(limit);
        var cursor = Cursor.DecodeTimeAndGuid(after);
        var query = db.Applications.AsNoTracking();
        if (status is not null)
        {
            var wanted = ParseStatusFilter(status);
            query = query.Where(a => a.Status == wanted);
        }

        if (position is not null)
        {
            if (position.Length is 0 or > 200)
                throw Invalid("position", "Must have 1 to 200 characters.");
            var pattern = "%" + LikeSpecial().Replace(position, @"\$0") + "%";
            query = query.Where(a => EF.Functions.ILike(a.PositionTitle, pattern, @"\"));
        }

        if (updatedSince is not null)
        {
            var since = ParseTime(updatedSince);
            query = query.Where(a => a.UpdatedAt >= since);
        }

        if (cursor is { } afterRow)
        {
            var (at, id) = afterRow;
            query = query.Where(a => a.UpdatedAt > at || (a.UpdatedAt == at && a.Id.CompareTo(id) > 0));
        }

        var rows = await (
                from a in query
                join c in db.Candidates.AsNoTracking() on a.CandidateId equals c.Id
                orderby a.UpdatedAt, a.Id
                select new { a, c })
            .Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Cursor.ToPage(rows, take, r => ToResponse(r.a, r.c), r => Cursor.TimeAndGuidPosition(r.a.UpdatedAt, r.a.Id)));
    }

    public static async Task<Ok<ApplicationDetailResponse>> GetApplication(Guid id, FeedbackHubDbContext db, CancellationToken ct)
    {
        // One round trip: the application, its candidate and the state of its feedback, request and delivery.
        var row = await (
                from a in db.Applications.AsNoTracking()
                join c in db.Candidates.AsNoTracking() on a.CandidateId equals c.Id
                where a.Id == id
                select new
                {
                    a,
                    c,
                    Feedback = db.Feedback.Where(f => f.ApplicationId == a.Id).Select(f => new { f.Id, f.Status }).FirstOrDefault(),
                    RequestId = db.FeedbackRequests.Where(q => q.ApplicationId == a.Id).Select(q => (Guid?)q.Id).FirstOrDefault(),
                    Delivery = db.Deliveries.Where(d => d.ApplicationId == a.Id).Select(d => new { d.Id, d.Status }).FirstOrDefault(),
                })
            .SingleOrDefaultAsync(ct)
            ?? throw DomainException.NotFound("The application");
        var r = ToResponse(row.a, row.c);
        return TypedResults.Ok(new ApplicationDetailResponse(
            r.Id, r.ExternalId, r.Candidate, r.PositionTitle, r.StageReached, r.Status, r.RejectedAt, r.CreatedAt, r.UpdatedAt, r.LegalHold,
            Feedback: row.Feedback is { } f ? new ApplicationFeedbackSummary(f.Id, f.Status) : null,
            Request: row.RequestId is { } requestId ? new ApplicationRequestSummary(requestId, "requested") : null,
            Delivery: row.Delivery is { } d ? new ApplicationDeliverySummary(d.Id, PublicStatuses.OfDelivery(d.Status)) : null));
    }

    private static async Task<(Application Application, Candidate Candidate, bool Created)> UpsertAsync(
        string externalId, CandidateDetails candidateDetails, ApplicationDetails details, CurrentActor caller, FeedbackHubDbContext db,
        AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var tenantId = caller.TenantId;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var application = await db.Applications.SingleOrDefaultAsync(a => a.ExternalId == externalId, ct);
        var candidate = await db.Candidates.SingleOrDefaultAsync(c => c.ExternalId == candidateDetails.ExternalId, ct);
        if (application is not null && application.CandidateId != candidate?.Id)
            throw Application.CandidateMismatch();

        // An upsert may reopen the application, and then what its rejection scheduled must not go out: it takes the locks
        // every writer of the application's delivery state takes (the candidate's row first, as erasure does), and reads
        // both again under them.
        LockedApplication? locked = null;
        if (application is not null)
        {
            locked = await DeliveryScheduling.LockCandidateAndApplicationAsync(db, application.CandidateId, application.Id, ct);
            await db.Entry(application).ReloadAsync(ct);
            await db.Entry(candidate!).ReloadAsync(ct);
        }

        // Audit data: ids, states and the NAMES of changed fields; never names, emails or other values.
        var candidateChanged = false;
        if (candidate is null)
        {
            candidate = Candidate.Create(tenantId, candidateDetails, now);
            db.Candidates.Add(candidate);
            audit.Record(tenantId, caller.Actor, "candidate.created", "candidate", candidate.Id);
        }
        else
        {
            var changed = candidate.ApplyUpsert(candidateDetails, now);
            if (changed.Count > 0)
            {
                candidateChanged = true;
                audit.Record(tenantId, caller.Actor, "candidate.updated", "candidate", candidate.Id, new { fields = changed });
            }
        }

        var created = application is null;
        if (application is null)
        {
            application = Application.Create(tenantId, externalId, candidate.Id, details, now);
            db.Applications.Add(application);
            audit.Record(tenantId, caller.Actor, "application.created", "application", application.Id,
                new { candidateId = candidate.Id, status = StatusName(application.Status) });
        }
        else
        {
            var result = application.ApplyUpsert(candidate.Id, details, now);
            if (result.Changed)
            {
                audit.Record(tenantId, caller.Actor, "application.updated", "application", application.Id,
                    new { fields = result.ChangedFields, status = StatusName(application.Status), reopened = result.Reopened });
            }

            if (result.Reopened)
                await StopWhatTheRejectionStartedAsync(db, audit, locked!, caller, now, ct);
            else if (candidateChanged)
                application.Touch(now); // its candidate changed: list consumers syncing by updatedSince see it again
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return (application, candidate, created);
    }

    /// <summary>
    /// The ATS moved the candidate on: nothing scheduled may go out, and the request links stop working. An email being
    /// sent right now cannot be stopped, so the reopening is refused (409 <c>delivery-in-progress</c>, nothing changed)
    /// rather than answered as if it had been: a successful reopening guarantees that no email goes out.
    /// </summary>
    private static async Task StopWhatTheRejectionStartedAsync(
        FeedbackHubDbContext db, AuditLog audit, LockedApplication locked, CurrentActor caller, DateTimeOffset now, CancellationToken ct)
    {
        var id = locked.ApplicationId;
        var deliveries = await db.Deliveries.Where(d => d.ApplicationId == id).ToListAsync(ct);
        var invitations = await db.Invitations.Where(i => i.ApplicationId == id).ToListAsync(ct);
        if (deliveries.Any(d => d.Status == OutboundStatus.Sending) || invitations.Any(i => i.Status == OutboundStatus.Sending))
            throw DeliveryInProgress();

        foreach (var delivery in deliveries.Where(d => d.Status == OutboundStatus.Scheduled))
        {
            delivery.Cancel(locked, now);
            audit.Record(caller.TenantId, caller.Actor, AuditActions.DeliveryCancelled, "delivery", delivery.Id, new { reason = "application-reopened" });
        }

        foreach (var invitation in invitations.Where(i => i.Status == OutboundStatus.Scheduled))
        {
            invitation.Cancel(locked, now);
            audit.Record(caller.TenantId, caller.Actor, AuditActions.InvitationCancelled, "invitation", invitation.Id, new { reason = "application-reopened" });
        }

        foreach (var link in await db.FeedbackRequestLinks.Where(l => l.ApplicationId == id && l.RevokedAt == null).ToListAsync(ct))
            link.Revoke(now);
    }

    /// <summary>409 <c>delivery-in-progress</c>: retryable; once the email's send has ended the same request succeeds.</summary>
    private static DomainException DeliveryInProgress() =>
        DomainException.Conflict("delivery-in-progress",
            "An email to this candidate is being handed to the mail server right now and cannot be stopped; nothing was changed. Send the request again in a few seconds.");

    private static bool IsUniqueViolation(DbUpdateException e) =>
        e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    private static bool IsErasedMeanwhile(DbUpdateException e) =>
        e.InnerException is PostgresException { SqlState: PostgresErrorCodes.CheckViolation, ConstraintName: "ck_candidates_erased_holds_no_personal_data" };

    private static ApplicationStatus? ParseStatus(string? status) =>
        status switch
        {
            null => null,
            "active" => ApplicationStatus.Active,
            "withdrawn" => ApplicationStatus.Withdrawn,
            "hired" => ApplicationStatus.Hired,
            // Refused by the model with its own problem type (use-rejection-operation).
            "rejected" => ApplicationStatus.Rejected,
            _ => throw Invalid("status", "Must be one of: active, withdrawn, hired."),
        };

    private static ApplicationStatus ParseStatusFilter(string status) =>
        AllowedStatusFilters.Contains(status, StringComparer.Ordinal)
            ? Enum.Parse<ApplicationStatus>(status, ignoreCase: true)
            : throw Invalid("status", $"Must be one of: {string.Join(", ", AllowedStatusFilters)}.");

    private static DateTimeOffset ParseTime(string value)
    {
        if (!OffsetAtEnd().IsMatch(value)
            || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            throw Invalid("updatedSince",
                "Must be an ISO-8601 time with an offset, e.g. 2026-01-31T09:00:00Z or 2026-01-31T10:00:00%2B01:00 (URL-encode '+').");
        }

        return parsed.ToUniversalTime();
    }

    internal static string StatusName(ApplicationStatus status) => status.ToString().ToLowerInvariant();

    private static ApplicationResponse ToResponse(Application a, Candidate c) =>
        new(a.Id, a.ExternalId, ToResponse(c), a.PositionTitle, a.StageReached, StatusName(a.Status), a.RejectedAt, a.CreatedAt, a.UpdatedAt, a.LegalHold);

    /// <summary>An erased candidate keeps its ids only.</summary>
    internal static CandidateResponse ToResponse(Candidate c) =>
        c.IsErased
            ? new(c.Id, c.ExternalId, null, null, null, null)
            : new(c.Id, c.ExternalId, c.FirstName, c.LastName, c.Email, c.Locale);

    private static DomainException Invalid(string field, string message) =>
        new(DomainErrorKind.Invalid, "validation", "The request is not valid.")
        {
            Errors = new Dictionary<string, string[]> { [field] = [message] },
        };

    [GeneratedRegex(@"[\\%_]")]
    private static partial Regex LikeSpecial();

    [GeneratedRegex(@"T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|z|[+-]\d{2}:\d{2})\z")]
    private static partial Regex OffsetAtEnd();
}
