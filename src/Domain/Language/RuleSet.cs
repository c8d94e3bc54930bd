namespace FeedbackHub.Domain.Language;

/// <summary>
/// The rules in force for one jurisdiction pack, possibly with a tenant's changes. Immutable: <see cref="With"/>
/// returns a new set. Compile it once with <see cref="LanguageChecker.Create"/> and cache the checker.
/// </summary>
public sealed class RuleSet
{
    internal RuleSet(RuleCatalog catalog, string jurisdiction, IReadOnlyList<LanguageRule> rules, IReadOnlyList<string> allowedPhrases)
    {
        Catalog = catalog;
        Jurisdiction = jurisdiction;
        Rules = rules;
        AllowedPhrases = allowedPhrases;
    }

    /// <summary>The catalog the set was built from.</summary>
    public RuleCatalog Catalog { get; }

    /// <summary>Jurisdiction pack code.</summary>
    public string Jurisdiction { get; }

    /// <summary>The rules in force, with their severities.</summary>
    public IReadOnlyList<LanguageRule> Rules { get; }

    /// <summary>Phrases never flagged (catalog-wide safe phrases plus the tenant's).</summary>
    public IReadOnlyList<string> AllowedPhrases { get; }

    /// <summary>Applies a tenant's changes and returns the effective rule set.</summary>
    /// <exception cref="ArgumentException">
    /// Unknown category, unknown disabled rule id, duplicate or empty term id, an empty phrase, reason or suggestion.
    /// </exception>
    public RuleSet With(TenantRuleChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var ruleIds = Rules.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in changes.DisabledRuleIds)
        {
            if (!ruleIds.Contains(id) && !Catalog.RuleIds.Contains(id))
            {
                throw new ArgumentException($"Unknown rule id '{id}' in disabled rules.", nameof(changes));
            }
        }

        var disabled = changes.DisabledRuleIds.ToHashSet(StringComparer.Ordinal);
        var rules = Rules.Where(r => !disabled.Contains(r.Id)).ToList();
        var categories = Catalog.Categories.ToHashSet(StringComparer.Ordinal);
        foreach (var term in changes.AddedTerms)
        {
            if (string.IsNullOrWhiteSpace(term.Id) || !ruleIds.Add(term.Id) || Catalog.RuleIds.Contains(term.Id))
            {
                throw new ArgumentException($"Added term id '{term.Id}' is empty or already used.", nameof(changes));
            }

            if (!categories.Contains(term.Category))
            {
                throw new ArgumentException(
                    $"Unknown category '{term.Category}' for added term '{term.Id}'. Known categories: {string.Join(", ", Catalog.Categories)}.",
                    nameof(changes));
            }

            if (string.IsNullOrWhiteSpace(term.Reason) || string.IsNullOrWhiteSpace(term.Suggestion))
            {
                throw new ArgumentException($"Added term '{term.Id}' needs a reason and a suggestion.", nameof(changes));
            }

            var phrase = PatternCompiler.Literal(term.Phrase ?? string.Empty);
            if (phrase.Length == 0)
            {
                throw new ArgumentException($"Added term '{term.Id}' has no words to match.", nameof(changes));
            }

            rules.Add(new LanguageRule(term.Id, term.Category, term.Severity, [phrase], null, null, term.Reason, term.Suggestion));
        }

        var allowed = AllowedPhrases.ToList();
        foreach (var phrase in changes.AllowedPhrases)
        {
            var literal = PatternCompiler.Literal(phrase);
            if (literal.Length == 0)
            {
                throw new ArgumentException("An allowed phrase has no words.", nameof(changes));
            }

            allowed.Add(literal);
        }

        return new RuleSet(Catalog, Jurisdiction, rules, allowed);
    }
}
