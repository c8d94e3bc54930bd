namespace FeedbackHub.Domain.Outbox;

/// <summary>A message a consumer has fully processed; the key (message id, consumer) makes consumers idempotent.</summary>
public sealed class InboxRecord
{
    private InboxRecord()
    {
        Consumer = string.Empty;
    }

    public Guid MessageId { get; private set; }

    public string Consumer { get; private set; }

    public DateTimeOffset ProcessedAt { get; private set; }
}
