using System.Globalization;
using System.Text.Encodings.Web;
using FeedbackHub.Domain.Authoring;
using Microsoft.AspNetCore.Html;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Api.Web.Pages.Feedback;

/// <summary>One piece of a checked text: plain, or the span of a finding (its index in the field's findings).</summary>
public sealed record TextPiece(string Text, int? Finding, Severity? Severity);

/// <summary>A finding shown beside its field: where it is, how serious, why, and what to write instead.</summary>
public sealed record FieldFindingView(int Index, string CriterionKey, Finding Finding)
{
    public bool Blocking => Finding.Severity == Severity.Block;

    /// <summary>Severity in words and a symbol: never colour alone.</summary>
    public string SeverityText => Blocking ? "Blocks submitting" : "Warning";

    /// <summary>A symbol drawn in a shape by the stylesheet (no emoji font needed): a cross blocks, an exclamation warns.</summary>
    public string Icon => Blocking ? "\u00D7" : "!";
}

/// <summary>What the feedback pages share: findings by field and the text cut at their spans.</summary>
public static class FeedbackView
{
    /// <summary>The saved findings of each criterion's comment (paths are <c>answers[i].comment</c>).</summary>
    public static Dictionary<string, List<FieldFindingView>> FindingsByCriterion(Domain.Authoring.Feedback feedback)
    {
        var byCriterion = new Dictionary<string, List<FieldFindingView>>(StringComparer.Ordinal);
        foreach (var f in feedback.Findings)
        {
            if (CriterionOf(feedback, f.Path) is not { } key)
                continue;
            var list = byCriterion.TryGetValue(key, out var existing) ? existing : byCriterion[key] = [];
            list.Add(new FieldFindingView(list.Count, key, f.Finding));
        }

        return byCriterion;
    }

    /// <summary>The criterion a path such as <c>answers[2].comment</c> names, by the saved answers' order.</summary>
    public static string? CriterionOf(Domain.Authoring.Feedback feedback, string path)
    {
        if (!path.StartsWith("answers[", StringComparison.Ordinal))
            return null;
        var end = path.IndexOf(']', StringComparison.Ordinal);
        return end > 8 && int.TryParse(path.AsSpan(8, end - 8), out var i) && i < feedback.Answers.Count ? feedback.Answers[i].Criterion : null;
    }

    /// <summary>The text cut at the findings' spans, in text order; a span overlapping an earlier one is listed but not marked again.</summary>
    public static List<TextPiece> Pieces(string text, IReadOnlyList<FieldFindingView> findings)
    {
        var pieces = new List<TextPiece>();
        var at = 0;
        foreach (var f in findings.OrderBy(f => f.Finding.Start))
        {
            var (start, length) = (f.Finding.Start, f.Finding.Length);
            if (start < at || start + length > text.Length)
                continue;
            if (start > at)
                pieces.Add(new TextPiece(text[at..start], null, null));
            pieces.Add(new TextPiece(text.Substring(start, length), f.Index, f.Finding.Severity));
            at = start + length;
        }

        if (at < text.Length)
            pieces.Add(new TextPiece(text[at..], null, null));
        return pieces;
    }

    /// <summary>
    /// The text with its findings' spans in <c>mark</c> elements, exactly (no whitespace added): it lies under the
    /// textarea as its highlight layer, so every character must fall where the textarea draws it.
    /// </summary>
    public static IHtmlContent Marked(string text, IReadOnlyList<FieldFindingView> findings)
    {
        var html = new System.Text.StringBuilder();
        var encoder = HtmlEncoder.Default;
        foreach (var piece in Pieces(text, findings))
        {
            if (piece.Finding is { } i)
                html.Append("<mark class=\"").Append(piece.Severity == Severity.Block ? "block" : "warn").Append("\" data-index=\"")
                    .Append(i.ToString(CultureInfo.InvariantCulture)).Append("\">").Append(encoder.Encode(piece.Text)).Append("</mark>");
            else
                html.Append(encoder.Encode(piece.Text));
        }

        // A final line break only takes room when something follows it.
        return new HtmlString(html.Append(text.EndsWith('\n') ? " " : string.Empty).ToString());
    }

    public static string StatusText(FeedbackStatus status) => status switch
    {
        FeedbackStatus.Draft => "Draft",
        FeedbackStatus.Submitted => "Waiting for approval",
        FeedbackStatus.Approved => "Approved",
        FeedbackStatus.ChangesRequested => "Changes requested",
        _ => status.ToString(),
    };
}

/// <summary>The list of a field's findings (<c>_Findings</c>): editable forms offer the suggestion and, for warnings, keeping it.</summary>
public sealed record FindingList(string Key, string Label, IReadOnlyList<FieldFindingView> Findings, bool Editable, IReadOnlySet<string> Kept);
