using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Listens on a connection of its own for <c>api_key_changed</c> and evicts the named key from <see cref="ApiKeyCache"/>;
/// reconnects after a second when the connection drops (the cache is off meanwhile).
/// </summary>
public sealed partial class ApiKeyChangeListener(ApiKeyCache cache, IConfiguration configuration, ILogger<ApiKeyChangeListener> logger) : BackgroundService
{
    public const string Channel = "api_key_changed";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        NotificationListening.RunAsync(configuration, Channel, cache.Evict, cache.SetListening, error => LogLost(logger, error), stoppingToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the api_key_changed listener ({Error}); API keys are read from the database on every request until it reconnects")]
    private static partial void LogLost(ILogger logger, string error);
}
