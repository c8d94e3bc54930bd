using System.Net;
using System.Text.RegularExpressions;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using FeedbackHub.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FeedbackHub.Web.Tests.Story;

/// <summary>
/// The whole story of issue 11 in a real browser, with the real worker, RabbitMQ, PostgreSQL and SMTP sink: an admin
/// invites an interviewer and a recruiter, who join from the emailed links; the ATS creates an application; the
/// interviewer writes feedback with the live check, cannot approve it; the recruiter finds it in My work, reviews the
/// preview and approves; the candidate asks with a note; the note is on the application page and the recruiter is
/// emailed; after the cooling-off the candidate's email arrives and says exactly what the review showed.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class StoryTests(WebApp web, BrowserFixture browser) : IClassFixture<WebApp>
{
    private const string Note = "Thank you for your time; I would love to know what to improve.";
    private const string Comment = "You explained the trade-offs of your design clearly and tested the edge cases.";

    [Fact]
    public async Task From_invitation_to_the_candidates_email_without_Swagger_a_UUID_or_JSON()
    {
        await web.WorkerAsync();
        var tenant = await web.Api.CreateTenantAsync("Story Robotics", TenantSettings.Default with { CoolingOffDelay = TimeSpan.Zero });
        await AppSteps.PublishEngineeringTemplateAsync(tenant);
        var admin = await PeopleSteps.JoinedAsync(tenant, "Avery Admin", "admin");

        // The admin invites two colleagues; both join from the emailed links.
        await using var adminPage = await browser.OpenAsync(variant: "admin");
        await adminPage.SignInAsync(web, admin.Email);
        var interviewerEmail = MailSink.NewAddress("ivy");
        var recruiterEmail = MailSink.NewAddress("rae");
        await InviteAsync(adminPage, "Ivy Interviewer", interviewerEmail, "interviewer: writes feedback");
        await InviteAsync(adminPage, "Rae Recruiter", recruiterEmail, "recruiter: writes, reviews and approves feedback; sees every application");
        await adminPage.CheckAsync("two invited");
        await using var interviewer = await JoinAsync(interviewerEmail, "interviewer");
        await using var recruiter = await JoinAsync(recruiterEmail, "recruiter");

        // The ATS creates the application over the API.
        var adaEmail = MailSink.NewAddress("ada");
        var applicationId = await ApplicationSteps.ApplicationAsync(tenant, "Ada", "Robotics Engineer", adaEmail);

        // The interviewer writes: risky words are underlined as they type, a suggestion is applied, the text fixed, submitted.
        await interviewer.GotoAsync(web.Url("/app/applications"));
        await interviewer.Page.GetByRole(AriaRole.Link, new() { Name = "Ada" }).ClickAsync();
        await Expect(interviewer.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Ada");
        await interviewer.CheckAsync("application before feedback");
        await interviewer.Page.GetByRole(AriaRole.Link, new() { Name = "Start feedback" }).ClickAsync();
        await interviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Start feedback" }).ClickAsync();
        await Expect(interviewer.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Feedback for Ada");
        var criteria = interviewer.Page.Locator("fieldset.criterion");
        for (var i = 0; i < await criteria.CountAsync(); i++)
            await criteria.Nth(i).Locator("input[type=radio]").First.CheckAsync();
        var comment = interviewer.Page.GetByLabel("Comment on Problem solving (optional)");
        await comment.ClickAsync();
        await interviewer.Page.Keyboard.TypeAsync("she is too old and has young kids");
        var marks = interviewer.Page.Locator("#mirror-problem-solving mark");
        await Expect(marks.First).ToHaveTextAsync("too old");
        await interviewer.CheckAsync("highlights while typing");
        var findings = interviewer.Page.Locator("#findings-problem-solving > li");
        await findings.First.GetByRole(AriaRole.Button, new() { Name = "Use suggestion" }).ClickAsync();
        await Expect(findings.Filter(new() { HasText = "too old" })).ToHaveCountAsync(0);
        await interviewer.CheckAsync("suggestion applied");
        await comment.FillAsync(Comment);
        await Expect(marks).ToHaveCountAsync(0);
        await interviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(interviewer.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Submitted for approval" })).ToBeVisibleAsync();
        await Expect(interviewer.Page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        var feedbackUrl = interviewer.Page.Url;
        await interviewer.CheckAsync("submitted");

        // The same person cannot approve it: an interviewer may not even open the review page.
        await interviewer.GotoAsync(Regex.Replace(feedbackUrl, @"(/app/feedback/[0-9a-f-]{36}).*", "$1/review"), expectedStatus: 403);
        await Expect(interviewer.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Not allowed");

        // The recruiter finds it in My work (and was emailed), reviews the email the candidate will get, approves.
        Assert.Contains(await MailSink.WaitForAsync(recruiterEmail, count: 2), m => m.Subject.Contains("waits for your approval", StringComparison.Ordinal));
        await recruiter.GotoAsync(web.Url("/app/"));
        var waiting = recruiter.Page.Locator("section[aria-labelledby=to-approve]");
        await Expect(waiting.GetByRole(AriaRole.Link, new() { Name = "Ada" })).ToBeVisibleAsync();
        await recruiter.CheckAsync("my work with an approval waiting");
        await waiting.GetByRole(AriaRole.Link, new() { Name = "Ada" }).ClickAsync();
        await recruiter.Page.GetByText("Plain-text version").ClickAsync(); // the text part, below the formatted one
        var preview = recruiter.Page.Locator("#preview-text");
        await Expect(preview).ToContainTextAsync(Comment);
        var previewText = (await preview.InnerTextAsync()).Trim();
        // The formatted version in its sandboxed frame, as the candidate's mail program shows it.
        await Expect(recruiter.Page.FrameLocator("iframe.email-frame").GetByText(Comment)).ToBeVisibleAsync();
        var htmlPreview = await recruiter.Page.APIRequest.GetAsync(recruiter.Page.Url + "?handler=Html");
        Assert.StartsWith("sandbox;", htmlPreview.Headers["content-security-policy"], StringComparison.Ordinal); // no script, no same origin
        var previewHtml = await htmlPreview.TextAsync();
        await recruiter.CheckAsync("review");
        await recruiter.Page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(recruiter.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Approved." })).ToBeVisibleAsync();

        // The ATS rejects; the candidate asks through their link with a note.
        var rejection = await ApplicationSteps.RejectAsync(tenant, applicationId);
        await using var candidate = await browser.OpenAsync(width: 360, height: 740, variant: "candidate");
        await candidate.GotoAsync(rejection.RequestUrl);
        await candidate.Page.GetByLabel("Anything you would like us to know? (optional)").FillAsync(Note);
        await candidate.Page.GetByRole(AriaRole.Button, new() { Name = "Ask for feedback" }).ClickAsync();
        await Expect(candidate.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("You asked for feedback on");

        // The note is on the application page, and the recruiter is told.
        Assert.Contains(await MailSink.WaitForAsync(recruiterEmail, count: 3), m => m.Subject.Contains("asked for feedback", StringComparison.Ordinal));
        await recruiter.GotoAsync(web.Url($"/app/applications/{applicationId}"));
        await Expect(recruiter.Page.Locator("blockquote.note")).ToHaveTextAsync(Note);
        await recruiter.CheckAsync("application with the candidate's note");

        // No cooling-off in this tenant: the feedback email arrives and says exactly what the review showed.
        var ada = await MailSink.WaitForAsync(adaEmail, timeout: TimeSpan.FromSeconds(60));
        var feedbackMail = Assert.Single(ada);
        Assert.Equal(Normalize(previewText), Normalize(feedbackMail.TextBody));
        Assert.Equal(Normalize(previewHtml), Normalize(feedbackMail.HtmlBody));
        await recruiter.GotoAsync(web.Url($"/app/applications/{applicationId}"));
        await Expect(recruiter.Page.GetByText(new Regex("^Accepted by the mail server"))).ToBeVisibleAsync();
        await recruiter.CheckAsync("application after the email went out");

        // Answered: Ada no longer waits in anyone's My work (the database marked her request when the email was accepted).
        await recruiter.GotoAsync(web.Url("/app/"));
        await Expect(recruiter.Page.Locator("section[aria-labelledby=waiting]").GetByRole(AriaRole.Link, new() { Name = "Ada" })).ToHaveCountAsync(0);
        await using var db = web.Api.Database.CreateDbContext();
        Assert.NotNull((await db.FeedbackRequests.SingleAsync(r => r.ApplicationId == applicationId)).AnsweredAt);
    }

    private static string Normalize(string text) => Regex.Replace(text.Replace("\r\n", "\n", StringComparison.Ordinal), @"[ \t]+\n", "\n").Trim();

    private static async Task InviteAsync(BrowserPage page, string name, string email, string roleLabel)
    {
        await page.Page.GetByRole(AriaRole.Link, new() { Name = "People" }).ClickAsync();
        await page.Page.GetByLabel("Name").FillAsync(name);
        await page.Page.GetByLabel("Email").FillAsync(email);
        await page.Page.GetByLabel(roleLabel).CheckAsync();
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Send invitation", Exact = true }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("Invitation sent");
    }

    /// <summary>Follows the invitation email's link and chooses a password; the page that comes back is signed in.</summary>
    private async Task<BrowserPage> JoinAsync(string email, string variant)
    {
        var mail = Assert.Single(await MailSink.WaitForAsync(email));
        var link = Regex.Match(mail.TextBody, Regex.Escape(web.BaseUrl) + @"/app/account/set-password\?\S+").Value;
        var page = await browser.OpenAsync(variant: variant, test: nameof(From_invitation_to_the_candidates_email_without_Swagger_a_UUID_or_JSON));
        await page.GotoAsync(link);
        await page.Page.GetByLabel("New password").FillAsync("a long and memorable passphrase");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save password and sign in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("My work");
        return page;
    }
}
