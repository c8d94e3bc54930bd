using System.Text.Json.Serialization;

namespace FeedbackHub.Domain.Language;

/// <summary>One risky passage found by <see cref="LanguageChecker"/> (rules) or <see cref="FullLanguageChecker"/> (rules and the sentence model).</summary>
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
    string Suggestion)
{
    /// <summary>
    /// Set by the full engine only: the sentence model's probability that the sentence is risky in this finding's
    /// category (for a rule finding the model called job-related and downgraded, a low value).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Confidence { get; init; }

    /// <summary>Set by the full engine on model findings and downgraded rule findings: the nearest labelled training
    /// example, as the explanation of what the model saw.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LabelledExample? Example { get; init; }
}

/// <summary>A labelled sentence of the training corpus, shown as the explanation of a model decision.</summary>
/// <param name="Text">The training sentence.</param>
/// <param name="Category">Its category, or null for a safe (job-related) sentence.</param>
/// <param name="Similarity">Cosine similarity of its embedding to the checked sentence's (0 to 1).</param>
public sealed record LabelledExample(string Text, string? Category, double Similarity);
