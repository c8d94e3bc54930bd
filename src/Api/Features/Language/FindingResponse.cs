using FeedbackHub.Domain.Language;

namespace FeedbackHub.Api.Features.Language;

/// <summary>A language finding in a field of a document; <c>start</c>/<c>length</c> index that field's text.</summary>
public sealed record FindingResponse(
    string Path, string RuleId, string Category, Severity Severity, int Start, int Length, string Match, string Reason, string Suggestion)
{
    public static FindingResponse From(FieldFinding f) =>
        new(f.Path, f.Finding.RuleId, f.Finding.Category, f.Finding.Severity, f.Finding.Start, f.Finding.Length, f.Finding.Match, f.Finding.Reason, f.Finding.Suggestion);

    public static List<FindingResponse> From(IEnumerable<FieldFinding> findings) => findings.Select(From).ToList();
}
