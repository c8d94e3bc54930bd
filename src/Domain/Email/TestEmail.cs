using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Email;

public enum TestEmailStatus
{
    Queued,
    Sent,
    Failed,
}

/// <summary>A diagnostic email an admin asked for, to prove the whole delivery path works.</summary>
public sealed class TestEmail
{
    private TestEmail()
    {
        Recipient = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public string Recipient { get; private set; }

    public DateTimeOffset RequestedAt { get; private set; }

    public TestEmailStatus Status { get; private set; }

    public DateTimeOffset? SentAt { get; private set; }

    /// <summary>The SMTP server's last reply, e.g. "250 2.0.0 OK".</summary>
    public string? LastReply { get; private set; }

    public static TestEmail Request(Guid tenantId, string recipient, DateTimeOffset now)
    {
        recipient = (recipient ?? string.Empty).Trim();
        if (!EmailAddress.IsValid(recipient))
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The test email request is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["to"] = ["Must be a valid email address."] },
            };
        }

        return new TestEmail { Id = Guid.CreateVersion7(now), TenantId = tenantId, Recipient = recipient, RequestedAt = now, Status = TestEmailStatus.Queued };
    }

    public void MarkSent(DateTimeOffset at, string reply)
    {
        Status = TestEmailStatus.Sent;
        SentAt = at;
        LastReply = reply;
    }

    public void MarkFailed(string reply)
    {
        Status = TestEmailStatus.Failed;
        LastReply = reply;
    }
}
