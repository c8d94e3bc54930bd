using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// The one recovery sweep over every channel's items (the <c>outbound</c> table):
/// <list type="bullet">
/// <item>attempts whose worker died (Sending, lease no longer renewed: <see cref="SendingLeases"/>) are recorded as
/// interrupted, the item flagged as a possible duplicate (the other side may have taken it before the crash) and
/// queued again; after <see cref="OutboundItem.MaxInterruptions"/> it fails (audited). This is what makes "nothing is
/// ever lost" hold after a crash between the hand-over and the commit;</item>
/// <item>items still Scheduled <see cref="DeliveryOptions.LostMessageAfter"/> past their due time lost their message
/// outside the database (a purged or dead-lettered queue): a new one is queued and the due time moves to now.</item>
/// </list>
/// Every worker process runs it. Each item is taken under its locks in a transaction of its own (its application's lock
/// or its row, as every writer takes them); one another transaction holds is skipped for this pass. A lease
/// that ran out while PostgreSQL was restarting says nothing about its worker (nobody could renew anything), so for one
/// lease after the server started nothing is taken over: live workers renew their leases or record their answers first.
/// </summary>
public sealed partial class OutboundRecovery(IServiceScopeFactory scopes, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<OutboundRecovery> logger)
    : BatchLoop(time, logger, "outbound recovery", "a recovery pass")
{
    private readonly DeliveryOptions _options = options.Value;

    protected override int BatchSize => _options.RecoveryBatchSize;

    protected override TimeSpan Pause => _options.RecoveryInterval;

    protected override async Task<int> RunBatchAsync(CancellationToken ct) => await RecoverAsync(ct) + await RequeueLostAsync(ct);

    /// <summary>One pass: takes over up to a batch of interrupted attempts and queues their items again. Returns how many.</summary>
    public async Task<int> RecoverAsync(CancellationToken ct)
    {
        var now = Time.GetUtcNow();
        return await SweepAsync(
            db => db.Database.SqlQuery<Found>(
                $"SELECT id AS \"Id\", channel AS \"Channel\" FROM outbound WHERE status = 'Sending' AND lease_until < {now} AND pg_postmaster_start_time() < now() - {_options.SendingLease} ORDER BY lease_until LIMIT {_options.RecoveryBatchSize}"),
            (work, channel, item, guard, at) =>
            {
                if (item.Status != OutboundStatus.Sending || item.LeaseUntil >= now || !item.Interrupt(guard, at))
                    return false;
                if (item.Status == OutboundStatus.Failed)
                {
                    var (subjectId, ids) = channel.AuditSubject(item);
                    var data = new Dictionary<string, object?> { ["attempt"] = item.Attempts.Count, ["reason"] = "interrupted", ["possibleDuplicate"] = true };
                    foreach (var (name, value) in ids)
                        data[name] = value;
                    work.Audit.Record(item.TenantId, Actor.System, channel.AuditNames.Failed, channel.AuditNames.SubjectType, subjectId, data);
                }
                else
                {
                    work.Db.OutboxMessages.Add(OutboxMessage.Create(channel.MessageFor(item), item.TenantId, at, at));
                }

                LogInterrupted(logger, channel.Name, item.Id);
                return true;
            },
            ct);
    }

    /// <summary>One pass: up to a batch of items overdue by more than <see cref="DeliveryOptions.LostMessageAfter"/> get a new message, due now. Returns how many.</summary>
    public async Task<int> RequeueLostAsync(CancellationToken ct)
    {
        var overdue = Time.GetUtcNow() - _options.LostMessageAfter;
        return await SweepAsync(
            db => db.Database.SqlQueryRaw<Found>(
                QueueClaims.Overdue, new NpgsqlParameter("overdue", overdue), new NpgsqlParameter("take", _options.RecoveryBatchSize)),
            (work, channel, item, guard, at) =>
            {
                if (item.DueAt >= overdue || !item.RequeueLost(guard, at))
                    return false;
                work.Db.OutboxMessages.Add(OutboxMessage.Create(channel.MessageFor(item), item.TenantId, at, at));
                LogLostMessage(logger, channel.Name, item.Id);
                return true;
            },
            ct);
    }

    /// <summary>Finds candidates without locking them, then handles each under its locks in a transaction of its own.</summary>
    private async Task<int> SweepAsync(
        Func<FeedbackHubDbContext, IQueryable<Found>> find, Func<UnitOfWork, IOutboundChannel, OutboundItem, OutboundGuard, DateTimeOffset, bool> handle, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var found = await find(db).ToListAsync(ct);
        if (found.Count == 0)
            return 0;
        var channels = scope.ServiceProvider.GetServices<IOutboundChannel>().ToDictionary(c => c.Name, StringComparer.Ordinal);
        var handled = 0;
        foreach (var row in found)
        {
            if (!channels.TryGetValue(row.Channel, out var channel))
            {
                LogUnknownChannel(logger, row.Channel, row.Id);
                continue;
            }

            await using var itemScope = scopes.CreateAsyncScope();
            var itemDb = itemScope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
            await using var tx = await itemDb.Database.BeginTransactionAsync(ct);
            var locked = await channel.LockAsync(itemDb, row.Id, ct, skipIfBusy: true);
            if (locked is null || !handle(new UnitOfWork(itemDb, itemScope.ServiceProvider.GetRequiredService<AuditLog>()), channel, locked.Item, locked.Guard, Time.GetUtcNow()))
                continue;
            await itemDb.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            handled++;
        }

        return handled;
    }

    private sealed record Found(Guid Id, string Channel);

    /// <summary>One item's unit of work: its DbContext and the audit log that writes into it.</summary>
    private sealed record UnitOfWork(FeedbackHubDbContext Db, AuditLog Audit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} was still waiting long after its due time (its message was lost); queued a new one")]
    private static partial void LogLostMessage(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} was interrupted mid-attempt; sending again, flagged as a possible duplicate")]
    private static partial void LogInterrupted(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbound item {ItemId} belongs to channel '{Channel}', which this worker does not have; left as it is")]
    private static partial void LogUnknownChannel(ILogger logger, string channel, Guid itemId);
}
