using System.Text;
using System.Text.RegularExpressions;

namespace FeedbackHub.Tests;

/// <summary>Reads what the real SMTP sink (scripts/smtp_sink.py) accepted: one .eml file per message.</summary>
public static class MailSink
{
    /// <summary>A recipient no other test uses, so parallel tests never see each other's mail.</summary>
    public static string NewAddress(string tag = "candidate") => $"{tag}-{Guid.NewGuid():N}@example.test";

    /// <summary>
    /// Mail written before this test process started cannot be for it (addresses are new per test): skipped without being
    /// read, so a sink folder that keeps every earlier run's mail does not slow each look down.
    /// </summary>
    private static readonly DateTime ProcessStartUtc = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime() - TimeSpan.FromMinutes(1);

    public static IReadOnlyList<CapturedMail> For(string recipient)
    {
        var folder = Path.Combine(TestServices.SmtpDirectory, "mail");
        if (!Directory.Exists(folder))
            return [];
        var found = new List<CapturedMail>();
        foreach (var info in new DirectoryInfo(folder).EnumerateFiles("*.eml"))
        {
            if (info.LastWriteTimeUtc < ProcessStartUtc)
                continue;
            var file = info.FullName;
            string raw;
            try
            {
                raw = File.ReadAllText(file);
            }
            catch (IOException)
            {
                continue;
            }

            if (!raw.Contains(recipient, StringComparison.OrdinalIgnoreCase))
                continue;
            var mail = new CapturedMail(file, raw);
            if (mail.EnvelopeTo.Contains(recipient, StringComparer.OrdinalIgnoreCase))
                found.Add(mail);
        }

        return found.OrderBy(m => m.Path, StringComparer.Ordinal).ToList();
    }

    /// <summary>Waits until at least <paramref name="count"/> messages for the recipient arrived.</summary>
    public static async Task<IReadOnlyList<CapturedMail>> WaitForAsync(string recipient, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var mails = For(recipient);
            if (mails.Count >= count)
                return mails;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Expected {count} message(s) for {recipient} but {mails.Count} arrived in time.");
            await Task.Delay(100);
        }
    }

    /// <summary>Lines of smtp-log.jsonl that mention the recipient (accepted and refused transactions).</summary>
    public static IReadOnlyList<string> LogFor(string recipient)
    {
        var path = Path.Combine(TestServices.SmtpDirectory, "smtp-log.jsonl");
        if (!File.Exists(path))
            return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains(recipient, StringComparison.OrdinalIgnoreCase))
                lines.Add(line);
        }

        return lines;
    }
}

/// <summary>One captured message with just enough MIME parsing for our own emails.</summary>
public sealed partial record CapturedMail(string Path, string Raw)
{
    private string HeaderBlock => Raw[..Math.Max(0, Raw.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var i and >= 0 ? i : Raw.IndexOf("\n\n", StringComparison.Ordinal))];

    public IReadOnlyList<string> EnvelopeTo => Headers("X-Envelope-To").SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();

    /// <summary>Unfolded values of a header (all occurrences).</summary>
    public IReadOnlyList<string> Headers(string name)
    {
        var unfolded = FoldRegex().Replace(HeaderBlock, " ");
        return unfolded.Split('\n')
            .Select(l => l.TrimEnd('\r'))
            .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(l => l[(name.Length + 1)..].Trim())
            .ToList();
    }

    public string? Header(string name) => Headers(name).SingleOrDefault();

    /// <summary>
    /// The one mailbox in an address header, however it is written (<c>"Ada" &lt;a@x&gt;</c>, <c>Ada &lt;a@x&gt;</c>,
    /// <c>&lt;a@x&gt;</c> or <c>a@x</c>); the name decoded, null when there is none.
    /// </summary>
    public (string? Name, string Address) Mailbox(string header)
    {
        var value = Header(header) ?? throw new InvalidOperationException($"No {header} header in {Path}.");
        var open = value.LastIndexOf('<');
        if (open < 0)
            return (null, value.Trim());
        var name = DecodeWords(value[..open].Trim());
        if (name.Length >= 2 && name[0] == '"' && name[^1] == '"')
            name = name[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        return (name.Length == 0 ? null : name, value[(open + 1)..value.IndexOf('>', open)].Trim());
    }

    /// <summary>The Subject with RFC 2047 encoded words decoded.</summary>
    public string Subject => DecodeWords(Header("Subject") ?? string.Empty);

    public string TextBody => Part("text/plain");

    public string HtmlBody => Part("text/html");

    private string Part(string contentType)
    {
        var parts = Raw.Split("\r\n--", StringSplitOptions.None);
        foreach (var part in parts.Length == 1 ? [Raw] : parts)
        {
            var split = part.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (split < 0)
                continue;
            var headers = part[..split];
            if (!headers.Contains("Content-Type: " + contentType, StringComparison.OrdinalIgnoreCase) || headers.Contains("multipart", StringComparison.OrdinalIgnoreCase))
                continue;
            var body = part[(split + 4)..];
            body = string.Join("\r\n", body.Split("\r\n").TakeWhile(l => !l.StartsWith("--", StringComparison.Ordinal))).TrimEnd('\r', '\n');
            if (headers.Contains("base64", StringComparison.OrdinalIgnoreCase))
                return Encoding.UTF8.GetString(Convert.FromBase64String(body.Replace("\r\n", "", StringComparison.Ordinal)));
            return headers.Contains("quoted-printable", StringComparison.OrdinalIgnoreCase) ? DecodeQuotedPrintable(body) : body;
        }

        throw new InvalidOperationException($"No {contentType} part in {Path}.");
    }

    public static string DecodeQuotedPrintable(string body)
    {
        var unfolded = body.Replace("=\r\n", "", StringComparison.Ordinal);
        if (unfolded.EndsWith('=')) // a soft line break just before the boundary (MimeKit ends a part without a newline so)
            unfolded = unfolded[..^1];
        var bytes = new List<byte>(unfolded.Length);
        for (var i = 0; i < unfolded.Length; i++)
        {
            if (unfolded[i] == '=' && i + 2 < unfolded.Length)
            {
                bytes.Add(Convert.ToByte(unfolded.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(unfolded[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>RFC 2047 encoded words in UTF-8, B (base64) or Q (quoted-printable with "_" for space), as MIME writers pick either.</summary>
    public static string DecodeWords(string value) =>
        EncodedWordRegex().Replace(value.Replace("?= =?", "?==?", StringComparison.Ordinal), m => m.Groups[1].Value is "B" or "b"
            ? Encoding.UTF8.GetString(Convert.FromBase64String(m.Groups[2].Value))
            : DecodeQuotedPrintable(m.Groups[2].Value.Replace('_', ' ')));

    [GeneratedRegex(@"\r?\n[ \t]+")]
    private static partial Regex FoldRegex();

    [GeneratedRegex(@"=\?utf-8\?([BQ])\?([^?]*)\?=", RegexOptions.IgnoreCase)]
    private static partial Regex EncodedWordRegex();
}
