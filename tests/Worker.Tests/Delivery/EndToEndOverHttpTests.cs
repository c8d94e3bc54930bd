using System.Net;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Features.Deliveries;
using FeedbackHub.Api.Features.Feedback;
using FeedbackHub.Api.Features.Requests;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>
/// The whole story over HTTP and SMTP with the real API, worker, RabbitMQ and SMTP sink: rejection -> link ->
/// candidate asks -> feedback approved (in both orders) -> one email with both parts -> Sent via API and on the page.
/// </summary>
public sealed class EndToEndOverHttpTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Candidate_who_asked_receives_the_approved_feedback_once(bool askBeforeApproval)
    {
        var tenant = await pipeline.Api.CreateTenantAsync("Story Ltd", TenantSettings.Default with
        {
            CoolingOffDelay = TimeSpan.FromSeconds(2), SenderName = "Story Talent", SenderAddress = "talent@story.example", ReplyTo = "hr@story.example",
        });
        var ats = await tenant.ClientAsync("integration");
        var recruiter = await tenant.ClientAsync("recruiter");
        var legal = await tenant.ClientAsync("legal");
        var interviewer = await tenant.ClientAsync("interviewer");
        var email = MailSink.NewAddress("story");

        // A published template (recruiter writes, legal publishes) and the ATS's application.
        var (name, content) = FeedbackHub.Api.Commands.ExampleTemplates.Engineering;
        var template = await (await recruiter.PostJsonAsync("/v1/templates", TemplateRequest.From(name, "en", content)))
            .ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        (await recruiter.PostAsync($"/v1/templates/{template.TemplateId}/versions/1/submit", null)).EnsureSuccessStatusCode();
        (await legal.PostAsync($"/v1/templates/{template.TemplateId}/versions/1/publish", null)).EnsureSuccessStatusCode();
        var external = "story-" + Guid.NewGuid().ToString("N")[..8];
        var put = await ats.PutAsync($"/v1/applications/by-external-id/{external}", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = "c-" + external, firstName = "Ada", lastName = "Lovelace", email },
            positionTitle = "Backend Engineer",
        }));
        var applicationId = JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();

        // Feedback written and submitted by the hiring manager.
        var feedback = await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId, templateId = template.TemplateId })).ReadAsync<FeedbackResponse>(HttpStatusCode.Created);
        var comment = "Your <b>test coverage</b> of the parser was thorough & clear.";
        var answers = new object[]
        {
            new { criterion = "problem-solving", band = "strong", phrases = new[] { "You asked clarifying questions before starting to code." }, comment },
            new { criterion = "code-quality", band = "meets" },
            new { criterion = "system-design", band = "developing" },
            new { criterion = "communication", band = "strong" },
        };
        (await interviewer.PutAsync($"/v1/feedback/{feedback.Id}/answers", HttpAssertions.JsonBody(new { answers }))).EnsureSuccessStatusCode();
        (await interviewer.PostJsonAsync($"/v1/feedback/{feedback.Id}/submit", new { })).EnsureSuccessStatusCode();

        // Rejection -> the candidate's link; the candidate asks (before or after the approval).
        var rejection = await (await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { })).ReadAsync<RejectionResponse>();
        var token = rejection.RequestUrl[(rejection.RequestUrl.LastIndexOf('/') + 1)..];
        var candidate = pipeline.Api.CreateClient();
        if (askBeforeApproval)
            (await candidate.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { note = "Thank you!" })).EnsureSuccessStatusCode();
        (await recruiter.PostAsync($"/v1/feedback/{feedback.Id}/approve", null)).EnsureSuccessStatusCode();
        if (!askBeforeApproval)
            (await candidate.PostJsonAsync($"/v1/public/feedback-requests/{token}", new { })).EnsureSuccessStatusCode();

        var preview = await (await recruiter.GetAsync($"/v1/feedback/{feedback.Id}/preview")).ReadAsync<EmailPreviewResponse>();
        var mail = Assert.Single(await MailSink.WaitForAsync(email, timeout: TimeSpan.FromSeconds(45)));
        Assert.Equal(preview.Subject, mail.Subject);
        Assert.Equal(preview.Text.Replace("\n", "\r\n", StringComparison.Ordinal).TrimEnd(), mail.TextBody.TrimEnd());
        Assert.Equal(preview.Html, mail.HtmlBody);
        Assert.Contains("What weighed most in our decision", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("- System design: The design did not yet cover several core requirements of the exercise.", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("Questions about this feedback? Write to hr@story.example.", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("Story Ltd keeps your application data for 12 months", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;test coverage&lt;/b&gt;", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Equal(("Story Talent", "talent@story.example"), mail.Mailbox("From"));
        Assert.Equal((null, "hr@story.example"), mail.Mailbox("Reply-To"));

        var deliveries = await (await recruiter.GetAsync("/v1/deliveries")).ReadAsync<Page<DeliverySummary>>();
        var delivery = await WaitForSentAsync(recruiter, Assert.Single(deliveries.Items).Id);
        Assert.Equal($"<{delivery.MessageId}>", mail.Header("Message-ID"));
        Assert.True(delivery.SentAt >= rejection.RejectedAt.AddSeconds(2)); // cooling-off respected
        var page = await (await candidate.GetAsync($"/v1/public/feedback-requests/{token}")).ReadAsync<CandidateRequestView>();
        Assert.Equal("sent", page.Status);
        Assert.NotNull(page.SentAt);
        Assert.Contains("was sent by email", await (await candidate.GetAsync($"/r/{token}")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await Task.Delay(1000);
        Assert.Single(MailSink.For(email));
    }

    private static async Task<DeliveryResponse> WaitForSentAsync(HttpClient client, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var d = await (await client.GetAsync($"/v1/deliveries/{id}")).ReadAsync<DeliveryResponse>();
            if (d.Status == DeliveryStatus.Sent || DateTime.UtcNow > deadline)
                return d.Status == DeliveryStatus.Sent ? d : throw new TimeoutException($"Delivery {id} is {d.Status}.");
            await Task.Delay(100);
        }
    }

}
