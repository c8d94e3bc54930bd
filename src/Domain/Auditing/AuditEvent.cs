namespace FeedbackHub.Domain.Auditing;

/// <summary>
/// One append-only entry of a tenant's audit log. Writers only insert events (no lock, no chain to extend); the sealer
/// later gives each its place in the tenant's Merkle tree (<see cref="Sequence"/>, <see cref="LeafHash"/>) and signs a
/// checkpoint over the tree (<see cref="AuditSealer"/>). Events never hold personal data in clear: subjects are ids, and
/// <see cref="Data"/> holds ids, states and counts only.
/// </summary>
public sealed class AuditEvent
{
    private AuditEvent()
    {
        ActorName = string.Empty;
        Action = string.Empty;
        SubjectType = string.Empty;
        Data = "{}";
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    /// <summary>Insertion order across the whole log (assigned by the database); pages and unsealed events follow it.</summary>
    public long Position { get; private set; }

    /// <summary>1, 2, 3, ... per tenant without gaps once sealed (the leaf index plus one); null until then.</summary>
    public long? Sequence { get; private set; }

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

    /// <summary>The RFC 9162 leaf hash of the sealed event (<see cref="AuditLeaf.Hash"/>); null until sealed.</summary>
    public byte[]? LeafHash { get; private set; }

    public bool IsSealed => Sequence is not null;

    internal static AuditEvent Record(Guid id, Guid tenantId, DateTimeOffset occurredAt, Actor actor, string action, string subjectType, Guid? subjectId, string data) =>
        new()
        {
            Id = id,
            TenantId = tenantId,
            OccurredAt = AuditLeaf.Truncate(occurredAt),
            ActorId = actor.Id,
            ActorName = actor.Name,
            Action = action,
            SubjectType = subjectType,
            SubjectId = subjectId,
            Data = data,
        };

    /// <summary>Gives the event its place in the tree (once).</summary>
    internal byte[] Seal(long sequence)
    {
        if (IsSealed)
            throw new InvalidOperationException($"Audit event {Id} is sealed already.");
        Sequence = sequence;
        LeafHash = AuditLeaf.Hash(this, sequence);
        return LeafHash;
    }
}

/// <summary>Who did something: an API key (id and display name) or the system.</summary>
public sealed record Actor(Guid? Id, string Name)
{
    public static Actor System { get; } = new(null, "system");
}
