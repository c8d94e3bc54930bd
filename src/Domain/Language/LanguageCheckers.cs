using System.Collections.Concurrent;

namespace FeedbackHub.Domain.Language;

/// <summary>A finding located in a field of a document (e.g. <c>answers[2].comment</c>).</summary>
public sealed record FieldFinding(string Path, Finding Finding);

/// <summary>
/// Compiled checkers, built once per jurisdiction and reused (they are immutable and thread-safe).
/// </summary>
public sealed class LanguageCheckers
{
    private readonly ConcurrentDictionary<string, LanguageChecker> _byJurisdiction = new(StringComparer.OrdinalIgnoreCase);

    public LanguageChecker For(string jurisdiction) =>
        _byJurisdiction.GetOrAdd(jurisdiction, j => LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(j)));

    /// <summary>Checks every field and returns the findings with their paths, in field order.</summary>
    public IReadOnlyList<FieldFinding> Check(string jurisdiction, IEnumerable<(string Path, string Text)> fields) =>
        CheckFields(For(jurisdiction), fields);

    /// <summary>Checks each field with the given checker; findings carry their field's path.</summary>
    public static IReadOnlyList<FieldFinding> CheckFields(LanguageChecker checker, IEnumerable<(string Path, string Text)> fields)
    {
        var findings = new List<FieldFinding>();
        foreach (var (path, text) in fields)
        {
            if (!string.IsNullOrEmpty(text))
                findings.AddRange(checker.Check(text).Select(f => new FieldFinding(path, f)));
        }

        return findings;
    }
}
