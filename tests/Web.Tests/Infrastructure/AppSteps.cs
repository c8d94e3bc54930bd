using System.Net;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Tests;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FeedbackHub.Web.Tests.Infrastructure;

/// <summary>Steps the web app's browser tests share: signing in through the page, a published template to write against.</summary>
public static class AppSteps
{
    /// <summary>Signs in through the sign-in page and lands on My work.</summary>
    public static async Task SignInAsync(this BrowserPage page, WebApp web, string email, string password = PeopleSteps.Password)
    {
        await page.GotoAsync(web.Url("/app/sign-in"));
        await page.Page.GetByLabel("Email").FillAsync(email);
        await page.Page.GetByLabel("Password").FillAsync(password);
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("My work");
    }

    /// <summary>The example engineering template, written by a recruiter key and published by a legal key (the API's path).</summary>
    public static async Task PublishEngineeringTemplateAsync(TestTenant tenant)
    {
        var author = await tenant.ClientAsync("recruiter");
        var legal = await tenant.ClientAsync("legal");
        var (name, content) = ExampleTemplates.Engineering;
        var created = await (await author.PostJsonAsync("/v1/templates", TemplateRequest.From(name, "en", content)))
            .ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        (await author.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null)).EnsureSuccessStatusCode();
        (await legal.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).EnsureSuccessStatusCode();
    }
}
