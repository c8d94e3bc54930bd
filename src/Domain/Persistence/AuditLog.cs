using FeedbackHub.Domain.Auditing;
using System.Text.Json;


namespace FeedbackHub.Domain.Persistence;

/// <summary>Records audit events in the current unit of work; they are chained when it is saved.</summary>
public sealed class AuditLog(FeedbackHubDbContext db, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <param name="data">Ids, states and counts only: never personal data.</param>
    public void Record(Guid tenantId, Actor actor, string action, string subjectType, Guid? subjectId, object? data = null)
    {
        var now = AuditChain.Truncate(time.GetUtcNow());
        db.AddPendingAudit(new PendingAuditEvent(
            Guid.CreateVersion7(now), tenantId, now, actor, action, subjectType, subjectId,
            data is null ? "{}" : JsonSerializer.Serialize(data, Json)));
    }
}
