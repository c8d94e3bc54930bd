using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Webhooks;

namespace FeedbackHub.Worker.Channels;

/// <summary>
/// Signed webhook events in the outbound shape (docs/decisions/0005-webhooks.md): what recovery and the audit log need to
/// know about a webhook delivery. The deliveries themselves are claimed, sent and recorded in batches by the
/// <see cref="WebhookDispatcher"/> (docs/decisions/0015-batched-webhook-dispatch.md), not one message at a time through
/// <see cref="OutboundProcessor"/>: its <c>DeliverWebhook</c> messages (recovery queues one when it takes an attempt over,
/// or finds a delivery long overdue) only wake the dispatcher.
/// </summary>
public sealed class WebhookChannel(WebhookDispatcher dispatcher) : OutboundChannel<WebhookDelivery, DeliverWebhook, WebhookDelivery>
{
    public override string Name => OutboundChannels.Webhook;

    public override RetryPolicy RetryPolicy => dispatcher.RetryPolicy;

    public override OutcomeAuditNames AuditNames { get; } =
        new("webhook", AuditActions.WebhookDelivered, AuditActions.WebhookFailed, AuditActions.WebhookFailed);

    public override Guid ItemIdOf(DeliverWebhook message) => message.WebhookDeliveryId;

    protected override DeliverWebhook MessageFor(WebhookDelivery item) => new(item.Id, item.TenantId);

    protected override Task<Preparation> PrepareAsync(FeedbackHubDbContext db, WebhookDelivery delivery, DateTimeOffset now, CancellationToken ct) =>
        throw new InvalidOperationException("Webhook deliveries are sent by the WebhookDispatcher, not one by one.");

    protected override Task<AttemptAnswer> SendAsync(WebhookDelivery payload, OutboundClaim claim, CancellationToken ct) =>
        throw new InvalidOperationException("Webhook deliveries are sent by the WebhookDispatcher, not one by one.");

    protected override (Guid SubjectId, IReadOnlyDictionary<string, object?> Ids) AuditSubject(WebhookDelivery item) =>
        (item.SubscriptionId, new Dictionary<string, object?> { ["deliveryId"] = item.Id, ["eventId"] = item.EventId, ["eventType"] = item.EventType });
}
