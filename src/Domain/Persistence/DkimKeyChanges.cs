using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Email;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>A tenant's DKIM keys as loaded for a change, under the tenant's lock.</summary>
public sealed record CurrentDkimKeys(DkimKey? Active, DkimKey? Pending);

/// <summary>
/// Every change to a tenant's DKIM keys (set, remove, generate, activate), each audited with names and the public key's
/// fingerprint, never the key. <see cref="LockAsync"/> first: it takes the tenant row's lock (the one the audit chain
/// takes at save), so two admins' changes never interleave into a unique-index failure.
/// </summary>
public static class DkimKeyChanges
{
    /// <summary>Locks the tenant (inside the caller's transaction) and loads its keys, tracked.</summary>
    public static async Task<CurrentDkimKeys> LockAsync(FeedbackHubDbContext db, Guid tenantId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("DKIM key changes run in a transaction: the tenant's lock lasts until it ends.");
        await db.Database.ExecuteSqlAsync($"SELECT 1 FROM tenants WHERE id = {tenantId} FOR NO KEY UPDATE", ct);
        var keys = await db.DkimKeys.Where(k => k.TenantId == tenantId).ToListAsync(ct);
        return new CurrentDkimKeys(keys.SingleOrDefault(k => k.State == DkimKeyState.Active), keys.SingleOrDefault(k => k.State == DkimKeyState.Pending));
    }

    /// <summary>The admin's own key replaces the active one (a pending key stays pending).</summary>
    public static void Set(FeedbackHubDbContext db, AuditLog audit, Actor actor, CurrentDkimKeys current, DkimKey key)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(current);
        Replace(db, audit, actor, current.Active, key, "tenant.dkim-key-set");
    }

    /// <summary>Removes the active and the pending key: emails go out unsigned. False when there was none.</summary>
    public static bool Remove(FeedbackHubDbContext db, AuditLog audit, Actor actor, CurrentDkimKeys current)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(current);
        var removed = new[] { current.Active, current.Pending }.OfType<DkimKey>().ToList();
        foreach (var key in removed)
        {
            db.DkimKeys.Remove(key);
            audit.Record(key.TenantId, actor, "tenant.dkim-key-removed", "dkim-key", key.Id,
                new { state = key.State.ToString().ToLowerInvariant(), domain = key.Domain, selector = key.Selector, fingerprint = key.Fingerprint });
        }

        return removed.Count > 0;
    }

    /// <summary>A generated key becomes the pending one (replacing an earlier pending key).</summary>
    public static void AddPending(FeedbackHubDbContext db, AuditLog audit, Actor actor, CurrentDkimKeys current, DkimKey key)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(current);
        Replace(db, audit, actor, current.Pending, key, "tenant.dkim-key-generated");
    }

    /// <summary>The key takes the slot of <paramref name="replaced"/> (active or pending), audited as <paramref name="action"/>.</summary>
    private static void Replace(FeedbackHubDbContext db, AuditLog audit, Actor actor, DkimKey? replaced, DkimKey key, string action)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (replaced is not null)
            db.DkimKeys.Remove(replaced);
        db.DkimKeys.Add(key);
        audit.Record(key.TenantId, actor, action, "dkim-key", key.Id,
            new { domain = key.Domain, selector = key.Selector, keyBits = key.KeyBits, fingerprint = key.Fingerprint, replaced = replaced?.Id });
    }

    /// <summary>
    /// The pending key named <paramref name="domain"/> and <paramref name="selector"/> (the one whose record the admin
    /// published) starts signing; the active key it replaces is deleted. 409 when there is no pending key or it has other names.
    /// </summary>
    public static DkimKey Activate(FeedbackHubDbContext db, AuditLog audit, Actor actor, CurrentDkimKeys current, string domain, string selector, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(current);
        var pending = current.Pending
            ?? throw DomainException.Conflict("no-pending-dkim-key", "There is no generated key waiting: generate one with POST /v1/settings/dkim/generate first.");
        if (!pending.IsNamed(domain, selector))
        {
            throw DomainException.Conflict("dkim-key-mismatch",
                $"The key waiting is for {pending.DnsRecord.Name}, not {DkimNames.RecordName(selector, domain)}: publish that record and activate it by those names.");
        }

        if (current.Active is { } replaced)
            db.DkimKeys.Remove(replaced);
        pending.Activate(now);
        audit.Record(pending.TenantId, actor, "tenant.dkim-key-activated", "dkim-key", pending.Id,
            new { domain = pending.Domain, selector = pending.Selector, fingerprint = pending.Fingerprint, replaced = current.Active?.Id });
        return pending;
    }
}
