using FeedbackHub.Domain.Outbound;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>An outbound item loaded under its locks, with the proof its state changes require.</summary>
public sealed record Locked<TItem>(TItem Item, OutboundGuard Guard)
    where TItem : OutboundItem;

/// <summary>The one way to lock an outbound item for a state change.</summary>
public static class OutboundLocks
{
    /// <summary>
    /// Locks the item for the rest of the transaction and loads it with its attempts: first its application's lock when
    /// it is sent because of one (<see cref="DeliveryScheduling.LockApplicationAsync"/>; found from the item type's
    /// mapped <c>ApplicationId</c>), then its row (<c>FOR UPDATE</c> on <c>outbound</c>; no transaction holds it for
    /// long: nothing is sent under it). Null when it does not exist (for this tenant, in a scoped unit of work) or, with
    /// <paramref name="skipIfBusy"/>, when another transaction holds either lock.
    /// </summary>
    public static async Task<Locked<TItem>?> LockAsync<TItem>(FeedbackHubDbContext db, Guid id, CancellationToken ct, bool skipIfBusy = false)
        where TItem : OutboundItem
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("Lock an outbound item inside a transaction.");

        LockedApplication? application = null;
        if (db.Model.FindEntityType(typeof(TItem))?.FindProperty(ApplicationIdProperty) is not null)
        {
            var applicationId = await db.Set<TItem>().AsNoTracking().Where(x => x.Id == id)
                .Select(x => (Guid?)EF.Property<Guid>(x, ApplicationIdProperty)).SingleOrDefaultAsync(ct);
            if (applicationId is not { } appId)
                return null;
            application = skipIfBusy
                ? await DeliveryScheduling.TryLockApplicationAsync(db, appId, ct)
                : await DeliveryScheduling.LockApplicationAsync(db, appId, ct);
            if (application is null)
                return null;
        }

        var locked = skipIfBusy
            ? await db.Database.SqlQuery<Guid>($"SELECT id AS \"Value\" FROM outbound WHERE id = {id} FOR UPDATE SKIP LOCKED").ToListAsync(ct)
            : await db.Database.SqlQuery<Guid>($"SELECT id AS \"Value\" FROM outbound WHERE id = {id} FOR UPDATE").ToListAsync(ct);
        if (locked.Count == 0)
            return null;

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
}
