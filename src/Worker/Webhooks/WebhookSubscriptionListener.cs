using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>
/// Listens on a connection of its own (never a pooled one: <c>LISTEN</c> is session state) for
/// <see cref="WebhookSubscriptionCache.Channel"/> and evicts the named tenant from <see cref="WebhookSubscriptionCache"/>;
/// reconnects after a second when the connection drops (nothing is cached meanwhile, so no change is missed).
/// </summary>
public sealed partial class WebhookSubscriptionListener(WebhookSubscriptionCache cache, IConfiguration configuration, ILogger<WebhookSubscriptionListener> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        NotificationListening.RunAsync(configuration, WebhookSubscriptionCache.Channel, cache.Evict, cache.SetListening, error => LogLost(logger, error), stoppingToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the webhook_subscriptions_changed listener ({Error}); webhook subscriptions are read from the database on every save until it reconnects")]
    private static partial void LogLost(ILogger logger, string error);
}
