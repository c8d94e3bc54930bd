namespace FeedbackHub.Domain.Language;

/// <summary>One risky passage found by <see cref="LanguageChecker"/>.</summary>
/// <param name="RuleId">Stable rule id, e.g. <c>age.at-his-age</c> (or a tenant term's id).</param>
/// <param name="Category">Stable kebab-case category id, e.g. <c>age</c>.</param>
/// <param name="Severity">Severity in force for the jurisdiction the checker was built for.</param>
/// <param name="Start">Offset of the match in the ORIGINAL text, in UTF-16 code units.</param>
/// <param name="Length">Length of the match in the original text, in UTF-16 code units.</param>
/// <param name="Match">The original text of the match (<c>text.Substring(Start, Length)</c>).</param>
/// <param name="Reason">One sentence a reviewer understands: why this is risky.</param>
/// <param name="Suggestion">A safer way to say what is job-related, or what to drop.</param>
public sealed record Finding(
    string RuleId,
    string Category,
    Severity Severity,
    int Start,
    int Length,
    string Match,
    string Reason,
    string Suggestion);
