using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Templates;

namespace FeedbackHub.Domain.Authoring;

public enum FeedbackStatus
{
    Draft,
    Submitted,
    Approved,
    ChangesRequested,
}

/// <summary>The rating of one criterion: a band, pre-approved phrases of that band, and an optional comment.</summary>
public sealed record Answer(string Criterion, string Band, [FreeText] IReadOnlyList<string>? Phrases = null, [FreeText] string? Comment = null)
{
    /// <summary>The chosen phrases (none when omitted).</summary>
    public IReadOnlyList<string> Phrases { get; init; } = Phrases ?? [];
}

/// <summary>A reviewer's reason for keeping a <c>warn</c> finding, recorded with who and when.</summary>
public sealed record Acknowledgement(string RuleId, string Path, string Reason, Guid? ById, string ByName, DateTimeOffset At);

/// <summary>
/// The version a reviewer sent back: its number, the answers as they were, the reviewer's comment, who and when. The
/// next version is compared with these answers (<see cref="AnswerChanges"/>) so the reviewer sees what changed.
/// </summary>
public sealed record ChangeRequest(int Version, IReadOnlyList<Answer> Answers, string Comment, Guid? ById, string ByName, DateTimeOffset At);

/// <summary>What the author acknowledges when submitting: a warn finding (rule and path) and why it stays.</summary>
public sealed record AcknowledgementRequest(string RuleId, string Path, [FreeText] string Reason);

/// <summary>
/// Structured feedback for one application, built from one published template version. Every save re-runs the
/// language check on the free text; nobody who edited it may approve it; <see cref="Version"/> is the ETag.
/// </summary>
public sealed class Feedback
{
    private Feedback()
    {
        Answers = [];
        Findings = [];
        Acknowledgements = [];
        Contributors = [];
        AuthorName = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid ApplicationId { get; private set; }

    public Guid TemplateId { get; private set; }

    public int TemplateVersion { get; private set; }

    public FeedbackStatus Status { get; private set; }

    public List<Answer> Answers { get; private set; }

    /// <summary>Language findings of the current answers, with the path of the field they are in.</summary>
    public List<FieldFinding> Findings { get; private set; }

    public List<Acknowledgement> Acknowledgements { get; private set; }

    /// <summary>Every API key that edited this feedback: none of them may approve it.</summary>
    public List<Guid> Contributors { get; private set; }

    public string AuthorName { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    public DateTimeOffset? SubmittedAt { get; private set; }

    public DateTimeOffset? ApprovedAt { get; private set; }

    public Guid? ApprovedById { get; private set; }

    public string? ApprovedByName { get; private set; }

    public bool AutoApproved { get; private set; }

    /// <summary>The reviewer's comment when changes were requested.</summary>
    public string? ReviewComment { get; private set; }

    /// <summary>The version the last request for changes was about (null until a reviewer asks for changes); kept after resubmission and approval.</summary>
    public ChangeRequest? LastChangeRequest { get; private set; }

    /// <summary>Increases with every change; the ETag. Also the database concurrency token.</summary>
    public int Version { get; private set; }

    public static Feedback Start(Guid tenantId, Guid applicationId, TemplateVersion template, Actor author, DateTimeOffset now)
    {
        if (template.Status != TemplateVersionStatus.Published)
            throw DomainException.Invalid("template-not-published", $"Feedback starts from a published template version; version {template.Number} is {template.Status}.");
        var feedback = new Feedback
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            ApplicationId = applicationId,
            TemplateId = template.TemplateId,
            TemplateVersion = template.Number,
            Status = FeedbackStatus.Draft,
            AuthorName = author.Name,
            CreatedAt = now,
            UpdatedAt = now,
            Version = 1,
        };
        feedback.AddContributor(author);
        return feedback;
    }

    /// <summary>Replaces the answers (a partial set is fine for a draft) and re-runs the language check.</summary>
    public void Save(IReadOnlyList<Answer> answers, TemplateContent template, Actor editor, DateTimeOffset now, Func<IEnumerable<(string Path, string Text)>, IReadOnlyList<FieldFinding>> check)
    {
        if (Status is not (FeedbackStatus.Draft or FeedbackStatus.ChangesRequested))
            throw DomainException.Conflict("feedback-not-editable", $"Feedback that is {Status} can no longer be edited.");
        ValidateAnswers(answers, template, requireAll: false);
        Answers = answers.Select(a => a with { Comment = string.IsNullOrWhiteSpace(a.Comment) ? null : a.Comment.Trim() }).ToList();
        Findings = check(FreeText()).ToList();
        Acknowledgements = [];
        Status = FeedbackStatus.Draft;
        AddContributor(editor);
        Touch(now);
    }

    /// <summary>
    /// Submits for approval: every criterion answered, no <c>block</c> finding, every <c>warn</c> finding acknowledged
    /// with a reason. Returns true when it was approved automatically (template wording only, no findings, allowed by the tenant).
    /// </summary>
    public bool Submit(IReadOnlyList<AcknowledgementRequest> acknowledgements, TemplateContent template, Actor by, DateTimeOffset now, bool autoApproveTemplateOnly)
    {
        if (Status is not (FeedbackStatus.Draft or FeedbackStatus.ChangesRequested))
            throw DomainException.Conflict("feedback-not-draft", $"Only a draft can be submitted; this feedback is {Status}.");
        ValidateAnswers(Answers, template, requireAll: true);

        var blocking = Findings.Where(f => f.Finding.Severity == Severity.Block).ToList();
        if (blocking.Count > 0)
        {
            throw new DomainException(DomainErrorKind.Invalid, "language-blocked", $"The feedback has {blocking.Count} blocking language finding(s); rewrite them before submitting.")
            {
                Extensions = new Dictionary<string, object?> { ["findings"] = blocking },
            };
        }

        var recorded = new List<Acknowledgement>();
        var missing = new List<FieldFinding>();
        foreach (var warning in Findings.Where(f => f.Finding.Severity == Severity.Warn))
        {
            var ack = acknowledgements.FirstOrDefault(a => a.RuleId == warning.Finding.RuleId && a.Path == warning.Path && !string.IsNullOrWhiteSpace(a.Reason));
            if (ack is null)
                missing.Add(warning);
            else if (recorded.All(r => r.RuleId != ack.RuleId || r.Path != ack.Path))
                recorded.Add(new Acknowledgement(ack.RuleId, ack.Path, ack.Reason.Trim(), by.Id, by.Name, now));
        }

        if (missing.Count > 0)
        {
            throw new DomainException(DomainErrorKind.Invalid, "acknowledgement-required",
                $"{missing.Count} warning(s) need an acknowledgement with a reason (ruleId, path, reason) before submitting.")
            {
                Extensions = new Dictionary<string, object?> { ["findings"] = missing },
            };
        }

        if (recorded.Any(r => r.Reason.Length > 500))
            throw DomainException.Invalid("validation", "An acknowledgement reason has at most 500 characters.");

        Acknowledgements = recorded;
        Status = FeedbackStatus.Submitted;
        SubmittedAt = now;
        ReviewComment = null;
        AddContributor(by);
        Touch(now);

        if (autoApproveTemplateOnly && Findings.Count == 0 && Answers.All(a => a.Comment is null))
        {
            Status = FeedbackStatus.Approved;
            ApprovedAt = now;
            ApprovedById = null;
            ApprovedByName = "automatic (template wording only)";
            AutoApproved = true;
            return true;
        }

        return false;
    }

    public void Approve(Actor by, DateTimeOffset now)
    {
        EnsureReviewable(by, "approve");
        Status = FeedbackStatus.Approved;
        ApprovedAt = now;
        ApprovedById = by.Id;
        ApprovedByName = by.Name;
        Touch(now);
    }

    public void RequestChanges(Actor by, string? comment, DateTimeOffset now)
    {
        EnsureReviewable(by, "request changes to");
        comment = (comment ?? string.Empty).Trim();
        if (comment.Length is 0 or > 2000)
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "Say what should change.")
            {
                Errors = new Dictionary<string, string[]> { ["comment"] = ["Must have 1 to 2000 characters."] },
            };
        }

        Status = FeedbackStatus.ChangesRequested;
        ReviewComment = comment;
        LastChangeRequest = new ChangeRequest(Version, [.. Answers], comment, by.Id, by.Name, now);
        Touch(now);
    }

    /// <summary>
    /// What replaces an erased free text that must keep its place (an acknowledgement still records who and when). The
    /// erasure (<c>CandidateErasure</c>) removes the rest of the free text written about the candidate; docs/privacy.md lists it.
    /// </summary>
    public const string ErasedText = "(erased with the candidate's personal data)";

    /// <summary>Throws 412 when the client's If-Match does not name the current version.</summary>
    /// <summary>Refuses (412) unless <paramref name="expected"/> is null (no precondition) or names the current version.</summary>
    public void CheckVersion(IReadOnlyCollection<int>? expected)
    {
        if (expected is not null && !expected.Contains(Version))
            throw new DomainException(DomainErrorKind.PreconditionFailed, "stale-version", $"The feedback changed (version {Version}); reload it and apply your change again.");
    }

    /// <summary>The free text a candidate would read (comments), with paths.</summary>
    private IEnumerable<(string Path, string Text)> FreeText() =>
        Answers.Select((a, i) => ($"answers[{i}].comment", a.Comment ?? string.Empty)).Where(t => t.Item2.Length > 0);

    private void EnsureReviewable(Actor by, string verb)
    {
        if (Status != FeedbackStatus.Submitted)
            throw DomainException.Conflict("feedback-not-submitted", $"Only submitted feedback can be reviewed; this feedback is {Status}.");
        if (by.Id is { } id && Contributors.Contains(id))
            throw new DomainException(DomainErrorKind.Forbidden, "own-feedback", $"You cannot {verb} feedback you wrote or edited; ask a colleague.");
    }

    private void AddContributor(Actor actor)
    {
        if (actor.Id is { } id && !Contributors.Contains(id))
            Contributors.Add(id);
    }

    private void Touch(DateTimeOffset now)
    {
        UpdatedAt = now;
        Version++;
    }

    private static void ValidateAnswers(IReadOnlyList<Answer> answers, TemplateContent template, bool requireAll)
    {
        var errors = new Dictionary<string, string[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < answers.Count; i++)
        {
            var a = answers[i];
            var criterion = template.Criteria.FirstOrDefault(c => c.Key == a.Criterion);
            if (criterion is null)
            {
                errors[$"answers[{i}].criterion"] = [$"'{a.Criterion}' is not a criterion of this template. Criteria: {string.Join(", ", template.Criteria.Select(c => c.Key))}."];
                continue;
            }

            if (!seen.Add(a.Criterion))
                errors[$"answers[{i}].criterion"] = [$"'{a.Criterion}' is answered twice."];
            var band = criterion.Bands.FirstOrDefault(b => b.Key == a.Band);
            if (band is null)
            {
                errors[$"answers[{i}].band"] = [$"'{a.Band}' is not a band of '{a.Criterion}'. Bands: {string.Join(", ", criterion.Bands.Select(b => b.Key))}."];
                continue;
            }

            for (var p = 0; p < (a.Phrases?.Count ?? 0); p++)
            {
                if (!band.Phrases.Contains(a.Phrases![p], StringComparer.Ordinal))
                    errors[$"answers[{i}].phrases[{p}]"] = [$"Not one of the pre-approved phrases of band '{band.Key}'."];
            }

            if (!string.IsNullOrWhiteSpace(a.Comment))
            {
                if (!criterion.Comment.Allowed)
                    errors[$"answers[{i}].comment"] = ["This criterion does not allow a comment."];
                else if (a.Comment.Length > criterion.Comment.MaxLength)
                    errors[$"answers[{i}].comment"] = [$"At most {criterion.Comment.MaxLength} characters."];
                else if (TextInput.Problem(a.Comment, TextKind.MultiLine) is { } problem)
                    errors[$"answers[{i}].comment"] = [problem];
            }
        }

        if (requireAll)
        {
            foreach (var missing in template.Criteria.Where(c => !seen.Contains(c.Key)))
                errors["answers"] = [.. errors.GetValueOrDefault("answers") ?? [], $"'{missing.Key}' ({missing.Label}) is not answered yet."];
        }

        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, requireAll ? "feedback-incomplete" : "validation", "The answers do not fit the template.") { Errors = errors };
    }
}
