using System.Net;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>Stops a shared service (the broker, PostgreSQL), so it runs alone (after the parallel tests of this assembly).</summary>
[CollectionDefinition(nameof(BrokerOutage), DisableParallelization = true)]
public sealed class BrokerOutage;

[Collection(nameof(BrokerOutage))]
public sealed class BrokerOutageTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task Email_requested_while_RabbitMQ_is_down_is_sent_without_it_and_its_message_waits_in_the_outbox()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var to = MailSink.NewAddress("outage");
        await TestServices.RunServicesCommandAsync("stop-rabbit");
        try
        {
            // The API does not need the broker: the request commits with its (wake-up) message in the outbox, and the
            // worker's email dispatcher finds the test email due in the table (ADR 0017).
            var queued = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to }))
                .ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
            Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(30)));
            await using var db = pipeline.Api.Database.CreateDbContext();
            var waiting = await db.OutboxMessages.SingleAsync(m => m.TenantId == tenant.Id);
            Assert.Contains(queued.Id.ToString(), waiting.Body, StringComparison.Ordinal);
        }
        finally
        {
            await TestServices.RunServicesCommandAsync("start-rabbit");
        }

        // Once published, the late message sends nothing again.
        await using var after = pipeline.Api.Database.CreateDbContext();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (await after.OutboxMessages.AnyAsync(m => m.TenantId == tenant.Id) && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.Empty(await after.OutboxMessages.Where(m => m.TenantId == tenant.Id).ToListAsync());
        await Task.Delay(1000);
        Assert.Single(MailSink.For(to));
    }
}
