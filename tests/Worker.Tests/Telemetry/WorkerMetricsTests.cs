using System.Net;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;

namespace FeedbackHub.Worker.Tests.Telemetry;

/// <summary>The worker's delivery instruments, through the real pipeline (API, relay, RabbitMQ, consumer, SMTP sink).</summary>
public sealed class WorkerMetricsTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task A_sent_email_counts_one_sent_delivery_of_its_channel_and_times_its_smtp_send()
    {
        using var metrics = new MetricCapture(pipeline.Worker.Services, "feedbackhub.deliveries", "feedbackhub.smtp.send.duration");
        var tenant = await pipeline.Api.CreateTenantAsync();
        var to = MailSink.NewAddress("metrics");

        var queued = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to })).ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
        await TestEmailPipelineTests.WaitForStatusAsync(tenant, queued.Id, "sent");

        var sent = await metrics.WaitForAsync("feedbackhub.deliveries", ("feedbackhub.channel", OutboundChannels.TestEmail), ("feedbackhub.outcome", "sent"));
        Assert.Equal(1, sent.Value);
        var smtp = await metrics.WaitForAsync("feedbackhub.smtp.send.duration", ("feedbackhub.outcome", "Accepted"));
        Assert.InRange(smtp.Value, double.Epsilon, 30);
        Assert.Empty(metrics.Of("feedbackhub.deliveries", ("feedbackhub.outcome", "failed")));
    }
}
