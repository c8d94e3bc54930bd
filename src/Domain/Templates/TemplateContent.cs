using System.Text.RegularExpressions;
using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Templates;

/// <summary>
/// What a template version says: the email subject, intro and outro (with merge fields) and the criteria a
/// reviewer rates. Optionally, what decided the outcome: <see cref="DecidingCriteria"/> (keys of the criteria that
/// weighed most, named in the email with the band the candidate got) and <see cref="DecisionText"/> (a sentence
/// introducing them, merge fields allowed). Immutable; a published version's content never changes.
/// </summary>
public sealed record TemplateContent(
    string Subject, [FreeText] string Intro, [FreeText] string Outro, IReadOnlyList<Criterion> Criteria,
    IReadOnlyList<string>? DecidingCriteria = null, [FreeText] string? DecisionText = null)
{
    public const int MaxCriteria = 20;
    public const int MaxDecidingCriteria = 3;
    public const int MaxDecisionTextLength = 600;

    /// <summary>Every string a candidate can read, with its path (for language findings and errors).</summary>
    public IEnumerable<(string Path, string Text)> CandidateVisibleText()
    {
        yield return ("subject", Subject);
        yield return ("intro", Intro);
        yield return ("outro", Outro);
        if (DecisionText is not null)
            yield return ("decisionText", DecisionText);
        for (var c = 0; c < Criteria.Count; c++)
        {
            var criterion = Criteria[c];
            yield return ($"criteria[{c}].label", criterion.Label);
            for (var b = 0; b < criterion.Bands.Count; b++)
            {
                var band = criterion.Bands[b];
                yield return ($"criteria[{c}].bands[{b}].candidateText", band.CandidateText);
                for (var p = 0; p < band.Phrases.Count; p++)
                    yield return ($"criteria[{c}].bands[{b}].phrases[{p}]", band.Phrases[p]);
            }
        }
    }

    /// <summary>Checks shape and merge fields; throws a 422 <see cref="DomainException"/> listing every problem by path.</summary>
    public TemplateContent Validated()
    {
        var errors = new Dictionary<string, string[]>();
        void Add(string path, string message) =>
            errors[path] = errors.TryGetValue(path, out var existing) ? [.. existing, message] : [message];

        Text(Subject, "subject", 1, 200, Add, TextKind.SingleLine);
        Text(Intro, "intro", 1, 4000, Add);
        Text(Outro, "outro", 1, 4000, Add);
        if (DecisionText is not null)
            Text(DecisionText, "decisionText", 1, MaxDecisionTextLength, Add);
        foreach (var (path, text) in new[] { ("subject", Subject), ("intro", Intro), ("outro", Outro), ("decisionText", DecisionText) })
        {
            foreach (var unknown in MergeFields.Unknown(text ?? string.Empty))
                Add(path, $"Unknown merge field '{{{{{unknown}}}}}'. Known fields: {string.Join(", ", MergeFields.Known.Select(f => "{{" + f + "}}"))}.");
        }

        if (Criteria is null || Criteria.Count is 0 or > MaxCriteria)
            Add("criteria", $"A template has 1 to {MaxCriteria} criteria.");
        else
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            for (var c = 0; c < Criteria.Count; c++)
            {
                if (Criteria[c] is null)
                    Add($"criteria[{c}]", "Must not be null.");
                else
                    Criteria[c].Validate($"criteria[{c}]", keys, Add);
            }
        }

        if (DecidingCriteria is not null)
        {
            if (DecidingCriteria.Count > MaxDecidingCriteria)
                Add("decidingCriteria", $"Name at most {MaxDecidingCriteria} criteria: the ones that weighed most.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var d = 0; d < DecidingCriteria.Count; d++)
            {
                var key = DecidingCriteria[d];
                if (Criteria?.Any(c => c?.Key == key) != true)
                    Add($"decidingCriteria[{d}]", $"'{key}' is not the key of one of this template's criteria.");
                else if (!seen.Add(key))
                    Add($"decidingCriteria[{d}]", $"The key '{key}' is named twice.");
            }
        }

        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "invalid-template", "The template content is not valid.") { Errors = errors };
        return this;
    }

    internal static void Text(string? value, string path, int min, int max, Action<string, string> add, TextKind kind = TextKind.MultiLine)
    {
        if (value is null || value.Trim().Length < min || value.Length > max)
            add(path, min > 0 ? $"Must have {min} to {max} characters." : $"Must have at most {max} characters.");
        else if (TextInput.Problem(value, kind) is { } problem)
            add(path, problem);
    }
}

/// <summary>One thing the candidate is rated on, e.g. "Problem solving".</summary>
public sealed record Criterion(string Key, string Label, IReadOnlyList<RatingBand> Bands, CommentPolicy Comment)
{
    internal void Validate(string path, HashSet<string> keys, Action<string, string> add)
    {
        if (!Keys.IsValid(Key))
            add($"{path}.key", "Use 1 to 40 characters: lower-case letters, digits and '-'.");
        else if (!keys.Add(Key))
            add($"{path}.key", $"The key '{Key}' is used twice.");
        TemplateContent.Text(Label, $"{path}.label", 1, 100, add, TextKind.SingleLine);
        foreach (var unknown in MergeFields.All(Label ?? string.Empty))
            add($"{path}.label", $"Merge fields are not allowed here ('{{{{{unknown}}}}}').");
        if (Bands is null || Bands.Count is < 2 or > 7)
            add($"{path}.bands", "A criterion has 2 to 7 rating bands.");
        else
        {
            var bandKeys = new HashSet<string>(StringComparer.Ordinal);
            for (var b = 0; b < Bands.Count; b++)
            {
                if (Bands[b] is null)
                    add($"{path}.bands[{b}]", "Must not be null.");
                else
                    Bands[b].Validate($"{path}.bands[{b}]", bandKeys, add);
            }
        }

        if (Comment is null)
            add($"{path}.comment", "Say whether a free comment is allowed.");
        else if (Comment.MaxLength is < 0 or > 2000 || (Comment.Allowed && Comment.MaxLength == 0))
            add($"{path}.comment.maxLength", "Must be between 1 and 2000 when comments are allowed.");
    }
}

/// <summary>A rating band: its internal label, the wording the candidate reads, and pre-approved phrases.</summary>
public sealed record RatingBand(string Key, string Label, [FreeText] string CandidateText, [FreeText] IReadOnlyList<string> Phrases)
{
    internal void Validate(string path, HashSet<string> keys, Action<string, string> add)
    {
        if (!Keys.IsValid(Key))
            add($"{path}.key", "Use 1 to 40 characters: lower-case letters, digits and '-'.");
        else if (!keys.Add(Key))
            add($"{path}.key", $"The key '{Key}' is used twice.");
        TemplateContent.Text(Label, $"{path}.label", 1, 100, add, TextKind.SingleLine);
        TemplateContent.Text(CandidateText, $"{path}.candidateText", 1, 1000, add);
        if (Phrases is null || Phrases.Count > 20)
            add($"{path}.phrases", "A band has at most 20 phrases.");
        else
        {
            for (var p = 0; p < Phrases.Count; p++)
                TemplateContent.Text(Phrases[p], $"{path}.phrases[{p}]", 1, 300, add);
            if (Phrases.Distinct(StringComparer.Ordinal).Count() != Phrases.Count)
                add($"{path}.phrases", "Phrases must be distinct.");
        }

        foreach (var (field, text) in new[] { ("candidateText", CandidateText) }.Concat((Phrases ?? []).Select((p, i) => ($"phrases[{i}]", p))))
        {
            foreach (var unknown in MergeFields.All(text ?? string.Empty))
                add($"{path}.{field}", $"Merge fields are not allowed here ('{{{{{unknown}}}}}').");
        }
    }
}

/// <summary>Whether the reviewer may add a free comment to a criterion, and how long it may be.</summary>
public sealed record CommentPolicy(bool Allowed, int MaxLength);

internal static partial class Keys
{
    public static bool IsValid(string? key) => key is not null && KeyRegex().IsMatch(key);

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")]
    private static partial Regex KeyRegex();
}
