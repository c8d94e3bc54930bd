namespace FeedbackHub.Domain.Webhooks;

public enum WebhookDeliveryStatus
{
    Pending,
    Delivered,
    Failed,
}

/// <summary>Outcomes of one webhook attempt (stable strings, shown by the API).</summary>
public static class WebhookAttemptOutcomes
{
    public const string Delivered = "delivered";
    public const string HttpError = "http-error";
    public const string Timeout = "timeout";
    public const string NetworkError = "network-error";
    public const string RefusedAddress = "refused-address";
    public const string RedirectNotFollowed = "redirect-not-followed";
    public const string SubscriptionDisabled = "subscription-disabled";

    /// <summary>The stored secret opens with neither Webhooks:SecretKey nor Webhooks:PreviousSecretKeys (the key was changed): rotate the secret.</summary>
    public const string SecretUnreadable = "secret-unreadable";
}

/// <summary>
/// One event sent to one subscription: Pending until a 2xx answer (Delivered), or until the attempt budget is spent or
/// the target is refused (Failed). Each attempt is a <see cref="WebhookAttempt"/>. A manual redelivery sends the same
/// event (same id) again with a fresh budget.
/// </summary>
public sealed class WebhookDelivery
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    private WebhookDelivery()
    {
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid SubscriptionId { get; private set; }

    public Guid EventId { get; private set; }

    public string EventType { get; private set; } = string.Empty;

    public WebhookDeliveryStatus Status { get; private set; }

    /// <summary>Every attempt ever made (also before manual redeliveries).</summary>
    public int Attempts { get; private set; }

    /// <summary>Attempts since creation or the last manual redelivery: the retry budget counts these.</summary>
    public int AttemptsSinceRedeliver { get; private set; }

    /// <summary>When Pending: not sent before this time.</summary>
    public DateTimeOffset? NextAttemptAt { get; private set; }

    public int? LastStatusCode { get; private set; }

    public string? LastOutcome { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    public static WebhookDelivery Create(WebhookEvent webhookEvent, Guid subscriptionId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(webhookEvent);
        return new WebhookDelivery
        {
            Id = Guid.CreateVersion7(now),
            TenantId = webhookEvent.TenantId,
            SubscriptionId = subscriptionId,
            EventId = webhookEvent.Id,
            EventType = webhookEvent.Type,
            Status = WebhookDeliveryStatus.Pending,
            NextAttemptAt = now,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>Pending and due (with a small tolerance for clock differences between hosts).</summary>
    public bool IsDue(DateTimeOffset now, TimeSpan tolerance) =>
        Status == WebhookDeliveryStatus.Pending && (NextAttemptAt is not { } next || next <= now + tolerance);

    /// <summary>
    /// Records one attempt. A 2xx delivers; a refused address or a disabled subscription fails at once (configuration,
    /// not chance: redeliver by hand after fixing it); anything else is retried after a growing delay
    /// (<paramref name="firstBackoff"/>, doubling, at most one hour) until <paramref name="maxAttempts"/> attempts since
    /// the last redelivery. Returns the attempt (for the caller to add) and the next due time, if any.
    /// </summary>
    public (WebhookAttempt Attempt, DateTimeOffset? RetryAt) RecordAttempt(
        string outcome, int? statusCode, int durationMs, string? error, string? responseExcerpt, DateTimeOffset attemptedAt, DateTimeOffset now,
        int maxAttempts, TimeSpan firstBackoff)
    {
        if (Status != WebhookDeliveryStatus.Pending)
            throw new InvalidOperationException($"Webhook delivery {Id} is {Status}, not Pending.");
        Attempts++;
        AttemptsSinceRedeliver++;
        LastStatusCode = statusCode;
        LastOutcome = outcome;
        UpdatedAt = now;
        var attempt = WebhookAttempt.Create(this, Attempts, attemptedAt, durationMs, statusCode, outcome, error, responseExcerpt);
        DateTimeOffset? retryAt = null;
        if (outcome == WebhookAttemptOutcomes.Delivered)
        {
            Status = WebhookDeliveryStatus.Delivered;
            NextAttemptAt = null;
        }
        else if (outcome is WebhookAttemptOutcomes.RefusedAddress or WebhookAttemptOutcomes.SubscriptionDisabled or WebhookAttemptOutcomes.SecretUnreadable || AttemptsSinceRedeliver >= maxAttempts)
        {
            Status = WebhookDeliveryStatus.Failed;
            NextAttemptAt = null;
        }
        else
        {
            retryAt = now + Backoff(AttemptsSinceRedeliver, firstBackoff);
            NextAttemptAt = retryAt;
        }

        return (attempt, retryAt);
    }

    /// <summary>The delay after the n-th failed attempt: first, doubling, at most one hour.</summary>
    public static TimeSpan Backoff(int failedAttempts, TimeSpan firstBackoff)
    {
        var factor = Math.Pow(2, Math.Min(Math.Max(failedAttempts, 1) - 1, 30));
        var ticks = Math.Min(firstBackoff.Ticks * factor, MaxBackoff.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// Still pending long after its due time: its message was lost (a purged or dead-lettered queue). Due now again, so
    /// a new message finds it due; the attempt budget is unchanged. False when it is not pending.
    /// </summary>
    public bool RequeueLost(DateTimeOffset now)
    {
        if (Status != WebhookDeliveryStatus.Pending)
            return false;
        NextAttemptAt = now;
        UpdatedAt = now;
        return true;
    }

    /// <summary>Sends the same event again now, with a fresh attempt budget (any status; a pending one just becomes due now).</summary>
    public void Redeliver(DateTimeOffset now)
    {
        Status = WebhookDeliveryStatus.Pending;
        AttemptsSinceRedeliver = 0;
        NextAttemptAt = now;
        UpdatedAt = now;
    }
}

/// <summary>One HTTP attempt of a webhook delivery: what happened, never the secret.</summary>
public sealed class WebhookAttempt
{
    public const int MaxExcerptLength = 256;
    public const int MaxErrorLength = 300;

    private WebhookAttempt()
    {
        Outcome = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid DeliveryId { get; private set; }

    public int Number { get; private set; }

    public DateTimeOffset AttemptedAt { get; private set; }

    public int DurationMs { get; private set; }

    public int? StatusCode { get; private set; }

    public string Outcome { get; private set; }

    public string? Error { get; private set; }

    /// <summary>The start of the receiver's answer (at most 256 characters).</summary>
    public string? ResponseExcerpt { get; private set; }

    internal static WebhookAttempt Create(
        WebhookDelivery delivery, int number, DateTimeOffset attemptedAt, int durationMs, int? statusCode, string outcome, string? error, string? excerpt) =>
        new()
        {
            Id = Guid.CreateVersion7(attemptedAt),
            TenantId = delivery.TenantId,
            DeliveryId = delivery.Id,
            Number = number,
            AttemptedAt = attemptedAt,
            DurationMs = durationMs,
            StatusCode = statusCode,
            Outcome = outcome,
            Error = Cut(error, MaxErrorLength),
            ResponseExcerpt = Cut(excerpt, MaxExcerptLength),
        };

    private static string? Cut(string? text, int max) =>
        string.IsNullOrEmpty(text) ? null : text.Length > max ? text[..max] : text;
}
