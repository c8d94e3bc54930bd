using System.Globalization;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Worker.Outbound;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>
/// Sends webhook deliveries in batches (docs/decisions/0015-batched-webhook-dispatch.md): claims due deliveries straight
/// from the <c>outbound</c> table, many in one transaction, sends them concurrently (at most
/// <see cref="WebhookOptions.ConcurrentSends"/> requests at once, and at most
/// <see cref="WebhookOptions.ConcurrentSendsPerSubscription"/> to one subscription), and records the answers as they come
/// in, many in one transaction. The guarantees are the outbound core's: a claim is committed before its request starts
/// and its lease is renewed while this process holds it; no transaction is open during a request; every attempt is
/// recorded; an answer is recorded only while its attempt is still this process's; retries are due times; at least once.
/// A <c>DeliverWebhook</c> message (a redelivery, recovery) only wakes the dispatcher.
/// </summary>
public sealed partial class WebhookDispatcher(
    IServiceScopeFactory scopes, WebhookSender sender, WebhookSecretBox secrets, SendingLeases leases, TimeProvider time,
    IOptions<WebhookOptions> options, IOptions<DeliveryOptions> delivery, FeedbackHubMetrics metrics, ILogger<WebhookDispatcher> logger)
    : BatchDispatcher<ClaimedWebhook>(leases, time, delivery.Value, Bounds(options.Value), logger)
{
    private readonly WebhookOptions _options = options.Value;
    private readonly DeliveryOptions _delivery = delivery.Value;

    /// <summary>The retry rules of webhook deliveries (<c>Webhooks:MaxAttempts</c>, <c>Webhooks:FirstBackoff</c> doubling to an hour).</summary>
    public RetryPolicy RetryPolicy { get; } = new(options.Value.MaxAttempts, options.Value.FirstBackoff, WebhookDelivery.MaxBackoff, WebhookDelivery.MaxBackoff);

    protected override string Name => OutboundWakeUps.Webhooks;

    private static DispatchBounds Bounds(WebhookOptions o) => new(o.BatchSize, o.ConcurrentSends, o.ConcurrentSendsPerSubscription, o.PollInterval);

    protected override (Guid Id, int Attempt) IdOf(ClaimedWebhook claim) => (claim.Id, claim.Attempt);

    protected override Guid? GateOf(ClaimedWebhook claim) => claim.SubscriptionId;

    protected override async Task<IReadOnlyList<(ClaimedWebhook Claim, AttemptAnswer? KnownAnswer)>> ClaimAsync(int take, CancellationToken ct)
    {
        IReadOnlyList<ClaimedWebhook> claimed;
        IReadOnlyDictionary<Guid, WebhookTarget> targets;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
            (claimed, targets) = await WebhookBatches.ClaimAsync(db, secrets, take, Time.GetUtcNow(), _delivery.SendingLease, ct);
        }

        return claimed.Select(claim => targets.GetValueOrDefault(claim.SubscriptionId) is { NotSendable: null } target
            ? (claim with { Target = target }, (AttemptAnswer?)null)
            // Disabled, or its secret does not open: one attempt records why, and the delivery fails without a request.
            : (claim, targets.GetValueOrDefault(claim.SubscriptionId)?.NotSendable
                      ?? WebhookDelivery.Answer(new WebhookSendResult(WebhookAttemptOutcomes.SubscriptionDisabled, null, 0, "The subscription no longer exists; nothing was sent.", null)))).ToList();
    }

    protected override async Task<AttemptAnswer> SendAsync(ClaimedWebhook claim, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var target = claim.Target!;
        // Once the request has started it runs to its answer or the timeout, so its outcome is recorded rather than guessed.
        var result = await sender.SendAsync(target.Url!, claim.Body, Headers(claim, target, Time.GetUtcNow()), target.AllowPrivate, _options.Timeout, CancellationToken.None);
        return WebhookDelivery.Answer(result);
    }

    /// <summary>The request's headers: the signature over the stored body (made now, with every signing secret), the ids and the attempt.</summary>
    public static Dictionary<string, string> Headers(ClaimedWebhook claim, WebhookTarget target, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(target);
        return new Dictionary<string, string>
        {
            [WebhookSignature.Header] = WebhookSignature.HeaderValue(target.Secrets, now.ToUnixTimeSeconds(), claim.Body),
            ["FeedbackHub-Event-Id"] = claim.EventId.ToString(),
            ["FeedbackHub-Event-Type"] = claim.EventType,
            ["FeedbackHub-Delivery-Id"] = claim.Id.ToString(),
            ["FeedbackHub-Attempt"] = claim.Attempt.ToString(CultureInfo.InvariantCulture),
        };
    }

    protected override async Task RecordAsync(IReadOnlyList<DispatchResult<ClaimedWebhook>> batch)
    {
        var results = batch.Select(r => new WebhookResult(r.Claim, r.Answer, r.NotSendable)).ToList();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
        var recorded = await WebhookBatches.RecordAsync(db, audit, results, RetryPolicy, Time.GetUtcNow(), CancellationToken.None);
        Report(results, recorded);
    }

    /// <summary>Logs and counts what was recorded (ids and codes only); sent deliveries are counted, logged only at Debug.</summary>
    private void Report(List<WebhookResult> batch, IReadOnlyList<RecordedWebhook> recorded)
    {
        var channel = OutboundChannels.Webhook;
        var sent = 0;
        foreach (var r in recorded)
        {
            var (claim, answer) = (r.Result.Claim, r.Result.Answer);
            var code = answer.Code ?? 0;
            switch (r.Status)
            {
                case OutboundStatus.Sent:
                    sent++;
                    LogSent(logger, claim.Id, code, claim.Attempt);
                    metrics.Delivery(channel, "sent");
                    break;
                case OutboundStatus.Scheduled when answer.Outcome == AttemptOutcome.NotSent:
                    LogReleased(logger, claim.Id);
                    metrics.Delivery(channel, "not_sent");
                    break;
                case OutboundStatus.Scheduled:
                    LogRetry(logger, claim.Id, code, answer.Detail, claim.Attempt, r.DueAt);
                    metrics.Delivery(channel, "retry");
                    break;
                case OutboundStatus.Failed when r.Result.NotSendable:
                    LogNotSendable(logger, claim.Id, answer.Detail);
                    metrics.Delivery(channel, "not_sendable");
                    break;
                default:
                    LogFailed(logger, claim.Id, code, answer.Detail, claim.Attempt);
                    metrics.Delivery(channel, "failed");
                    break;
            }
        }

        if (recorded.Count < batch.Count)
            LogNotRecorded(logger, batch.Count - recorded.Count, batch.Count);
        LogRecorded(logger, recorded.Count, sent);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "webhook: recorded {Count} attempts ({Sent} delivered)")]
    private static partial void LogRecorded(ILogger logger, int count, int sent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook: {Count} of {Total} attempts were taken over by recovery (or deleted) before their answers were recorded; nothing recorded for them")]
    private static partial void LogNotRecorded(ILogger logger, int count, int total);

    [LoggerMessage(Level = LogLevel.Debug, Message = "webhook {ItemId} sent: {Code} on attempt {Attempt}")]
    private static partial void LogSent(ILogger logger, Guid itemId, int code, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "webhook {ItemId} was stopped before it was handed over; released to be sent again")]
    private static partial void LogReleased(ILogger logger, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook {ItemId} attempt {Attempt} failed temporarily ({Code} {Detail}); next try at {DueAt}")]
    private static partial void LogRetry(ILogger logger, Guid itemId, int code, string? detail, int attempt, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook {ItemId} cannot be sent ({Detail}); failed without sending")]
    private static partial void LogNotSendable(ILogger logger, Guid itemId, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook {ItemId} failed ({Code} {Detail}) on attempt {Attempt}")]
    private static partial void LogFailed(ILogger logger, Guid itemId, int code, string? detail, int attempt);
}
