using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FeedbackHub.Api.Features.Requests;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;
using Microsoft.EntityFrameworkCore;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Worker.Tests.Invitations;

[Collection(nameof(SmtpRules))]
public sealed partial class InvitationTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SmtpRules.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task With_invitations_enabled_the_candidate_gets_one_kind_email_with_a_working_link_of_its_own()
    {
        var tenant = await pipeline.Api.CreateTenantAsync("Invite & Co", TenantSettings.Default with { InvitationsEnabled = true, ReplyTo = "talent@invite.example" });
        var ats = await tenant.ClientAsync("integration");
        var email = MailSink.NewAddress("invitee");
        var external = "inv-" + Guid.NewGuid().ToString("N")[..8];
        var put = await ats.PutAsync($"/v1/applications/by-external-id/{external}", new StringContent(JsonSerializer.Serialize(new
        {
            candidate = new { externalId = "c-" + external, firstName = "Grace", email },
            positionTitle = "QA <Engineer>",
        }), System.Text.Encoding.UTF8, "application/json"));
        var applicationId = JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();

        var rejection = await (await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { })).ReadAsync<RejectionResponse>();
        var mail = Assert.Single(await MailSink.WaitForAsync(email));
        Assert.Equal("Your application to Invite & Co: would you like feedback?", mail.Subject);
        Assert.Equal((null, "talent@invite.example"), mail.Mailbox("Reply-To"));
        Assert.Contains("Dear Grace,", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("QA &lt;Engineer&gt;", mail.HtmlBody, StringComparison.Ordinal);

        var link = LinkRegex().Match(mail.TextBody).Value;
        Assert.NotEqual(rejection.RequestUrl, link); // its own link; the ATS's link keeps working too
        var token = link[(link.LastIndexOf('/') + 1)..];
        var client = pipeline.Api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/public/feedback-requests/{token}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/public/feedback-requests/{rejection.RequestUrl[(rejection.RequestUrl.LastIndexOf('/') + 1)..]}")).StatusCode);

        await using var db = pipeline.Api.Database.CreateDbContext();
        var invitation = await db.Invitations.SingleAsync(i => i.ApplicationId == applicationId);
        await WaitUntilSentAsync(invitation.Id);
        var audit = await db.AuditEvents.AsNoTracking().Where(e => e.SubjectId == invitation.Id).OrderBy(e => e.Position).Select(e => e.Action).ToListAsync();
        Assert.Equal(["invitation.queued", "invitation.sent"], audit);
        Assert.DoesNotContain(token, await pipeline.Api.Database.DumpAsync(), StringComparison.Ordinal);

        // Rejecting again (a new ATS link) does not invite twice.
        await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { });
        await Task.Delay(1500);
        Assert.Single(MailSink.For(email));
    }

    [Fact]
    public async Task Without_invitations_no_email_is_sent()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var ats = await tenant.ClientAsync("integration");
        var email = MailSink.NewAddress("quiet");
        var put = await ats.PutAsync("/v1/applications/by-external-id/q-1", new StringContent(JsonSerializer.Serialize(new
        {
            candidate = new { externalId = "q-c-1", firstName = "Alan", email },
            positionTitle = "Analyst",
        }), System.Text.Encoding.UTF8, "application/json"));
        var applicationId = JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        (await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { })).EnsureSuccessStatusCode();
        await Task.Delay(1500);
        Assert.Empty(MailSink.For(email));
    }

    [Fact]
    public async Task After_a_temporary_refusal_the_email_that_arrives_carries_a_working_link_and_the_unsent_one_is_revoked()
    {
        var tenant = await pipeline.Api.CreateTenantAsync(settings: TenantSettings.Default with { InvitationsEnabled = true });
        var ats = await tenant.ClientAsync("integration");
        var email = MailSink.NewAddress("busy-invitee");
        SmtpRules.Set(new { match = email, code = 451, message = "4.3.0 Mailbox busy", times = 1 });
        var external = "inv-" + Guid.NewGuid().ToString("N")[..8];
        var put = await ats.PutAsync($"/v1/applications/by-external-id/{external}", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = "c-" + external, firstName = "Hedy", email },
            positionTitle = "Engineer",
        }));
        var applicationId = JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        (await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { })).EnsureSuccessStatusCode();

        var mail = Assert.Single(await MailSink.WaitForAsync(email, timeout: TimeSpan.FromSeconds(20)));
        var link = LinkRegex().Match(mail.TextBody).Value;
        // Asked for the moment the email is there: the link was committed before the email left.
        Assert.Equal(HttpStatusCode.OK, (await pipeline.Api.CreateClient().GetAsync($"/v1/public/feedback-requests/{link[(link.LastIndexOf('/') + 1)..]}")).StatusCode);
        Assert.Contains(MailSink.LogFor(email), l => l.Contains("451", StringComparison.Ordinal));

        await using var db = pipeline.Api.Database.CreateDbContext();
        var links = await db.FeedbackRequestLinks.Where(l => l.ApplicationId == applicationId).ToListAsync();
        Assert.Equal(3, links.Count); // the ATS's, the one of the refused attempt, the one that was sent
        Assert.Single(links, l => l.RevokedAt is not null);
    }

    private async Task WaitUntilSentAsync(Guid invitationId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            await using var db = pipeline.Api.Database.CreateDbContext();
            if (await db.Invitations.AnyAsync(i => i.Id == invitationId && i.Status == OutboundStatus.Sent))
                return;
            Assert.True(DateTime.UtcNow < deadline, "the invitation was not recorded as sent");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:5080/r/[A-Za-z0-9_-]{43}")]
    private static partial Regex LinkRegex();
}
