using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Delivery;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>The worker seals new audit events by itself, within its sealing interval, with no API call asking for it.</summary>
public sealed class AuditSealingTests(DeliveryFixture pipeline) : IClassFixture<DeliveryFixture>
{
    [Fact]
    public async Task New_events_are_sealed_and_checkpointed_by_the_worker_within_seconds()
    {
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api);
        await arrange.DeliveriesAsync([MailSink.NewAddress("sealed")]); // the delivery's events come from the worker too
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            await using var db = pipeline.Api.Database.CreateDbContext();
            var events = await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == arrange.TenantId).ToListAsync();
            var newest = await db.AuditCheckpoints.AsNoTracking().Where(c => c.TenantId == arrange.TenantId).MaxAsync(c => (long?)c.TreeSize);
            if (events.Exists(e => e.Action == "delivery.sent") && events.TrueForAll(e => e.IsSealed) && newest == events.Count)
            {
                Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence!.Value).Order());
                var lag = events.Max(e => e.OccurredAt);
                var sealedAt = await db.AuditCheckpoints.AsNoTracking().Where(c => c.TenantId == arrange.TenantId && c.TreeSize == newest).Select(c => c.CreatedAt).SingleAsync();
                Assert.True(sealedAt - lag < TimeSpan.FromSeconds(2), $"the newest event was sealed {sealedAt - lag} after it happened");
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{events.Count(e => !e.IsSealed)} of {events.Count} events unsealed; checkpoint at {newest}");
            await Task.Delay(100);
        }

        var verify = await (await arrange.Tenant!.Admin.GetAsync("/v1/audit/verify")).ReadAsync<Api.Features.Audit.AuditVerification>();
        Assert.True(verify.Valid, verify.FirstBreak?.Detail);
    }
}
