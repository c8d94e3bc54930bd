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

internal sealed record CategoryDocument(string Id, string Name);

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
