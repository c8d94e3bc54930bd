namespace FeedbackHub.Domain.Language;

/// <summary>
/// The rules in force for one jurisdiction pack, possibly with a tenant's changes. Immutable: <see cref="With"/>
/// returns a new set. Compile it once with <see cref="LanguageChecker.Create"/> and cache the checker.
/// </summary>
public sealed class RuleSet
{
    internal RuleSet(
        RuleCatalog catalog, string jurisdiction, IReadOnlyList<LanguageRule> rules, IReadOnlyList<string> allowedPhrases,
        IReadOnlyList<CategoryInForce> categories, IReadOnlyList<LanguageRule> disabledRules)
    {
        Catalog = catalog;
        Jurisdiction = jurisdiction;
        Rules = rules;
        AllowedPhrases = allowedPhrases;
        Categories = categories;
        DisabledRules = disabledRules;
    }

    /// <summary>The catalog the set was built from.</summary>
    public RuleCatalog Catalog { get; }

    /// <summary>Jurisdiction pack code.</summary>
    public string Jurisdiction { get; }

    /// <summary>The rules in force, with their severities.</summary>
    public IReadOnlyList<LanguageRule> Rules { get; }

    /// <summary>Phrases never flagged (catalog-wide safe phrases plus the tenant's).</summary>
    public IReadOnlyList<string> AllowedPhrases { get; }

    /// <summary>
    /// The categories this pack checks, with the severity, reason and suggestion of a sentence-level finding of the
    /// semantic stage. A category whose rules a tenant disabled all of is not checked by the semantic stage either.
    /// </summary>
    public IReadOnlyList<CategoryInForce> Categories { get; }

    /// <summary>Catalog rules of the pack that a tenant switched off: still matched, so that the semantic stage does not
    /// report the same wording again, but never reported themselves.</summary>
    internal IReadOnlyList<LanguageRule> DisabledRules { get; }

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
        var disabledRules = DisabledRules.Concat(Rules.Where(r => disabled.Contains(r.Id))).ToList();
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

        // A category the pack checked with rules and whose rules are now all disabled is switched off for the model too.
        var categoriesInForce = Categories
            .Where(c => !disabledRules.Any(r => r.Category == c.Id) || rules.Any(r => r.Category == c.Id))
            .ToList();
        return new RuleSet(Catalog, Jurisdiction, rules, allowed, categoriesInForce, disabledRules);
    }
}

/// <summary>A category a pack checks, with what a sentence-level finding of that category gets.</summary>
/// <param name="Id">Stable kebab-case category id.</param>
/// <param name="Protected">A characteristic protected by anti-discrimination law (age, sex, race...), as opposed to
/// poor practice (vague verdicts, comparisons, promises...).</param>
/// <param name="Severity">The pack's severity for the category.</param>
/// <param name="Reason">Why wording of this category is risky.</param>
/// <param name="Suggestion">What to write instead.</param>
public sealed record CategoryInForce(string Id, bool Protected, Severity Severity, string Reason, string Suggestion);
