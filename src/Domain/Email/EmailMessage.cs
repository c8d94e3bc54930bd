namespace FeedbackHub.Domain.Email;

/// <summary>A rendered email, ready for <see cref="MimeWriter"/>. Every value is treated as untrusted text.</summary>
public sealed record EmailMessage(
    MailboxAddress From,
    MailboxAddress To,
    MailboxAddress? ReplyTo,
    string Subject,
    string TextBody,
    string? HtmlBody,
    string MessageId,
    DateTimeOffset Date);

/// <summary>A display name and an address.</summary>
public sealed record MailboxAddress(string? DisplayName, string Address);
