using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace FeedbackHub.Domain.Telemetry;

/// <summary>
/// FeedbackHub's own instruments, on the meter <see cref="TelemetryNames.Meter"/> (docs/operations.md lists them and
/// what to alert on). Tags are low-cardinality names only: never ids, addresses or tenant names.
/// </summary>
public sealed class FeedbackHubMetrics
{
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _smtpSend;
    private readonly Histogram<double> _webhookSend;
    private readonly Histogram<double> _languageCheck;

    public FeedbackHubMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(TelemetryNames.Meter);
        _deliveries = Meter.CreateCounter<long>("feedbackhub.deliveries", "{attempt}",
            "Outbound attempts by channel and outcome: sent, retry, server_problem, failed, cancelled, not_sendable, not_sent.");
        _smtpSend = Meter.CreateHistogram<double>("feedbackhub.smtp.send.duration", "s",
            "One email handed to the SMTP server: connect (or reuse) to the server's answer, by verdict.", advice: SecondsBuckets);
        _webhookSend = Meter.CreateHistogram<double>("feedbackhub.webhook.send.duration", "s",
            "One webhook POST to its receiver's answer (or timeout), by outcome.", advice: SecondsBuckets);
        _languageCheck = Meter.CreateHistogram<double>("feedbackhub.language.check.duration", "s",
            "One language check with the tenant's rules, by operation: check (a text), batch (one text of a batch), answers (feedback answers), fields (template or settings texts).", advice: FastBuckets);
    }

    public Meter Meter { get; }

    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    private static readonly InstrumentAdvice<double> FastBuckets = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    };

    public void Delivery(string channel, string outcome) =>
        _deliveries.Add(1, new TagList { { "feedbackhub.channel", channel }, { "feedbackhub.outcome", outcome } });

    public void SmtpSend(TimeSpan elapsed, string verdict) =>
        _smtpSend.Record(elapsed.TotalSeconds, new TagList { { "feedbackhub.outcome", verdict } });

    public void WebhookSend(TimeSpan elapsed, string outcome) =>
        _webhookSend.Record(elapsed.TotalSeconds, new TagList { { "feedbackhub.outcome", outcome } });

    public void LanguageCheck(TimeSpan elapsed, string operation) =>
        _languageCheck.Record(elapsed.TotalSeconds, new TagList { { "feedbackhub.operation", operation } });
}
