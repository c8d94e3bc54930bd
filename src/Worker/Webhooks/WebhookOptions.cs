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

    /// <summary>Webhook requests one worker has open at once, over all subscriptions (slow receivers never hold up emails: they have a loop of their own).</summary>
    public int ConcurrentSends { get; set; } = 64;

    /// <summary>Requests one worker has open at once to one subscription: a receiver never sees more from one worker.</summary>
    public int ConcurrentSendsPerSubscription { get; set; } = 16;

    /// <summary>Deliveries one worker holds claimed at most (sending or waiting for a free slot); also the largest claim.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>How long the dispatcher sleeps when it found nothing due (a redelivery or a recovered attempt wakes it at once).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
