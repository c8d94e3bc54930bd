namespace FeedbackHub.Worker.Webhooks;

/// <summary>The <c>Webhooks</c> configuration section (the worker's part; <c>Webhooks:SecretKey</c> is read by both hosts).</summary>
public sealed class WebhookOptions
{
    /// <summary>Attempts (since creation or the last manual redelivery) before a delivery fails.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The wait after the first failed attempt; it doubles after each further one, at most one hour.</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one attempt may take (connect, send, answer headers, the start of the body).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Webhook sends one worker runs at once (slow receivers never hold up emails: they have queues of their own).</summary>
    public int ConcurrentSends { get; set; } = 16;
}
