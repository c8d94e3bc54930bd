using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Domain.Authoring;

public enum TenantLanguageRuleKind
{
    /// <summary>An extra term or phrase to flag, in a category.</summary>
    Term,
    /// <summary>Text that must never be flagged.</summary>
    AllowedPhrase,
    /// <summary>A catalog rule the tenant switched off.</summary>
    DisabledRule,
}

/// <summary>One change a tenant made to its jurisdiction pack (DESIGN.md: rules are data, tenants adjust them, with audit).</summary>
public sealed class TenantLanguageRule
{
    private TenantLanguageRule()
    {
        Key = string.Empty;
        CreatedBy = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public TenantLanguageRuleKind Kind { get; private set; }

    /// <summary>The term's rule id, the allowed phrase, or the disabled rule's id (unique per tenant and kind).</summary>
    public string Key { get; private set; }

    public string? Category { get; private set; }

    public string? Phrase { get; private set; }

    public Severity? Severity { get; private set; }

    public string? Reason { get; private set; }

    public string? Suggestion { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public string CreatedBy { get; private set; }

    public static TenantLanguageRule Term(Guid tenantId, string category, string phrase, Severity severity, string reason, string suggestion, Actor by, DateTimeOffset now)
    {
        phrase = (phrase ?? string.Empty).Trim();
        var errors = new Dictionary<string, string[]>();
        if (phrase.Length is 0 or > 200)
            errors["phrase"] = ["Must have 1 to 200 characters."];
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 300)
            errors["reason"] = ["Must have 1 to 300 characters: one sentence a reviewer understands."];
        if (string.IsNullOrWhiteSpace(suggestion) || suggestion.Length > 300)
            errors["suggestion"] = ["Must have 1 to 300 characters: a safer wording."];
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The term is not valid.") { Errors = errors };
        var slug = new string(phrase.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        return New(tenantId, TenantLanguageRuleKind.Term, $"tenant.{category}.{slug}", by, now).Set(r =>
        {
            r.Category = category;
            r.Phrase = phrase;
            r.Severity = severity;
            r.Reason = reason.Trim();
            r.Suggestion = suggestion.Trim();
        });
    }

    public static TenantLanguageRule Allow(Guid tenantId, string phrase, Actor by, DateTimeOffset now)
    {
        phrase = (phrase ?? string.Empty).Trim();
        if (phrase.Length is 0 or > 200)
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The phrase is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["phrase"] = ["Must have 1 to 200 characters."] },
            };
        }

        return New(tenantId, TenantLanguageRuleKind.AllowedPhrase, phrase.ToLowerInvariant(), by, now).Set(r => r.Phrase = phrase);
    }

    public static TenantLanguageRule Disable(Guid tenantId, string ruleId, Actor by, DateTimeOffset now) =>
        New(tenantId, TenantLanguageRuleKind.DisabledRule, (ruleId ?? string.Empty).Trim(), by, now);

    /// <summary>The tenant's changes as the checker takes them.</summary>
    public static TenantRuleChanges ToChanges(IEnumerable<TenantLanguageRule> rules)
    {
        var list = rules.ToList();
        return new TenantRuleChanges(
            list.Where(r => r.Kind == TenantLanguageRuleKind.Term)
                .Select(r => new CustomTerm(r.Key, r.Category!, r.Phrase!, r.Severity ?? Language.Severity.Warn, r.Reason!, r.Suggestion!)).ToList(),
            list.Where(r => r.Kind == TenantLanguageRuleKind.AllowedPhrase).Select(r => r.Phrase!).ToList(),
            list.Where(r => r.Kind == TenantLanguageRuleKind.DisabledRule).Select(r => r.Key).ToList());
    }

    private TenantLanguageRule Set(Action<TenantLanguageRule> apply)
    {
        apply(this);
        return this;
    }

    private static TenantLanguageRule New(Guid tenantId, TenantLanguageRuleKind kind, string key, Actor by, DateTimeOffset now) =>
        new() { Id = Guid.CreateVersion7(now), TenantId = tenantId, Kind = kind, Key = key, CreatedAt = now, CreatedBy = by.Name };
}
