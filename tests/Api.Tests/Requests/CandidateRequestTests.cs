using System.Globalization;
using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Features.Deliveries;
using FeedbackHub.Api.Features.Requests;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Api.Tests.Authoring;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Requests;

public sealed class CandidateRequestTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly IReadOnlyList<Answer> Answers =
    [
        new("problem-solving", "meets"), new("code-quality", "strong"), new("system-design", "developing"), new("communication", "meets"),
    ];

    [Fact]
    public async Task Rejection_returns_an_unguessable_link_on_the_configured_base_url_and_a_new_rejection_rotates_it()
    {
        var tenant = await api.CreateTenantAsync();
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var first = await RejectAsync(tenant, applicationId);
        Assert.StartsWith("http://127.0.0.1:5080/r/", first.RequestUrl, StringComparison.Ordinal);
        var token = Token(first);
        Assert.Equal(43, token.Length); // 256 bits, base64url
        Assert.Equal(first.RejectedAt.AddDays(30), first.ExpiresAt);

        var second = await RejectAsync(tenant, applicationId);
        Assert.NotEqual(token, Token(second));
        await (await api.CreateClient().GetAsync($"/v1/public/feedback-requests/{token}")).AssertProblemAsync(HttpStatusCode.NotFound, "link-not-valid");
        Assert.Equal(HttpStatusCode.OK, (await api.CreateClient().GetAsync($"/v1/public/feedback-requests/{Token(second)}")).StatusCode);

        var dump = await api.Database.DumpAsync();
        Assert.DoesNotContain(Token(second), dump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Candidate_sees_company_and_position_asks_once_and_asking_twice_changes_nothing()
    {
        var tenant = await api.CreateTenantAsync("Candidate Corp");
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant, position: "Data Engineer");
        var token = Token(await RejectAsync(tenant, applicationId));
        var client = api.CreateClient();

        var view = await (await client.GetAsync($"/v1/public/feedback-requests/{token}")).ReadAsync<CandidateRequestView>();
        Assert.Equal(("Candidate Corp", "Data Engineer", "open"), (view.Company, view.Position, view.Status));

        var asked = await (await client.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { note = "I would love to hear how to improve." }))
            .ReadAsync<CandidateRequestView>(HttpStatusCode.Accepted);
        Assert.Equal("requested", asked.Status);
        Assert.NotNull(asked.AnswerBy);
        var again = await (await client.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { })).ReadAsync<CandidateRequestView>(HttpStatusCode.Accepted);
        Assert.Equal(asked.RequestedAt, again.RequestedAt);
        // A note that breaks the rules is refused even now (it used to answer 202 because the request existed).
        var problem = await (await client.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { note = new string('x', 5000) }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("note", out _));
        await using var db = api.Database.CreateDbContext();
        var stored = Assert.Single(db.FeedbackRequests.Where(r => r.ApplicationId == applicationId));
        Assert.Equal("I would love to hear how to improve.", stored.Note);
    }

    [Fact]
    public async Task A_note_may_span_lines_but_not_hide_text()
    {
        var tenant = await api.CreateTenantAsync();
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var token = Token(await RejectAsync(tenant, applicationId));
        var client = api.CreateClient();
        await (await client.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { note = "Thanks\u202Egpj.exe" }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        (await client.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { note = "Thank you.\nAny advice is welcome." }))
            .EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Unknown_expired_revoked_and_erased_links_are_indistinguishable()
    {
        var tenant = await api.CreateTenantAsync();
        var client = api.CreateClient();
        var expiredApp = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var expired = Token(await RejectAsync(tenant, expiredApp, DateTimeOffset.UtcNow.AddDays(-31)));
        var erasedApp = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var erased = Token(await RejectAsync(tenant, erasedApp));
        await api.Database.ExecuteAsync($"UPDATE candidates SET erased_at = now(), first_name = '', last_name = NULL, email = '', locale = NULL WHERE id = (SELECT candidate_id FROM applications WHERE id = '{erasedApp}')");
        var rotatedApp = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var revoked = Token(await RejectAsync(tenant, rotatedApp));
        await RejectAsync(tenant, rotatedApp);
        var unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

        var bodies = new List<string>();
        foreach (var token in new[] { unknown, expired, erased, revoked, "short" })
        {
            var response = await client.GetAsync($"/v1/public/feedback-requests/{token}");
            var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound, "link-not-valid");
            problem.GetProperty("traceId");
            bodies.Add(problem.GetProperty("detail").GetString() + problem.GetProperty("title").GetString());
            await (await client.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { })).AssertProblemAsync(HttpStatusCode.NotFound, "link-not-valid");
            var page = await client.GetAsync($"/r/{token}");
            Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
            Assert.Contains("This link is not valid", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Single(bodies.Distinct());
        await using var db = api.Database.CreateDbContext();
        Assert.Empty(db.FeedbackRequests.Where(r => r.TenantId == tenant.Id));
    }

    [Fact]
    public async Task Plain_page_works_without_javascript_encodes_values_and_sends_no_referrer()
    {
        var tenant = await api.CreateTenantAsync("<i>Evil</i> & Co");
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant, position: "<script>alert(1)</script>");
        var token = Token(await RejectAsync(tenant, applicationId));
        var client = api.CreateClient();
        var page = await client.GetAsync($"/r/{token}");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<i>Evil", html, StringComparison.Ordinal);
        Assert.Contains("<form method=\"post\"", html, StringComparison.Ordinal);
        Assert.Contains("<label for=\"note\">", html, StringComparison.Ordinal);

        var posted = await client.PostAsync($"/r/{token}", new FormUrlEncodedContent(new Dictionary<string, string> { ["note"] = "Thanks!" }));
        Assert.Contains("You asked for feedback on", await posted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using var db = api.Database.CreateDbContext();
        Assert.Equal("Thanks!", db.FeedbackRequests.Single(r => r.ApplicationId == applicationId).Note);
    }

    [Fact]
    public async Task Page_form_post_redirects_with_303_to_the_page_which_shows_the_request_so_a_reload_posts_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var token = Token(await RejectAsync(tenant, applicationId));
        var browser = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var form = new Dictionary<string, string> { ["note"] = "Thanks!" };

        var posted = await browser.PostAsync($"/r/{token}", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.SeeOther, posted.StatusCode);
        Assert.Equal($"/r/{token}", posted.Headers.Location?.OriginalString);
        Assert.Equal("no-referrer", posted.Headers.GetValues("Referrer-Policy").Single());

        var page = await browser.GetAsync(posted.Headers.Location);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        await using var db = api.Database.CreateDbContext();
        var request = db.FeedbackRequests.Single(r => r.ApplicationId == applicationId);
        Assert.Contains($"You asked for feedback on {request.RequestedAt.ToString("d MMMM yyyy", CultureInfo.InvariantCulture)}.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<form", html, StringComparison.Ordinal);

        // The browser's "resend the form?" after all: still one request, still a redirect.
        Assert.Equal(HttpStatusCode.SeeOther, (await browser.PostAsync($"/r/{token}", new FormUrlEncodedContent(form))).StatusCode);
        Assert.Single(db.FeedbackRequests.Where(r => r.ApplicationId == applicationId));
    }

    [Fact]
    public async Task Page_after_the_email_went_out_still_says_when_the_candidate_asked_and_says_when_it_was_sent()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.Zero });
        var (applicationId, feedbackId) = await SubmittedFeedbackAsync(tenant);
        await ApproveAsync(tenant, feedbackId);
        var token = Token(await RejectAsync(tenant, applicationId));
        var browser = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var posted = await browser.PostAsync($"/r/{token}", new FormUrlEncodedContent(new Dictionary<string, string> { ["note"] = "Thanks!" }));
        Assert.Equal(HttpStatusCode.SeeOther, posted.StatusCode);
        // The worker is quicker than the browser's redirect: the email is accepted before the page is asked for.
        var sentAt = new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);
        await using (var db = api.Database.CreateDbContext())
            await db.Deliveries.Where(d => d.ApplicationId == applicationId)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, OutboundStatus.Sent).SetProperty(d => d.SentAt, sentAt));

        var html = await (await browser.GetAsync(posted.Headers.Location)).Content.ReadAsStringAsync();
        await using var after = api.Database.CreateDbContext();
        var requestedAt = (await after.FeedbackRequests.SingleAsync(r => r.ApplicationId == applicationId)).RequestedAt;
        Assert.Contains($"<p role=\"status\"><strong>You asked for feedback on {requestedAt.ToString("d MMMM yyyy", CultureInfo.InvariantCulture)}.</strong></p>", html, StringComparison.Ordinal);
        Assert.Contains("Your feedback was sent by email on 3 December 2026.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<form", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_form_with_a_too_long_note_comes_back_with_the_note_and_the_error_tied_to_the_field()
    {
        var tenant = await api.CreateTenantAsync();
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var token = Token(await RejectAsync(tenant, applicationId));
        var browser = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var note = "I <3 your product. " + new string('x', FeedbackRequest.MaxNoteLength);

        var answer = await browser.PostAsync($"/r/{token}", new FormUrlEncodedContent(new Dictionary<string, string> { ["note"] = note }));
        var html = await answer.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, answer.StatusCode);
        Assert.Equal("text/html", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-referrer", answer.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("<title>Error: ", html, StringComparison.Ordinal);
        Assert.Contains("<label for=\"note\">", html, StringComparison.Ordinal);
        Assert.Contains("<p id=\"note-error\" class=\"error\" role=\"alert\"><span>Error:</span> The note can have at most 1000 characters", html, StringComparison.Ordinal);
        Assert.Contains("<textarea id=\"note\" name=\"note\" maxlength=\"1000\" aria-invalid=\"true\" aria-describedby=\"note-error\" autofocus>I &lt;3 your product.", html, StringComparison.Ordinal);
        await using var db = api.Database.CreateDbContext();
        Assert.Empty(db.FeedbackRequests.Where(r => r.ApplicationId == applicationId));
    }

    [Fact]
    public async Task Request_then_approval_schedules_one_delivery_after_the_cooling_off()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(2) });
        var (applicationId, feedbackId) = await SubmittedFeedbackAsync(tenant);
        var rejection = await RejectAsync(tenant, applicationId);
        await api.CreateClient().PostJsonAsync($"/v1/public/feedback-requests/{Token(rejection)}", new { });
        await using (var db = api.Database.CreateDbContext())
            Assert.Empty(db.Deliveries.Where(d => d.ApplicationId == applicationId));

        await ApproveAsync(tenant, feedbackId);
        await using var after = api.Database.CreateDbContext();
        var delivery = await after.Deliveries.SingleAsync(d => d.ApplicationId == applicationId);
        Assert.Equal(OutboundStatus.Scheduled, delivery.Status);
        Assert.Equal(rejection.RejectedAt.AddHours(2), delivery.DueAt, TimeSpan.FromSeconds(1));
        var outbox = await after.OutboxMessages.SingleAsync(m => m.TenantId == tenant.Id && m.MessageType.EndsWith("DeliverFeedback"));
        Assert.Equal(delivery.DueAt, outbox.DueAt, TimeSpan.FromSeconds(1));
        Assert.Contains(delivery.Id.ToString(), outbox.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("@", outbox.Body, StringComparison.Ordinal); // ids only, no personal data
    }

    [Fact]
    public async Task Approval_then_request_schedules_one_delivery_now_when_the_cooling_off_has_passed()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.Zero });
        var (applicationId, feedbackId) = await SubmittedFeedbackAsync(tenant);
        await ApproveAsync(tenant, feedbackId);
        var rejection = await RejectAsync(tenant, applicationId);
        var client = api.CreateClient();
        await Task.WhenAll(
            client.PostJsonAsync($"/v1/public/feedback-requests/{Token(rejection)}", new { }),
            client.PostJsonAsync($"/v1/public/feedback-requests/{Token(rejection)}", new { }));
        await using var db = api.Database.CreateDbContext();
        var delivery = await db.Deliveries.SingleAsync(d => d.ApplicationId == applicationId);
        Assert.True(delivery.DueAt <= DateTimeOffset.UtcNow);
        Assert.Single(db.OutboxMessages.Where(m => m.TenantId == tenant.Id && m.MessageType.EndsWith("DeliverFeedback")));
    }

    [Fact]
    public async Task Reopening_the_application_cancels_the_scheduled_delivery_and_the_link()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromDays(1) });
        var (applicationId, feedbackId) = await SubmittedFeedbackAsync(tenant);
        await ApproveAsync(tenant, feedbackId);
        var token = Token(await RejectAsync(tenant, applicationId));
        await api.CreateClient().PostJsonAsync($"/v1/public/feedback-requests/{token}", new { });

        await using (var db = api.Database.CreateDbContext())
        {
            var app = await db.Applications.SingleAsync(a => a.Id == applicationId);
            var candidate = await db.Candidates.SingleAsync(c => c.Id == app.CandidateId);
            var ats = await tenant.ClientAsync("integration");
            (await ats.PutAsync($"/v1/applications/by-external-id/{app.ExternalId}", HttpAssertions.JsonBody(new
            {
                candidate = new { externalId = candidate.ExternalId, firstName = candidate.FirstName, lastName = candidate.LastName, email = candidate.Email },
                positionTitle = app.PositionTitle,
                stageReached = "onsite",
                status = "active",
            }))).EnsureSuccessStatusCode();
        }

        await using var after = api.Database.CreateDbContext();
        Assert.Equal(OutboundStatus.Cancelled, (await after.Deliveries.SingleAsync(d => d.ApplicationId == applicationId)).Status);
        await (await api.CreateClient().GetAsync($"/v1/public/feedback-requests/{token}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Recruiters_list_get_and_cancel_deliveries_and_retry_only_failed_ones()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromDays(1) });
        var (applicationId, feedbackId) = await SubmittedFeedbackAsync(tenant);
        await ApproveAsync(tenant, feedbackId);
        await api.CreateClient().PostJsonAsync($"/v1/public/feedback-requests/{Token(await RejectAsync(tenant, applicationId))}", new { });
        var recruiter = await tenant.ClientAsync("recruiter");
        var list = await (await recruiter.GetAsync("/v1/deliveries?status=scheduled")).ReadAsync<Page<DeliverySummary>>();
        var summary = Assert.Single(list.Items);
        var one = await (await recruiter.GetAsync($"/v1/deliveries/{summary.Id}")).ReadAsync<DeliveryResponse>();
        Assert.Equal(DeliveryStatus.Scheduled, one.Status);
        Assert.EndsWith("@feedbackhub.local", one.MessageId, StringComparison.Ordinal);
        await (await recruiter.PostAsync($"/v1/deliveries/{summary.Id}/retry", null)).AssertProblemAsync(HttpStatusCode.Conflict, "delivery-not-failed");
        var cancelled = await (await recruiter.PostAsync($"/v1/deliveries/{summary.Id}/cancel", null)).ReadAsync<DeliveryResponse>();
        Assert.Equal(DeliveryStatus.Cancelled, cancelled.Status);
        await (await recruiter.PostAsync($"/v1/deliveries/{summary.Id}/cancel", null)).AssertProblemAsync(HttpStatusCode.Conflict);

        var other = await api.CreateTenantAsync();
        await (await (await other.ClientAsync("recruiter")).GetAsync($"/v1/deliveries/{summary.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    internal static async Task<(Guid ApplicationId, Guid FeedbackId)> SubmittedFeedbackAsync(TestTenant tenant)
    {
        var interviewer = await tenant.ClientAsync("interviewer");
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var feedbackId = await FeedbackWorkflowTests.StartAsync(tenant, interviewer, applicationId);
        (await FeedbackWorkflowTests.SaveAsync(interviewer, feedbackId, Answers, null)).EnsureSuccessStatusCode();
        (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).EnsureSuccessStatusCode();
        return (applicationId, feedbackId);
    }

    internal static async Task ApproveAsync(TestTenant tenant, Guid feedbackId) =>
        (await (await tenant.ClientAsync("recruiter")).PostAsync($"/v1/feedback/{feedbackId}/approve", null)).EnsureSuccessStatusCode();

    internal static Task<RejectionResponse> RejectAsync(TestTenant tenant, Guid applicationId, DateTimeOffset? at = null) =>
        ApplicationSteps.RejectAsync(tenant, applicationId, at);

    internal static string Token(RejectionResponse r) => ApplicationSteps.Token(r);
}
