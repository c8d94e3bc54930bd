using System.Collections.Concurrent;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Delivery;

/// <summary>
/// The leases of the attempts this process is sending, renewed every third of <see cref="DeliveryOptions.SendingLease"/>
/// in one statement for all of them. While the process lives its attempts are never taken over, however slow the SMTP
/// server; once it has died, nothing renews them and recovery takes them over within one lease.
/// </summary>
public sealed partial class SendingLeases(IServiceScopeFactory scopes, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<SendingLeases> logger)
    : BatchLoop(time)
{
    private readonly ConcurrentDictionary<Guid, int> _held = new();

    protected override int BatchSize => int.MaxValue;

    protected override TimeSpan Pause => options.Value.SendingLease / 3;

    /// <summary>From now on this process renews the lease of the delivery's attempt <paramref name="attempt"/>.</summary>
    public void Hold(Guid deliveryId, int attempt) => _held[deliveryId] = attempt;

    public void Release(Guid deliveryId) => _held.TryRemove(deliveryId, out _);

    protected override Task<int> RunBatchAsync(CancellationToken ct) => RenewAsync(ct);

    protected override void OnBatchFailed(Exception exception) => LogRenewFailed(logger, exception.GetType().Name);

    /// <summary>Moves the lease of every held attempt that is still in progress to now + the lease. Returns how many moved.</summary>
    public async Task<int> RenewAsync(CancellationToken ct)
    {
        var held = _held.ToArray();
        if (held.Length == 0)
            return 0;
        var ids = held.Select(h => h.Key).ToArray();
        var attempts = held.Select(h => h.Value).ToArray();
        var until = Time.GetUtcNow() + options.Value.SendingLease;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        return await db.Database.ExecuteSqlAsync(
            $"""
             UPDATE deliveries d SET lease_until = {until}
             FROM unnest({ids}, {attempts}) AS h(id, number)
             WHERE d.id = h.id AND d.status = 'Sending'
               AND EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.number = h.number AND a.outcome = 'InProgress')
             """,
            ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the sending leases failed ({ExceptionType}); trying again")]
    private static partial void LogRenewFailed(ILogger logger, string exceptionType);
}
