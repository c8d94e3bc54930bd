using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Email;

/// <summary>A test email's status as the API names it.</summary>
public enum TestEmailStatus
{
    Queued,
    Sent,
    Failed,
}

/// <summary>A diagnostic email an admin asked for, to prove the whole delivery path works; sent like every outbound item.</summary>
public sealed class TestEmail : OutboundItem
{
    private TestEmail()
    {
        Recipient = string.Empty;
    }

    private TestEmail(Guid id, Guid tenantId, DateTimeOffset now)
        : base(id, tenantId, OutboundChannels.TestEmail, now, now)
    {
        Recipient = string.Empty;
    }

    public string Recipient { get; private set; }

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

        return new TestEmail(Guid.CreateVersion7(now), tenantId, now) { Recipient = recipient };
    }
}
