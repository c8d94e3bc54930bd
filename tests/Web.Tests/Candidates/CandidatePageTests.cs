using System.Text.RegularExpressions;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using FeedbackHub.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FeedbackHub.Web.Tests.Candidates;

/// <summary>The candidate's page <c>/r/{token}</c> in a real browser: keyboard only, errors a screen reader hears, a small phone.</summary>
[Collection(BrowserTests.Name)]
public sealed class CandidatePageTests(WebApp web, BrowserFixture browser) : IClassFixture<WebApp>
{
    private const string NoteLabel = "Anything you would like us to know? (optional)";

    [Fact]
    public async Task Candidate_opens_the_link_in_the_invitation_email_and_asks_for_feedback_with_the_keyboard_only()
    {
        await web.WorkerAsync();
        var tenant = await web.Api.CreateTenantAsync("Keyboard & Co", TenantSettings.Default with { InvitationsEnabled = true });
        var email = MailSink.NewAddress("keyboard");
        var applicationId = await ApplicationSteps.ApplicationAsync(tenant, "Grace", "Data Engineer", email);
        await ApplicationSteps.RejectAsync(tenant, applicationId);
        var mail = Assert.Single(await MailSink.WaitForAsync(email));
        var link = Regex.Match(mail.TextBody, Regex.Escape(web.BaseUrl) + "/r/[A-Za-z0-9_-]+").Value;
        Assert.False(string.IsNullOrEmpty(link), "No link to this host in the invitation:\n" + mail.TextBody);

        await using var page = await browser.OpenAsync();
        await page.GotoAsync(link);
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Feedback on your application");
        await Expect(page.Page.GetByText("Data Engineer at Keyboard & Co")).ToBeVisibleAsync();
        await page.CheckAsync("open");

        var note = page.Page.GetByLabel(NoteLabel);
        await page.Page.Keyboard.PressAsync("Tab");
        await Expect(note).ToBeFocusedAsync();
        await page.Page.Keyboard.TypeAsync("Thank you for the interview.");
        await page.Page.Keyboard.PressAsync("Tab");
        await Expect(page.Page.GetByRole(AriaRole.Button, new() { Name = "Ask for feedback" })).ToBeFocusedAsync();
        await page.CheckAsync("note typed");
        await page.Page.Keyboard.PressAsync("Enter");

        await Expect(page.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("You asked for feedback on");
        await Expect(page.Page.GetByText("Keyboard & Co has your request")).ToBeVisibleAsync();
        await Expect(note).ToHaveCountAsync(0); // asking twice is not offered
        await page.CheckAsync("requested");
        Assert.Equal("Thank you for the interview.", await NoteOfAsync(applicationId));
    }

    [Theory]
    [InlineData("too-long")]
    [InlineData("hidden-characters")]
    public async Task A_refused_note_comes_back_as_typed_with_the_error_tied_to_the_field_and_announced(string kind)
    {
        var (applicationId, link) = await RejectedAsync();
        await using var page = await browser.OpenAsync(variant: kind);
        await page.GotoAsync(link);
        var note = page.Page.GetByLabel(NoteLabel);
        await page.Page.Keyboard.PressAsync("Tab");
        await Expect(note).ToBeFocusedAsync();
        string typed;
        if (kind == "too-long")
        {
            // The field's maxlength stops typing at the limit; the server's check is what a client that ignores it meets.
            await note.EvaluateAsync("e => e.removeAttribute('maxlength')");
            typed = new string('x', FeedbackRequest.MaxNoteLength + 1);
        }
        else
        {
            typed = "Thanks \u202Egnp.exe"; // pasted text that reads differently from what it is
        }

        await page.Page.Keyboard.InsertTextAsync(typed);
        await page.Page.Keyboard.PressAsync("Tab");
        await page.Page.Keyboard.PressAsync("Enter");

        var alert = page.Page.GetByRole(AriaRole.Alert);
        await Expect(alert).ToContainTextAsync(kind == "too-long" ? "at most 1000 characters" : "invisible formatting characters");
        await Expect(page.Page).ToHaveTitleAsync(new Regex("^Error: "));
        await Expect(note).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(note).ToHaveAccessibleDescriptionAsync(new Regex(kind == "too-long" ? "at most 1000 characters" : "invisible formatting characters"));
        await Expect(note).ToBeFocusedAsync(); // a screen reader reads the field with its error on arrival
        await Expect(note).ToHaveValueAsync(typed);
        await page.CheckAsync("error");

        // Put right with the keyboard: the page takes it.
        await page.Page.Keyboard.PressAsync("Control+A");
        await page.Page.Keyboard.TypeAsync("Thanks.");
        await page.Page.Keyboard.PressAsync("Tab");
        await page.Page.Keyboard.PressAsync("Enter");
        await Expect(page.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("You asked for feedback on");
        await page.CheckAsync("requested");
        Assert.Equal("Thanks.", await NoteOfAsync(applicationId));
    }

    [Fact]
    public async Task A_note_as_long_as_the_field_allows_is_accepted_with_its_line_breaks()
    {
        var (applicationId, link) = await RejectedAsync();
        await using var page = await browser.OpenAsync();
        await page.GotoAsync(link);
        var note = page.Page.GetByLabel(NoteLabel);
        var line = new string('a', 99);
        await note.FocusAsync();
        for (var i = 0; i < 10; i++) // ten lines of 99 letters and 9 line breaks, then one letter: 1000 characters
            await page.Page.Keyboard.InsertTextAsync(i < 9 ? line + "\n" : line + "b");
        await page.Page.Keyboard.TypeAsync("c"); // one more: the field refuses it
        await Expect(note).ToHaveJSPropertyAsync("value.length", FeedbackRequest.MaxNoteLength);
        await page.Page.Keyboard.PressAsync("Tab");
        await page.Page.Keyboard.PressAsync("Enter");

        await Expect(page.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("You asked for feedback on");
        await page.CheckAsync("requested");
        var stored = await NoteOfAsync(applicationId);
        Assert.Equal(FeedbackRequest.MaxNoteLength, stored?.Length);
        Assert.Equal(9, stored!.Count(c => c == '\n'));
    }

    [Fact]
    public async Task The_page_fits_a_360_px_phone_in_every_state()
    {
        var tenant = await web.Api.CreateTenantAsync("Nordhavn Logistikselskab International");
        var applicationId = await ApplicationSteps.ApplicationAsync(tenant, position: "Senior Backend Engineer, Payments/Ledger-Reconciliation Platform");
        var link = (await ApplicationSteps.RejectAsync(tenant, applicationId)).RequestUrl;
        await using var page = await browser.OpenAsync(width: 360, height: 640);

        await page.GotoAsync(link);
        await page.CheckAsync("open");
        await page.AssertNoHorizontalScrollAsync();

        await page.Page.GetByLabel(NoteLabel).EvaluateAsync("e => e.removeAttribute('maxlength')");
        await page.Page.GetByLabel(NoteLabel).FillAsync(new string('x', FeedbackRequest.MaxNoteLength + 1));
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Ask for feedback" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await page.CheckAsync("error");
        await page.AssertNoHorizontalScrollAsync();

        await page.Page.GetByLabel(NoteLabel).FillAsync("Thanks.");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Ask for feedback" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status)).ToBeVisibleAsync();
        await page.CheckAsync("requested");
        await page.AssertNoHorizontalScrollAsync();
    }

    [Fact]
    public async Task A_link_that_is_not_valid_says_so_accessibly()
    {
        await using var page = await browser.OpenAsync(width: 360, height: 640);
        await page.GotoAsync(web.Url("/r/" + new string('A', 43)), expectedStatus: 404);
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("This link is not valid");
        await page.CheckAsync("not valid");
        await page.AssertNoHorizontalScrollAsync();
    }

    /// <summary>An application rejected through the API; the personal link from the rejection's answer (on this host).</summary>
    private async Task<(Guid ApplicationId, string Link)> RejectedAsync()
    {
        var tenant = await web.Api.CreateTenantAsync();
        var applicationId = await ApplicationSteps.ApplicationAsync(tenant);
        var link = (await ApplicationSteps.RejectAsync(tenant, applicationId)).RequestUrl;
        Assert.StartsWith(web.BaseUrl + "/r/", link, StringComparison.Ordinal);
        return (applicationId, link);
    }

    private async Task<string?> NoteOfAsync(Guid applicationId)
    {
        await using var db = web.Api.Database.CreateDbContext();
        return (await db.FeedbackRequests.AsNoTracking().SingleAsync(r => r.ApplicationId == applicationId)).Note;
    }
}
