using System.Globalization;
using System.Security.Cryptography;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Channels;

/// <summary>A webhook request ready to go: the stored body, where to, and the secrets to sign it with.</summary>
public sealed record WebhookPayload(Uri Url, string Body, IReadOnlyList<string> Secrets, bool AllowPrivate, Guid EventId, string EventType, Guid DeliveryId);

/// <summary>
/// Signed webhook events (docs/decisions/0005-webhooks.md): the stored event body POSTed with the same event id on
/// every attempt, signed at send time with the subscription's secrets, within <c>Webhooks:Timeout</c>. A disabled
/// subscription or a secret that does not open fails the delivery without a request; a refused target fails it; anything
/// else but a 2xx is retried (30 s doubling to 1 h, <c>Webhooks:MaxAttempts</c>). No lock is held during the request: it
/// is claimed with a lease like every outbound item, so a redelivery or a list answers at once while it runs. At least
/// once: a repeat (after a crash, a lost answer or a redelivery) carries the same event id, which receivers deduplicate on.
/// </summary>
public sealed class WebhookChannel(WebhookSender sender, WebhookSecretBox secrets, TimeProvider time, IOptions<WebhookOptions> options)
    : OutboundChannel<WebhookDelivery, DeliverWebhook, WebhookPayload>
{
    private readonly WebhookOptions _options = options.Value;

    public override string Name => OutboundChannels.Webhook;

    public override RetryPolicy RetryPolicy { get; } =
        new(options.Value.MaxAttempts, options.Value.FirstBackoff, WebhookDelivery.MaxBackoff, WebhookDelivery.MaxBackoff);

    public override OutcomeAuditNames AuditNames { get; } =
        new("webhook", AuditActions.WebhookDelivered, AuditActions.WebhookFailed, AuditActions.WebhookFailed);

    public override Guid ItemIdOf(DeliverWebhook message) => message.WebhookDeliveryId;

    protected override DeliverWebhook MessageFor(WebhookDelivery item) => new(item.Id, item.TenantId);

    protected override async Task<Preparation> PrepareAsync(FeedbackHubDbContext db, WebhookDelivery delivery, DateTimeOffset now, CancellationToken ct)
    {
        var (subscriptionId, eventId) = (delivery.SubscriptionId, delivery.EventId);
        var target = await (
            from s in db.WebhookSubscriptions.AsNoTracking()
            from e in db.WebhookEvents.AsNoTracking()
            join t in db.Tenants.AsNoTracking() on s.TenantId equals t.Id
            where s.Id == subscriptionId && e.Id == eventId
            select new { Subscription = s, e.Body, t.Settings }).SingleAsync(ct);
        if (!target.Subscription.Enabled)
            return Fail(WebhookAttemptOutcomes.SubscriptionDisabled, "The subscription is disabled; nothing was sent.");
        IReadOnlyList<string> signing;
        try
        {
            signing = target.Subscription.SigningSecrets(secrets, now);
        }
        catch (CryptographicException)
        {
            return Fail(WebhookAttemptOutcomes.SecretUnreadable,
                "The subscription's secret opens with neither this worker's Webhooks:SecretKey nor its Webhooks:PreviousSecretKeys (was the key changed?); rotate the secret, then redeliver.");
        }

        return Preparation.Send(new WebhookPayload(
            new Uri(target.Subscription.Url), target.Body, signing, target.Settings.AllowPrivateWebhookTargets, delivery.EventId, delivery.EventType, delivery.Id));
    }

    protected override async Task<AttemptAnswer> SendAsync(WebhookPayload payload, OutboundClaim claim, CancellationToken ct)
    {
        // Stopped before the request starts: nothing was sent. Once it has started it runs to its answer or the timeout,
        // so its outcome is recorded rather than guessed.
        ct.ThrowIfCancellationRequested();
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        var headers = new Dictionary<string, string>
        {
            [WebhookSignature.Header] = WebhookSignature.HeaderValue(payload.Secrets, timestamp, payload.Body),
            ["FeedbackHub-Event-Id"] = payload.EventId.ToString(),
            ["FeedbackHub-Event-Type"] = payload.EventType,
            ["FeedbackHub-Delivery-Id"] = payload.DeliveryId.ToString(),
            ["FeedbackHub-Attempt"] = claim.Attempt.ToString(CultureInfo.InvariantCulture),
        };
        var result = await sender.SendAsync(payload.Url, payload.Body, headers, payload.AllowPrivate, _options.Timeout, CancellationToken.None);
        return WebhookDelivery.Answer(result);
    }

    protected override (Guid SubjectId, IReadOnlyDictionary<string, object?> Ids) AuditSubject(WebhookDelivery item) =>
        (item.SubscriptionId, new Dictionary<string, object?> { ["deliveryId"] = item.Id, ["eventId"] = item.EventId, ["eventType"] = item.EventType });

    private static Preparation Fail(string outcome, string error) =>
        Preparation.Fail(WebhookDelivery.Answer(new WebhookSendResult(outcome, null, 0, error, null)));
}
