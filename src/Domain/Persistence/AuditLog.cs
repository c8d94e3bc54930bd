using FeedbackHub.Domain.Auditing;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace FeedbackHub.Domain.Persistence;

/// <summary>One event of a set inserted at once (<see cref="AuditLog.InsertAsync"/>).</summary>
/// <param name="Data">Ids, states and counts only: never personal data.</param>
public sealed record AuditEntry(string Action, string SubjectType, Guid? SubjectId, object? Data = null);

/// <summary>Records audit events in the current unit of work (saved with it; sealed into the tenant's tree shortly after).</summary>
public sealed class AuditLog(FeedbackHubDbContext db, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly Lock IdGate = new();
    private static Guid _lastId;

    /// <param name="data">Ids, states and counts only: never personal data.</param>
    public void Record(Guid tenantId, Actor actor, string action, string subjectType, Guid? subjectId, object? data = null)
    {
        ArgumentNullException.ThrowIfNull(actor);
        db.AuditEvents.Add(Create(tenantId, actor, new AuditEntry(action, subjectType, subjectId, data), time.GetUtcNow()));
    }

    /// <summary>
    /// Inserts <paramref name="entries"/> at once, in the given order, in one statement inside the caller's transaction:
    /// for set-based writers that change many rows without tracking them. The events are built exactly as
    /// <see cref="Record"/> builds them (ids from the same increasing sequence, so their positions follow the given order).
    /// </summary>
    public async Task InsertAsync(Guid tenantId, Actor actor, IReadOnlyList<AuditEntry> entries, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
            return;
        var now = time.GetUtcNow();
        var events = entries.Select(e => Create(tenantId, actor, e, now)).ToList();
        var first = events[0];
        await db.Database.ExecuteSqlRawAsync("""
            INSERT INTO audit_events (id, tenant_id, occurred_at, actor_id, actor_name, action, subject_type, subject_id, data)
            SELECT e.id, @tenant_id, @occurred_at, @actor_id, @actor_name, e.action, e.subject_type, e.subject_id, e.data
            FROM unnest(@ids, @actions, @subject_types, @subject_ids, @data) WITH ORDINALITY AS e(id, action, subject_type, subject_id, data, n)
            ORDER BY e.n
            """,
            [
                new NpgsqlParameter("tenant_id", NpgsqlDbType.Uuid) { Value = first.TenantId },
                new NpgsqlParameter("occurred_at", NpgsqlDbType.TimestampTz) { Value = first.OccurredAt },
                new NpgsqlParameter("actor_id", NpgsqlDbType.Uuid) { Value = (object?)first.ActorId ?? DBNull.Value },
                new NpgsqlParameter("actor_name", NpgsqlDbType.Varchar) { Value = first.ActorName },
                new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() },
                new NpgsqlParameter("actions", NpgsqlDbType.Array | NpgsqlDbType.Varchar) { Value = events.Select(e => e.Action).ToArray() },
                new NpgsqlParameter("subject_types", NpgsqlDbType.Array | NpgsqlDbType.Varchar) { Value = events.Select(e => e.SubjectType).ToArray() },
                new NpgsqlParameter("subject_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.SubjectId).ToArray() },
                new NpgsqlParameter("data", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Data).ToArray() },
            ], ct);
    }

    /// <summary>
    /// Builds events exactly as <see cref="Record"/> builds them (ids from the same increasing sequence, in the given
    /// order; one time for all), without adding them anywhere: for a set-based writer whose own statement inserts those
    /// it needs, e.g. only for the rows it actually changed (the webhook dispatcher's record, docs/decisions/0015).
    /// </summary>
    public IReadOnlyList<AuditEvent> Prepare(Actor actor, IReadOnlyList<(Guid TenantId, AuditEntry Entry)> entries)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(entries);
        var now = time.GetUtcNow();
        var events = new AuditEvent[entries.Count];
        for (var i = 0; i < events.Length; i++)
            events[i] = Create(entries[i].TenantId, actor, entries[i].Entry, now);
        return events;
    }

    private static AuditEvent Create(Guid tenantId, Actor actor, AuditEntry entry, DateTimeOffset now) =>
        AuditEvent.Record(
            NextId(now), tenantId, now, actor, entry.Action, entry.SubjectType, entry.SubjectId,
            entry.Data is null ? "{}" : JsonSerializer.Serialize(entry.Data, Json));

    /// <summary>
    /// UUIDv7 ids that increase strictly within the process: EF inserts a save's events in key order, so events recorded
    /// in one unit of work keep the order they were recorded in (their <see cref="AuditEvent.Position"/>).
    /// </summary>
    private static Guid NextId(DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        lock (IdGate)
        {
            if (id.CompareTo(_lastId) <= 0)
            {
                var bytes = _lastId.ToByteArray(bigEndian: true);
                for (var i = bytes.Length - 1; i >= 0 && ++bytes[i] == 0; i--)
                {
                }

                id = new Guid(bytes, bigEndian: true);
            }

            _lastId = id;
        }

        return id;
    }
}
