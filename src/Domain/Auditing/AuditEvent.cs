namespace FeedbackHub.Domain.Auditing;

/// <summary>
/// One append-only entry of a tenant's audit log. Events of a tenant form a hash chain:
/// <c>Hash = SHA-256(PreviousHash || canonical(event))</c>. Events never hold personal data in clear:
/// subjects are ids, and <see cref="Data"/> holds ids, states and counts only.
/// </summary>
public sealed class AuditEvent
{
    private AuditEvent()
    {
        ActorName = string.Empty;
        Action = string.Empty;
        SubjectType = string.Empty;
        Data = "{}";
        PreviousHash = [];
        Hash = [];
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    /// <summary>1, 2, 3, ... per tenant, without gaps.</summary>
    public long Sequence { get; private set; }

    public DateTimeOffset OccurredAt { get; private set; }

    /// <summary>The API key that acted, or null for the system (worker, commands).</summary>
    public Guid? ActorId { get; private set; }

    public string ActorName { get; private set; }

    /// <summary>What happened, e.g. <c>api-key.created</c>.</summary>
    public string Action { get; private set; }

    public string SubjectType { get; private set; }

    public Guid? SubjectId { get; private set; }

    /// <summary>Compact JSON object with non-personal details.</summary>
    public string Data { get; private set; }

    public byte[] PreviousHash { get; private set; }

    public byte[] Hash { get; private set; }

    internal static AuditEvent Chain(PendingAuditEvent pending, long sequence, byte[] previousHash)
    {
        var e = new AuditEvent
        {
            Id = pending.Id,
            TenantId = pending.TenantId,
            Sequence = sequence,
            OccurredAt = pending.OccurredAt,
            ActorId = pending.Actor.Id,
            ActorName = pending.Actor.Name,
            Action = pending.Action,
            SubjectType = pending.SubjectType,
            SubjectId = pending.SubjectId,
            Data = pending.Data,
            PreviousHash = previousHash,
        };
        e.Hash = AuditChain.ComputeHash(e);
        return e;
    }
}

/// <summary>Who did something: an API key (id and display name) or the system.</summary>
public sealed record Actor(Guid? Id, string Name)
{
    public static Actor System { get; } = new(null, "system");
}

/// <summary>An audit event recorded in a unit of work and chained when that unit commits.</summary>
public sealed record PendingAuditEvent(
    Guid Id, Guid TenantId, DateTimeOffset OccurredAt, Actor Actor, string Action, string SubjectType, Guid? SubjectId, string Data);
