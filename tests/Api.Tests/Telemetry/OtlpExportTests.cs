using FeedbackHub.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Api.Tests.Telemetry;

/// <summary>
/// The API exports traces, metrics and logs over OTLP (HTTP/protobuf) to the endpoint it is given, and only then. The
/// receiver is a real HTTP server on loopback that keeps every body; the assertions read the protobuf bytes for names.
/// </summary>
[Collection(OtlpExportAlone.Name)]
public sealed class OtlpExportTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private readonly OtlpReceiver _receiver = new();

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        await _receiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Requests_are_exported_as_traces_and_metrics_with_route_templates_never_raw_paths()
    {
        await using var api = new TelemetryApiFactory(_database, _receiver.Endpoint);
        var client = api.CreateClient();
        const string token = "tok3nNeverInTelemetry0123456789";

        await client.GetAsync($"/r/{token}");
        await client.GetAsync($"/v1/public/feedback-requests/{token}");

        var traces = await _receiver.WaitForAsync("/v1/traces", body => body.Contains("/r/{token}", StringComparison.Ordinal));
        Assert.Contains("feedbackhub-api", traces, StringComparison.Ordinal);
        Assert.Contains("GET /r/{token}", traces, StringComparison.Ordinal);
        var metrics = await _receiver.WaitForAsync("/v1/metrics", body => body.Contains("http.server.request.duration", StringComparison.Ordinal));
        Assert.Contains("feedbackhub-api", metrics, StringComparison.Ordinal);
        await Task.Delay(500); // a late batch would carry the token too
        Assert.DoesNotContain(_receiver.Bodies, b => b.Body.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Database_commands_are_traced_under_the_request()
    {
        await using var api = new TelemetryApiFactory(_database, _receiver.Endpoint);
        await api.CreateClient().GetAsync("/r/unknown-token-for-npgsql");

        var traces = await _receiver.WaitForAsync("/v1/traces", body => body.Contains("postgresql", StringComparison.Ordinal));
        Assert.Contains("db.system", traces, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_endpoint_nothing_is_exported()
    {
        await using var api = new TelemetryApiFactory(_database, endpoint: null);
        (await api.CreateClient().GetAsync("/health/live")).EnsureSuccessStatusCode();
        await api.CreateClient().GetAsync("/r/some-token");

        await Task.Delay(1500); // three export intervals
        Assert.Empty(_receiver.Bodies);
    }

    /// <summary>The API host as ApiFactory builds it, with its settings given early (UseSetting), where telemetry is decided.</summary>
    private sealed class TelemetryApiFactory(TestDatabase database, string? endpoint) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Postgres", database.ConnectionString);
            builder.UseSetting("ConnectionStrings:RabbitMq", TestServices.RabbitMq);
            builder.UseSetting("Webhooks:SecretKey", TestServices.WebhookSecretKey);
            if (endpoint is not null)
            {
                builder.UseSetting("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
                builder.UseSetting("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
                builder.UseSetting("OTEL_BSP_SCHEDULE_DELAY", "200");
                builder.UseSetting("OTEL_METRIC_EXPORT_INTERVAL", "500");
                builder.UseSetting("OTEL_BLRP_SCHEDULE_DELAY", "200");
            }

            builder.ConfigureLogging(logging => logging.ClearProviders());
        }
    }
}
