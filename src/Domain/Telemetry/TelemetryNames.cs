using System.Diagnostics;

namespace FeedbackHub.Domain.Telemetry;

/// <summary>The names FeedbackHub's telemetry is published under.</summary>
public static class TelemetryNames
{
    /// <summary>The meter of <see cref="FeedbackHubMetrics"/> and of the worker's backlog gauges.</summary>
    public const string Meter = "FeedbackHub";

    /// <summary>The activity source of FeedbackHub's own spans (outbox relay batches, outbound attempts).</summary>
    public const string ActivitySource = "FeedbackHub";

    /// <summary>Setting (or environment variable) that turns OTLP export on: the collector's base URL.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
}

/// <summary>FeedbackHub's own spans.</summary>
public static class FeedbackHubActivities
{
    public static readonly ActivitySource Source = new(TelemetryNames.ActivitySource);
}
