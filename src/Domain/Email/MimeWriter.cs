using System.Globalization;
using System.Text;

namespace FeedbackHub.Domain.Email;

/// <summary>
/// Writes an <see cref="EmailMessage"/> as RFC 5322 / MIME text: text and HTML parts as
/// multipart/alternative, UTF-8 in quoted-printable (readable in a raw .eml). Header values are stripped of control characters
/// (so CR/LF cannot inject headers) and encoded per RFC 2047 when not plain ASCII.
/// </summary>
public static class MimeWriter
{
    public static string Write(EmailMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var sb = new StringBuilder(4096);
        Header(sb, "From", Mailbox(message.From));
        Header(sb, "To", Mailbox(message.To));
        if (message.ReplyTo is { } replyTo)
            Header(sb, "Reply-To", Mailbox(replyTo));
        Header(sb, "Subject", EncodeWord(message.Subject));
        Header(sb, "Date", message.Date.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture));
        Header(sb, "Message-ID", $"<{SafeAddressPart(message.MessageId)}>");
        Header(sb, "MIME-Version", "1.0");
        Header(sb, "Auto-Submitted", "auto-generated");

        if (message.HtmlBody is null)
        {
            Part(sb, "text/plain; charset=utf-8", message.TextBody);
            return sb.ToString();
        }

        var boundary = "=_fh_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(message.MessageId)))[..24];
        Header(sb, "Content-Type", $"multipart/alternative; boundary=\"{boundary}\"");
        sb.Append("\r\n");
        sb.Append("--").Append(boundary).Append("\r\n");
        Part(sb, "text/plain; charset=utf-8", message.TextBody);
        sb.Append("\r\n--").Append(boundary).Append("\r\n");
        Part(sb, "text/html; charset=utf-8", message.HtmlBody);
        sb.Append("\r\n--").Append(boundary).Append("--\r\n");
        return sb.ToString();
    }

    private static void Part(StringBuilder sb, string contentType, string body)
    {
        Header(sb, "Content-Type", contentType);
        Header(sb, "Content-Transfer-Encoding", "quoted-printable");
        sb.Append("\r\n");
        QuotedPrintable(sb, NormalizeNewlines(body));
        sb.Append("\r\n");
    }

    /// <summary>RFC 2045 6.7: printable ASCII stays, everything else is =XX; lines at most 76 characters.</summary>
    private static void QuotedPrintable(StringBuilder sb, string body)
    {
        var lines = body.Split("\r\n");
        for (var l = 0; l < lines.Length; l++)
        {
            var bytes = Encoding.UTF8.GetBytes(lines[l]);
            var width = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                var b = bytes[i];
                var last = i == bytes.Length - 1;
                // Leading '.' is encoded too, so no line of the body can end the SMTP DATA phase.
                var literal = b is >= 33 and <= 126 && b != '=' && !(b == '.' && width == 0)
                    || (b is (byte)' ' or (byte)'\t' && !last);
                var token = literal ? ((char)b).ToString() : "=" + b.ToString("X2", CultureInfo.InvariantCulture);
                if (width + token.Length > 75)
                {
                    sb.Append("=\r\n");
                    width = 0;
                    if (b == '.')
                        token = "=2E";
                }

                sb.Append(token);
                width += token.Length;
            }

            if (l < lines.Length - 1)
                sb.Append("\r\n");
        }
    }

    private static void Header(StringBuilder sb, string name, string value) =>
        sb.Append(name).Append(": ").Append(value).Append("\r\n");

    private static string Mailbox(MailboxAddress mailbox)
    {
        var address = SafeAddressPart(mailbox.Address);
        var name = StripControls(mailbox.DisplayName ?? string.Empty).Trim();
        return name.Length == 0 ? $"<{address}>" : $"{EncodeWord(name, phrase: true)} <{address}>";
    }

    /// <summary>Plain ASCII stays readable (quoted when it is a display name); anything else is RFC 2047 base64.</summary>
    public static string EncodeWord(string value, bool phrase = false)
    {
        var clean = StripControls(value);
        var ascii = clean.All(c => c is >= ' ' and <= '~');
        if (ascii && clean.Length <= 900)
        {
            if (!phrase)
                return clean;
            return "\"" + clean.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        }

        // Encoded words of at most 75 characters, folded; split on whole characters (never inside a surrogate pair).
        var words = new List<string>();
        var chunk = new StringBuilder();
        foreach (var rune in clean.EnumerateRunes())
        {
            var candidate = chunk.ToString() + rune;
            if (Encoding.UTF8.GetByteCount(candidate) > 45)
            {
                words.Add($"=?utf-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(chunk.ToString()))}?=");
                chunk.Clear();
            }

            chunk.Append(rune.ToString());
        }

        if (chunk.Length > 0)
            words.Add($"=?utf-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(chunk.ToString()))}?=");
        return string.Join("\r\n ", words);
    }

    /// <summary>Control characters (CR, LF, NUL, ...) never reach a header.</summary>
    public static string StripControls(string value)
    {
        if (!value.Any(char.IsControl))
            return value;
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
            sb.Append(char.IsControl(c) ? ' ' : c);
        return sb.ToString();
    }

    private static string SafeAddressPart(string value)
    {
        var clean = StripControls(value);
        if (clean.Any(c => c is ' ' or '<' or '>' or '"' or ',' or ';' or '\\' || c > '~'))
            throw new ArgumentException("An address or message id contains characters not allowed in a header.", nameof(value));
        return clean;
    }

    private static string NormalizeNewlines(string body) =>
        body.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Replace("\n", "\r\n", StringComparison.Ordinal);
}
