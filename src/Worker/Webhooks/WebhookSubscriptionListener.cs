using FeedbackHub.Domain.Persistence;
using Npgsql;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>
/// Listens on a connection of its own (never a pooled one: <c>LISTEN</c> is session state) for
/// <see cref="WebhookSubscriptionCache.Channel"/> and evicts the named tenant from <see cref="WebhookSubscriptionCache"/>;
/// reconnects after a second when the connection drops (nothing is cached meanwhile, so no change is missed).
/// </summary>
public sealed partial class WebhookSubscriptionListener(WebhookSubscriptionCache cache, IConfiguration configuration, ILogger<WebhookSubscriptionListener> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(PersistenceExtensions.ConnectionString(configuration))
        {
            Pooling = false,
            KeepAlive = 10,
        }.ConnectionString;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                connection.Notification += (_, e) => cache.Evict(e.Payload);
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {WebhookSubscriptionCache.Channel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                cache.SetListening(true);
                while (!stoppingToken.IsCancellationRequested)
                    await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or System.IO.IOException)
            {
                if (cache.Enabled)
                    LogLost(logger, e.GetType().Name);
            }
            finally
            {
                cache.SetListening(false);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the webhook_subscriptions_changed listener ({Error}); webhook subscriptions are read from the database on every save until it reconnects")]
    private static partial void LogLost(ILogger logger, string error);
}
