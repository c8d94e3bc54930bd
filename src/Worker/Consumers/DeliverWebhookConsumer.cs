using System.Globalization;
using System.Security.Cryptography;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Webhooks;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Consumers;

/// <summary>
/// Sends one webhook attempt. In one transaction: lock the delivery row (FOR UPDATE SKIP LOCKED: a row locked by
/// another consumer, or not pending, or not yet due, means a duplicate or early message, which sends nothing), POST
/// the stored event body signed with the subscription's secret, record the attempt and the outcome, schedule the retry
/// through the outbox, commit. The lock is held during the HTTP call (bounded by Webhooks:Timeout) on purpose: a crash
/// releases it and the broker redelivers the message, so an event is delivered at least once, always with the same
/// event id (docs/decisions/0005-webhooks.md).
/// </summary>
public sealed partial class DeliverWebhookConsumer(
    FeedbackHubDbContext db, WebhookSender sender, WebhookSecretBox secrets, TimeProvider time, IOptions<WebhookOptions> options,
    ILogger<DeliverWebhookConsumer> logger)
    : IConsumer<DeliverWebhook>
{
    private readonly WebhookOptions _options = options.Value;

    public async Task Consume(ConsumeContext<DeliverWebhook> context)
    {
        var ct = context.CancellationToken;
        var id = context.Message.WebhookDeliveryId;
        db.ChangeTracker.Clear(); // a retried message starts from the database's state

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var delivery = await db.WebhookDeliveries
            .FromSql($"SELECT * FROM webhook_deliveries WHERE id = {id} FOR UPDATE SKIP LOCKED")
            .SingleOrDefaultAsync(ct);
        if (delivery is null)
        {
            LogSkipped(logger, id);
            return;
        }

        var now = time.GetUtcNow();
        if (!delivery.IsDue(now, _options.EarlyTolerance))
        {
            if (delivery is { Status: WebhookDeliveryStatus.Pending, NextAttemptAt: { } next })
            {
                // Early (clock skew between hosts, a duplicate): come back at the due time, so a lost message strands nothing.
                db.OutboxMessages.Add(OutboxMessage.Create(new DeliverWebhook(delivery.Id, delivery.TenantId), delivery.TenantId, now, next));
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
            }

            LogNotDue(logger, id, delivery.Status);
            return;
        }

        var (subscriptionId, eventId) = (delivery.SubscriptionId, delivery.EventId);
        var target = await (
            from s in db.WebhookSubscriptions.AsNoTracking()
            from e in db.WebhookEvents.AsNoTracking()
            join t in db.Tenants.AsNoTracking() on s.TenantId equals t.Id
            where s.Id == subscriptionId && e.Id == eventId
            select new { Subscription = s, e.Body, t.Settings }).SingleAsync(ct);

        WebhookSendResult result;
        IReadOnlyList<string>? secret = null;
        try
        {
            secret = target.Subscription.SigningSecrets(secrets, now);
        }
        catch (CryptographicException)
        {
            LogSecretUnreadable(logger, delivery.Id, subscriptionId);
        }

        if (!target.Subscription.Enabled)
        {
            result = new WebhookSendResult(WebhookAttemptOutcomes.SubscriptionDisabled, null, 0, "The subscription is disabled; nothing was sent.", null);
        }
        else if (secret is null)
        {
            result = new WebhookSendResult(WebhookAttemptOutcomes.SecretUnreadable, null, 0,
                "The subscription's secret opens with neither this worker's Webhooks:SecretKey nor its Webhooks:PreviousSecretKeys (was the key changed?); rotate the secret, then redeliver.", null);
        }
        else
        {
            var timestamp = now.ToUnixTimeSeconds();
            var headers = new Dictionary<string, string>
            {
                [WebhookSignature.Header] = WebhookSignature.HeaderValue(secret, timestamp, target.Body),
                ["FeedbackHub-Event-Id"] = delivery.EventId.ToString(),
                ["FeedbackHub-Event-Type"] = delivery.EventType,
                ["FeedbackHub-Delivery-Id"] = delivery.Id.ToString(),
                ["FeedbackHub-Attempt"] = (delivery.Attempts + 1).ToString(CultureInfo.InvariantCulture),
            };
            result = await sender.SendAsync(new Uri(target.Subscription.Url), target.Body, headers,
                target.Settings.AllowPrivateWebhookTargets, _options.Timeout, ct);
        }

        // The attempt happened: it is recorded even if the transport cancels the message now (a rollback would send the
        // event again and lose the record of this attempt).
        ct = CancellationToken.None;
        var finished = time.GetUtcNow();
        var (attempt, retryAt) = delivery.RecordAttempt(result.Outcome, result.StatusCode, result.DurationMs, result.Error, result.ResponseExcerpt,
            now, finished, _options.MaxAttempts, _options.FirstBackoff);
        db.WebhookAttempts.Add(attempt);
        if (retryAt is { } due)
            db.OutboxMessages.Add(OutboxMessage.Create(new DeliverWebhook(delivery.Id, delivery.TenantId), delivery.TenantId, finished, due));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);

        if (delivery.Status == WebhookDeliveryStatus.Delivered)
            LogDelivered(logger, delivery.Id, delivery.EventId, result.StatusCode ?? 0, delivery.Attempts);
        else if (retryAt is { } next)
            LogRetry(logger, delivery.Id, result.Outcome, result.StatusCode ?? 0, delivery.Attempts, next);
        else
            LogFailed(logger, delivery.Id, result.Outcome, result.StatusCode ?? 0, delivery.Attempts);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} is locked by another attempt or does not exist; message ignored")]
    private static partial void LogSkipped(ILogger logger, Guid deliveryId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} is {Status} or not yet due; nothing sent now (a pending one comes back at its due time)")]
    private static partial void LogNotDue(ILogger logger, Guid deliveryId, WebhookDeliveryStatus status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId}: the secret of subscription {SubscriptionId} does not open with Webhooks:SecretKey; not sent")]
    private static partial void LogSecretUnreadable(ILogger logger, Guid deliveryId, Guid subscriptionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} (event {EventId}) delivered: HTTP {StatusCode} on attempt {Attempt}")]
    private static partial void LogDelivered(ILogger logger, Guid deliveryId, Guid eventId, int statusCode, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} attempt {Attempt} failed ({Outcome}, HTTP {StatusCode}); next try at {DueAt}")]
    private static partial void LogRetry(ILogger logger, Guid deliveryId, string outcome, int statusCode, int attempt, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} failed after {Attempt} attempts ({Outcome}, HTTP {StatusCode})")]
    private static partial void LogFailed(ILogger logger, Guid deliveryId, string outcome, int statusCode, int attempt);
}

/// <summary>At most 16 webhook sends at once per worker; retries for database failures only (HTTP retries are scheduled by the consumer).</summary>
public sealed class DeliverWebhookConsumerDefinition : ConsumerDefinition<DeliverWebhookConsumer>
{
    public DeliverWebhookConsumerDefinition() => ConcurrentMessageLimit = 16;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DeliverWebhookConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.UseDatabaseRetry();
}
