namespace FeedbackHub.Domain.Language;

/// <summary>A tenant's changes to its jurisdiction pack. Apply with <see cref="RuleSet.With"/>.</summary>
/// <param name="AddedTerms">Extra terms or phrases to flag.</param>
/// <param name="AllowedPhrases">Text that must never be flagged (a finding overlapping one is dropped).</param>
/// <param name="DisabledRuleIds">Catalog rule ids the tenant switched off.</param>
public sealed record TenantRuleChanges(
    IReadOnlyList<CustomTerm> AddedTerms,
    IReadOnlyList<string> AllowedPhrases,
    IReadOnlyList<string> DisabledRuleIds)
{
    /// <summary>No changes.</summary>
    public static TenantRuleChanges None { get; } = new([], [], []);
}

/// <summary>A tenant-defined term. The phrase is literal text (matched with inflections, case-insensitively).</summary>
/// <param name="Id">Tenant-chosen id, unique within the rule set (e.g. <c>tenant.project-codename</c>).</param>
/// <param name="Category">One of <see cref="RuleCatalog.Categories"/>.</param>
/// <param name="Phrase">The word or phrase to flag.</param>
/// <param name="Severity">Severity of findings.</param>
/// <param name="Reason">Why it is risky.</param>
/// <param name="Suggestion">Safer wording.</param>
public sealed record CustomTerm(string Id, string Category, string Phrase, Severity Severity, string Reason, string Suggestion);
