using System.Net;
using System.Text.RegularExpressions;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.People;
using FeedbackHub.Tests;
using FeedbackHub.Web.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FeedbackHub.Web.Tests.Feedback;

/// <summary>
/// The feedback form and the review page in a real browser: an interviewer writes, sees risky wording underlined as
/// they type, applies a suggestion, saves and submits; they cannot approve their own text; a recruiter reviews the
/// email the candidate will get and approves it.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class FeedbackFormTests(WebApp web, BrowserFixture browser) : IClassFixture<WebApp>
{
    private const string Risky = "she is too old and has young kids";
    private const string Clean = "You explained the trade-offs of your design clearly and tested the edge cases.";

    [Fact]
    public async Task Interviewer_writes_fixes_and_submits_cannot_approve_and_a_recruiter_approves_the_previewed_email()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        var interviewerEmail = await PersonAsync(tenant, "interviewer", "Ivy Interviewer");
        var recruiterEmail = await PersonAsync(tenant, "recruiter", "Rae Recruiter");

        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, interviewerEmail);
        var feedbackId = await StartAsync(page, applicationId);
        var comment = page.Page.GetByLabel("Comment on Problem solving (optional)");
        var findings = page.Page.Locator("#findings-problem-solving > li");
        var marks = page.Page.Locator("#mirror-problem-solving mark");

        // Rate every criterion, pick a phrase, and type the risky comment: highlights appear without saving.
        await RateEveryCriterionAsync(page);
        await page.Page.Locator("fieldset.criterion").First.Locator(".phrases input[type=checkbox]:visible").First.CheckAsync();
        await comment.ClickAsync();
        await page.Page.Keyboard.TypeAsync(Risky);
        await Expect(marks).ToHaveCountAsync(2);
        await Expect(marks.First).ToHaveTextAsync("too old");
        await Expect(findings).ToHaveCountAsync(2);
        await Expect(findings.First).ToContainTextAsync("Blocks submitting");
        await Expect(page.Page.Locator("#status-problem-solving")).ToHaveTextAsync("2 risky passages found (2 blocking), listed below.");
        await findings.First.FocusAsync();
        await Expect(page.Page.Locator("#mirror-problem-solving mark.active")).ToHaveTextAsync("too old");
        await page.CheckAsync("highlights while typing");

        // Submitting as it stands is refused, the blocking findings listed at the top and beside the field.
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        var summary = page.Page.Locator("#page-error");
        await Expect(summary).ToContainTextAsync("2 blocking language finding(s)");
        await Expect(summary.GetByRole(AriaRole.Link, new() { Name = "Problem solving: comment" })).ToHaveCountAsync(2);
        await Expect(page.Page).ToHaveTitleAsync(new Regex("^Error: "));
        await Expect(comment).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(comment).ToHaveAccessibleDescriptionAsync(new Regex("blocks submitting"));
        await Expect(comment).ToHaveValueAsync(Risky);
        await Expect(marks).ToHaveCountAsync(2); // the server's findings, drawn the same way
        await page.CheckAsync("submit refused");

        // One action applies a suggestion in place; the live check runs again on the new text.
        var suggestion = await findings.First.Locator(".use").GetAttributeAsync("data-suggestion");
        await findings.First.GetByRole(AriaRole.Button, new() { Name = "Use suggestion" }).ClickAsync();
        await Expect(comment).ToHaveValueAsync("she is " + suggestion + " and has young kids");
        await Expect(findings.Filter(new() { HasText = "too old" })).ToHaveCountAsync(0);
        await Expect(findings.Filter(new() { HasText = "young kids" })).ToHaveCountAsync(1);
        await page.CheckAsync("suggestion applied");

        // Rewritten, saved and submitted.
        await comment.FillAsync(Clean);
        await Expect(page.Page.Locator("#status-problem-solving")).ToHaveTextAsync("No risky wording found.");
        await Expect(marks).ToHaveCountAsync(0);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save draft" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Draft saved" })).ToBeVisibleAsync();
        await Expect(comment).ToHaveValueAsync(Clean);
        await page.CheckAsync("saved");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Submitted for approval" })).ToBeVisibleAsync();

        // The author is told someone else approves, is offered no button, and a forced approval is refused.
        await Expect(page.Page.Locator("#approval-status")).ToContainTextAsync("you cannot approve it yourself");
        await Expect(page.Page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        await page.CheckAsync("submitted");
        var forced = await ForcedApprovalAsync(page, feedbackId);
        Assert.Equal((int)HttpStatusCode.Forbidden, forced.Status);
        Assert.Equal(FeedbackStatus.Submitted, (await FeedbackAsync(feedbackId)).Status);

        // A recruiter reviews the email exactly as the candidate will get it, and approves.
        await using var reviewer = await browser.OpenAsync(variant: "recruiter");
        await reviewer.SignInAsync(web, recruiterEmail);
        await reviewer.GotoAsync(web.Url($"/app/feedback/{feedbackId}/review"));
        await Expect(reviewer.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Review feedback for Ada Lovelace");
        await reviewer.Page.GetByText("Plain-text version").ClickAsync(); // the text part, below the formatted one
        var preview = reviewer.Page.Locator("#preview-text");
        await Expect(preview).ToContainTextAsync("Dear Ada");
        await Expect(preview).ToContainTextAsync(Clean);
        await reviewer.CheckAsync("review");
        await reviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(reviewer.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Approved." })).ToBeVisibleAsync();
        await Expect(reviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        await reviewer.CheckAsync("approved");

        var approved = await FeedbackAsync(feedbackId);
        Assert.Equal(FeedbackStatus.Approved, approved.Status);
        Assert.Equal("Rae Recruiter", approved.ApprovedByName);
        using (var scope = web.Api.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<HttpTenantScope>().SystemAccess = true;
            var email = await scope.ServiceProvider.GetRequiredService<FeedbackAuthoring>().PreviewAsync(feedbackId, tenant.Id, CancellationToken.None);
            Assert.Equal(email.Text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim(), (await preview.TextContentAsync() ?? string.Empty).Trim()); // after the approval the plain text is folded again
        }
    }

    [Fact]
    public async Task A_recruiter_who_wrote_the_feedback_is_told_a_colleague_approves_and_a_forced_approval_is_refused()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        var email = await PersonAsync(tenant, "recruiter", "Rob Recruiter");
        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, email);
        var feedbackId = await StartAsync(page, applicationId);
        await RateEveryCriterionAsync(page);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Submitted for approval" })).ToBeVisibleAsync();

        await page.GotoAsync(web.Url($"/app/feedback/{feedbackId}/review"));
        await Expect(page.Page.Locator("#four-eyes")).ToContainTextAsync("someone else must approve it");
        await Expect(page.Page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        await Expect(page.Page.GetByRole(AriaRole.Button, new() { Name = "Request changes" })).ToHaveCountAsync(0);
        await page.CheckAsync("review by its author");

        var forced = await ForcedApprovalAsync(page, feedbackId);
        Assert.Equal((int)HttpStatusCode.Forbidden, forced.Status);
        Assert.Contains("You cannot approve feedback you wrote or edited", await forced.TextAsync(), StringComparison.Ordinal);
        Assert.Equal(FeedbackStatus.Submitted, (await FeedbackAsync(feedbackId)).Status);
    }

    [Fact]
    public async Task A_save_over_someone_elses_change_is_refused_with_a_reload_link_and_keeps_what_was_typed()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        var email = await PersonAsync(tenant, "interviewer", "Ian Interviewer");
        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, email);
        var feedbackId = await StartAsync(page, applicationId);
        await RateEveryCriterionAsync(page);
        var comment = page.Page.GetByLabel("Comment on Problem solving (optional)");
        await comment.FillAsync("Mine.");

        // Meanwhile a colleague saves through the API.
        var colleague = await tenant.ClientAsync("recruiter");
        (await colleague.PutAsync($"/v1/feedback/{feedbackId}/answers", HttpAssertions.JsonBody(new
        {
            answers = new[] { new { criterion = "problem-solving", band = "strong", comment = "Theirs." } },
        }))).EnsureSuccessStatusCode();

        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save draft" }).ClickAsync();
        var summary = page.Page.Locator("#page-error");
        await Expect(summary).ToContainTextAsync("Someone else changed this feedback");
        await Expect(summary.GetByRole(AriaRole.Link, new() { Name = "Reload the feedback" })).ToHaveAttributeAsync("href", $"/app/feedback/{feedbackId}");
        await Expect(comment).ToHaveValueAsync("Mine.");
        await page.CheckAsync("stale");
        Assert.Equal("Theirs.", (await FeedbackAsync(feedbackId)).Answers.Single().Comment);
    }

    [Fact]
    public async Task The_form_with_findings_fits_a_small_phone()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        var email = await PersonAsync(tenant, "interviewer", "Pia Phone");
        await using var page = await browser.OpenAsync(width: 360, height: 740);
        await page.SignInAsync(web, email);
        await StartAsync(page, applicationId);
        await RateEveryCriterionAsync(page);
        await page.Page.GetByLabel("Comment on Problem solving (optional)").FillAsync(Risky);
        await Expect(page.Page.Locator("#findings-problem-solving > li")).ToHaveCountAsync(2);
        await page.AssertNoHorizontalScrollAsync();
        await page.CheckAsync("360 px");
    }

    [Fact]
    public async Task Without_script_the_saved_findings_show_beside_the_field_and_a_warning_is_kept_with_one_click()
    {
        // Screenshots only: axe runs as script in the page, which is what is off here (the same pages pass axe above).
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        await using var page = await browser.OpenAsync(javaScript: false);
        await page.SignInAsync(web, await PersonAsync(tenant, "interviewer", "Noa Noscript"));
        var feedbackId = await StartAsync(page, applicationId, script: false);
        await RateEveryCriterionAsync(page);
        await page.Page.GetByLabel("Comment on Problem solving (optional)").FillAsync("Another candidate was stronger in system design.");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save draft" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Draft saved" })).ToBeVisibleAsync();
        var finding = page.Page.Locator("#findings-problem-solving > li");
        await Expect(finding).ToHaveCountAsync(1);
        await Expect(finding).ToContainTextAsync("Warning");
        await Expect(page.Page.Locator("#mirror-problem-solving mark.warn")).ToHaveCountAsync(1);
        await Expect(finding.GetByRole(AriaRole.Button, new() { Name = "Use suggestion" })).ToBeHiddenAsync(); // needs script
        await page.ScreenshotAsync("saved with a warning");

        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(page.Page.Locator("#page-error")).ToContainTextAsync("Some warnings are not settled yet");
        await Expect(page.Page.Locator("#page-error")).ToContainTextAsync("is a warning");
        await page.ScreenshotAsync("warning not kept");

        await finding.GetByLabel("Keep this wording: it is job-related").CheckAsync();
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Submitted for approval" })).ToBeVisibleAsync();
        await page.ScreenshotAsync("submitted");
        var ack = Assert.Single((await FeedbackAsync(feedbackId)).Acknowledgements);
        Assert.Equal(("answers[0].comment", "Noa Noscript"), (ack.Path, ack.ByName));
    }

    [Fact]
    public async Task A_reviewer_requests_changes_with_a_required_comment_the_author_sees_it_and_the_review_then_shows_what_changed()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        await using var author = await browser.OpenAsync();
        await author.SignInAsync(web, await PersonAsync(tenant, "interviewer", "Ada Author"));
        var feedbackId = await StartAsync(author, applicationId);
        await RateEveryCriterionAsync(author);
        var comment = author.Page.GetByLabel("Comment on Problem solving (optional)");
        await comment.FillAsync("You explained your design very clearly.");
        await author.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(author.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Submitted for approval" })).ToBeVisibleAsync();

        await using var reviewer = await browser.OpenAsync(variant: "legal");
        await reviewer.SignInAsync(web, await PersonAsync(tenant, "legal", "Lou Legal"));
        var reviewUrl = web.Url($"/app/feedback/{feedbackId}/review");
        await reviewer.GotoAsync(reviewUrl);
        await Expect(reviewer.Page.Locator("#changes")).ToHaveCountAsync(0); // never sent back: nothing to compare
        await reviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Request changes" }).ClickAsync();
        var reviewComment = reviewer.Page.GetByLabel("What should change?");
        await Expect(reviewComment).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(reviewComment).ToHaveAccessibleDescriptionAsync(new Regex("1 to 2000 characters"));
        await reviewer.CheckAsync("comment missing");
        await reviewComment.FillAsync("Please say what the design exercise showed.");
        await reviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Request changes" }).ClickAsync();
        await Expect(reviewer.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Changes requested." })).ToBeVisibleAsync();
        await Expect(reviewer.Page.Locator("#no-changes")).ToBeVisibleAsync();
        await reviewer.CheckAsync("changes requested");

        await author.GotoAsync(web.Url($"/app/feedback/{feedbackId}"));
        await Expect(author.Page.GetByText("Please say what the design exercise showed.")).ToBeVisibleAsync();
        await Expect(author.Page.GetByRole(AriaRole.Button, new() { Name = "Save draft" })).ToBeVisibleAsync();
        await author.CheckAsync("back to the author");
        Assert.Equal(FeedbackStatus.ChangesRequested, (await FeedbackAsync(feedbackId)).Status);

        // The author rewrites the comment, lowers one rating and submits again.
        await comment.FillAsync("You explained the trade-offs of your design clearly.");
        await author.Page.Locator("fieldset.criterion").Nth(1).GetByRole(AriaRole.Radio, new() { Name = "Meets the bar" }).CheckAsync();
        await author.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(author.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Submitted for approval" })).ToBeVisibleAsync();

        // The reviewer sees their earlier comment and what changed: the rating, and the comment with insertions and deletions.
        await reviewer.GotoAsync(reviewUrl);
        var changes = reviewer.Page.Locator("#changes");
        await Expect(changes.GetByRole(AriaRole.Heading, new() { Name = "What changed since changes were requested" })).ToBeVisibleAsync();
        await Expect(changes.Locator("#changes-comment")).ToHaveTextAsync("Please say what the design exercise showed.");
        await Expect(changes).ToContainTextAsync("Lou Legal sent version");
        await Expect(reviewer.Page.Locator("#no-changes")).ToHaveCountAsync(0);
        await Expect(changes.Locator("#change-code-quality .band-change")).ToHaveTextAsync("Rating changed from Strong to Meets the bar.");
        var edit = changes.Locator("#change-problem-solving blockquote.diff");
        await Expect(edit.Locator("ins")).ToHaveTextAsync(new Regex(@"^\[added: the trade-offs of\s*\]$"));
        await Expect(edit.Locator("del")).ToHaveTextAsync(new Regex(@"^\[removed:\s+very\]$"));
        await Expect(edit.Locator("ins .sr-only").First).ToHaveTextAsync("[added: "); // said, not only shown in colour
        await Expect(changes.Locator(".change")).ToHaveCountAsync(2); // the criteria that did not change are not listed
        Assert.Equal("You explained the trade-offs of your design very clearly.",
            await edit.EvaluateAsync<string>("e => [...e.childNodes].map(n => n.nodeType === 3 ? n.textContent : [...n.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent).join('')).join('')"));
        await reviewer.CheckAsync("what changed");
    }

    [Fact]
    public async Task Another_tenants_feedback_and_application_are_not_found()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var templateId = await FeedbackTemplateAsync(tenant);
        var started = await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId, templateId }))
            .ReadAsync<FeedbackHub.Api.Features.Feedback.FeedbackResponse>(HttpStatusCode.Created);

        var other = await web.Api.CreateTenantAsync();
        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, await PersonAsync(other, "recruiter", "Oscar Other"));
        await page.GotoAsync(web.Url($"/app/feedback/{started.Id}"), expectedStatus: 404);
        await page.CheckAsync("form of another tenant");
        await page.GotoAsync(web.Url($"/app/feedback/{started.Id}/review"), expectedStatus: 404);
        await page.GotoAsync(web.Url($"/app/feedback/{started.Id}/review?handler=Html"), expectedStatus: 404); // the email preview's frame
        await page.GotoAsync(web.Url($"/app/applications/{applicationId}/feedback"), expectedStatus: 404);
    }

    [Fact]
    public async Task A_comment_without_a_rating_is_not_saved_and_comes_back_as_typed_with_the_error_tied_to_the_rating()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, await PersonAsync(tenant, "interviewer", "Uma Unrated"));
        var feedbackId = await StartAsync(page, applicationId);
        var comment = page.Page.GetByLabel("Comment on Problem solving (optional)");
        await comment.FillAsync("You explained your approach clearly.");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save draft" }).ClickAsync();

        await Expect(page.Page.Locator("#page-error")).ToBeFocusedAsync();
        await Expect(page.Page.Locator("#page-error").GetByRole(AriaRole.Link, new() { Name = "Problem solving: rating" })).ToHaveAttributeAsync("href", "#band-problem-solving");
        var firstBand = page.Page.Locator("#band-problem-solving");
        await Expect(firstBand).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Page.Locator("fieldset.criterion").First).ToHaveAccessibleDescriptionAsync("Choose a rating before writing a comment.");
        await Expect(comment).ToHaveValueAsync("You explained your approach clearly.");
        await page.CheckAsync("comment without rating");
        Assert.Empty((await FeedbackAsync(feedbackId)).Answers);
    }

    [Fact]
    public async Task The_live_check_answers_a_signed_in_author_with_the_pages_token_only()
    {
        var (tenant, applicationId) = await ApplicationWithTemplateAsync();
        var url = web.Url(LiveCheckPath);
        await using var author = await browser.OpenAsync();
        await author.SignInAsync(web, await PersonAsync(tenant, "interviewer", "Tom Token"));
        await author.GotoAsync(web.Url($"/app/applications/{applicationId}/feedback"));
        var token = await author.Page.Locator("meta[name=csrf-token]").GetAttributeAsync("content");

        var checkedText = await author.Page.APIRequest.PostAsync(url, new() { DataObject = new { text = Risky }, Headers = new Dictionary<string, string> { ["X-CSRF-Token"] = token! } });
        Assert.Equal(200, checkedText.Status);
        var findings = (await checkedText.JsonAsync())!.Value.GetProperty("findings");
        Assert.Equal(["too old", "young kids"], findings.EnumerateArray().Select(f => f.GetProperty("match").GetString()));

        var withoutToken = await author.Page.APIRequest.PostAsync(url, new() { DataObject = new { text = Risky } });
        Assert.Equal(400, withoutToken.Status);

        await using var lawyer = await browser.OpenAsync(variant: "legal");
        await lawyer.SignInAsync(web, await PersonAsync(tenant, "legal", "Lee Legal"));
        Assert.Equal(403, (await lawyer.Page.APIRequest.PostAsync(url, new() { DataObject = new { text = Risky } })).Status);

        // An API key is no session: integrations use POST /v1/language/check.
        using var withKey = web.Api.ClientWithKey(await tenant.KeyAsync("interviewer"));
        Assert.NotEqual(HttpStatusCode.OK, (await withKey.PostJsonAsync(LiveCheckPath, new { text = Risky })).StatusCode);
    }

    private const string LiveCheckPath = "/app/api/language/check";

    private async Task<(TestTenant Tenant, Guid ApplicationId)> ApplicationWithTemplateAsync()
    {
        var tenant = await web.Api.CreateTenantAsync();
        await AppSteps.PublishEngineeringTemplateAsync(tenant);
        return (tenant, await ApplicationSteps.ApplicationAsync(tenant));
    }

    private async Task<Guid> FeedbackTemplateAsync(TestTenant tenant)
    {
        await using var db = web.Api.Database.CreateDbContext();
        return await db.Templates.IgnoreQueryFilters().Where(t => t.TenantId == tenant.Id).Select(t => t.Id).SingleAsync();
    }

    private static async Task<string> PersonAsync(TestTenant tenant, string role, string name) =>
        (await PeopleSteps.JoinedAsync(tenant, name, role)).Email;

    /// <summary>Starts feedback from the application's start page; returns its id from the form's address.</summary>
    private async Task<Guid> StartAsync(BrowserPage page, Guid applicationId, bool script = true)
    {
        Func<string, Task> check = script ? page.CheckAsync : page.ScreenshotAsync;
        await page.GotoAsync(web.Url($"/app/applications/{applicationId}/feedback"));
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Start feedback for Ada Lovelace");
        await check("start");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Start feedback" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Feedback for Ada Lovelace");
        await check("form");
        return Guid.Parse(Regex.Match(page.Page.Url, "/app/feedback/([0-9a-f-]{36})").Groups[1].Value);
    }

    private static async Task RateEveryCriterionAsync(BrowserPage page)
    {
        var criteria = page.Page.Locator("fieldset.criterion");
        for (var i = 0; i < await criteria.CountAsync(); i++)
            await criteria.Nth(i).Locator("input[type=radio]").First.CheckAsync();
    }

    /// <summary>Posts the review page's approve form by hand (the page offers no button), with the session and its token.</summary>
    private async Task<IAPIResponse> ForcedApprovalAsync(BrowserPage page, Guid feedbackId)
    {
        var token = await page.Page.Locator("meta[name=csrf-token]").GetAttributeAsync("content");
        var version = (await FeedbackAsync(feedbackId)).Version;
        var form = page.Page.APIRequest.CreateFormData();
        form.Set("__RequestVerificationToken", token!);
        form.Set("version", version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return await page.Page.APIRequest.PostAsync(web.Url($"/app/feedback/{feedbackId}/review?handler=Approve"), new() { Form = form });
    }

    private async Task<Domain.Authoring.Feedback> FeedbackAsync(Guid id)
    {
        await using var db = web.Api.Database.CreateDbContext();
        return await db.Feedback.AsNoTracking().SingleAsync(f => f.Id == id);
    }
}
