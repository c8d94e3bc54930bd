namespace FeedbackHub.Domain.Email;

/// <summary>A rendered email, ready for the sender (MimeKit builds the MIME). Every value is treated as untrusted text.</summary>
public sealed record EmailMessage(
    MailboxAddress From,
    MailboxAddress To,
    MailboxAddress? ReplyTo,
    string Subject,
    string TextBody,
    string? HtmlBody,
    string MessageId,
    DateTimeOffset Date,
    DkimSigning? Dkim = null);

/// <summary>A display name and an address.</summary>
public sealed record MailboxAddress(string? DisplayName, string Address);

/// <summary>The DKIM key an email is signed with (RFC 6376): the signing domain, the selector and the private key (PEM).</summary>
public sealed record DkimSigning(string Domain, string Selector, string PrivateKeyPem)
{
    /// <summary>Never prints the key (records print every member by default).</summary>
    public override string ToString() => $"DkimSigning {{ Domain = {Domain}, Selector = {Selector} }}";
}
