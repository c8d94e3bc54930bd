using System.Buffers;
using System.Text.Json;

namespace FeedbackHub.Domain.Auditing;

/// <summary>What a sealed event's leaf is: the rule shared by sealing and verifying.</summary>
public static class AuditLeaf
{
    /// <summary>PostgreSQL keeps microseconds; hash what is stored, not what .NET had in memory.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % 10), TimeSpan.Zero);

    /// <summary>
    /// The leaf: a JSON array of the event's fields in a fixed order (an unambiguous encoding), including its id, tenant and
    /// sequence, so an event cannot be moved to another place or tenant without its leaf changing.
    /// </summary>
    public static byte[] Encode(AuditEvent e, long sequence)
    {
        ArgumentNullException.ThrowIfNull(e);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStringValue(e.Id);
            w.WriteStringValue(e.TenantId);
            w.WriteNumberValue(sequence);
            w.WriteNumberValue((e.OccurredAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
            if (e.ActorId is { } actorId) w.WriteStringValue(actorId); else w.WriteNullValue();
            w.WriteStringValue(e.ActorName);
            w.WriteStringValue(e.Action);
            w.WriteStringValue(e.SubjectType);
            if (e.SubjectId is { } subjectId) w.WriteStringValue(subjectId); else w.WriteNullValue();
            w.WriteStringValue(e.Data);
            w.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Hash(AuditEvent e, long sequence) => MerkleTree.LeafHash(Encode(e, sequence));
}

/// <summary>
/// Checks a tenant's sealed events one by one in sequence order (so any length can be streamed): each leaf recomputed
/// from the event's content, no gaps, and the tree rebuilt so that its root can be compared with each signed checkpoint.
/// </summary>
public sealed class AuditLogVerifier
{
    private readonly MerkleAppender _tree = new(0, []);

    public long Checked => _tree.Size;

    /// <summary>The first problem this event shows, or null.</summary>
    public AuditBreak? Check(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var expected = _tree.Size + 1;
        if (e.Sequence != expected)
            return new AuditBreak(e.Id, expected, "sequence-gap", $"Expected sequence {expected} but found {e.Sequence}: events are missing.");
        var leaf = AuditLeaf.Hash(e, expected);
        if (e.LeafHash is null || !leaf.AsSpan().SequenceEqual(e.LeafHash))
            return new AuditBreak(e.Id, expected, "hash-mismatch", "The event's content does not match its leaf hash: it was changed after it was sealed.");
        _tree.Append(leaf);
        _tree.NewNodes.Clear();
        return null;
    }

    /// <summary>The root of the tree over the events checked so far.</summary>
    public byte[] Root() => _tree.Root();
}

/// <summary>Where and why the log is broken.</summary>
public sealed record AuditBreak(Guid? EventId, long Sequence, string Reason, string Detail);
