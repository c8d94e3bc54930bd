using System.Text.RegularExpressions;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Templates;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages.Feedback;

/// <summary>What the form shows for one criterion: the chosen band, its chosen phrases, the comment.</summary>
public sealed record AnswerInput(string? Band, IReadOnlyList<string> Phrases, string Comment);

/// <summary>
/// The feedback form, generated from the feedback's template version: a criterion is a fieldset with its bands as
/// radio buttons, each band's pre-approved phrases as checkboxes and a comment. Plain form posts (save, submit) with
/// the version read as the expected version; the language check runs live through <see cref="LiveLanguageCheck"/>
/// when script runs, and on every save through the use case. Authors (recruiter, interviewer) edit; other readers see it.
/// </summary>
[Authorize(Policy = Policies.FeedbackReaders)]
public sealed partial class FormModel(FeedbackAuthoring authoring, FeedbackHubDbContext db, PublishedTemplateContent templates) : AppPageModel
{
    /// <summary>The reason recorded when an author keeps a warning with one click.</summary>
    public const string KeptReason = "The author checked this wording and kept it as job-related.";

    public Domain.Authoring.Feedback Feedback { get; private set; } = null!;

    public TemplateContent Template { get; private set; } = null!;

    public string Candidate { get; private set; } = string.Empty;

    public string Position { get; private set; } = string.Empty;

    /// <summary>The version the form was read at: sent back as the expected version.</summary>
    public int Version { get; private set; }

    public Dictionary<string, AnswerInput> Inputs { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, List<FieldFindingView>> Findings { get; private set; } = [];

    /// <summary>Warnings the author kept (<c>ruleId|criterion</c>), ticked again when the page comes back.</summary>
    public HashSet<string> Kept { get; } = new(StringComparer.Ordinal);

    /// <summary>Errors by field id (<c>band-{key}</c>, <c>comment-{key}</c>), shown beside the field and in the summary.</summary>
    public Dictionary<string, List<string>> FieldErrors { get; } = new(StringComparer.Ordinal);

    /// <summary>Set when a submit was refused: the findings that stopped it are listed in the summary and marked invalid.</summary>
    public bool SubmitRefused { get; private set; }

    /// <summary>Someone else saved in between: nothing was written; the person reloads.</summary>
    public bool Stale { get; private set; }

    public bool CanEdit => Can(Roles.Recruiter, Roles.Interviewer) && Feedback.Status is FeedbackStatus.Draft or FeedbackStatus.ChangesRequested;

    public bool IsContributor => Actor.Id is { } id && Feedback.Contributors.Contains(id);

    public bool CanReview => Can(Roles.Recruiter, Roles.Legal) && Feedback.Status == FeedbackStatus.Submitted && !IsContributor;

    public bool HasErrors => Error is not null || FieldErrors.Count > 0;

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct))
            return Missing();
        FillFromFeedback();
        return Page();
    }

    public Task<IActionResult> OnPostSaveAsync(Guid id, CancellationToken ct) => PostAsync(id, submit: false, ct);

    public Task<IActionResult> OnPostSubmitAsync(Guid id, CancellationToken ct) => PostAsync(id, submit: true, ct);

    /// <summary>Saves the answers as posted; submitting saves first, then submits what was saved with the kept warnings.</summary>
    private async Task<IActionResult> PostAsync(Guid id, bool submit, CancellationToken ct)
    {
        if (!Can(Roles.Recruiter, Roles.Interviewer))
            return Forbid();
        if (!await LoadAsync(id, ct))
            return Missing();
        var expected = int.TryParse(Request.Form["Version"], out var v) ? ExpectedVersion.Of(v) : new ExpectedVersion(null, "The form had no version; reload it.");
        Version = v;
        var answers = ReadAnswers();
        foreach (var kept in Request.Form["keep"])
        {
            if (kept is { Length: > 0 })
                Kept.Add(kept);
        }

        Domain.Authoring.Feedback? saved = null;
        var ok = FieldErrors.Count == 0 && await RunAsync(async () => saved = await authoring.SaveAnswersAsync(id, expected, answers, TenantId, Actor, ct));
        if (ok && submit)
        {
            Feedback = saved!;
            var acknowledgements = Kept
                .Select(k => k.Split('|', 2))
                .Where(k => k.Length == 2)
                .Select(k => (RuleId: k[0], Index: saved!.Answers.FindIndex(a => a.Criterion == k[1])))
                .Where(k => k.Index >= 0)
                .Select(k => new AcknowledgementRequest(k.RuleId, $"answers[{k.Index}].comment", KeptReason))
                .ToList();
            ok = await RunAsync(async () => await authoring.SubmitAsync(id, ExpectedVersion.Of(saved!.Version), acknowledgements, TenantId, Actor, ct));
            SubmitRefused = !ok;
        }

        if (ok)
        {
            return Done($"{WebApp.Prefix}/feedback/{id}", submit
                ? "Submitted for approval. A recruiter or legal colleague who did not write it approves it."
                : "Draft saved. The language check ran on your comments; see the findings beside each field.");
        }

        if (saved is not null)
        {
            // Saved, but the submit was refused: show what was saved, at its new version, with the findings that stopped it.
            await LoadAsync(id, ct);
            FillFromFeedback();
        }
        else
        {
            // Everything comes back as typed, also a comment whose criterion has no rating yet.
            foreach (var criterion in Template.Criteria)
            {
                Inputs[criterion.Key] = Input(answers, criterion.Key) is { Band: not null } input
                    ? input
                    : new AnswerInput(null, [], Request.Form[$"comment-{criterion.Key}"].ToString());
            }
            // The saved findings belong to the saved text; they are shown only where the text is still the same.
            Findings = FeedbackView.FindingsByCriterion(Feedback)
                .Where(f => Feedback.Answers.FirstOrDefault(a => a.Criterion == f.Key)?.Comment == NullIfBlank(Inputs[f.Key].Comment))
                .ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        }

        Error ??= "Check the fields marked below.";
        CollectFieldErrors(answers);
        Response.StatusCode = Stale ? StatusCodes.Status409Conflict : StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    /// <summary>Runs a use case as <see cref="AppPageModel.TryAsync"/> does; a stale version (someone else changed it) and missing acknowledgements get the page's own words.</summary>
    private async Task<bool> RunAsync(Func<Task> work)
    {
        var ok = await TryAsync(work);
        var code = Refusal?.Code;
        Stale = code == "stale-version";
        if (Stale)
            Error = "Someone else changed this feedback after you opened it. Nothing was saved: reload to see their version, then apply your change again.";
        else if (code == "acknowledgement-required")
            Error = "Some warnings are not settled yet: rewrite them, or tick \u201CKeep this wording\u201D where the wording is job-related.";
        return ok;
    }

    private async Task<bool> LoadAsync(Guid id, CancellationToken ct)
    {
        var feedback = await db.Feedback.AsNoTracking().SingleOrDefaultAsync(f => f.Id == id, ct);
        if (feedback is null)
            return false;
        Feedback = feedback;
        Version = feedback.Version;
        Template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        var about = await (
            from a in db.Applications
            join c in db.Candidates on a.CandidateId equals c.Id
            where a.Id == feedback.ApplicationId
            select new { c.FirstName, c.LastName, c.ErasedAt, a.PositionTitle }).SingleAsync(ct);
        Candidate = about.ErasedAt is null ? $"{about.FirstName} {about.LastName}".Trim() : "Erased candidate";
        Position = about.PositionTitle;
        return true;
    }

    private void FillFromFeedback()
    {
        foreach (var criterion in Template.Criteria)
            Inputs[criterion.Key] = Input(Feedback.Answers, criterion.Key);
        Findings = FeedbackView.FindingsByCriterion(Feedback);
    }

    private static AnswerInput Input(IEnumerable<Answer> answers, string criterion) =>
        answers.FirstOrDefault(a => a.Criterion == criterion) is { } a
            ? new AnswerInput(a.Band, a.Phrases, a.Comment ?? string.Empty)
            : new AnswerInput(null, [], string.Empty);

    /// <summary>
    /// The posted answers in template order: a criterion with a band is answered; only the phrases of the chosen band
    /// count (a phrase ticked under another band before switching is dropped); phrases are posted as band and index.
    /// </summary>
    private List<Answer> ReadAnswers()
    {
        var answers = new List<Answer>();
        foreach (var criterion in Template.Criteria)
        {
            var band = Request.Form[$"band-{criterion.Key}"].ToString();
            var comment = Request.Form[$"comment-{criterion.Key}"].ToString();
            var chosen = criterion.Bands.FirstOrDefault(b => b.Key == band);
            if (band.Length == 0)
            {
                if (comment.Trim().Length > 0)
                    FieldErrors.GetOrAdd($"band-{criterion.Key}").Add("Choose a rating before writing a comment.");
                continue;
            }

            var phrases = Request.Form[$"phrase-{criterion.Key}"]
                .Select(p => p?.Split('|', 2) ?? [])
                .Where(p => p.Length == 2 && p[0] == band && int.TryParse(p[1], out var i) && chosen is not null && i >= 0 && i < chosen.Phrases.Count)
                .Select(p => chosen!.Phrases[int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)])
                .Distinct(StringComparer.Ordinal)
                .ToList();
            answers.Add(new Answer(criterion.Key, band, phrases, comment));
        }

        return answers;
    }

    /// <summary>Turns the use case's errors (by answer path) and a refused submit's findings into errors beside fields.</summary>
    private void CollectFieldErrors(List<Answer> posted)
    {
        foreach (var (key, entry) in ModelState)
        {
            var match = AnswerPath().Match(key);
            if (match.Success && int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) is var i && i < posted.Count)
            {
                var field = match.Groups[2].Value == "comment" ? "comment" : "band";
                FieldErrors.GetOrAdd($"{field}-{posted[i].Criterion}").AddRange(entry.Errors.Select(e => e.ErrorMessage));
            }
            else if (key == "answers")
            {
                foreach (var message in entry.Errors.Select(e => e.ErrorMessage))
                {
                    var criterion = Quoted().Match(message) is { Success: true } m ? m.Groups[1].Value : Template.Criteria[0].Key;
                    FieldErrors.GetOrAdd($"band-{criterion}").Add("Choose a rating: every criterion is rated before submitting.");
                }
            }
        }

        if (!SubmitRefused)
            return;
        foreach (var (criterion, findings) in Findings)
        {
            foreach (var f in findings)
            {
                if (f.Blocking)
                    FieldErrors.GetOrAdd($"comment-{criterion}").Add($"\u201C{f.Finding.Match}\u201D blocks submitting: {f.Finding.Reason}");
                else if (!Kept.Contains($"{f.Finding.RuleId}|{criterion}"))
                    FieldErrors.GetOrAdd($"comment-{criterion}").Add($"\u201C{f.Finding.Match}\u201D is a warning: rewrite it, or keep it with \u201CKeep this wording\u201D.");
            }
        }
    }

    private static string? NullIfBlank(string text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    [GeneratedRegex(@"^answers\[(\d+)\]\.(\w+)")]
    private static partial Regex AnswerPath();

    [GeneratedRegex("^'([^']+)'")]
    private static partial Regex Quoted();
}

internal static class DictionaryExtensions
{
    public static List<string> GetOrAdd(this Dictionary<string, List<string>> errors, string key) =>
        errors.TryGetValue(key, out var list) ? list : errors[key] = [];
}
