using System.Text.RegularExpressions;

namespace FeedbackHub.Domain.Templates;

/// <summary>
/// Merge fields (<c>{{candidate.first_name}}</c>, ...) usable in a template's subject, intro and outro.
/// A value that is missing when rendering is an error, never an empty hole.
/// </summary>
public static partial class MergeFields
{
    public const string CandidateFirstName = "candidate.first_name";
    public const string PositionTitle = "position.title";
    public const string CompanyName = "company.name";
    public const string RejectionDate = "application.rejected_on";

    public static IReadOnlyList<string> Known { get; } = [CandidateFirstName, PositionTitle, CompanyName, RejectionDate];

    /// <summary>The names of every merge field in the text, in order.</summary>
    public static IEnumerable<string> All(string text) =>
        FieldRegex().Matches(text).Select(m => m.Groups[1].Value);

    public static IEnumerable<string> Unknown(string text) =>
        All(text).Where(f => !Known.Contains(f, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// Renders the text: literal parts and field values both pass through <paramref name="encode"/>
    /// (HTML encoding for the HTML part, identity for plain text).
    /// </summary>
    public static string Render(string text, Func<string, string> value, Func<string, string> encode)
    {
        var sb = new System.Text.StringBuilder(text.Length + 64);
        var last = 0;
        foreach (Match m in FieldRegex().Matches(text))
        {
            sb.Append(encode(text[last..m.Index]));
            sb.Append(encode(value(m.Groups[1].Value)));
            last = m.Index + m.Length;
        }

        sb.Append(encode(text[last..]));
        return sb.ToString();
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")]
    private static partial Regex FieldRegex();
}
