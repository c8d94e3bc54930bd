using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Authenticated API keys, cached by prefix for at most <see cref="Lifetime"/>, and only while this replica listens to
/// PostgreSQL's <c>api_key_changed</c> notifications (<see cref="ApiKeyChangeListener"/>): a trigger on <c>api_keys</c>
/// notifies every replica when a key is revoked, changed or deleted, at commit, and each evicts it. While the listener
/// is not connected nothing is cached, so a revocation is never missed. A lookup that started before an eviction never
/// stores what it read (the generation check).
/// </summary>
public sealed class ApiKeyCache(TimeProvider time) : NotifiedCache<string, ApiKey>(time, Lifetime, StringComparer.Ordinal)
{
    public static TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(60);

    public ApiKey? Get(string prefix) => TryGet(prefix, out var key) ? key : null;

    /// <summary>Stores an active key read from the database, unless something was evicted since <paramref name="generation"/>.</summary>
    public void Set(ApiKey key, long generation)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.IsActive)
            Set(key.Prefix, key, generation);
    }
}

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
