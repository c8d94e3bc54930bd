using System.Collections.Frozen;
using System.Text.Json;

namespace FeedbackHub.Domain.Language;

/// <summary>
/// The versioned rule catalog shipped with the assembly (<c>Language/Catalog/rules.json</c>, an embedded resource),
/// organised in jurisdiction packs. Immutable and thread-safe.
/// </summary>
public sealed class RuleCatalog
{
    private const string ResourceName = "FeedbackHub.Domain.Language.Catalog.rules.json";
    private static readonly Lazy<RuleCatalog> DefaultCatalog = new(LoadEmbedded);

    private readonly CatalogDocument _document;
    private readonly FrozenDictionary<string, JurisdictionDocument> _jurisdictions;

    private RuleCatalog(CatalogDocument document)
    {
        _document = document;
        Version = document.Version;
        Categories = [.. document.Categories.Select(c => c.Id)];
        _jurisdictions = document.Jurisdictions.ToFrozenDictionary(j => j.Code, StringComparer.OrdinalIgnoreCase);
        Jurisdictions = [.. document.Jurisdictions.Select(j => j.Code)];
        RuleIds = document.Rules.Select(r => r.Id).ToFrozenSet(StringComparer.Ordinal);
        NotMisspellings = document.NotMisspellings ?? [];
        Validate();
    }

    /// <summary>The catalog embedded in this assembly.</summary>
    public static RuleCatalog Default => DefaultCatalog.Value;

    /// <summary>Catalog version (the <c>version</c> field of rules.json).</summary>
    public string Version { get; }

    /// <summary>Jurisdiction pack codes, e.g. <c>US</c>, <c>UK</c>, <c>DE</c>.</summary>
    public IReadOnlyList<string> Jurisdictions { get; }

    /// <summary>Stable kebab-case category ids.</summary>
    public IReadOnlyList<string> Categories { get; }

    internal FrozenSet<string> RuleIds { get; }

    internal IReadOnlyList<string> NotMisspellings { get; }

    /// <summary>Parses a catalog from JSON (same schema as the embedded one).</summary>
    /// <exception cref="InvalidOperationException">The catalog is malformed or inconsistent.</exception>
    public static RuleCatalog Parse(string json)
    {
        var document = JsonSerializer.Deserialize(json, CatalogJsonContext.Default.CatalogDocument)
            ?? throw new InvalidOperationException("The rule catalog is empty.");
        return new RuleCatalog(document);
    }

    /// <summary>The rules in force for a jurisdiction pack, with the pack's severities.</summary>
    /// <exception cref="ArgumentException">Unknown jurisdiction code.</exception>
    public RuleSet ForJurisdiction(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (!_jurisdictions.TryGetValue(code, out var pack))
        {
            throw new ArgumentException(
                $"Unknown jurisdiction '{code}'. Known jurisdictions: {string.Join(", ", Jurisdictions)}.", nameof(code));
        }

        var excluded = new HashSet<string>(pack.Exclude ?? [], StringComparer.Ordinal);
        var categories = _document.Categories
            .Where(c => !excluded.Contains(c.Id))
            .Select(c => new CategoryInForce(
                c.Id, c.Protected, pack.Severity is { } bySeverity && bySeverity.TryGetValue(c.Id, out var s) ? s : c.Severity, c.Reason, c.Suggestion))
            .ToList();
        var rules = new List<LanguageRule>();
        foreach (var rule in _document.Rules)
        {
            if (excluded.Contains(rule.Id) || excluded.Contains(rule.Category))
            {
                continue;
            }

            if (rule.Jurisdictions is { Count: > 0 } only && !only.Contains(pack.Code, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var severity = rule.Severity;
            if (pack.Severity is { } overrides)
            {
                if (overrides.TryGetValue(rule.Category, out var byCategory))
                {
                    severity = byCategory;
                }

                if (overrides.TryGetValue(rule.Id, out var byRule))
                {
                    severity = byRule;
                }
            }

            rules.Add(new LanguageRule(
                rule.Id, rule.Category, severity, rule.Patterns,
                ToContext(rule.Unless), ToContext(rule.OnlyWhen), rule.Reason, rule.Suggestion));
        }

        return new RuleSet(this, pack.Code, rules, _document.AllowedPhrases ?? [], categories, []);
    }

    private static RuleContext? ToContext(ContextDocument? context) => context is null
        ? null
        : new RuleContext(context.Before ?? [], context.After ?? [], context.Near ?? [], context.Window ?? 3);

    private static RuleCatalog LoadEmbedded()
    {
        using var stream = typeof(RuleCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    private void Validate()
    {
        var categories = Categories.ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var category in _document.Categories)
        {
            if (string.IsNullOrWhiteSpace(category.Reason) || string.IsNullOrWhiteSpace(category.Suggestion))
            {
                throw new InvalidOperationException($"Category '{category.Id}' needs a reason and a suggestion.");
            }
        }

        foreach (var rule in _document.Rules)
        {
            if (!seen.Add(rule.Id))
            {
                throw new InvalidOperationException($"Duplicate rule id '{rule.Id}' in the rule catalog.");
            }

            if (!categories.Contains(rule.Category))
            {
                throw new InvalidOperationException($"Rule '{rule.Id}' has unknown category '{rule.Category}'.");
            }

            if (rule.Patterns.Count == 0 || string.IsNullOrWhiteSpace(rule.Reason) || string.IsNullOrWhiteSpace(rule.Suggestion))
            {
                throw new InvalidOperationException($"Rule '{rule.Id}' needs patterns, a reason and a suggestion.");
            }

            foreach (var code in rule.Jurisdictions ?? [])
            {
                if (!_jurisdictions.ContainsKey(code))
                {
                    throw new InvalidOperationException($"Rule '{rule.Id}' names unknown jurisdiction '{code}'.");
                }
            }
        }

        foreach (var pack in _document.Jurisdictions)
        {
            foreach (var key in (pack.Severity?.Keys ?? []).Concat(pack.Exclude ?? []))
            {
                if (!categories.Contains(key) && !seen.Contains(key))
                {
                    throw new InvalidOperationException(
                        $"Jurisdiction '{pack.Code}' refers to unknown category or rule '{key}'.");
                }
            }
        }
    }
}
