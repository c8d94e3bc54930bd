using System.Diagnostics;
using System.Net;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Delivery;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>The API and a worker whose webhook attempts may take 5 s (a slow receiver answers within it).</summary>
public sealed class SlowWebhookFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        var settings = WebhookFixture.WorkerSettings();
        settings["Webhooks:Timeout"] = "00:00:05";
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], settings);
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>A webhook attempt holds no database lock while it waits for the receiver: it is leased, like every outbound item.</summary>
public sealed class WebhookSendLockTests(SlowWebhookFixture fixture) : IClassFixture<SlowWebhookFixture>
{
    [Fact]
    public async Task A_slow_receiver_blocks_neither_a_redelivery_nor_a_list_nor_the_row_and_the_outcome_is_audited()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, before) => new ReceiverAnswer(200, before == 0 ? TimeSpan.FromSeconds(3) : TimeSpan.Zero);
        var tenant = await fixture.Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        var hook = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url("/slow"), events = new[] { WebhookEventTypes.FeedbackRequested } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        await WebhookPipelineTests.RaiseRequestAsync(fixture.Api, tenant.Id);
        await WebhookPipelineTests.WaitUntilAsync(() => receiver.At("/slow").Count == 1, "the request to reach the receiver");
        var deliveryId = Guid.Parse(receiver.At("/slow")[0].DeliveryId!);

        // While the receiver holds the request: the row is free, a list shows the attempt running, a redelivery says so at once.
        var clock = Stopwatch.StartNew();
        await using (var connection = new NpgsqlConnection(fixture.Api.Database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var tx = await connection.BeginTransactionAsync();
            await using var nowait = new NpgsqlCommand($"SELECT status FROM outbound WHERE id = '{deliveryId}' FOR UPDATE NOWAIT", connection, tx);
            Assert.Equal("Sending", await nowait.ExecuteScalarAsync()); // a lock held across the HTTP call would fail this at once
            await tx.RollbackAsync();
        }

        var list = await (await tenant.Admin.GetAsync($"/v1/webhooks/{hook.Id}/deliveries")).ReadAsync<Page<WebhookDeliverySummary>>();
        Assert.Equal(WebhookDeliveryStatus.Pending, Assert.Single(list.Items).Status);
        var running = await (await tenant.Admin.GetAsync($"/v1/webhooks/{hook.Id}/deliveries/{deliveryId}")).ReadAsync<WebhookDeliveryResponse>();
        Assert.Equal(WebhookAttemptOutcomes.InProgress, Assert.Single(running.Attempts).Outcome);
        await (await tenant.Admin.PostAsync($"/v1/webhooks/{hook.Id}/deliveries/{deliveryId}/redeliver", null))
            .AssertProblemAsync(HttpStatusCode.Conflict, "webhook-send-in-progress");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"answered in {clock.Elapsed.TotalMilliseconds:0} ms while the receiver held the request");
        Assert.Single(receiver.At("/slow"));

        await WebhookPipelineTests.WaitUntilAsync(() => Delivered(deliveryId), "the slow attempt to be recorded");
        var done = await (await tenant.Admin.GetAsync($"/v1/webhooks/{hook.Id}/deliveries/{deliveryId}")).ReadAsync<WebhookDeliveryResponse>();
        var attempt = Assert.Single(done.Attempts);
        Assert.Equal((WebhookAttemptOutcomes.Delivered, 200), (attempt.Outcome, attempt.StatusCode));
        Assert.InRange(attempt.DurationMs, 2900, 5000);

        // The outcome is in the tenant's audit chain (ids and codes only), which still verifies.
        await using var db = fixture.Api.Database.CreateDbContext();
        var audit = await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == tenant.Id && e.Action == "webhook.delivered").SingleAsync();
        Assert.Equal(hook.Id, audit.SubjectId);
        Assert.Contains(deliveryId.ToString(), audit.Data, StringComparison.Ordinal);
        Assert.Contains("\"code\":200", audit.Data, StringComparison.Ordinal);
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
    }

    private bool Delivered(Guid deliveryId)
    {
        using var db = fixture.Api.Database.CreateDbContext();
        return db.WebhookDeliveries.AsNoTracking().Any(d => d.Id == deliveryId && d.Status == Domain.Outbound.OutboundStatus.Sent);
    }
}
