using System.Net;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Web;

/// <summary>The web app's pages over plain HTTP: anonymous pages open, the others send to the sign-in page, assets are served.</summary>
public sealed class WebAppRoutesTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Theory]
    [InlineData("/app/sign-in")]
    [InlineData("/app/account/forgot-password")]
    public async Task Anonymous_pages_open_with_the_apps_content_policy(string path)
    {
        var response = await api.CreateClient().GetAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}\n" + string.Join("\n", api.Logs.Lines.Where(l => l.Contains("Exception", StringComparison.Ordinal)).TakeLast(2)));
        Assert.StartsWith("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Theory]
    [InlineData("/app/")]
    [InlineData("/app/people")]
    [InlineData("/app/applications/01a20000-0000-7000-8000-000000000001")]
    public async Task Signed_out_pages_send_to_the_sign_in_page_with_the_way_back(string path)
    {
        var client = api.CreateClient(new() { AllowAutoRedirect = false });
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/app/sign-in", response.Headers.Location!.AbsolutePath);
        Assert.Contains("returnUrl=" + Uri.EscapeDataString(path), response.Headers.Location.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_person_signs_in_with_the_form_and_every_page_of_their_roles_opens()
    {
        var tenant = await api.CreateTenantAsync();
        var person = await PeopleSteps.JoinedAsync(tenant, "Avery", "admin", "recruiter");
        var client = await SignedInAsync(api, person.Email);
        foreach (var path in new[] { "/app/", "/app/applications", "/app/people", "/app/settings" })
        {
            var page = await client.GetAsync(path);
            Assert.True(page.StatusCode == HttpStatusCode.OK, $"{path}: {page.StatusCode}\n" + string.Join("\n", api.Logs.Lines.Where(l => l.Contains("Exception", StringComparison.Ordinal)).TakeLast(1)));
        }

        // The key ring that signs the session is in the database, sealed: the table alone cannot forge a session.
        await using var db = api.Database.CreateDbContext();
        var keys = await db.DataProtectionKeys.Select(k => k.Xml!).ToListAsync();
        Assert.NotEmpty(keys);
        Assert.All(keys, xml =>
        {
            Assert.Contains("<sealedKey", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
        });
    }

    /// <summary>A client holding a session of <paramref name="email"/>, signed in through the sign-in form (redirects not followed).</summary>
    internal static async Task<HttpClient> SignedInAsync(ApiFactory api, string email)
    {
        var client = api.CreateClient(new() { AllowAutoRedirect = false });
        var signedIn = await client.PostAsync("/app/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Email"] = email, ["Password"] = PeopleSteps.Password, ["__RequestVerificationToken"] = await FormTokenAsync(client, "/app/sign-in"),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        return client;
    }

    /// <summary>The antiforgery token of the form on <paramref name="path"/>.</summary>
    internal static async Task<string> FormTokenAsync(HttpClient client, string path) =>
        Regex.Match(await client.GetStringAsync(path), "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;

    [Fact]
    public async Task An_unknown_page_is_the_apps_404_page_not_a_problem_document()
    {
        var response = await api.CreateClient().GetAsync("/app/no-such-page");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("<h1>Not found</h1>", await response.Content.ReadAsStringAsync());
    }
}
