namespace FeedbackHub.Domain.Delivery;

public enum InvitationStatus
{
    Queued,
    Sent,
    Failed,
    Cancelled,
}

/// <summary>
/// The short email FeedbackHub sends a rejected candidate itself when the tenant enables invitations. The worker
/// issues the candidate's link when it sends (the token exists only in the email, never in a message or a row).
/// </summary>
public sealed class Invitation
{
    private Invitation()
    {
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid ApplicationId { get; private set; }

    public InvitationStatus Status { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    /// <summary>When Queued: since when it should have been sent (moves when a lost message is replaced).</summary>
    public DateTimeOffset DueAt { get; private set; }

    public DateTimeOffset? SentAt { get; private set; }

    public string? LastReply { get; private set; }

    public static Invitation Queue(Guid tenantId, Guid applicationId, DateTimeOffset now) =>
        new() { Id = Guid.CreateVersion7(now), TenantId = tenantId, ApplicationId = applicationId, Status = InvitationStatus.Queued, CreatedAt = now, DueAt = now };

    /// <summary>
    /// Still queued long after it was due: its message was lost, or its retries ran out while the mail server was
    /// unreachable. Due now again, so a new message sends it. False when it is not queued.
    /// </summary>
    public bool RequeueLost(DateTimeOffset now)
    {
        if (Status != InvitationStatus.Queued)
            return false;
        DueAt = now;
        return true;
    }

    public void MarkSent(string reply, DateTimeOffset now)
    {
        Status = InvitationStatus.Sent;
        SentAt = now;
        LastReply = reply;
    }

    public void MarkFailed(string reply)
    {
        Status = InvitationStatus.Failed;
        LastReply = reply.Length > 1000 ? reply[..1000] : reply;
    }

    /// <summary>Erasure: replaces the SMTP reply by its code (replies can quote the address). True when something changed.</summary>
    public bool EraseReply()
    {
        if (LastReply is null || LastReply == Delivery.ErasedReply(LastReply))
            return false;
        LastReply = Delivery.ErasedReply(LastReply);
        return true;
    }

    public void Cancel()
    {
        if (Status == InvitationStatus.Queued)
            Status = InvitationStatus.Cancelled;
    }
}
