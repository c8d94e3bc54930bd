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
    public async Task Email_requested_while_RabbitMQ_is_down_waits_in_the_outbox_and_arrives_after_restart()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var to = MailSink.NewAddress("outage");
        await TestServices.RunServicesCommandAsync("stop-rabbit");
        try
        {
            // The API does not need the broker: the request commits to the outbox.
            var queued = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to }))
                .ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
            await Task.Delay(3000);
            await using (var db = pipeline.Api.Database.CreateDbContext())
            {
                var waiting = await db.OutboxMessages.SingleAsync(m => m.TenantId == tenant.Id);
                Assert.Contains(queued.Id.ToString(), waiting.Body, StringComparison.Ordinal);
            }

            Assert.Empty(MailSink.For(to));
        }
        finally
        {
            await TestServices.RunServicesCommandAsync("start-rabbit");
        }

        Assert.Single(await MailSink.WaitForAsync(to, timeout: TimeSpan.FromSeconds(90)));
        await using var after = pipeline.Api.Database.CreateDbContext();
        Assert.Empty(await after.OutboxMessages.Where(m => m.TenantId == tenant.Id).ToListAsync());
    }
}
