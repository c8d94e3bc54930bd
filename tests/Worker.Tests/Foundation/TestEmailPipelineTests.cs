using System.Net;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Domain.Email;
using FeedbackHub.Messages;
using FeedbackHub.Tests;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>API -> outbox (same transaction as the audit event) -> relay -> RabbitMQ -> consumer -> real SMTP.</summary>
public sealed class TestEmailPipelineTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task Test_email_arrives_exactly_once_and_is_reported_sent()
    {
        var tenant = await pipeline.Api.CreateTenantAsync("Pipeline Co");
        var to = MailSink.NewAddress("admin");
        var response = await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to });
        var queued = await response.ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
        Assert.Equal("queued", queued.Status);
        Assert.Equal($"/v1/diagnostics/test-email/{queued.Id}", response.Headers.Location?.OriginalString);

        var mail = Assert.Single(await MailSink.WaitForAsync(to));
        Assert.Equal("FeedbackHub test email", mail.Subject);
        Assert.Contains("Pipeline Co", mail.TextBody, StringComparison.Ordinal);
        Assert.Equal($"<test-email.{queued.Id:N}@feedbackhub.local>", mail.Header("Message-ID"));

        var sent = await WaitForStatusAsync(tenant, queued.Id, "sent");
        Assert.StartsWith("250", sent.LastReply, StringComparison.Ordinal);
        await Task.Delay(1000); // anything duplicated would have arrived by now
        Assert.Single(MailSink.For(to));
        await using var db = pipeline.Api.Database.CreateDbContext();
        Assert.Empty(await db.OutboxMessages.Where(m => m.TenantId == tenant.Id).ToListAsync());
        Assert.Equal(["test-email.requested", "test-email.sent"],
            await db.AuditEvents.Where(e => e.TenantId == tenant.Id && e.SubjectId == queued.Id).OrderBy(e => e.Position).Select(e => e.Action).ToListAsync());
    }

    [Fact]
    public async Task Redelivered_and_duplicated_messages_send_one_email()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var to = MailSink.NewAddress("dup");
        Guid emailId;
        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            var email = TestEmail.Request(tenant.Id, to, DateTimeOffset.UtcNow);
            db.TestEmails.Add(email);
            await db.SaveChangesAsync();
            emailId = email.Id;
        }

        // The same message (same MessageId) three times, two of them at once: what a broker redelivery
        // or a relay that crashed before deleting its row would produce.
        var bus = pipeline.Worker.Get<IBus>();
        var messageId = NewId.NextGuid();
        var message = new SendTestEmail(emailId, tenant.Id);
        await Task.WhenAll(
            bus.Publish(message, c => c.MessageId = messageId),
            bus.Publish(message, c => c.MessageId = messageId));
        await MailSink.WaitForAsync(to);
        await bus.Publish(message, c => c.MessageId = messageId);
        await Task.Delay(1500);
        Assert.Single(MailSink.For(to));
    }

    [Fact]
    public async Task A_new_message_for_an_email_already_sent_sends_nothing()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var to = MailSink.NewAddress("resend");
        var queued = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to })).ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
        await WaitForStatusAsync(tenant, queued.Id, "sent");
        await pipeline.Worker.Get<IBus>().Publish(new SendTestEmail(queued.Id, tenant.Id));
        await Task.Delay(1500);
        Assert.Single(MailSink.For(to));
    }

    [Fact]
    public async Task Another_tenant_cannot_see_the_test_email()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var other = await pipeline.Api.CreateTenantAsync();
        var queued = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to = MailSink.NewAddress() }))
            .ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
        await (await other.Admin.GetAsync($"/v1/diagnostics/test-email/{queued.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        var recruiter = await tenant.ClientAsync("recruiter");
        await (await recruiter.PostJsonAsync("/v1/diagnostics/test-email", new { to = MailSink.NewAddress() })).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    internal static async Task<TestEmailResponse> WaitForStatusAsync(TestTenant tenant, Guid id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var current = await (await tenant.Admin.GetAsync($"/v1/diagnostics/test-email/{id}")).ReadAsync<TestEmailResponse>();
            if (current.Status == status)
                return current;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Test email {id} is still {current.Status}.");
            await Task.Delay(100);
        }
    }
}
