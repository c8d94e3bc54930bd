namespace FeedbackHub.Domain.Model;

public enum ApplicationStatus
{
    Active,
    Rejected,
    Withdrawn,
    Hired,
}

/// <summary>
/// What the ATS tells about an application. <see cref="Status"/> null keeps the current status (a new
/// application starts <see cref="ApplicationStatus.Active"/>); <see cref="ApplicationStatus.Rejected"/> is refused:
/// rejecting has its own operation.
/// </summary>
public sealed record ApplicationDetails(string PositionTitle, string? StageReached, ApplicationStatus? Status)
{
    public ApplicationDetails Normalized() => new(
        (PositionTitle ?? string.Empty).Trim(),
        string.IsNullOrWhiteSpace(StageReached) ? null : StageReached.Trim(),
        Status);

    /// <summary>Adds field errors; expects normalized values.</summary>
    public void Validate(IDictionary<string, string[]> errors)
    {
        if (PositionTitle.Length is 0 or > 200)
            errors["positionTitle"] = ["Must have 1 to 200 characters."];
        else if (TextInput.Problem(PositionTitle, TextKind.SingleLine) is { } problem)
            errors["positionTitle"] = [problem];
        if (StageReached is not null && (StageReached.Length > 100 || !TextInput.IsValid(StageReached, TextKind.SingleLine)))
            errors["stageReached"] = ["Must have at most 100 characters on one line, without control or invisible formatting characters."];
    }
}

/// <summary>What an upsert did: the names of the changed fields (never values) and whether it left the rejection.</summary>
/// <param name="Reopened">
/// The application was Rejected and is not any more (back to active, or hired/withdrawn); <c>RejectedAt</c> was
/// cleared. Whoever scheduled something because of the rejection (feedback delivery) must cancel it.
/// </param>
public sealed record ApplicationUpsertResult(IReadOnlyList<string> ChangedFields, bool Reopened)
{
    public bool Changed => ChangedFields.Count > 0;
}

/// <summary>
/// One candidate's application to one position, as the tenant's ATS knows it (<see cref="ExternalId"/> is the ATS's id,
/// unique per tenant). It belongs to one candidate for good.
/// </summary>
public sealed class Application
{
    private Application()
    {
        ExternalId = string.Empty;
        PositionTitle = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public string ExternalId { get; private set; }

    public Guid CandidateId { get; private set; }

    public string PositionTitle { get; private set; }

    /// <summary>How far the candidate got (free text from the ATS, e.g. "onsite").</summary>
    public string? StageReached { get; private set; }

    public ApplicationStatus Status { get; private set; }

    public DateTimeOffset? RejectedAt { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    /// <summary>
    /// Legal hold: the application (and so its candidate) is exempt from erasure, manual or by retention, until
    /// the hold is released.
    /// </summary>
    public bool LegalHold { get; private set; }

    public DateTimeOffset? LegalHoldSetAt { get; private set; }

    /// <summary>The API key that set the hold (null for the system).</summary>
    public Guid? LegalHoldSetById { get; private set; }

    /// <summary>Why the hold exists (at most 200 characters, e.g. a case reference); never personal data.</summary>
    public string? LegalHoldReason { get; private set; }

    public const int MaxLegalHoldReasonLength = 200;

    /// <summary>
    /// Sets or releases the legal hold. Returns false when nothing changed (same state; a new reason on an existing
    /// hold is taken). Does not touch <see cref="UpdatedAt"/>: a hold is not activity of the candidate.
    /// </summary>
    public bool SetLegalHold(bool onHold, string? reason, Guid? byId, DateTimeOffset now)
    {
        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        if (reason is not null && (reason.Length > MaxLegalHoldReasonLength || !TextInput.IsValid(reason, TextKind.MultiLine)))
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The legal hold is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["reason"] = [$"At most {MaxLegalHoldReasonLength} characters, without control or invisible formatting characters."] },
            };
        }

        if (!onHold)
        {
            if (!LegalHold)
                return false;
            LegalHold = false;
            LegalHoldSetAt = null;
            LegalHoldSetById = null;
            LegalHoldReason = null;
            return true;
        }

        var changed = !LegalHold;
        if (changed)
        {
            LegalHold = true;
            LegalHoldSetAt = Times.Truncate(now);
            LegalHoldSetById = byId;
        }

        LegalHoldReason = reason ?? LegalHoldReason;
        return changed;
    }

    /// <summary>Validates a whole upsert at once, so the answer lists every bad field; throws when anything is wrong.</summary>
    public static void ValidateUpsert(string externalId, CandidateDetails? candidate, ApplicationDetails details)
    {
        ArgumentNullException.ThrowIfNull(details);
        var errors = new Dictionary<string, string[]>();
        if (!ExternalIds.IsValid(externalId))
            errors["externalId"] = [ExternalIds.Rule];
        if (candidate is null)
            errors["candidate"] = ["The candidate is required."];
        else
            candidate.Normalized().Validate(errors, "candidate.");
        details.Normalized().Validate(errors);
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The application is not valid.") { Errors = errors };
        CheckStatus(details.Status);
    }

    public static Application Create(Guid tenantId, string externalId, Guid candidateId, ApplicationDetails details, DateTimeOffset now)
    {
        details = Valid(externalId, details);
        now = Times.Truncate(now);
        return new Application
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            ExternalId = externalId,
            CandidateId = candidateId,
            PositionTitle = details.PositionTitle,
            StageReached = details.StageReached,
            Status = details.Status ?? ApplicationStatus.Active,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>
    /// Takes the ATS's current details (a full replacement, except that a null status keeps the current one).
    /// The candidate cannot change (409 <c>candidate-mismatch</c>). Nothing changes, not even
    /// <see cref="UpdatedAt"/>, when the details are the same.
    /// </summary>
    public ApplicationUpsertResult ApplyUpsert(Guid candidateId, ApplicationDetails details, DateTimeOffset now)
    {
        details = Valid(ExternalId, details);
        if (candidateId != CandidateId)
            throw CandidateMismatch();

        var changed = new List<string>();
        var reopened = false;
        if (!string.Equals(PositionTitle, details.PositionTitle, StringComparison.Ordinal))
        {
            PositionTitle = details.PositionTitle;
            changed.Add("positionTitle");
        }

        if (!string.Equals(StageReached, details.StageReached, StringComparison.Ordinal))
        {
            StageReached = details.StageReached;
            changed.Add("stageReached");
        }

        if (details.Status is { } status && status != Status)
        {
            if (Status == ApplicationStatus.Rejected)
            {
                reopened = true;
                RejectedAt = null;
                changed.Add("rejectedAt");
            }

            Status = status;
            changed.Add("status");
        }

        if (changed.Count > 0)
            UpdatedAt = Times.Truncate(now);
        return new ApplicationUpsertResult(changed, reopened);
    }

    /// <summary>Records the rejection (again: the time moves to the new rejection). Hired applications cannot be rejected.</summary>
    /// <summary>How far back a reported rejection may lie: the longest request window, so its link can still be used.</summary>
    public static readonly TimeSpan MaxRejectionAge = TimeSpan.FromDays(365);

    public void Reject(DateTimeOffset at, DateTimeOffset now)
    {
        if (at > now.AddMinutes(5) || at < now - MaxRejectionAge)
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The rejection time is not valid.")
            {
                Errors = new Dictionary<string, string[]>
                {
                    ["rejectedAt"] = [at > now ? "Cannot be in the future." : "Cannot be more than 365 days ago (no candidate could still ask for feedback)."],
                },
            };
        }

        if (Status == ApplicationStatus.Hired)
            throw DomainException.Conflict("application-hired", "A hired application cannot be rejected.");
        Status = ApplicationStatus.Rejected;
        RejectedAt = Times.Truncate(at);
        UpdatedAt = Times.Truncate(now);
    }

    /// <summary>The candidate's data changed through this application: it counts as an update of the application.</summary>
    public void Touch(DateTimeOffset now) => UpdatedAt = Times.Truncate(now);

    public static DomainException CandidateMismatch() =>
        DomainException.Conflict("candidate-mismatch",
            "The application belongs to another candidate; an application's candidate cannot be changed.");

    private static ApplicationDetails Valid(string externalId, ApplicationDetails details)
    {
        ArgumentNullException.ThrowIfNull(details);
        details = details.Normalized();
        var errors = new Dictionary<string, string[]>();
        if (!ExternalIds.IsValid(externalId))
            errors["externalId"] = [ExternalIds.Rule];
        details.Validate(errors);
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The application is not valid.") { Errors = errors };
        CheckStatus(details.Status);
        return details;
    }

    private static void CheckStatus(ApplicationStatus? status)
    {
        if (status == ApplicationStatus.Rejected)
        {
            throw new DomainException(DomainErrorKind.Invalid, "use-rejection-operation", "Use the rejection operation to reject an application.")
            {
                Errors = new Dictionary<string, string[]> { ["status"] = ["Use the rejection operation to reject an application."] },
            };
        }
    }
}
