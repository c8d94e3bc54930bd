using System.Net;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;

namespace FeedbackHub.Worker.Tests.Telemetry;

/// <summary>
/// The worker exports over OTLP when given an endpoint: MassTransit's consume spans, the relay's publish span, Npgsql,
/// and FeedbackHub's delivery and backlog instruments. A real HTTP receiver on loopback keeps the protobuf bodies.
/// </summary>
[Collection(OtlpExportAlone.Name)]
public sealed class WorkerOtlpExportTests : IAsyncLifetime
{
    private readonly ApiFactory _api = new();
    private readonly OtlpReceiver _receiver = new();
    private WorkerHost _worker = null!;

    public async Task InitializeAsync()
    {
        await _api.InitializeAsync();
        await _receiver.StartAsync();
        _worker = await WorkerHost.StartAsync(_api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["Telemetry:BacklogInterval"] = "00:00:01",
        });
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _receiver.DisposeAsync();
        await ((IAsyncLifetime)_api).DisposeAsync();
    }

    [Fact]
    public async Task A_delivery_is_exported_as_relay_and_consumer_traces_and_as_delivery_metrics()
    {
        var tenant = await _api.CreateTenantAsync();
        var to = MailSink.NewAddress("otlp");
        var queued = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to })).ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);
        await TestEmailPipelineTests.WaitForStatusAsync(tenant, queued.Id, "sent");

        var traces = await _receiver.WaitForAsync("/v1/traces", body => body.Contains("outbox publish", StringComparison.Ordinal));
        Assert.Contains("feedbackhub-worker", traces, StringComparison.Ordinal);
        await _receiver.WaitForAsync("/v1/traces", body => body.Contains("consume", StringComparison.Ordinal) && body.Contains("send-test-email", StringComparison.Ordinal));
        await _receiver.WaitForAsync("/v1/traces", body => body.Contains("postgresql", StringComparison.Ordinal));
        // Each instrument in some export (one export need not hold them all: a fresh-clone run saw the send duration come
        // in a later one than the delivery counter).
        foreach (var instrument in new[] { "feedbackhub.deliveries", "feedbackhub.smtp.send.duration", "feedbackhub.outbox.oldest_age" })
            await _receiver.WaitForAsync("/v1/metrics", body => body.Contains(instrument, StringComparison.Ordinal));
        // MassTransit's own metrics are not asserted here. Its instrumentation is set up once per process (static), and in
        // a fresh-clone run of the whole suite, where many worker hosts start and stop in one test process, none reached
        // this host's exporter within 20 s (alone, and in earlier full runs, they did). Production runs one host per
        // process. Its consume spans, asserted above, are per host.
        Assert.DoesNotContain(_receiver.Bodies, b => b.Body.Contains(to, StringComparison.OrdinalIgnoreCase)); // no address leaves in telemetry
    }
}
