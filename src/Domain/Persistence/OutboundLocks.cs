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
        where TItem : OutboundItem
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Lock an outbound item inside a transaction.");

        LockedApplication? application = null;
        if (GuardTable<TItem>(db) is { } table)
        {
            // The item's application and its lock in one round trip (the same key LockApplicationAsync takes). The table
            // name comes from the model, the id is a parameter.
            var sql = string.Concat(
                "SELECT application_id, ",
                skipIfBusy ? "pg_try_advisory_xact_lock(hashtextextended(application_id::text, 0))" : "pg_advisory_xact_lock(hashtextextended(application_id::text, 0)) IS NOT NULL",
                " FROM ", table, " WHERE id = @id");
            var found = await RowsAsync(db, sql, id, r => (ApplicationId: r.GetGuid(0), Locked: r.GetBoolean(1)), ct);
            if (found is not [{ Locked: true } guarded])
                return null;
            application = new LockedApplication(guarded.ApplicationId);
        }

        if (application is null)
        {
            // An item of its own (a test email, a webhook): its row is the lock. An item guarded by its application is not
            // locked again: every writer of it takes the application's lock first.
            var locked = await RowsAsync(db, skipIfBusy ? "SELECT id FROM outbound WHERE id = @id FOR UPDATE SKIP LOCKED" : "SELECT id FROM outbound WHERE id = @id FOR UPDATE", id, r => r.GetGuid(0), ct);
            if (locked.Count == 0)
                return null;
        }

        // Whatever this unit of work tracked before the lock is stale: read the locked row.
        foreach (var entry in db.ChangeTracker.Entries<OutboundItem>().Where(e => e.Entity.Id == id).ToList())
        {
            foreach (var attempt in entry.Entity.Attempts)
                db.Entry(attempt).State = EntityState.Detached;
            entry.State = EntityState.Detached;
        }

        var item = await db.Set<TItem>().Include(x => x.Attempts).SingleOrDefaultAsync(x => x.Id == id, ct);
        if (item is null)
            return null;
        if (item.GuardingApplicationId != application?.ApplicationId)
            throw new InvalidOperationException($"{typeof(TItem).Name} {id} is guarded by application {item.GuardingApplicationId}, but {application?.ApplicationId} was locked.");
        return new Locked<TItem>(item, new OutboundGuard(id, application));
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
    /// Runs a lock statement of this class (parameter <c>@id</c>) on the unit of work's connection, in its transaction, as a
    /// plain command: EF Core's <c>SqlQuery</c> maps an ad-hoc result type and compiles a query on every call, which made
    /// these two statements about 15% of a worker's CPU per email (bench/delivery/README.md).
    /// </summary>
    private static async Task<List<T>> RowsAsync<T>(FeedbackHubDbContext db, string sql, Guid id, Func<DbDataReader, T> read, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction!.GetDbTransaction();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        var rows = new List<T>(1);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(read(reader));
        return rows;
    }
}
