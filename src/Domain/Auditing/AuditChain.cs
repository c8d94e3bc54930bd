using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace FeedbackHub.Domain.Auditing;

/// <summary>The hash chain's rules, shared by appending and verifying.</summary>
public static class AuditChain
{
    public static byte[] Genesis { get; } = new byte[32];

    /// <summary>PostgreSQL keeps microseconds; hash what is stored, not what .NET had in memory.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % 10), TimeSpan.Zero);

    public static byte[] ComputeHash(AuditEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            // A JSON array is an unambiguous encoding of the fields, in a fixed order.
            w.WriteStartArray();
            w.WriteStringValue(e.TenantId);
            w.WriteNumberValue(e.Sequence);
            w.WriteNumberValue((e.OccurredAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
            if (e.ActorId is { } actorId) w.WriteStringValue(actorId); else w.WriteNullValue();
            w.WriteStringValue(e.ActorName);
            w.WriteStringValue(e.Action);
            w.WriteStringValue(e.SubjectType);
            if (e.SubjectId is { } subjectId) w.WriteStringValue(subjectId); else w.WriteNullValue();
            w.WriteStringValue(e.Data);
            w.WriteEndArray();
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(e.PreviousHash);
        sha.AppendData(buffer.WrittenSpan);
        return sha.GetHashAndReset();
    }
}

/// <summary>Checks a tenant's events one by one, in sequence order, so any length can be streamed.</summary>
public sealed class AuditChainVerifier
{
    private byte[] _expectedPrevious = AuditChain.Genesis;
    private long _expectedSequence = 1;

    public long Checked { get; private set; }

    /// <summary>The first broken link this event shows, or null.</summary>
    public AuditBreak? Check(AuditEvent e)
    {
        Checked++;
        if (e.Sequence != _expectedSequence)
            return new AuditBreak(e.Id, e.Sequence, "sequence-gap", $"Expected sequence {_expectedSequence} but found {e.Sequence}: events are missing.");
        if (!e.PreviousHash.AsSpan().SequenceEqual(_expectedPrevious))
            return new AuditBreak(e.Id, e.Sequence, "previous-hash-mismatch", "The event does not point at the hash of the event before it.");
        if (!AuditChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash))
            return new AuditBreak(e.Id, e.Sequence, "hash-mismatch", "The event's content does not match its hash: it was changed after it was written.");
        _expectedPrevious = e.Hash;
        _expectedSequence++;
        return null;
    }

    /// <summary>After the last event: the chain must end at the tenant's recorded head.</summary>
    public AuditBreak? Complete(long headSequence, byte[] headHash)
    {
        var last = _expectedSequence - 1;
        return last == headSequence && _expectedPrevious.AsSpan().SequenceEqual(headHash)
            ? null
            : new AuditBreak(null, _expectedSequence, "head-mismatch", $"The chain ends at sequence {last} but the tenant's head is at {headSequence}: events at the end are missing or were replaced.");
    }
}

/// <summary>Where and why a chain is broken.</summary>
public sealed record AuditBreak(Guid? EventId, long Sequence, string Reason, string Detail);
