namespace FeedbackHub.Domain.Model;

/// <summary>An employer. Every other row belongs to exactly one tenant.</summary>
public sealed class Tenant
{
    private Tenant()
    {
        Name = string.Empty;
        Settings = TenantSettings.Default;
    }

    public Guid Id { get; private set; }

    public string Name { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public TenantSettings Settings { get; private set; }

    /// <summary>Increases whenever the tenant's language rules change (compiled checkers are cached by it).</summary>
    public int LanguageRulesRevision { get; private set; }

    public static Tenant Create(string name, DateTimeOffset now, TenantSettings? settings = null)
    {
        name = (name ?? string.Empty).Trim();
        if (name.Length is 0 or > 200)
            throw DomainException.Invalid("invalid-tenant-name", "A tenant name must have 1 to 200 characters.");
        return new Tenant
        {
            Id = Guid.CreateVersion7(now),
            Name = name,
            CreatedAt = now,
            Settings = settings ?? TenantSettings.Default,
        };
    }

    public void ChangeSettings(TenantSettings settings) => Settings = settings.Validated();

    public void LanguageRulesChanged() => LanguageRulesRevision++;
}

/// <summary>A tenant's settings (DESIGN.md, "Core objects"). Values are validated by <see cref="Validated"/>.</summary>
public sealed record TenantSettings
{
    public const int MaxFooterTextLength = 500;

    public static TenantSettings Default { get; } = new();

    /// <summary>Delay between the rejection and the earliest feedback email.</summary>
    public TimeSpan CoolingOffDelay { get; init; } = TimeSpan.FromDays(2);

    /// <summary>How many days after the rejection a candidate may ask for feedback.</summary>
    public int RequestWindowDays { get; init; } = 30;

    /// <summary>Target, in days after the request, by which the candidate gets an answer.</summary>
    public int AnswerByDays { get; init; } = 14;

    public string SenderName { get; init; } = "FeedbackHub";

    public string SenderAddress { get; init; } = "feedback@feedbackhub.local";

    public string? ReplyTo { get; init; }

    public string DefaultLocale { get; init; } = "en";

    /// <summary>Jurisdiction rule pack of the language checker (US, UK, DE).</summary>
    public string Jurisdiction { get; init; } = "US";

    /// <summary>Feedback built only from template wording with no findings is approved automatically.</summary>
    public bool AutoApproveTemplateOnly { get; init; }

    public bool InvitationsEnabled { get; init; }

    /// <summary>Development only: allow webhook URLs on loopback and private networks.</summary>
    public bool AllowPrivateWebhookTargets { get; init; }

    public int RetentionMonths { get; init; } = 12;

    /// <summary>Whom the candidate may contact, closing every feedback email; null: a sentence naming the reply-to (or sender) address.</summary>
    public string? ContactText { get; init; }

    /// <summary>How the candidate's data is handled and how to ask for erasure; null: a sentence built from the retention period and address.</summary>
    public string? PrivacyText { get; init; }

    public TenantSettings Validated()
    {
        var errors = Problems();
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "invalid-settings", "The tenant settings are not valid.") { Errors = errors };
        return this;
    }

    /// <summary>Every field that breaks a rule, with why (empty when the settings are valid).</summary>
    public Dictionary<string, string[]> Problems()
    {
        var errors = new Dictionary<string, string[]>();
        if (CoolingOffDelay < TimeSpan.Zero || CoolingOffDelay > TimeSpan.FromDays(90))
            errors["coolingOffDelay"] = ["Must be between 0 and 90 days."];
        if (RequestWindowDays is < 1 or > 365)
            errors["requestWindowDays"] = ["Must be between 1 and 365."];
        if (AnswerByDays is < 1 or > 90)
            errors["answerByDays"] = ["Must be between 1 and 90."];
        if (RetentionMonths is < 1 or > 120)
            errors["retentionMonths"] = ["Must be between 1 and 120."];
        if (string.IsNullOrWhiteSpace(SenderName) || SenderName.Length > 100)
            errors["senderName"] = ["Must have 1 to 100 characters."];
        else if (TextInput.Problem(SenderName, TextKind.SingleLine) is { } problem)
            errors["senderName"] = [problem];
        if (!EmailAddress.IsValid(SenderAddress))
            errors["senderAddress"] = ["Must be a valid email address."];
        if (ReplyTo is not null && !EmailAddress.IsValid(ReplyTo))
            errors["replyTo"] = ["Must be a valid email address."];
        foreach (var (field, text) in new[] { ("contactText", ContactText), ("privacyText", PrivacyText) })
        {
            if (text is not null && (text.Trim().Length is 0 || text.Length > MaxFooterTextLength))
                errors[field] = [$"Must have 1 to {MaxFooterTextLength} characters."];
            else if (text is not null && TextInput.Problem(text, TextKind.MultiLine) is { } problem)
                errors[field] = [problem];
            else if (text is not null && text.Contains("{{", StringComparison.Ordinal))
                errors[field] = ["Merge fields are not allowed here; write the text as the candidate should read it."];
        }

        return errors;
    }
}
