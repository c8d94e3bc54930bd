using FeedbackHub.Domain.Outbound;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace FeedbackHub.Domain.Persistence;

/// <summary>An outbound item loaded under its locks, with the proof its state changes require.</summary>
public sealed record Locked<TItem>(TItem Item, OutboundGuard Guard)
    where TItem : OutboundItem;

/// <summary>The one way to lock an outbound item for a state change.</summary>
public static class OutboundLocks
{
    /// <summary>
    /// Locks the item for the rest of the transaction and loads it with its attempts: an item sent because of an
    /// application under that application's lock (the key <see cref="DeliveryScheduling.LockApplicationAsync"/> takes,
    /// which every writer of such an item takes first; found from the item type's mapped <c>ApplicationId</c>), any other
    /// item under its row's lock (<c>FOR UPDATE</c> on <c>outbound</c>). No transaction holds either for long: nothing is
    /// sent under them. Null when it does not exist (for this tenant, in a scoped unit of work) or, with
    /// <paramref name="skipIfBusy"/>, when another transaction holds either lock.
    /// </summary>
    public static async Task<Locked<TItem>?> LockAsync<TItem>(FeedbackHubDbContext db, Guid id, CancellationToken ct, bool skipIfBusy = false)
        where TItem : OutboundItem =>
        await LockManyAsync<TItem>(db, [id], ct, skipIfBusy) is [var locked] ? locked : null;

    /// <summary>
    /// <see cref="LockAsync{TItem}"/> for many items in three round trips whatever their number (the locks in one statement,
    /// the items in one query, their attempts in another): the email dispatcher claims and records its batches with it. Locks
    /// are taken in the order of the application id (then the item id), so two transactions locking overlapping sets
    /// never wait for each other in a circle. Returns the items locked and found, in that order; an item that does not
    /// exist or, with <paramref name="skipIfBusy"/>, whose lock another transaction holds is left out.
    /// </summary>
    public static async Task<IReadOnlyList<Locked<TItem>>> LockManyAsync<TItem>(
        FeedbackHubDbContext db, IReadOnlyCollection<Guid> ids, CancellationToken ct, bool skipIfBusy = false)
        where TItem : OutboundItem
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(ids);
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Lock an outbound item inside a transaction.");
        if (ids.Count == 0)
            return [];

        // Item id -> the application whose lock guards it (null: its row is the lock), for the items locked.
        var guards = new Dictionary<Guid, LockedApplication?>(ids.Count);
        if (GuardTable<TItem>(db) is { } table)
        {
            // The items' applications and their locks in one round trip (the same key LockApplicationAsync takes), taken
            // row by row in the fenced subquery's order (OFFSET 0 keeps the sort below the lock calls). The table name
            // comes from the model, the ids are a parameter.
            var sql = string.Concat(
                "SELECT id, application_id, ",
                skipIfBusy ? "pg_try_advisory_xact_lock(application_lock_key(application_id))" : "pg_advisory_xact_lock(application_lock_key(application_id)) IS NOT NULL",
                " FROM (SELECT id, application_id FROM ", table, " WHERE id = ANY(@ids) ORDER BY application_id, id OFFSET 0) AS items");
            foreach (var (id, applicationId, locked) in await RowsAsync(db, sql, ids, r => (r.GetGuid(0), r.GetGuid(1), r.GetBoolean(2)), ct))
            {
                if (locked)
                    guards[id] = new LockedApplication(applicationId);
            }
        }
        else
        {
            // Items of their own (test emails, webhooks): their rows are the locks, taken in id order. An item guarded by
            // its application is not locked again: every writer of it takes the application's lock first.
            var sql = skipIfBusy
                ? "SELECT id FROM outbound WHERE id = ANY(@ids) ORDER BY id FOR UPDATE SKIP LOCKED"
                : "SELECT id FROM outbound WHERE id = ANY(@ids) ORDER BY id FOR UPDATE";
            foreach (var id in await RowsAsync(db, sql, ids, r => r.GetGuid(0), ct))
                guards[id] = null;
        }

        if (guards.Count == 0)
            return [];

        // Whatever this unit of work tracked before the locks is stale: read the locked rows.
        foreach (var entry in db.ChangeTracker.Entries<OutboundItem>().Where(e => guards.ContainsKey(e.Entity.Id)).ToList())
        {
            foreach (var attempt in entry.Entity.Attempts)
                db.Entry(attempt).State = EntityState.Detached;
            entry.State = EntityState.Detached;
        }

        var lockedIds = guards.Keys.ToArray();
        var items = await db.Set<TItem>().Where(x => lockedIds.Contains(x.Id)).ToDictionaryAsync(x => x.Id, ct);
        // The attempts in a query of their own (tracked, so they join their items' Attempts in number order), read by the
        // (outbound_id, number) index: joined into the items' query, PostgreSQL often hashed the whole attempts table
        // instead, 1-4 ms a batch with the delivery bench's 20,000 attempts and growing with the history.
        await db.Set<OutboundAttempt>().Where(a => lockedIds.Contains(a.OutboundId)).OrderBy(a => a.OutboundId).ThenBy(a => a.Number).LoadAsync(ct);
        var result = new List<Locked<TItem>>(items.Count);
        foreach (var (id, application) in guards)
        {
            if (!items.TryGetValue(id, out var item))
                continue;
            if (item.GuardingApplicationId != application?.ApplicationId)
            {
                throw new ItemClaimFailedException(id, new InvalidOperationException(
                    $"{typeof(TItem).Name} {id} is guarded by application {item.GuardingApplicationId}, but {application?.ApplicationId} was locked."));
            }

            result.Add(new Locked<TItem>(item, new OutboundGuard(id, application)));
        }

        return result;
    }

    /// <summary>The mapped property that names the application whose lock guards an item type.</summary>
    private const string ApplicationIdProperty = "ApplicationId";

    /// <summary>The table (quoted) holding the item type's <c>application_id</c>, or null for an item not sent because of an application.</summary>
    private static string? GuardTable<TItem>(FeedbackHubDbContext db)
        where TItem : OutboundItem
    {
        var entity = db.Model.FindEntityType(typeof(TItem));
        var property = entity?.FindProperty(ApplicationIdProperty);
        if (entity is null || property is null)
            return null;
        var table = property.DeclaringType.ContainingEntityType.GetTableName()!;
        if (property.GetColumnName() != "application_id")
            throw new InvalidOperationException($"{typeof(TItem).Name}.{ApplicationIdProperty} must be mapped to application_id.");
        return $"\"{table}\"";
    }

    /// <summary>
    /// Runs a lock statement of this class (parameter <c>@ids</c>, a uuid array) on the unit of work's connection, in its transaction, as a
    /// plain command: EF Core's <c>SqlQuery</c> maps an ad-hoc result type and compiles a query on every call, which made
    /// these two statements about 15% of a worker's CPU per email (bench/delivery/README.md).
    /// </summary>
    private static async Task<List<T>> RowsAsync<T>(FeedbackHubDbContext db, string sql, IReadOnlyCollection<Guid> ids, Func<DbDataReader, T> read, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction!.GetDbTransaction();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "ids";
        parameter.Value = ids as Guid[] ?? ids.ToArray();
        command.Parameters.Add(parameter);
        var rows = new List<T>(ids.Count);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(read(reader));
        return rows;
    }
}
