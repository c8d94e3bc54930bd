using System.Collections.Concurrent;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// The leases of the attempts this process is sending (any channel), renewed every third of
/// <see cref="DeliveryOptions.SendingLease"/> in one statement for all of them. While the process lives its attempts are
/// never taken over, however slow the other side; once it has died, nothing renews them and recovery takes them over
/// within one lease.
/// </summary>
public sealed class SendingLeases(IServiceScopeFactory scopes, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<SendingLeases> logger)
    : BatchLoop(time, logger, "sending leases", "renewing the leases")
{
    private readonly ConcurrentDictionary<Guid, int> _held = new();

    protected override int BatchSize => int.MaxValue;

    protected override TimeSpan Pause => options.Value.SendingLease / 3;

    /// <summary>From now on this process renews the lease of the item's attempt <paramref name="attempt"/>.</summary>
    public void Hold(Guid itemId, int attempt) => _held[itemId] = attempt;

    public void Release(Guid itemId) => _held.TryRemove(itemId, out _);

    protected override Task<int> RunBatchAsync(CancellationToken ct) => RenewAsync(ct);

    /// <summary>
    /// Moves the lease of every held attempt that is still in progress to now + the lease. Returns how many moved. A row
    /// another transaction has locked right now (its outcome being recorded, recovery) is skipped until the next pass.
    /// </summary>
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
        return await db.Database.ExecuteSqlRawAsync(
            Renew, [new NpgsqlParameter("ids", ids), new NpgsqlParameter("attempts", attempts), new NpgsqlParameter("until", until)], ct);
    }

    /// <summary>
    /// The renewal (<c>@ids</c>, <c>@attempts</c>, <c>@until</c>). The rows are locked once, in the materialised CTE: as a
    /// locking subquery in the WHERE clause it ran again for every held row, so renewing N leases cost N² (22-41 ms
    /// for 150 held rows on an idle database, 16-128 ms with 90-130 held in the delivery bench; bench/delivery/README.md).
    /// </summary>
    internal const string Renew = """
        WITH locked AS MATERIALIZED (SELECT id FROM outbound WHERE id = ANY(@ids) AND status = 'Sending' FOR UPDATE SKIP LOCKED)
        UPDATE outbound o SET lease_until = @until
        FROM unnest(@ids, @attempts) AS h(id, number)
        WHERE o.id = h.id AND o.id IN (SELECT id FROM locked)
          AND EXISTS (SELECT 1 FROM outbound_attempts a WHERE a.outbound_id = o.id AND a.number = h.number AND a.outcome = 'InProgress')
        """;
}
