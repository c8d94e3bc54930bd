using FeedbackHub.Domain.Auditing;
using System.Text.Json;


namespace FeedbackHub.Domain.Persistence;

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
        var now = time.GetUtcNow();
        db.AuditEvents.Add(AuditEvent.Record(
            NextId(now), tenantId, now, actor, action, subjectType, subjectId,
            data is null ? "{}" : JsonSerializer.Serialize(data, Json)));
    }

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
