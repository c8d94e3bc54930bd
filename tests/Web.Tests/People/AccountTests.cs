using System.Net;
using System.Text.RegularExpressions;
using FeedbackHub.Tests;
using FeedbackHub.Web.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FeedbackHub.Web.Tests.People;

/// <summary>People's accounts in a real browser: invitation by email, choosing a password, signing in and out, and what must not work.</summary>
[Collection(BrowserTests.Name)]
public sealed class AccountTests(WebApp web, BrowserFixture browser) : IClassFixture<WebApp>
{
    [Fact]
    public async Task An_admin_invites_an_interviewer_who_follows_the_emailed_link_chooses_a_password_and_is_signed_in()
    {
        await web.WorkerAsync();
        var tenant = await web.Api.CreateTenantAsync("Invite & Co");
        var admin = await PeopleSteps.JoinedAsync(tenant, "Avery Admin", "admin");
        var email = MailSink.NewAddress("ivy");

        await using var adminPage = await browser.OpenAsync(variant: "admin");
        await adminPage.SignInAsync(web, admin.Email);
        await adminPage.CheckAsync("my work (admin)");
        await adminPage.Page.GetByRole(AriaRole.Link, new() { Name = "People" }).ClickAsync();
        await Expect(adminPage.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("People");
        await adminPage.Page.GetByLabel("Name").FillAsync("Ivy Interviewer");
        await adminPage.Page.GetByLabel("Email").FillAsync(email);
        await adminPage.Page.GetByLabel("interviewer: writes feedback").CheckAsync();
        await adminPage.CheckAsync("invite filled");
        await adminPage.Page.GetByRole(AriaRole.Button, new() { Name = "Send invitation" }).ClickAsync();
        await Expect(adminPage.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("Invitation sent");
        await Expect(adminPage.Page.GetByRole(AriaRole.Row).Filter(new() { HasText = email })).ToContainTextAsync("Invited");
        await adminPage.CheckAsync("invited");

        var mail = Assert.Single(await MailSink.WaitForAsync(email));
        Assert.Contains("Invite & Co", mail.Subject);
        var link = Regex.Match(mail.TextBody, Regex.Escape(web.BaseUrl) + @"/app/account/set-password\?\S+").Value;
        Assert.False(string.IsNullOrEmpty(link), "No set-password link to this host in the invitation:\n" + mail.TextBody);

        await using var page = await browser.OpenAsync(width: 360, height: 740, variant: "invitee");
        await page.GotoAsync(link);
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Choose your password");
        await page.CheckAsync("set password");
        await page.Page.GetByLabel("New password").FillAsync("short");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save password and sign in" }).ClickAsync();
        var field = page.Page.GetByLabel("New password");
        await Expect(field).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Page.Locator("#password-error")).ToContainTextAsync("at least 12 characters");
        await page.CheckAsync("password refused");

        await field.FillAsync("a long and memorable passphrase");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Save password and sign in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("My work");
        await Expect(page.Page.GetByText("Ivy Interviewer")).ToBeVisibleAsync();
        await Expect(page.Page.GetByRole(AriaRole.Link, new() { Name = "People" })).ToHaveCountAsync(0); // not an admin
        await page.AssertNoHorizontalScrollAsync();
        await page.CheckAsync("signed in at 360 px");

        var session = Assert.Single(await page.CookiesAsync(), c => c.Name == "fh_session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);

        // The link works once.
        await using var again = await browser.OpenAsync(variant: "reuse");
        await again.GotoAsync(link);
        await again.Page.GetByLabel("New password").FillAsync("another long passphrase");
        await again.Page.GetByRole(AriaRole.Button, new() { Name = "Save password and sign in" }).ClickAsync();
        await Expect(again.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("expired or was already used");
        await again.CheckAsync("link used twice");
    }

    [Fact]
    public async Task Sign_in_failures_say_the_same_for_unknown_addresses_and_wrong_passwords_and_five_lock_the_account()
    {
        var tenant = await web.Api.CreateTenantAsync();
        var person = await PeopleSteps.JoinedAsync(tenant, "Riley Recruiter", "recruiter");
        await using var page = await browser.OpenAsync();

        var unknown = await FailedSignInAsync(page, PeopleSteps.NewEmail("nobody"), PeopleSteps.Password);
        var wrong = await FailedSignInAsync(page, person.Email, "not the password at all");
        Assert.Equal(unknown, wrong);
        await page.CheckAsync("sign-in refused");

        for (var i = 0; i < 4; i++)
            await FailedSignInAsync(page, person.Email, "still not the password");
        // Locked: the right password is refused too, with the same words.
        Assert.Equal(unknown, await FailedSignInAsync(page, person.Email, PeopleSteps.Password));
    }

    [Fact]
    public async Task A_removed_person_loses_their_session_on_the_next_request()
    {
        var tenant = await web.Api.CreateTenantAsync();
        var person = await PeopleSteps.JoinedAsync(tenant, "Ivy Interviewer", "interviewer");
        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, person.Email);

        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin.DeleteAsync($"/v1/people/{person.Id}")).StatusCode);
        await page.Page.GotoAsync(web.Url("/app/settings"));
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sign in");
        await page.CheckAsync("signed out after removal");
        await FailedSignInAsync(page, person.Email, PeopleSteps.Password); // and cannot sign in again
    }

    [Fact]
    public async Task Pages_answer_404_for_another_tenants_application_and_refuse_a_form_without_its_antiforgery_token()
    {
        var mine = await web.Api.CreateTenantAsync();
        var theirs = await web.Api.CreateTenantAsync();
        var theirApplication = await ApplicationSteps.ApplicationAsync(theirs, "Other", "Tenant Engineer");
        var admin = await PeopleSteps.JoinedAsync(mine, "Avery Admin", "admin", "recruiter");
        await using var page = await browser.OpenAsync();
        await page.SignInAsync(web, admin.Email);

        await page.GotoAsync(web.Url($"/app/applications/{theirApplication}"), expectedStatus: 404);
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Not found");
        await Expect(page.Page.GetByText("Tenant Engineer")).ToHaveCountAsync(0);
        await page.CheckAsync("other tenant 404");

        // The session cookie alone does not make a form post: the antiforgery token is required.
        var form = page.Page.APIRequest.CreateFormData();
        form.Append("Email", PeopleSteps.NewEmail("forged"));
        form.Append("DisplayName", "Forged");
        form.Append("Roles", "admin");
        var forged = await page.Page.APIRequest.PostAsync(web.Url("/app/people?handler=Invite"), new() { Form = form });
        Assert.Equal(400, forged.Status);
        await using var db = web.Api.Database.CreateDbContext();
        Assert.DoesNotContain(db.People.Select(p => p.DisplayName).ToList(), n => n == "Forged");

        // An API key is not a session: pages answer with the sign-in page, never the key's tenant's data.
        using var withKey = web.Api.ClientWithKey(mine.AdminKey);
        var answer = await withKey.GetAsync("/app/people");
        Assert.Equal("/app/sign-in", answer.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.DoesNotContain("Everyone in your organisation", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_person_turns_on_two_step_sign_in_and_then_signs_in_with_the_app_code_or_a_recovery_code_once()
    {
        var tenant = await web.Api.CreateTenantAsync();
        var person = await PeopleSteps.JoinedAsync(tenant, "Tess Twostep", "recruiter");
        await using var page = await browser.OpenAsync(variant: "two-step");
        await page.SignInAsync(web, person.Email);
        await page.Page.GetByRole(AriaRole.Link, new() { Name = "Settings" }).ClickAsync();
        await Expect(page.Page.GetByTestId("two-step-state")).ToContainTextAsync("Off");
        await page.CheckAsync("settings");
        await page.Page.GetByRole(AriaRole.Link, new() { Name = "Set up two-step sign-in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Two-step sign-in");
        await Expect(page.Page.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("QR code") })).ToBeVisibleAsync();
        var key = await page.Page.GetByTestId("authenticator-key").InnerTextAsync();
        await page.CheckAsync("two-step setup");
        await page.Page.SetViewportSizeAsync(360, 740);
        await page.AssertNoHorizontalScrollAsync();
        await page.CheckAsync("two-step setup at 360 px");
        await page.Page.SetViewportSizeAsync(1280, 800);

        // A wrong code leaves it off, with the error beside the field.
        await page.Page.GetByLabel("Code from your app").FillAsync(WrongCode(key));
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Turn on two-step sign-in" }).ClickAsync();
        await Expect(page.Page.GetByLabel("Code from your app")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Page.Locator("#code-error")).ToContainTextAsync("not right");
        await page.CheckAsync("two-step wrong code");

        await page.Page.GetByLabel("Code from your app").FillAsync(Code(key));
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Turn on two-step sign-in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("Two-step sign-in is on");
        var codes = await page.Page.GetByTestId("recovery-codes").Locator("code").AllInnerTextsAsync();
        Assert.Equal(10, codes.Count);
        await page.CheckAsync("recovery codes");

        // This session stays signed in; a new sign-in now asks for the app's code after the password.
        await page.GotoAsync(web.Url("/app/settings"));
        await Expect(page.Page.GetByTestId("two-step-state")).ToContainTextAsync("On");
        await SignOutAsync(page);
        await PasswordAsync(page, person.Email);
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Two-step sign-in");
        await page.CheckAsync("two-step sign-in");
        await page.Page.GetByLabel("Code from your authenticator app").FillAsync(WrongCode(key));
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not right");
        await page.Page.GetByLabel("Code from your authenticator app").FillAsync(Code(key));
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("My work");

        // A recovery code instead of the app, once.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await SignOutAsync(page);
            await PasswordAsync(page, person.Email);
            await page.Page.GetByRole(AriaRole.Link, new() { Name = "No access to your app? Use a recovery code" }).ClickAsync();
            await page.Page.GetByLabel("Recovery code").FillAsync(codes[0].ToLowerInvariant());
            await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            if (attempt == 0)
            {
                await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("My work");
                await Expect(page.Page.GetByRole(AriaRole.Status)).ToContainTextAsync("recovery code");
            }
            else
            {
                await Expect(page.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("already used");
                await page.CheckAsync("recovery code used twice");
            }
        }

        // Without the password first, the two-step page sends back to sign in.
        await using var stranger = await browser.OpenAsync(variant: "stranger");
        await stranger.Page.GotoAsync(web.Url("/app/sign-in/two-step"));
        await Expect(stranger.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sign in");
    }

    /// <summary>The code an authenticator app shows now, and one it does not.</summary>
    private static string Code(string key) => PeopleSteps.AuthenticatorCode(key);

    private static string WrongCode(string key) => ((int.Parse(Code(key), System.Globalization.CultureInfo.InvariantCulture) + 500_000) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task SignOutAsync(BrowserPage page)
    {
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("You are signed out");
    }

    private async Task PasswordAsync(BrowserPage page, string email)
    {
        await page.Page.GotoAsync(web.Url("/app/sign-in"));
        await page.Page.GetByLabel("Email").FillAsync(email);
        await page.Page.GetByLabel("Password").FillAsync(PeopleSteps.Password);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    private async Task<string> FailedSignInAsync(BrowserPage page, string email, string password)
    {
        await page.Page.GotoAsync(web.Url("/app/sign-in"));
        await page.Page.GetByLabel("Email").FillAsync(email);
        await page.Page.GetByLabel("Password").FillAsync(password);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        var alert = page.Page.GetByRole(AriaRole.Alert);
        await Expect(alert).ToBeVisibleAsync();
        await Expect(page.Page.GetByLabel("Email")).ToHaveAttributeAsync("aria-invalid", "true");
        return await alert.InnerTextAsync();
    }
}
