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
    public static IReadOnlyList<FieldFinding> CheckFields(LanguageChecker checker, IEnumerable<(string Path, string Text)> fields) =>
        CheckFields(checker, fields, int.MaxValue, out _);

    /// <summary>As <see cref="CheckFields(LanguageChecker, IEnumerable{ValueTuple{string, string}})"/>, keeping at most <paramref name="maxFindings"/> in all.</summary>
    public static IReadOnlyList<FieldFinding> CheckFields(
        LanguageChecker checker, IEnumerable<(string Path, string Text)> fields, int maxFindings, out bool truncated)
    {
        ArgumentNullException.ThrowIfNull(checker);
        ArgumentNullException.ThrowIfNull(fields);
        var findings = new List<FieldFinding>();
        truncated = false;
        foreach (var (path, text) in fields)
        {
            if (string.IsNullOrEmpty(text))
                continue;
            if (findings.Count == maxFindings)
            {
                // The limit is reached: anything this field finds was left out.
                checker.Check(text, 0, out truncated);
                if (truncated)
                    break;
                continue;
            }

            findings.AddRange(checker.Check(text, maxFindings - findings.Count, out var cut).Select(f => new FieldFinding(path, f)));
            truncated |= cut;
        }

        return findings;
    }
}
