using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

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
        UpsertApplicationRequest request, CurrentActor caller, ApplicationLifecycle applications, CancellationToken ct)
    {
        var candidate = request.Candidate is { } c ? new CandidateDetails(c.ExternalId, c.FirstName, c.LastName, c.Email, c.Locale) : null;
        var details = new ApplicationDetails(request.PositionTitle, request.StageReached, ParseStatus(request.Status));
        var result = await applications.UpsertAsync(externalId, candidate, details, caller.TenantId, caller.Actor, ct);
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

    /// <summary>
    /// One round trip: the application, its candidate and its feedback, request and delivery, each joined on its unique
    /// application_id index. (A FirstOrDefault of an object per subquery made EF number every feedback row and delivery
    /// of the tenant with ROW_NUMBER on each request: cost grew with the tenant's data.) Compiled once: the hottest read
    /// skips EF's per-call expression building, parameter extraction and query-cache lookup. The tenant filter still
    /// applies (it reads the context it runs on).
    /// </summary>
    private static readonly Func<FeedbackHubDbContext, Guid, CancellationToken, Task<ApplicationRow?>> ApplicationById =
        EF.CompileAsyncQuery((FeedbackHubDbContext db, Guid id, CancellationToken ct) => (
                from a in db.Applications.AsNoTracking()
                join c in db.Candidates.AsNoTracking() on a.CandidateId equals c.Id
                where a.Id == id
                from f in db.Feedback.Where(f => f.ApplicationId == a.Id).DefaultIfEmpty()
                from q in db.FeedbackRequests.Where(q => q.ApplicationId == a.Id).DefaultIfEmpty()
                from d in db.Deliveries.Where(d => d.ApplicationId == a.Id).DefaultIfEmpty()
                select new ApplicationRow(a, c, (Guid?)f.Id, (FeedbackStatus?)f.Status, (Guid?)q.Id, (Guid?)d.Id, (OutboundStatus?)d.Status))
            .SingleOrDefault());

    private sealed record ApplicationRow(
        Application A, Candidate C, Guid? FeedbackId, FeedbackStatus? FeedbackStatus, Guid? RequestId, Guid? DeliveryId, OutboundStatus? DeliveryStatus);

    public static async Task<Ok<ApplicationDetailResponse>> GetApplication(Guid id, FeedbackHubDbContext db, CancellationToken ct)
    {
        var row = await ApplicationById(db, id, ct) ?? throw DomainException.NotFound("The application");
        var r = ToResponse(row.A, row.C);
        return TypedResults.Ok(new ApplicationDetailResponse(
            r.Id, r.ExternalId, r.Candidate, r.PositionTitle, r.StageReached, r.Status, r.RejectedAt, r.CreatedAt, r.UpdatedAt, r.LegalHold,
            Feedback: row.FeedbackId is { } feedbackId ? new ApplicationFeedbackSummary(feedbackId, row.FeedbackStatus!.Value) : null,
            Request: row.RequestId is { } requestId ? new ApplicationRequestSummary(requestId, "requested") : null,
            Delivery: row.DeliveryId is { } deliveryId ? new ApplicationDeliverySummary(deliveryId, PublicStatuses.OfDelivery(row.DeliveryStatus!.Value)) : null));
    }

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
