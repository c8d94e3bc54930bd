using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FeedbackHub.Domain.Telemetry;

public static class TelemetrySetup
{
    /// <summary>
    /// FeedbackHub's instruments, JSON console logs with trace ids, and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set,
    /// traces, metrics and logs exported over OTLP (the standard <c>OTEL_EXPORTER_OTLP_*</c> settings: protocol, headers,
    /// timeout; <c>OTEL_RESOURCE_ATTRIBUTES</c> for more resource attributes). Without an endpoint nothing is collected or
    /// sent. Both hosts share Npgsql, .NET runtime and FeedbackHub's signals; each adds its own (ASP.NET Core, MassTransit).
    /// </summary>
    public static IHostApplicationBuilder AddFeedbackHubTelemetry(
        this IHostApplicationBuilder builder, string serviceName, Action<TracerProviderBuilder> tracing, Action<MeterProviderBuilder> metrics)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<FeedbackHubMetrics>();
        builder.Logging.AddConsoleFormatter<TraceJsonConsoleFormatter, JsonConsoleFormatterOptions>();

        if (!OtlpConfigured(builder))
            return builder;

        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = false; // the request scope holds raw paths (candidate tokens)
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceNamespace: "feedbackhub",
                serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString(), serviceInstanceId: Environment.MachineName))
            .WithTracing(t =>
            {
                t.AddSource(TelemetryNames.ActivitySource).AddNpgsql();
                tracing(t);
            })
            .WithMetrics(m =>
            {
                m.AddMeter(TelemetryNames.Meter, "Npgsql").AddRuntimeInstrumentation();
                metrics(m);
            })
            .UseOtlpExporter();
        return builder;
    }

    public static bool OtlpConfigured(IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder?.Configuration[TelemetryNames.OtlpEndpointKey]);
}
