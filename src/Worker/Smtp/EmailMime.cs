using System.Text;
using FeedbackHub.Domain.Email;
using MimeKit;
using MimeKit.Cryptography;

namespace FeedbackHub.Worker.Smtp;

/// <summary>
/// Turns an <see cref="EmailMessage"/> into a MIME message with MimeKit: text and HTML as multipart/alternative (text alone
/// when there is no HTML), UTF-8 in quoted-printable, non-ASCII names and subjects as RFC 2047 encoded words, and a DKIM
/// signature when the message carries a key. Every value is untrusted: control characters never reach a header, and an
/// address or message id with header syntax in it is refused.
/// </summary>
public static class EmailMime
{
    /// <summary>The options the message is signed and sent with (MailKit sends with a clone of them).</summary>
    public static FormatOptions Format { get; } = CreateFormat();

    /// <summary>
    /// Signed when present. Content-Type is signed too: it names the boundary, so a signature without it would survive
    /// someone re-cutting the parts. Reply-To is signed so a relay on the way cannot redirect the candidate's answers.
    /// </summary>
    private static readonly string[] DkimHeaders = ["From", "To", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"];

    public static MimeMessage Create(EmailMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var mime = new MimeMessage();
        mime.From.Add(Mailbox(message.From));
        mime.To.Add(Mailbox(message.To));
        if (message.ReplyTo is { } replyTo)
            mime.ReplyTo.Add(Mailbox(replyTo));
        mime.Subject = StripControls(message.Subject);
        mime.Date = message.Date.ToUniversalTime();
        mime.MessageId = SafeAddressPart(message.MessageId);
        mime.MimeVersion = new Version(1, 0);
        mime.Headers.Add("Auto-Submitted", "auto-generated");
        mime.Body = message.HtmlBody is null
            ? Text("plain", message.TextBody)
            : new MultipartAlternative { Text("plain", message.TextBody), Text("html", message.HtmlBody) };

        // Fix every transfer encoding now (7-bit safe), so no server or MailKit re-encodes a signed body on the way.
        mime.Prepare(EncodingConstraint.SevenBit);
        if (message.Dkim is { } dkim)
            Sign(mime, dkim);
        return mime;
    }

    private static void Sign(MimeMessage mime, DkimSigning dkim)
    {
        using var key = new MemoryStream(Encoding.ASCII.GetBytes(dkim.PrivateKeyPem));
        var signer = new DkimSigner(key, dkim.Domain, dkim.Selector, DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        // Content-Type lives on the body entity in MimeKit; the signer finds it there.
        signer.Sign(Format, mime, DkimHeaders.Where(h => mime.Headers.Contains(h) || mime.Body?.Headers.Contains(h) == true).ToList());
    }

    private static TextPart Text(string subtype, string body)
    {
        var part = new TextPart(subtype) { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        part.SetText(Encoding.UTF8, NormalizeNewlines(body));
        return part;
    }

    private static MimeKit.MailboxAddress Mailbox(Domain.Email.MailboxAddress mailbox)
    {
        var name = StripControls(mailbox.DisplayName ?? string.Empty).Trim();
        return new MimeKit.MailboxAddress(name.Length == 0 ? null : name, SafeAddressPart(mailbox.Address));
    }

    /// <summary>Control characters (CR, LF, NUL, ...) become spaces: they can never start a header.</summary>
    private static string StripControls(string value)
    {
        if (!value.Any(char.IsControl))
            return value;
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
            sb.Append(char.IsControl(c) ? ' ' : c);
        return sb.ToString();
    }

    /// <summary>Addresses and message ids are plain ASCII without spaces, brackets, quotes or separators.</summary>
    private static string SafeAddressPart(string value)
    {
        if (value.Length == 0 || value.Any(c => c is <= ' ' or '<' or '>' or '"' or ',' or ';' or '\\' or > '~'))
            throw new ArgumentException("An address or message id contains characters not allowed in a header.", nameof(value));
        return value;
    }

    private static string NormalizeNewlines(string body) =>
        body.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Replace("\n", "\r\n", StringComparison.Ordinal);

    private static FormatOptions CreateFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }
}
