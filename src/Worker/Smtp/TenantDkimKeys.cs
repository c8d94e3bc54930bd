using System.Collections.Concurrent;
using System.Security.Cryptography;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Smtp;

/// <summary>
/// The tenant's active DKIM key (<c>dkim_keys</c>, set through /v1/settings), under the rule
/// <see cref="DkimStatus"/> shows the tenant: the key signs when the sender address aligns with its domain
/// (<see cref="DkimNames.Aligns"/>), otherwise the email goes out unsigned. A key that no configured operator key
/// opens holds the email instead: <see cref="DkimKeyUnreadableException"/>.
/// Each tenant's answer (key, no key or unreadable) is kept for <see cref="CacheFor"/>, so a send neither queries
/// nor decrypts; a changed key is picked up within that time.
/// </summary>
public sealed partial class TenantDkimKeys(IServiceScopeFactory scopes, WebhookSecretBox box, TimeProvider time, ILogger<TenantDkimKeys> logger) : IDkimKeyProvider
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<Guid, Entry> _cache = new();

    /// <summary>Key versions already logged as unreadable: one error per key, not one per email.</summary>
    private readonly ConcurrentDictionary<Guid, byte> _reported = new();

    public async Task<DkimSigning?> ForSenderAsync(Guid tenantId, string senderAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(senderAddress);
        var now = time.GetUtcNow();
        if (!_cache.TryGetValue(tenantId, out var entry) || now - entry.LoadedAt >= CacheFor)
        {
            entry = await LoadAsync(tenantId, now, cancellationToken);
            _cache[tenantId] = entry;
        }

        if (entry.Domain is null || !DkimNames.Aligns(senderAddress, entry.Domain))
            return null;
        return entry.PrivateKeyPem is { } pem
            ? new DkimSigning(entry.Domain, entry.Selector!, pem)
            : throw new DkimKeyUnreadableException(tenantId, entry.KeyId!.Value);
    }

    /// <summary>How long an unreadable key found by a send is reported (waiting emails are tried again well within it).</summary>
    public static readonly TimeSpan ReportFor = TimeSpan.FromMinutes(10);

    /// <summary>Tenants whose active key did not open when last loaded, within <see cref="ReportFor"/> (for the readiness report).</summary>
    public IReadOnlyList<Guid> UnreadableTenants()
    {
        var now = time.GetUtcNow();
        return _cache.Where(e => e.Value.Domain is not null && e.Value.PrivateKeyPem is null && now - e.Value.LoadedAt < ReportFor)
            .Select(e => e.Key).ToList();
    }

    private async Task<Entry> LoadAsync(Guid tenantId, DateTimeOffset now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var key = await db.DkimKeys.AsNoTracking().SingleOrDefaultAsync(k => k.TenantId == tenantId && k.State == DkimKeyState.Active, ct);
        if (key is null)
            return new Entry(now, null, null, null, null);
        try
        {
            return new Entry(now, key.Id, key.Domain, key.Selector, key.OpenPrivateKey(box));
        }
        catch (CryptographicException)
        {
            if (_reported.TryAdd(key.Id, 0))
                LogUnreadable(logger, tenantId, key.Id);
            return new Entry(now, key.Id, key.Domain, key.Selector, null);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The DKIM key {KeyId} of tenant {TenantId} opens with neither Webhooks:SecretKey nor any of Webhooks:PreviousSecretKeys: "
        + "the tenant's emails wait (they are not sent unsigned). Add the key it was sealed with to Webhooks:PreviousSecretKeys on the API and the worker and run rekey-secrets, "
        + "or have the tenant's admin set or generate a new key.")]
    private static partial void LogUnreadable(ILogger logger, Guid tenantId, Guid keyId);

    /// <summary>What one load found: no key (Domain null), a key (PrivateKeyPem set) or an unreadable one (PrivateKeyPem null).</summary>
    private sealed record Entry(DateTimeOffset LoadedAt, Guid? KeyId, string? Domain, string? Selector, string? PrivateKeyPem)
    {
        public override string ToString() => $"Entry {{ KeyId = {KeyId}, Domain = {Domain} }}";
    }
}

public static class DkimKeyServiceExtensions
{
    /// <summary>Signs each tenant's emails with its own DKIM key (<see cref="TenantDkimKeys"/>), and reports unreadable keys in readiness.</summary>
    public static IServiceCollection AddTenantDkimKeys(this IServiceCollection services)
    {
        services.AddSingleton<TenantDkimKeys>();
        services.AddSingleton<IDkimKeyProvider>(sp => sp.GetRequiredService<TenantDkimKeys>());
        services.AddHealthChecks().AddCheck<DkimKeysHealthCheck>("dkim-keys", tags: ["ready"]);
        return services;
    }
}
