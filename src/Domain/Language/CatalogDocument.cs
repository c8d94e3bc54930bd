using System.Text.Json.Serialization;

namespace FeedbackHub.Domain.Language;

// The JSON shape of Catalog/rules.json (see docs/language-checker.md). Only used while loading.
internal sealed record CatalogDocument(
    string Version,
    IReadOnlyList<CategoryDocument> Categories,
    IReadOnlyList<JurisdictionDocument> Jurisdictions,
    IReadOnlyList<string>? AllowedPhrases,
    IReadOnlyList<string>? NotMisspellings,
    IReadOnlyList<RuleDocument> Rules);

// Severity, reason and suggestion are what a sentence-level finding of the semantic stage gets (packs may override
// the severity by category, as for rules).
// Protected: a characteristic protected by anti-discrimination law (the semantic stage needs stronger evidence to drop such a rule finding).
internal sealed record CategoryDocument(string Id, string Name, bool Protected, Severity Severity, string Reason, string Suggestion);

internal sealed record JurisdictionDocument(
    string Code,
    string Name,
    IReadOnlyDictionary<string, Severity>? Severity,
    IReadOnlyList<string>? Exclude);

internal sealed record RuleDocument(
    string Id,
    string Category,
    Severity Severity,
    IReadOnlyList<string> Patterns,
    ContextDocument? Unless,
    ContextDocument? OnlyWhen,
    string Reason,
    string Suggestion,
    IReadOnlyList<string>? Jurisdictions);

internal sealed record ContextDocument(
    IReadOnlyList<string>? Before,
    IReadOnlyList<string>? After,
    IReadOnlyList<string>? Near,
    int? Window);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CatalogDocument))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
