using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>A webhook delivery's status as the API names it (Scheduled and Sending are pending, Sent is delivered).</summary>
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

    /// <summary>The attempt is running now.</summary>
    public const string InProgress = "in-progress";

    /// <summary>The worker died during the attempt; it was sent again (the receiver may have had it: same event id).</summary>
    public const string Interrupted = "interrupted";

    /// <summary>The worker was stopped before the request was sent; nothing was sent, and it was sent again.</summary>
    public const string NotSent = "not-sent";
}

/// <summary>
/// One event sent to one subscription, in the outbound shape (<see cref="OutboundItem"/>): Scheduled/Sending until a 2xx
/// answer (Sent), or until the attempt budget is spent or the target is refused (Failed). The API calls these pending,
/// delivered and failed. A manual redelivery sends the same event (same id) again with a fresh budget.
/// </summary>
public sealed class WebhookDelivery : OutboundItem
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    private WebhookDelivery()
    {
        EventType = string.Empty;
    }

    private WebhookDelivery(Guid id, Guid tenantId, DateTimeOffset now)
        : base(id, tenantId, OutboundChannels.Webhook, now, now)
    {
        EventType = string.Empty;
    }

    public Guid SubscriptionId { get; private set; }

    public Guid EventId { get; private set; }

    public string EventType { get; private set; }

    protected override string Noun => "webhook delivery";

    public static WebhookDelivery Create(WebhookEvent webhookEvent, Guid subscriptionId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(webhookEvent);
        return new WebhookDelivery(Guid.CreateVersion7(now), webhookEvent.TenantId, now)
        {
            SubscriptionId = subscriptionId,
            EventId = webhookEvent.Id,
            EventType = webhookEvent.Type,
        };
    }

    /// <summary>
    /// Sends the same event again now, with a fresh attempt budget (any status; a pending one just becomes due now).
    /// 409 <c>webhook-send-in-progress</c> while an attempt runs.
    /// </summary>
    public void Redeliver(OutboundGuard guard, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(guard);
        if (guard.ItemId != Id)
            throw new InvalidOperationException($"The guard is for outbound item {guard.ItemId}, not {Id}.");
        if (Status == OutboundStatus.Sending)
            throw DomainException.Conflict("webhook-send-in-progress", "An attempt of this delivery is running now; try again in a few seconds.");
        ScheduleAgain(now);
    }

    /// <summary>The answer of one HTTP attempt: a 2xx delivers; a refused address, a disabled subscription or an unreadable secret fail at once (configuration, not chance: redeliver by hand after fixing it); anything else is retried.</summary>
    public static AttemptAnswer Answer(WebhookSendResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var outcome = result.Outcome switch
        {
            WebhookAttemptOutcomes.Delivered => AttemptOutcome.Accepted,
            WebhookAttemptOutcomes.RefusedAddress or WebhookAttemptOutcomes.SubscriptionDisabled or WebhookAttemptOutcomes.SecretUnreadable => AttemptOutcome.PermanentFailure,
            _ => AttemptOutcome.TransientFailure,
        };
        var reply = result.Error ?? (result.StatusCode is { } code ? $"HTTP {code}" : result.Outcome);
        return new AttemptAnswer(outcome, result.StatusCode, reply, result.Outcome, result.DurationMs, result.ResponseExcerpt);
    }

    /// <summary>The delay after the n-th failed attempt: first, doubling, at most one hour.</summary>
    public static TimeSpan Backoff(int failedAttempts, TimeSpan firstBackoff) =>
        new RetryPolicy(int.MaxValue, firstBackoff, MaxBackoff, MaxBackoff).Backoff(failedAttempts);

    /// <summary>The public word for an attempt's outcome (<see cref="WebhookAttemptOutcomes"/>).</summary>
    public static string OutcomeName(OutboundAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        return OutcomeName(attempt.Detail, attempt.Outcome);
    }

    /// <summary>The public word for an attempt's outcome from its detail and outcome.</summary>
    public static string OutcomeName(string? detail, AttemptOutcome outcome) =>
        detail ?? outcome switch
        {
            AttemptOutcome.InProgress => WebhookAttemptOutcomes.InProgress,
            AttemptOutcome.Interrupted => WebhookAttemptOutcomes.Interrupted,
            AttemptOutcome.NotSent => WebhookAttemptOutcomes.NotSent,
            AttemptOutcome.Accepted => WebhookAttemptOutcomes.Delivered,
            _ => WebhookAttemptOutcomes.NetworkError,
        };
}
