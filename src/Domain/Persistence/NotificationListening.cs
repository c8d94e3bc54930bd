using Microsoft.Extensions.Configuration;
using Npgsql;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// The loop of every PostgreSQL notification listener: the caches' invalidation listeners (<c>ApiKeyChangeListener</c>,
/// <c>WebhookSubscriptionListener</c>) and the worker's <c>OutboundWakeUpListener</c>. Listens on a connection of its own
/// for <paramref name="channel"/> (never a pooled one: <c>LISTEN</c> is session state), hands each payload to
/// <paramref name="evict"/>, says when it is listening and when not (a cache is off meanwhile, so no change is missed;
/// the wake-ups fall back to the polls), and reconnects a second after the connection drops, until stopped.
/// </summary>
public static class NotificationListening
{
    public static async Task RunAsync(
        IConfiguration configuration, string channel, Action<string> evict, Action<bool> setListening, Action<string> lost, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(evict);
        ArgumentNullException.ThrowIfNull(setListening);
        ArgumentNullException.ThrowIfNull(lost);
        var connectionString = new NpgsqlConnectionStringBuilder(PersistenceExtensions.ConnectionString(configuration))
        {
            Pooling = false,
            KeepAlive = 10,
        }.ConnectionString;
        var listening = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                connection.Notification += (_, e) => evict(e.Payload);
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                setListening(listening = true);
                while (!stoppingToken.IsCancellationRequested)
                    await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                if (listening)
                    lost(e.GetType().Name);
            }
            finally
            {
                setListening(listening = false);
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
}
