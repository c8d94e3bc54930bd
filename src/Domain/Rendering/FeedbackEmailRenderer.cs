using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Templates;

namespace FeedbackHub.Domain.Rendering;

/// <summary>The values merge fields stand for; null means "not known", which blocks rendering if a field needs it.</summary>
public sealed record MergeValues(string? CandidateFirstName, string? PositionTitle, string? CompanyName, DateTimeOffset? RejectedAt);

/// <summary>
/// How every feedback email ends: whom to contact and how the candidate's data is handled. The tenant's own texts
/// when set (<see cref="TenantSettings.ContactText"/>, <see cref="TenantSettings.PrivacyText"/>), otherwise
/// sentences built from its reply-to (or sender) address and retention period.
/// </summary>
public sealed record EmailFooter(string Contact, string Privacy)
{
    public static EmailFooter For(string company, TenantSettings settings)
    {
        var address = settings.ReplyTo is { Length: > 0 } replyTo ? replyTo : settings.SenderAddress;
        return new EmailFooter(
            settings.ContactText ?? $"Questions about this feedback? Write to {address}.",
            settings.PrivacyText
                ?? $"{company} keeps your application data for {settings.RetentionMonths} months after your last contact with us and then erases it, "
                + $"unless the law requires us to keep it longer. To see your data or have it erased sooner, write to {address}.");
    }
}

/// <summary>A rendered feedback email: what the candidate reads.</summary>
public sealed record RenderedEmail(string Subject, string Text, string Html);

/// <summary>
/// The one renderer of feedback emails: the API's preview and the worker's delivery both call it, so the preview
/// is exactly what is sent. Every candidate-visible value is HTML-encoded in the HTML part; a merge field whose
/// value is missing is an error (never an empty hole).
/// </summary>
public static class FeedbackEmailRenderer
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public const string DecisionHeading = "What weighed most in our decision";

    public static RenderedEmail Render(TemplateContent template, IReadOnlyList<Answer> answers, MergeValues values, EmailFooter footer)
    {
        var missing = template.CandidateVisibleText()
            .Where(t => t.Path is "subject" or "intro" or "outro" or "decisionText")
            .SelectMany(t => MergeFields.All(t.Text))
            .Distinct(StringComparer.Ordinal)
            .Where(f => Value(f, values) is null)
            .ToList();
        if (missing.Count > 0)
        {
            throw new DomainException(DomainErrorKind.Invalid, "missing-merge-value",
                $"The email cannot be rendered: no value for {string.Join(", ", missing.Select(m => "{{" + m + "}}"))}.")
            {
                Errors = missing.ToDictionary(m => m, m => new[] { Explain(m) }),
            };
        }

        string Field(string name) => Value(name, values)!;
        var subject = MergeFields.Render(template.Subject, Field, s => s).ReplaceLineEndings(" ").Trim();

        var text = new StringBuilder();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
            .Append(Html.Encode(subject))
            .Append("</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933;max-width:640px;margin:0 auto;padding:24px\">");

        Paragraphs(MergeFields.Render(template.Intro, Field, s => s), text, html);

        foreach (var criterion in template.Criteria)
        {
            var answer = answers.FirstOrDefault(a => a.Criterion == criterion.Key);
            if (answer is null)
                continue;
            var band = criterion.Bands.First(b => b.Key == answer.Band);
            text.Append(criterion.Label).Append('\n').Append(band.CandidateText).Append('\n');
            html.Append("<h2 style=\"font-size:17px;margin:24px 0 4px\">").Append(Html.Encode(criterion.Label)).Append("</h2>")
                .Append("<p style=\"margin:0 0 8px\">").Append(Html.Encode(band.CandidateText)).Append("</p>");
            if (answer.Phrases.Count > 0)
            {
                html.Append("<ul style=\"margin:0 0 8px;padding-left:20px\">");
                foreach (var phrase in answer.Phrases)
                {
                    text.Append("- ").Append(phrase).Append('\n');
                    html.Append("<li>").Append(Html.Encode(phrase)).Append("</li>");
                }

                html.Append("</ul>");
            }

            if (answer.Comment is { Length: > 0 } comment)
            {
                text.Append(comment).Append('\n');
                html.Append("<p style=\"margin:0 0 8px\">").Append(Lines(comment)).Append("</p>");
            }

            text.Append('\n');
        }

        Decision(template, answers, MergeFields.Render(template.DecisionText ?? string.Empty, Field, s => s), text, html);
        Paragraphs(MergeFields.Render(template.Outro, Field, s => s), text, html);

        text.Append(footer.Contact.Trim()).Append("\n\n").Append(footer.Privacy.Trim()).Append('\n');
        html.Append("<hr style=\"border:none;border-top:1px solid #cbd2d9;margin:24px 0 12px\">")
            .Append("<p style=\"margin:0 0 8px;font-size:13px;color:#52606d\">").Append(Lines(footer.Contact.Trim())).Append("</p>")
            .Append("<p style=\"margin:0 0 8px;font-size:13px;color:#52606d\">").Append(Lines(footer.Privacy.Trim())).Append("</p>");
        html.Append("</body></html>");
        return new RenderedEmail(subject, text.ToString().TrimEnd() + "\n", html.ToString());
    }

    /// <summary>
    /// "What weighed most in our decision": the template's sentence, then each deciding criterion the feedback
    /// answers, with the wording of the band the candidate got. Nothing when the template names neither.
    /// </summary>
    private static void Decision(TemplateContent template, IReadOnlyList<Answer> answers, string decisionText, StringBuilder text, StringBuilder html)
    {
        var deciding = (template.DecidingCriteria ?? [])
            .Select(key => template.Criteria.FirstOrDefault(c => c.Key == key))
            .Select(c => (Criterion: c, Answer: c is null ? null : answers.FirstOrDefault(a => a.Criterion == c.Key)))
            .Where(d => d.Criterion is not null && d.Answer is not null)
            .Select(d => (d.Criterion!.Label, d.Criterion.Bands.First(b => b.Key == d.Answer!.Band).CandidateText))
            .ToList();
        if (deciding.Count == 0 && decisionText.Trim().Length == 0)
            return;

        text.Append(DecisionHeading).Append('\n');
        html.Append("<h2 style=\"font-size:17px;margin:24px 0 4px\">").Append(Html.Encode(DecisionHeading)).Append("</h2>");
        if (decisionText.Trim().Length > 0)
        {
            text.Append(decisionText.Trim()).Append('\n');
            html.Append("<p style=\"margin:0 0 8px\">").Append(Lines(decisionText.Trim())).Append("</p>");
        }

        if (deciding.Count > 0)
        {
            html.Append("<ul style=\"margin:0 0 8px;padding-left:20px\">");
            foreach (var (label, bandText) in deciding)
            {
                text.Append("- ").Append(label).Append(": ").Append(bandText).Append('\n');
                html.Append("<li><strong>").Append(Html.Encode(label)).Append(":</strong> ").Append(Html.Encode(bandText)).Append("</li>");
            }

            html.Append("</ul>");
        }

        text.Append('\n');
    }

    private static void Paragraphs(string block, StringBuilder text, StringBuilder html)
    {
        text.Append(block.Trim()).Append("\n\n");
        foreach (var paragraph in block.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            html.Append("<p style=\"margin:0 0 12px\">").Append(Lines(paragraph)).Append("</p>");
    }

    /// <summary>Encoded text with line breaks kept as &lt;br&gt;.</summary>
    private static string Lines(string text) =>
        string.Join("<br>", text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(Html.Encode));

    private static string? Value(string field, MergeValues v) => field switch
    {
        MergeFields.CandidateFirstName => Blank(v.CandidateFirstName),
        MergeFields.PositionTitle => Blank(v.PositionTitle),
        MergeFields.CompanyName => Blank(v.CompanyName),
        MergeFields.RejectionDate => v.RejectedAt?.ToString("d MMMM yyyy", CultureInfo.InvariantCulture),
        _ => null,
    };

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string Explain(string field) => field switch
    {
        MergeFields.CandidateFirstName => "The candidate has no first name (or was erased).",
        MergeFields.RejectionDate => "The application has not been rejected yet.",
        _ => "No value is known for this field.",
    };
}
