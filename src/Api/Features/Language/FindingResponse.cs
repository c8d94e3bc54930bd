using FeedbackHub.Domain.Language;

namespace FeedbackHub.Api.Features.Language;

/// <summary>
/// A language finding in a field of a document; <c>start</c>/<c>length</c> index that field's text. Model findings
/// (<c>ruleId</c> <c>model.&lt;category&gt;</c>) cover a whole sentence; <c>confidence</c> (0 to 1, the model's probability of the
/// category) and <c>example</c> (the nearest labelled training sentence) are set by the full engine on model findings and on
/// rule findings it downgraded, and absent otherwise.
/// </summary>
public sealed record FindingResponse(
    string Path, string RuleId, string Category, Severity Severity, int Start, int Length, string Match, string Reason, string Suggestion,
    double? Confidence = null, LabelledExample? Example = null)
{
    public static FindingResponse From(FieldFinding f) =>
        new(f.Path, f.Finding.RuleId, f.Finding.Category, f.Finding.Severity, f.Finding.Start, f.Finding.Length, f.Finding.Match, f.Finding.Reason, f.Finding.Suggestion,
            f.Finding.Confidence, f.Finding.Example);

    public static List<FindingResponse> From(IEnumerable<FieldFinding> findings) => findings.Select(From).ToList();
}
