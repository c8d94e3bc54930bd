using System.Collections.Concurrent;

namespace FeedbackHub.Domain.Language;

/// <summary>A finding located in a field of a document (e.g. <c>answers[2].comment</c>).</summary>
public sealed record FieldFinding(string Path, Finding Finding);

/// <summary>
/// Compiled checkers, built once per jurisdiction and reused (they are immutable and thread-safe).
/// </summary>
/// <param name="semantic">The sentence model of the full engine.</param>
public sealed class LanguageCheckers(ISentenceClassifier semantic)
{
    private readonly ConcurrentDictionary<string, LanguageChecker> _byJurisdiction = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, FullLanguageChecker> _fullByJurisdiction = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The rules-only checker of a pack.</summary>
    public LanguageChecker For(string jurisdiction) =>
        _byJurisdiction.GetOrAdd(jurisdiction, j => LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(j)));

    /// <summary>The checker of a pack for an engine (the full engine loads the model on its first check).</summary>
    public ITextChecker For(string jurisdiction, LanguageEngine engine) => engine == LanguageEngine.Rules
        ? For(jurisdiction)
        : _fullByJurisdiction.GetOrAdd(jurisdiction, j => FullLanguageChecker.Create(For(j), semantic));

    /// <summary>Checks every field with the full engine and returns the findings with their paths, in field order.</summary>
    public IReadOnlyList<FieldFinding> Check(string jurisdiction, IEnumerable<(string Path, string Text)> fields) =>
        CheckFields(For(jurisdiction, LanguageEngine.Full), fields);

    /// <summary>Checks each field with the given checker; findings carry their field's path.</summary>
    public static IReadOnlyList<FieldFinding> CheckFields(ITextChecker checker, IEnumerable<(string Path, string Text)> fields) =>
        CheckFields(checker, fields, int.MaxValue, out _);

    /// <summary>As <see cref="CheckFields(ITextChecker, IEnumerable{ValueTuple{string, string}})"/>, keeping at most <paramref name="maxFindings"/> in all.</summary>
    public static IReadOnlyList<FieldFinding> CheckFields(
        ITextChecker checker, IEnumerable<(string Path, string Text)> fields, int maxFindings, out bool truncated)
    {
        ArgumentNullException.ThrowIfNull(checker);
        ArgumentNullException.ThrowIfNull(fields);
        var nonEmpty = fields.Where(f => !string.IsNullOrEmpty(f.Text)).ToList();
        var findings = new List<FieldFinding>();
        truncated = false;
        if (checker is FullLanguageChecker full)
        {
            // All fields' sentences go to the model together (batched).
            var all = full.CheckMany([.. nonEmpty.Select(f => f.Text)]);
            for (var i = 0; i < nonEmpty.Count && !truncated; i++)
            {
                var left = maxFindings - findings.Count;
                findings.AddRange(all[i].Take(left).Select(f => new FieldFinding(nonEmpty[i].Path, f)));
                truncated = all[i].Count > left;
            }

            return findings;
        }

        foreach (var (path, text) in nonEmpty)
        {
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
